#!/usr/bin/env python3
"""demo-data.py: the sandbox data set of the demo.

    scripts/demo-data.py [--base FILE] [--seed N] [-o OUT] NOW

Reads the sandbox's data set (default tests/sandbox/default.json) and writes it
back (to OUT, default standard output) with the carts, customers and products
of Retail Server operating unit 128 replaced by a demo shop's: a few hundred
carts over the eight hours before NOW (ISO 8601, e.g. 2026-11-24T12:00:00Z;
the demo runs with CARTWATCH_NOW set to the same time), a dozen customers whose
names are written in several languages and scripts, and thirty products. Every
other section (tenants, identities, the vault, the providers, unit 128's
channel, unit 256) is kept as it is, numbers written as they were.

The same NOW and seed give the same file, byte for byte. What is in it, with
the sample's window (Include 500 minutes, Exclude 10):

* carts of the 12 customers, several each, so that one cart per customer
  (the latest) matters;
* guest carts (no CustomerId) with a ReceiptEmail, some guests with several
  carts, one address written in two cases; and guest carts with no email;
* a few empty carts (no lines), a few checkout carts (CartTypeValue 2);
* a few carts modified in the last 10 minutes (too recent: not abandoned yet)
  and a few modified before the window (more than 500 minutes ago).

300 carts: 130 of the customers' in the window, 60 guests' with an email (40
addresses), 78 guests' without, 12 empty, 5 checkout carts, 10 too recent, 5
too old. So cart-fetch finds, with the default seed: 12 carts (one per
customer; 130 with Cartwatch.OneCartPerCustomer false), or with
Cartwatch.IncludeGuestCarts 52 (one per customer or guest address; 190).

Python 3 standard library only.
"""

import argparse
import datetime as dt
import decimal
import json
import os
import random
import sys
from decimal import Decimal

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_BASE = os.path.join(TOP, "tests", "sandbox", "default.json")
OUN = "128"

# (first, last, Name as the customer record shows it, language, email)
CUSTOMERS = [
    ("Emily", "Carter", "Emily Carter", "en-us", "emily.carter@example.com"),
    ("Oliver", "Bennett", "Oliver Bennett", "en-gb", "oliver.bennett@example.org"),
    ("Jürgen", "Weiß", "Jürgen Weiß", "de-de", "juergen.weiss@example.net"),
    ("Anna-Lena", "Schröder", "Anna-Lena Schröder", "de-de", "annalena.schroeder@example.com"),
    ("Małgorzata", "Wiśniewska", "Małgorzata Wiśniewska", "pl-pl",
     "malgorzata.wisniewska@example.net"),
    ("健", "佐藤", "佐藤 健", "ja", "ken.sato@example.com"),
    ("さくら", "山本", "山本 さくら", "ja", "sakura.yamamoto@example.org"),
    ("Lucía", "Fernández", "Lucía Fernández", "es-es", "lucia.fernandez@example.com"),
    ("José", "Ramírez", "José Ramírez", "es-mx", "jose.ramirez@example.net"),
    ("فاطمة", "الحسيني", "فاطمة الحسيني", "ar-sa", "fatima.alhusseini@example.com"),
    ("Chloé", "Lefèvre", "Chloé Lefèvre", "fr-fr", "chloe.lefevre@example.org"),
    ("芳", "王", "王 芳", "zh-cn", "fang.wang@example.com"),
]

