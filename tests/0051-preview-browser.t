#!/bin/sh
# The preview provider's files, and its HTML as a browser shows it: headless
# Chromium takes a screenshot, which must show the card, the text and the
# button (a blank page must fail the same check). Chromium may fetch nothing:
# every host name resolves to nothing, so the product images show alt text.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

send=$CW_BUILD/tests/drivers/smtp_send
golden=$top/tests/golden/enrich.ndjson
chromium=/usr/bin/chromium
export CARTWATCH_TEMPLATES="$top/templates"
if [ ! -x "$chromium" ]; then
	echo "Bail out! no $chromium (apt-get install chromium)"
	exit 1
fi

cfg=$T/appsettings.json
# A directory that is not there yet, relative to the config file.
cat >"$cfg" <<'JSON'
{"Cartwatch": {"Notify": {"Provider": "preview",
  "Preview": {"Dir": "out/preview"}, "Smtp": {"From": "Contoso Shop <shop@contoso.example>"}}}}
JSON
dir=$T/out/preview
jq -c 'select(.cartId == "repeat-late")' "$golden" >"$T/one.ndjson"
id=$(jq -r .notificationId "$T/one.ndjson")

expect_exit 0 "preview: exit 0" "$send" -c "$cfg" --preview <"$T/one.ndjson"
is "$(jq -r '[.status, .path] | join(" ")' "$T/stdout")" "previewed $dir/$id.html" \
	"previewed, at DIR/ID.html"
is "$(cd "$dir" && find . -type f | sort | tr '\n' ' ')" "./$id.eml ./$id.html ./$id.txt " \
	"ID.html, ID.txt and ID.eml in a directory made for them, nothing else"
is "$(stat -c %a "$dir/$id.html" "$dir/$id.txt" "$dir/$id.eml" | sort -u)" 600 "mode 0600: they hold personal data"
jq -j 'select(.cartId == "repeat-late") | .returnToCartUrl' "$golden" >"$T/url"
has "$dir/$id.html" "^<!DOCTYPE html>" "the HTML is a whole document"
has "$dir/$id.html" "<a href=\"$(cat "$T/url")\"" "with the return link"
has "$dir/$id.txt" "^Hi Zoë,$" "the text part"
python3 - "$dir/$id.eml" >"$T/eml" <<'PY'
import email, email.policy, sys
m = email.message_from_bytes(open(sys.argv[1], "rb").read(), policy=email.policy.default)
print(m["Subject"], "|", m["To"], "|", m.get_content_type(), "|",
      ",".join(p.get_content_type() for p in m.iter_parts()))
PY
is "$(cat "$T/eml")" \
	"Zoë, you left something in your cart | Zoë Ångström <zoe.angstrom@example.com> | multipart/alternative | text/plain,text/html" \
	"the .eml is the whole message"
touch -d '2000-01-01' "$dir/$id.html"
expect_exit 0 "a second preview of the same notification" "$send" -c "$cfg" --preview <"$T/one.ndjson"
is "$(find "$dir" -type f | wc -l | tr -d ' ')" 3 "replaces the files, leaves no temporary one"
is "$(find "$dir/$id.html" -newer "$T/one.ndjson")" "$dir/$id.html" "the HTML was written anew"

# An id that would leave the directory is refused, and nothing is written.
jq -c '.notificationId = "../../escaped"' "$T/one.ndjson" >"$T/evil.ndjson"
expect_exit 1 "an id with a path in it: exit 1" "$send" -c "$cfg" --preview <"$T/evil.ndjson"
has "$T/stdout" '"status":"failed"' "the notification failed"
is "$(find "$T" -name 'escaped*' | wc -l | tr -d ' ')" 0 "nothing written for it"

# shot HTML PNG: a screenshot of the page HTML, without network, bounded in time.
shot() {
	chromium_run 60 --screenshot="$2" --window-size=800,1200 "file://$1" >"$T/chrome.log" 2>&1
}
# stat PNG: colours, the commonest colour's share, pixels near the button's
# blue (#2563eb) and the card's white.
pngstat() {
	python3 "$top/tests/pngstat.py" "$1" 2563eb ffffff
}

if shot "$dir/$id.html" "$T/shot.png" && [ -s "$T/shot.png" ]; then
	ok "Chromium took a screenshot of the preview"
else
	not_ok "Chromium took a screenshot of the preview"
	tail -n 5 "$T/chrome.log" | sed 's/^/#   /'
fi
pngstat "$T/shot.png" >"$T/stat"
is "$(jq -r '[.width, .height] | join("x")' "$T/stat")" 800x1200 "800x1200"
is "$(jq -r '.colours > 50' "$T/stat")" true "not blank: many colours (text, borders, button)"
is "$(jq -r '.dominant_share < 0.95' "$T/stat")" true "not one colour all over"
is "$(jq -r '.near["2563eb"] > 2000' "$T/stat")" true "the blue button is there"
is "$(jq -r '.near.ffffff > 50000' "$T/stat")" true "and the white card"

# The negative case: the same check on a blank page fails.
: >"$T/blank.html"
shot "$T/blank.html" "$T/blank.png" || :
pngstat "$T/blank.png" >"$T/stat"
is "$(jq -r '.colours > 50 or .near["2563eb"] > 2000' "$T/stat")" false \
	"a blank page does not pass for a preview"

done_testing
