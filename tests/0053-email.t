#!/bin/sh
# The email worth opening (issue 13), through the preview provider: prices
# and subtotal for de-de, fr-fr, en-us, ja-jp and ar-sa exactly as ICU writes
# them (PyICU computes them here on its own, from the decimals), the shipped
# templates per language with dir="rtl" where ICU says the script runs right
# to left, the store's name and logo, a placeholder where a product has no
# picture; and headless Chromium at 375 and 800 px wide: a screenshot of
# each, and no element of any email reaching beyond the viewport (a planted
# overflow must be caught). Chromium fetches nothing: every host name
# resolves to nothing.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

send=$CW_BUILD/tests/drivers/smtp_send
golden=$top/tests/golden/enrich.ndjson
chromium=/usr/bin/chromium
# Debian's python3: the one with PyICU (python3-icu)
py=/usr/bin/python3
check=$top/tests/emailcheck.py
export CARTWATCH_TEMPLATES="$top/templates"
if [ ! -x "$chromium" ]; then
	echo "Bail out! no $chromium (apt-get install chromium)"
	exit 1
fi
if ! "$py" -c 'import icu' 2>/dev/null; then
	echo "Bail out! no PyICU for $py (apt-get install python3-icu)"
	exit 1
fi

cfg=$T/appsettings.json
cat >"$cfg" <<'JSON'
{"Cartwatch": {"Email": {"StoreName": "Contoso Shop",
   "LogoUrl": "https://cdn.example.com/logo.png"},
 "Notify": {"Provider": "preview", "Preview": {"Dir": "out"},
  "Smtp": {"From": "Contoso Shop <shop@contoso.example>"}}}}
JSON
dir=$T/out

# One cart in many languages and currencies: awkward decimals (4 places,
# half-way cases, beyond 10^8), a fractional quantity, a product without a
# picture, and one with a long name without a blank.
jq -c 'select(.cartId == "repeat-late") |
	.orderDetails = [
	  (.orderDetails[0] | .unitPrice = "1234.5678" | .quantity = "0.5"),
	  (.orderDetails[1] | .unitPrice = "99999999.99" | .quantity = "1"),
	  (.orderDetails[0] | .unitPrice = "0.125" | .quantity = "3" | .productImage = null),
	  (.orderDetails[1] | .unitPrice = "19.9" | .quantity = "2" |
	   .productName = "Extraordinarilylongproductnamewithoutanyblankthatwouldpushthecardwide")]
	' "$golden" >"$T/base.json"
: >"$T/recs.ndjson"
for lc in de-de:EUR fr-fr:EUR en-us:USD ja-jp:JPY ar-sa:SAR de-de:USD ar-sa:USD ja-jp:USD \
    es-mx:MXN nl-nl:EUR de-ch:CHF; do
	jq -c --arg l "${lc%:*}" --arg c "${lc#*:}" \
		'.language = $l | .currency = $c | .notificationId = "n-\($l)-\($c)"' \
		"$T/base.json" >>"$T/recs.ndjson"
done

expect_exit 0 "the preview renders every language" "$send" -c "$cfg" --preview <"$T/recs.ndjson"
lacks "$T/stderr" "no such field" "the shipped templates use only fields they get"

# --- prices: ICU's own output, computed independently ----------------------
"$py" "$check" prices "$dir" "$T/recs.ndjson" >"$T/prices"
while IFS="$(printf '\t')" read -r what missing; do
	is "$missing" "" "$what: unit prices and subtotal as ICU writes them"
done <"$T/prices"
is "$(wc -l <"$T/prices" | tr -d ' ')" 11 "every record checked"
# What that means, seen once: German with euros, Japanese yen without
# decimals, Arabic digits for Saudi Arabia.
has "$dir/n-de-de-EUR.txt" "Zwischensumme: 100\\.000\\.657,45" "de-de: German separators"
has "$dir/n-ja-jp-JPY.txt" "単価 ￥1,235" "ja-jp: yen, rounded to whole yen"
has "$dir/n-ar-sa-SAR.txt" "١٬٢٣٤٫٥٧" "ar-sa: Arabic-Indic digits"

# --- languages and direction ---------------------------------------------
for lc in de-de:de fr-fr:fr en-us:en ja-jp:ja ar-sa:ar es-mx:es nl-nl:nl de-ch:de; do
	id=$(jq -r --arg l "${lc%:*}" 'select(.language == $l) | .notificationId' "$T/recs.ndjson" |
		head -n 1)
	want=$("$py" "$check" direction "${lc#*:}" | cut -d ' ' -f 2)
	has "$dir/$id.html" "^<html lang=\"${lc#*:}\" dir=\"$want\">" \
		"${lc%:*}: the ${lc#*:} template, dir=\"$want\" as ICU has it"