# (name, price, image: "abs" an https URL, "rel" a relative one for the image
# server, None no image; alt text, "" for none)
PRODUCTS = [
    ("Merino Crew Sweater", "89.00", "abs", "Grey merino crew-neck sweater"),
    ("Linen Button-Down Shirt", "59.50", "rel", "White linen shirt"),
    ("Slim Chino Trousers", "64.95", "rel", "Khaki chinos"),
    ("Waxed Cotton Jacket", "229.00", "abs", "Olive waxed jacket"),
    ("Cashmere Scarf", "119.00", "abs", "Camel cashmere scarf"),
    ("Leather Belt", "45.00", "rel", ""),
    ("Canvas Weekender Bag", "149.99", "abs", "Navy canvas weekender"),
    ("Running Shoes", "129.95", "rel", "Blue running shoes, side view"),
    ("Wool Socks, 3 Pairs", "24.00", "rel", "Three pairs of wool socks"),
    ("Rain Poncho", "39.90", None, ""),
    ("Ceramic Pour-Over Set", "54.00", "abs", "White ceramic pour-over dripper"),
    ("Single-Origin Coffee Beans 1 kg", "32.50", "rel", "Bag of coffee beans"),
    ("Cast Iron Skillet", "74.99", "abs", "10-inch cast iron skillet"),
    ("Chef's Knife", "98.00", "rel", "8-inch chef's knife"),
    ("Bamboo Cutting Board", "27.95", "rel", ""),
    ("Stoneware Mug", "16.00", "abs", "Speckled stoneware mug"),
    ("Glass Storage Jars, Set of 4", "36.00", "rel", "Four glass jars"),
    ("Linen Tea Towels", "18.50", "rel", "Striped tea towels"),
    ("Wool Throw Blanket", "139.00", "abs", "Checked wool throw"),
    ("Scented Candle", "28.00", "rel", "Amber candle in a glass"),
    ("Desk Lamp", "89.90", "abs", "Brass desk lamp"),
    ("Notebook, Dotted", "14.50", "rel", "Black dotted notebook"),
    ("Fountain Pen", "65.00", "abs", "Blue fountain pen"),
    ("Wireless Earbuds", "149.00", "rel", "White wireless earbuds in their case"),
    ("Phone Case", "29.99", "rel", ""),
    ("Yoga Mat", "49.00", "abs", "Purple yoga mat, rolled"),
    ("Water Bottle 750 ml", "22.00", "rel", "Steel water bottle"),
    ("Gift Card", "50.00", None, ""),
    ("Plant Pot, Terracotta", "19.90", "rel", "Terracotta plant pot"),
    ("Picnic Blanket", "59.00", "abs", "Red tartan picnic blanket"),
]

GUEST_FIRST = ["alex", "sam", "jordan", "taylor", "morgan", "casey", "riley", "jamie",
               "robin", "kim", "lee", "chris", "pat", "dana", "avery", "quinn",
               "noor", "mika", "ines", "tomas"]
GUEST_LAST = ["miller", "jensen", "novak", "silva", "kowalski", "tanaka", "haddad",
              "moreau", "rossi", "berg", "okafor", "nguyen", "costa", "fischer"]
GUEST_DOMAINS = ["example.com", "example.net", "example.org"]

# How many carts of each kind (300 in all).
N_CUSTOMER = 130      # the 12 customers' carts in the window
N_GUEST_EMAIL = 60    # guests with a ReceiptEmail, in the window
N_GUEST_ANON = 78     # guests with no email, in the window
N_EMPTY = 12          # no lines, in the window
N_CHECKOUT = 5        # CartTypeValue 2, in the window
N_RECENT = 10         # modified in the last 10 minutes
N_OLD = 5             # modified before the window


def fail(msg, status=2):
    sys.stderr.write("demo-data.py: %s\n" % msg)
    sys.exit(status)


def parse_now(text):
    t = text.strip()
    if t.endswith("Z") or t.endswith("z"):
        t = t[:-1] + "+00:00"
    try:
        when = dt.datetime.fromisoformat(t)
    except ValueError:
        fail("NOW %r is not an ISO 8601 time" % text)
    if when.tzinfo is None:
        fail("NOW %r has no offset (add Z)" % text)
    return when.astimezone(dt.timezone.utc)


def iso(when, rng=None):
    """Retail Server's form: whole seconds, or (now and then) 7 fraction digits."""
    when = when.astimezone(dt.timezone.utc)
    base = when.strftime("%Y-%m-%dT%H:%M:%S")
    if rng is not None and rng.random() < 0.3:
        return "%s.%07dZ" % (base, rng.randrange(10 ** 7))
    return base + "Z"


def hexid(rng, n=32):
    return "%0*x" % (n, rng.getrandbits(4 * n))


def cart_id(rng):
    h = hexid(rng)
    return "%s-%s-4%s-%s-%s" % (h[:8], h[8:12], h[13:16], h[16:20], h[20:32])


def slug(name):
    out = "".join(c.lower() if c.isalnum() else "-" for c in name)
    while "--" in out:
        out = out.replace("--", "-")
    return out.strip("-")


