#!/usr/bin/python3
"""emailcheck.py: what tests/0053-email.t checks in rendered emails, by ICU.

Run with Debian's python3, which has PyICU (python3-icu). Subcommands:

  prices DIR RECORDS   for each record (NDJSON) with DIR/ID.txt and DIR/ID.html:
                       one line "LANGUAGE CURRENCY<TAB>what is missing", the
                       prices and subtotal as ICU writes them for the record's
                       language and currency, computed here from the decimals
                       (Python's decimal, not the C code's sums)
  direction TAG...     per tag "TAG ltr" or "TAG rtl": ICU's likely script for
                       the language, and whether it is written right to left
  wrap OUT NAME=HTML@WIDTH...
                       a page of iframes (srcdoc), one per email and width,
                       that measures on load whether any element of an email
                       reaches beyond its viewport; headless Chromium's
                       --dump-dom then shows the verdict in <pre id="result">
"""
import decimal
import html
import json
import sys

import icu


def money(lang, cur, amount):
    # Ties away from zero, as cartwatch asks of ICU (money.h)
    f = icu.NumberFormatter.forSkeleton(f"currency/{cur} rounding-mode-half-up").locale(
        icu.Locale.forLanguageTag(lang))
    return f.formatDecimal(str(amount).encode())


def prices(outdir, records):
    for line in open(records, encoding="utf-8"):
        rec = json.loads(line)
        lang, cur = rec["language"], rec["currency"]
        text = open(f"{outdir}/{rec['notificationId']}.txt", encoding="utf-8").read()
        page = open(f"{outdir}/{rec['notificationId']}.html", encoding="utf-8").read()
        want, total = [], decimal.Decimal(0)
        for od in rec["orderDetails"]:
            price = decimal.Decimal(od["unitPrice"])
            total += decimal.Decimal(od["quantity"]) * price
            want.append(money(lang, cur, price))
        want.append(money(lang, cur, total))
        missing = [w for w in want if w not in text or html.escape(w) not in page]
        print(f"{lang} {cur}\t{' | '.join(missing)}")


def direction(tags):
    for tag in tags:
        loc = icu.Locale.forLanguageTag(tag)
        loc.addLikelySubtags()
        code = icu.Script.getCode(loc.getScript())[0]
        print(tag, "rtl" if icu.Script(code).isRightToLeft() else "ltr")


MEASURE = """<pre id="result"></pre><script>
function over(fr) {
  var d = fr.contentDocument, de = d.documentElement, w = de.clientWidth, bad = [];
  if (de.scrollWidth > w) bad.push('the page is ' + de.scrollWidth + ' px wide');
  d.querySelectorAll('body *').forEach(function (el) {
    var r = el.getBoundingClientRect();
    if (r.width > 0 && (r.right > w + 0.5 || r.left < -0.5))
      bad.push(el.tagName.toLowerCase() + ' at ' + Math.round(r.left) + '..' +
        Math.round(r.right));
  });
  return {width: w, over: bad.length, first: bad.slice(0, 3)};
}
window.addEventListener('load', function () {
  var out = {};
  document.querySelectorAll('iframe').forEach(function (fr) {
    out[fr.dataset.name] = over(fr);
  });
  document.getElementById('result').textContent = JSON.stringify(out);
});
</script>"""


def wrap(out, specs):
    frames = []
    for spec in specs:
        name, rest = spec.split("=", 1)
        path, width = rest.rsplit("@", 1)
        doc = open(path, encoding="utf-8").read()
        frames.append(
            f'<iframe data-name="{html.escape(name)}@{width}" width="{width}" height="2000" '
            f'style="display:block;width:{width}px;height:2000px;border:0" '
            f'srcdoc="{html.escape(doc, quote=True)}"></iframe>')
    with open(out, "w", encoding="utf-8") as f:
        f.write("<!DOCTYPE html><html><head><meta charset=\"utf-8\"></head><body>\n")
        f.write("\n".join(frames) + "\n" + MEASURE + "\n</body></html>\n")


def main():
    if len(sys.argv) >= 4 and sys.argv[1] == "prices":
        prices(sys.argv[2], sys.argv[3])
    elif len(sys.argv) >= 3 and sys.argv[1] == "direction":
        direction(sys.argv[2:])
    elif len(sys.argv) >= 4 and sys.argv[1] == "wrap":
        wrap(sys.argv[2], sys.argv[3:])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