done
# Every shipped translation says the direction ICU gives its language.
for f in "$top"/templates/cart.*.html; do
	lang=${f#"$top"/templates/cart.}
	lang=${lang%.html}
	want=$("$py" "$check" direction "$lang" | cut -d ' ' -f 2)
	has "$f" "^<html lang=\"$lang\" dir=\"$want\">" "cart.$lang.html: lang and dir=\"$want\""
done
has "$dir/n-de-de-EUR.txt" "^Hallo Zoë,$" "de: German text part"
has "$dir/n-ja-jp-JPY.txt" "^Zoë様$" "ja: Japanese text part"
python3 - "$dir/n-fr-fr-EUR.eml" "$dir/n-ar-sa-SAR.eml" >"$T/subjects" <<'PY'
import email, email.policy, sys
for p in sys.argv[1:]:
    print(email.message_from_bytes(open(p, "rb").read(), policy=email.policy.default)["Subject"])
PY
is "$(cat "$T/subjects")" "Zoë, vous avez laissé quelque chose dans votre panier chez Contoso Shop
Zoë، لقد تركت شيئًا في سلتك لدى Contoso Shop" "subjects per language, with the store"

# --- the store, the placeholder -------------------------------------------
has "$dir/n-en-us-USD.html" '<img src="https://cdn.example.com/logo.png" alt="" height="40"' \
	"the logo from Cartwatch.Email.LogoUrl"
has "$dir/n-en-us-USD.html" "Contoso Shop" "the store's name"
is "$(grep -c '>No image</td>' "$dir/n-en-us-USD.html")" 1 \
	"a placeholder where a product has no picture"
is "$(grep -c '>لا توجد صورة</td>' "$dir/n-ar-sa-SAR.html")" 1 "in the email's language"
lacks "$dir/n-en-us-USD.html" 'src=""' "no image without a source"

# --- Chromium: screenshots at 375 and 800 px --------------------------------
# shot HTML PNG WIDTH: a screenshot, without network, bounded in time.
shot() {
	chromium_run 60 --screenshot="$2" --window-size="$3,1600" "file://$1" >"$T/chrome.log" 2>&1
}
for id in n-en-us-USD n-ar-sa-SAR n-ja-jp-JPY; do
	for w in 375 800; do
		if shot "$dir/$id.html" "$T/$id-$w.png" "$w" && [ -s "$T/$id-$w.png" ]; then
			ok "$id at $w px: a screenshot"
		else
			not_ok "$id at $w px: a screenshot"
			tail -n 5 "$T/chrome.log" | sed 's/^/#   /'
		fi
		python3 "$top/tests/pngstat.py" "$T/$id-$w.png" 2563eb ffffff >"$T/stat" || :
		is "$(jq -r '[.width, (.colours > 50), (.near["2563eb"] > 2000),
			(.near.ffffff > 50000)] | join(" ")' "$T/stat")" "$w true true true" \
			"$id at $w px: $w wide, not blank, the blue button and the white card"
	done
done

# --- Chromium: nothing reaches beyond the viewport ---------------------------
# Every email at both widths, and a planted overflow: the English email with
# a table wider than either viewport.
sed 's|<h1 |<table width="900" style="width:900px"><tr><td>wide</td></tr></table><h1 |' \
	"$dir/n-en-us-USD.html" >"$T/planted.html"
set --
while read -r id; do
	set -- "$@" "$id=$dir/$id.html@375" "$id=$dir/$id.html@800"
done <<EOF
$(jq -r .notificationId "$T/recs.ndjson")
EOF
"$py" "$check" wrap "$T/wrap.html" "$@" "planted=$T/planted.html@375" \
	"planted=$T/planted.html@800"
chromium_run 120 --window-size=1000,1000 --virtual-time-budget=10000 --dump-dom \
	"file://$T/wrap.html" 2>"$T/chrome.log" |
	sed -n 's/.*<pre id="result">\(.*\)<\/pre>.*/\1/p' | sed 's/&gt;/>/g; s/&lt;/</g; s/&amp;/\&/g' \
	>"$T/over.json" || :
is "$(jq -r 'length' "$T/over.json" 2>/dev/null)" 24 "Chromium measured 11 emails and the planted one at 2 widths"
jq -r 'to_entries[] | select(.key | startswith("planted") | not) |
	"\(.key)\t\(.value.width)\t\(.value.over)\t\(.value.first | join("; "))"' "$T/over.json" >"$T/over"
while IFS="$(printf '\t')" read -r name width n first; do
	is "$width $n" "${name##*@} 0" "$name: the viewport is ${name##*@} px and nothing overflows it${first:+ ($first)}"
done <"$T/over"
is "$(jq -r '[.["planted@375"].over > 0, .["planted@800"].over > 0] | join(" ")' "$T/over.json")" \
	"true true" "a planted 900 px table is caught at both widths"

done_testing