def make_products(specs=PRODUCTS):
    """Product records of SPECS, (name, price, image, alt) as in PRODUCTS."""
    products = []
    for i, (name, price, image, alt) in enumerate(specs):
        item = "DM-%04d" % (2001 + i)
        p = Decimal(price)
        prod = {
            "RecordId": 22565430001 + i,
            "ProductName": name,
            "ProductNumber": item,
            "ItemId": item,
            "Description": name + ".",
            "SearchName": name.upper(),
            "IsMasterProduct": False,
            "IsKit": False,
            "DefaultUnitOfMeasure": "ea",
            "Locale": "en-us",
            "BasePrice": p,
            "Price": p,
            "AdjustedPrice": p,
            "PrimaryCategoryId": 68719478037 + i % 3,
        }
        if image is None:
            prod["Image"] = None if i % 2 else {"Items": []}
        else:
            url = ("https://images.example.com/demo/products/%s.jpg" % slug(name)
                   if image == "abs" else "Products/%s_000_001.png" % item.replace("-", ""))
            prod["Image"] = {"Items": [{"Url": url, "AltText": alt, "IsSelfHosted": image == "abs",
                                        "IsDefault": True, "Priority": 0}]}
        prod["ExtensionProperties"] = []
        products.append(prod)
    return products


def make_customers(specs=CUSTOMERS):
    """Customer records of SPECS, (first, last, name, language, email) as in
    CUSTOMERS; account numbers from 007001."""
    out = []
    for i, (first, last, name, lang, email) in enumerate(specs):
        out.append({
            "AccountNumber": "%06d" % (7001 + i),
            "RecordId": 5637150001 + i,
            "CustomerTypeValue": 1,
            "Name": name,
            "FirstName": first,
            "MiddleName": "",
            "LastName": last,
            "Email": email,
            "Phone": "+1 555 01%02d" % i,
            "Language": lang,
            "CurrencyCode": "USD",
            "CustomerGroup": "30",
            "Blocked": False,
            "PartyNumber": "%09d" % (8001 + i),
            "CreatedDateTime": "2025-%02d-%02dT09:00:00Z" % (1 + i % 12, 1 + (3 * i) % 28),
            "ExtensionProperties": [],
        })
    return out


# How many lines a cart has, and how often (weights).
LINE_COUNTS = ([1, 2, 3, 4], [45, 30, 17, 8])


def make_lines(rng, products, empty=False, counts=LINE_COUNTS):
    if empty:
        return []
    n = rng.choices(counts[0], weights=counts[1])[0]
    lines = []
    for prod in rng.sample(products, n):
        qty = rng.choices([1, 2, 3], weights=[75, 18, 7])[0]
        price = prod["Price"]
        lines.append({
            "LineId": hexid(rng),
            "ItemId": prod["ItemId"],
            "ProductId": prod["RecordId"],
            "Description": prod["ProductName"],
            "Quantity": qty,
            "Price": price,
            "TotalAmount": (price * qty).quantize(Decimal("0.01")),
            "UnitOfMeasureSymbol": "ea",
            "IsVoided": False,
        })
    return lines


def make_cart(rng, channel, products, modified, customer=None, email=None,
              empty=False, cart_type=1, counts=LINE_COUNTS):
    """A Retail Server cart; CUSTOMER needs only AccountNumber and Email."""
    lines = make_lines(rng, products, empty, counts)
    subtotal = sum((l["TotalAmount"] for l in lines), Decimal("0.00"))
    began = modified - dt.timedelta(minutes=rng.randint(1, 240), seconds=rng.randint(0, 59))
    cart = {
        "Id": cart_id(rng),
        "ChannelId": channel,
        "CartTypeValue": cart_type,
        "CustomerId": customer["AccountNumber"] if customer else rng.choice(["", None]),
        "ReceiptEmail": customer["Email"] if customer else email,
        "BeginDateTime": iso(began),
        "ModifiedDateTime": iso(modified, rng),
        "Version": rng.randint(1, 24),
        "SubtotalAmount": subtotal,
        "TaxAmount": 0,
        "TotalAmount": subtotal,
        "CartLines": lines,
        "ExtensionProperties": [],
    }
    if cart["ReceiptEmail"] is None:
        cart["ReceiptEmail"] = rng.choice(["", None])
    return cart


