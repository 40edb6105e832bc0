#!/bin/sh
# The preview's index.html: one row per email in the directory (To, Subject,
# step, language, links to its three files), escaped, updated rather than
# clobbered by a later run, kept whole by two runs at once; and where a dry
# run's previews went, said by cart-notify and so by cartwatch-run.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

in=$top/tests/golden/enrich.ndjson
echo '{}' >"$T/c.json"
pv=$T/pv
# rows DIR: index.html's rows as "id|to|subject|step|language|hrefs", read
# with Python's HTML parser (so entities are decoded as a browser does).
rows() {
	python3 - "$1/index.html" <<'PY'
import html.parser, sys
class P(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.rows, self.row, self.cell, self.body = [], None, None, False
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "tbody": self.body = True
        elif tag == "tr" and self.body: self.row = [a.get("id", ""), []]
        elif tag == "td" and self.row is not None: self.cell = ""
        elif tag == "a" and self.row is not None: self.row[1].append(a["href"])
    def handle_endtag(self, tag):
        if tag == "td" and self.cell is not None:
            self.row.append(self.cell); self.cell = None
        elif tag == "tr" and self.row is not None:
            self.rows.append(self.row); self.row = None
    def handle_data(self, d):
        if self.cell is not None: self.cell += d
p = P()
p.feed(open(sys.argv[1], encoding="utf-8").read())
for r in p.rows:
    print("|".join([r[0]] + r[2:6] + [" ".join(r[1])]))
PY
}
# subjects DIR ID...: each email's Subject as its .eml says (decoded).
subject() {
	python3 -c 'import email, email.policy, sys
print(email.message_from_binary_file(open(sys.argv[1], "rb"), policy=email.policy.default)["Subject"])' "$1"
}

# --- a first run: three emails
head -n 3 "$in" >"$T/three.ndjson"
expect_exit 0 "a dry run of three notifications" \
	cart-notify -c "$T/c.json" --preview-dir "$pv" <"$T/three.ndjson"
is "$(stat -c %a "$pv/index.html")" 600 "index.html is written, 0600 like the emails"
rows "$pv" >"$T/rows1"
is "$(wc -l <"$T/rows1" | tr -d ' ')" 3 "it lists the three"
is "$(cut -d'|' -f1 "$T/rows1")" "$(jq -r .notificationId "$T/three.ndjson")" "in input order, by id"
id1=$(head -n 1 "$T/three.ndjson" | jq -r .notificationId)
is "$(sed -n 1p "$T/rows1" | cut -d'|' -f2-)" \
	"Olivia Smith <olivia.smith@example.com>|$(subject "$pv/$id1.eml")|1|en-us|$id1.html $id1.txt $id1.eml" \
	"a row: To and Subject as the .eml has them, step, language, links to the three files"
ok=1
while IFS='|' read -r _id _to _subj _step _lang links; do
	for f in $links; do [ -f "$pv/$f" ] || ok=0; done
done <"$T/rows1"
is "$ok" 1 "every link leads to a file that is there"
has "$T/stderr" "^cart-notify: dry run: 3 emails previewed in $pv; the list: $pv/index.html\$" \
	"cart-notify says at the end where the previews are"
is "$(tail -n 1 "$T/stderr")" "cart-notify: dry run: 3 emails previewed in $pv; the list: $pv/index.html" \
	"as its last line"

# --- a second run into the same directory: two new, one again
sed -n '4,5p' "$in" >"$T/more.ndjson"
head -n 1 "$in" | jq -c '.firstName = "Liv"' >>"$T/more.ndjson"
expect_exit 0 "a second run into the same directory" \
	cart-notify -c "$T/c.json" --preview-dir "$pv" <"$T/more.ndjson"
rows "$pv" >"$T/rows2"
is "$(cut -d'|' -f1 "$T/rows2" | tr '\n' ' ')" \
	"$(sed -n '2,3p' "$T/three.ndjson" | jq -r .notificationId | tr '\n' ' ')$(jq -r .notificationId "$T/more.ndjson" | tr '\n' ' ')" \
	"the earlier rows stay; the new come last, a repeated id once, in its new place"
is "$(grep -c "^$id1|" "$T/rows2")" 1 "the repeated email is listed once"
has "$T/rows2" "^$id1\\|Liv Smith <" "with what the new run made of it"

# --- a row whose email is gone leaves; what else the page held is not kept
id2=$(sed -n 2p "$T/three.ndjson" | jq -r .notificationId)
rm "$pv/$id2.html"
printf '<tr id="nobody"><td>planted</td></tr>\n<p>a note</p>\n' >>"$pv/index.html"
sed -n 6p "$in" >"$T/six.ndjson"
expect_exit 0 "a third run" cart-notify -c "$T/c.json" --preview-dir "$pv" <"$T/six.ndjson"
rows "$pv" >"$T/rows3"
lacks "$T/rows3" "^$id2\\|" "an email whose HTML file was removed is no longer listed"
lacks "$pv/index.html" "planted|a note" "nor is a row for no file, nor text cartwatch did not write"
is "$(wc -l <"$T/rows3" | tr -d ' ')" 5 "the rest are: five"
has "$pv/index.html" "<p>5 emails, rendered and not sent" "and the page counts them"

# --- escaping: what records hold is text on the page, never markup
head -n 1 "$in" | jq -c '.notificationId = "x1" | .firstName = "<img src=x onerror=alert(1)>" |
	.lastName = "\"&amp;\u0007\nnext"' >"$T/evil.ndjson"
expect_exit 0 "a record with markup in its names" \
	cart-notify -c "$T/c.json" --preview-dir "$T/evil" <"$T/evil.ndjson"
lacks "$T/evil/index.html" "<img" "no tag from a record reaches the page"
has "$T/evil/index.html" '&lt;img src=x onerror=alert\(1\)&gt; &quot;&amp;amp;  next' \
	"names are escaped, control characters spaces"
is "$(rows "$T/evil" | wc -l | tr -d ' ')" 1 "one row, one line: a newline in a name does not split it"

# --- more emails than one batch of the provider (256): one index of all
jq -c -s '. as $g | range(300) | $g[. % ($g | length)] + {notificationId: "n\(.)", email: "c\(.)@example.com"}' \
	"$in" >"$T/300.ndjson"
expect_exit 0 "300 emails in one run" cart-notify -c "$T/c.json" --preview-dir "$T/big" <"$T/300.ndjson"
is "$(rows "$T/big" | cut -d'|' -f1 | tr '\n' ' ')" "$(jq -r .notificationId "$T/300.ndjson" | tr '\n' ' ')" \
	"the index lists all 300 across batches, in order"

# --- two writers of one directory take turns (flock(2) of the directory):
# another writer holds the lock and, a second later, puts its own index in
# place; cart-notify, started meanwhile, waits and keeps that writer's row.
mkdir -m 700 "$T/both"
cp "$pv/$id1.html" "$T/both/other.html"
flock "$T/both" sh -c 'sleep 1; grep "^<tr id=\"$1\"" "$2" | sed "s/$1/other/g" >"$3.tmp" &&
	mv "$3.tmp" "$3"' - "$id1" "$pv/index.html" "$T/both/index.html" &
holder=$!
sleep 0.3
expect_exit 0 "a run while another writer holds the directory's lock" \
	cart-notify -c "$T/c.json" --preview-dir "$T/both" <"$T/six.ndjson"
wait "$holder"
is "$(rows "$T/both" | cut -d'|' -f1 | tr '\n' ' ')" "other $(jq -r .notificationId "$T/six.ndjson") " \
	"it waited for the other writer and kept its row"

# --- nothing previewed: no index, no message
printf '{"notificationId": "n1"}\n' >"$T/bad.ndjson"
run cart-notify -c "$T/c.json" --preview-dir "$T/none" <"$T/bad.ndjson"
if [ -e "$T/none/index.html" ]; then not_ok "no index when no email was written"
else ok "no index when no email was written"; fi
lacks "$T/stderr" "previewed" "and no word of previews"

# --- an index that cannot be written: the emails are, and it is said
mkdir -p "$T/ro"
mkdir "$T/ro/index.html"
expect_exit 0 "an index.html that is a directory" \
	cart-notify -c "$T/c.json" --preview-dir "$T/ro" <"$T/six.ndjson"
is "$(jq -r .status "$T/stdout")" skipped "fails no email"
has "$T/stderr" "^cart-notify: preview: index not updated: .*index\\.html" "and says the index was not updated"

# --- cartwatch-run --dry-run without --save: cart-notify's line names the
# configured directory
sandbox_start
sandbox_env
export CARTWATCH_NOW=2026-11-24T12:00:00Z
mkdir "$T/conf"
sandbox_config "$T/base.json"
jq '.Cartwatch.Notify.Preview.Dir = "shown"' "$T/base.json" >"$T/conf/c.json"
run "$top/cartwatch-run" -c "$T/conf/c.json" --dry-run
is "$rc" 0 "cartwatch-run --dry-run without --save"
has "$T/stderr" "^cart-notify: dry run: 14 emails previewed in $T/conf/shown; the list: $T/conf/shown/index.html\$" \
	"says where the previews went"
is "$(rows "$T/conf/shown" | wc -l | tr -d ' ')" 14 "and the index there lists them"

done_testing