def make_carts(rng, now, channel, customers, products):
    window_start = now - dt.timedelta(hours=8)
    window_end = now - dt.timedelta(minutes=10, seconds=1)
    span = (window_end - window_start).total_seconds()

    def in_window():
        return window_start + dt.timedelta(seconds=rng.uniform(0, span))

    guests = []
    while len(guests) < 40:
        g = "%s.%s@%s" % (rng.choice(GUEST_FIRST), rng.choice(GUEST_LAST),
                          rng.choice(GUEST_DOMAINS))
        if g not in guests:
            guests.append(g)
    carts = []
    # Every customer gets carts in the window, some many.
    weights = [rng.randint(1, 6) for _ in customers]
    for i in range(N_CUSTOMER):
        who = customers[i] if i < len(customers) else rng.choices(customers, weights)[0]
        carts.append(make_cart(rng, channel, products, in_window(), customer=who))
    # Guests: 40 addresses over 60 carts; one address also written in capitals.
    for i in range(N_GUEST_EMAIL):
        email = guests[i] if i < len(guests) else rng.choice(guests)
        if i == N_GUEST_EMAIL - 1:
            email = guests[0].title()
        carts.append(make_cart(rng, channel, products, in_window(), email=email))
    for _ in range(N_GUEST_ANON):
        carts.append(make_cart(rng, channel, products, in_window()))
    for i in range(N_EMPTY):
        who = customers[i % len(customers)] if i % 2 == 0 else None
        email = None if who else rng.choice(guests)
        carts.append(make_cart(rng, channel, products, in_window(), customer=who,
                               email=email, empty=True))
    for i in range(N_CHECKOUT):
        carts.append(make_cart(rng, channel, products, in_window(),
                               customer=rng.choice(customers), cart_type=2))
    # Too recent: inside the Exclude delay (the last 10 minutes), customers'
    # and guests'; a customer's recent cart must not hide their older one.
    for i in range(N_RECENT):
        when = now - dt.timedelta(seconds=rng.randint(0, 9 * 60 + 59))
        if i % 2 == 0:
            carts.append(make_cart(rng, channel, products, when, customer=customers[i]))
        else:
            carts.append(make_cart(rng, channel, products, when, email=rng.choice(guests)))
    # Too old: before now minus 500 minutes.
    for i in range(N_OLD):
        when = now - dt.timedelta(minutes=rng.randint(501, 600))
        carts.append(make_cart(rng, channel, products, when,
                               customer=customers[(3 * i + 1) % len(customers)]))
    rng.shuffle(carts)
    return carts


# ------------------------------------------------------------------ output --

# One encoder for every string: json.dumps(ensure_ascii=False) makes a new
# one per call.
_text = json.JSONEncoder(ensure_ascii=False).encode


def encode(value, indent=0, step=2):
    """JSON text, UTF-8, keeping the text of Decimal numbers (19.90 stays 19.90).
    Arrays of scalars and small objects are kept on one line.

    One pass: each item is encoded once, at its own indent, and a container
    is kept on one line only when every item is. An item too long for one
    line at its indent makes its container too long as well (the brackets
    and the key are at least the step), so this gives what encoding every
    container both ways would, without the work doubling at each level."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, (int, float)):
        return json.dumps(value)
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = [_text(k) + ": " + encode(v, indent + step, step) for k, v in value.items()]
        open_, close = "{", "}"
    elif isinstance(value, (list, tuple)):
        if not value:
            return "[]"
        items = [encode(v, indent + step, step) for v in value]
        open_, close = "[", "]"
    else:
        raise TypeError("cannot encode %r" % type(value).__name__)
    if not any("\n" in i for i in items):
        flat = open_ + ", ".join(items) + close
        if len(flat) + indent <= 100:
            return flat
    pad = " " * (indent + step)
    return open_ + "\n" + ",\n".join(pad + i for i in items) + "\n" + " " * indent + close


def main():
    ap = argparse.ArgumentParser(description="Write the demo's sandbox data set.")
    ap.add_argument("now", metavar="NOW", help="ISO 8601 time the demo runs at (CARTWATCH_NOW)")
    ap.add_argument("--base", default=DEFAULT_BASE,
                    help="the sandbox data set to start from (default: %(default)s)")
    ap.add_argument("--seed", type=int, default=128, help="random seed (default 128)")
    ap.add_argument("-o", "--output", help="where to write (default: standard output)")
    a = ap.parse_args()

    now = parse_now(a.now)
    try:
        with open(a.base, encoding="utf-8") as f:
            data = json.load(f, parse_float=Decimal)
    except (OSError, ValueError) as e:
        fail("%s: %s" % (a.base, e), 1)
    try:
        unit = data["retail"]["units"][OUN]
        channel = unit["channel"]["RecordId"]
    except (KeyError, TypeError):
        fail("%s: no retail unit %s with a channel" % (a.base, OUN), 1)

    decimal.getcontext().prec = 28
    rng = random.Random("%d:%s" % (a.seed, iso(now)))
    products = make_products()
    customers = make_customers()
    unit["customers"] = customers
    unit["products"] = products
    unit["carts"] = make_carts(rng, now, channel, customers, products)

    text = encode(data) + "\n"
    if a.output:
        tmp = a.output + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, a.output)
    else:
        sys.stdout.buffer.write(text.encode("utf-8"))


if __name__ == "__main__":
    main()
