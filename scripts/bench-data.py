#!/usr/bin/env python3
"""bench-data.py: seeded, realistic data for the benchmark, at any size.

    scripts/bench-data.py carts    [--seed N] [--now NOW] [-o OUT] N
    scripts/bench-data.py enriched [--seed N] [--now NOW] [-o OUT] N
    scripts/bench-data.py dataset  [--seed N] [--now NOW] [--base FILE] [-o OUT] N

carts: N carts as cart-fetch writes them (Retail Server carts of operating
unit 128 plus channelId and currency), NDJSON, the input of cart-dedupe.
enriched: the first N of those carts that have an email, as cart-enrich
would write them for cart-notify (the golden tests/golden/enrich.ndjson
shape). dataset: the sandbox data set (tests/sandbox/README.md) with unit
128's carts, customers and products replaced by the same N carts.

The shop: 5,000 products with prices of 0 to 4 decimals; N customers, and
about 80 % of the carts are theirs (so about 0.8 carts per customer, some with
several), the rest guests' (3 in 5 of them with an email); 1 to 6 lines per
cart; modified over the 8 hours before NOW (default 2026-11-24T12:00:00Z).
The same seed, NOW and N give the same bytes.

The cart, product and customer records are demo-data.py's; this file only
chooses how many and of what. Python 3 standard library only.
"""

import sys
sys.dont_write_bytecode = True      # keep __pycache__ out of the source tree

import argparse  # noqa: E402
import datetime as dt
import decimal
import importlib.util
import json
import os
import random
from decimal import Decimal

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location("demo_data", os.path.join(HERE, "demo-data.py"))
demo = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(demo)

N_PRODUCTS = 5000
GUEST_SHARE = 0.2
GUEST_EMAIL_SHARE = 0.6
LINE_COUNTS = ([1, 2, 3, 4, 5, 6], [38, 26, 16, 10, 6, 4])
CURRENCY = "USD"
RETURN_URL = "https://shop.example.com/cart"
VIEWPORTS = ["(max-width:768px)", "(min-width:769px) and (max-width:1599px)",
             "(min-width:1600px)"]


def product_specs(rng):
    """(name, price, image, alt) like demo-data's PRODUCTS, N_PRODUCTS of them."""
    out = []
    for i in range(N_PRODUCTS):
        name, _, image, alt = demo.PRODUCTS[i % len(demo.PRODUCTS)]
        places = rng.choice([0, 1, 2, 2, 2, 3, 4])
        cents = rng.randint(1, 500 * 10 ** places)
        price = str(Decimal(cents).scaleb(-places))
        out.append(("%s No. %d" % (name, i + 1), price, image, alt))
    return out


def customer_spec(i):
    """(first, last, name, language, email) of customer I, without keeping them all."""
    if i % 10 == 0:
        first, last, name, lang, _ = demo.CUSTOMERS[(i // 10) % len(demo.CUSTOMERS)]
    else:
        first = demo.GUEST_FIRST[i % len(demo.GUEST_FIRST)].title()
        last = demo.GUEST_LAST[(i // len(demo.GUEST_FIRST)) % len(demo.GUEST_LAST)].title()
        name, lang = first + " " + last, "en-us"
    email = "c%d@%s" % (i, demo.GUEST_DOMAINS[i % len(demo.GUEST_DOMAINS)])
    return (first, last, name, lang, email)


def account(i):
    return "%06d" % (7001 + i)


class Shop:
    def __init__(self, seed, now, n):
        decimal.getcontext().prec = 28
        self.now = now
        self.n = n
        self.rng = random.Random("bench:%d:%s" % (seed, demo.iso(now)))
        self.products = demo.make_products(product_specs(self.rng))
        self.channel = 68719478279

    def carts(self):
        """Yields (cart, customer index or None)."""
        rng, start = self.rng, self.now - dt.timedelta(hours=8)
        span = 8 * 3600 - 601
        for _ in range(self.n):
            when = start + dt.timedelta(seconds=rng.uniform(0, span))
            if rng.random() >= GUEST_SHARE:
                who = rng.randrange(self.n)
                spec = customer_spec(who)
                cart = demo.make_cart(rng, self.channel, self.products, when,
                                      customer={"AccountNumber": account(who), "Email": spec[4]},
                                      counts=LINE_COUNTS)
            else:
                who = None
                email = ("guest%d@example.com" % rng.randrange(self.n)
                         if rng.random() < GUEST_EMAIL_SHARE else None)
                cart = demo.make_cart(rng, self.channel, self.products, when, email=email,
                                      counts=LINE_COUNTS)
            cart["ModifiedDateTime"] = demo.iso(when, rng)
            yield cart, who


def _number(value):
    # A NUL-marked string, unquoted below: Decimal keeps its text (19.90).
    if isinstance(value, Decimal):
        return "\0%s\0" % value
    raise TypeError("cannot encode %r" % type(value).__name__)


def line(value):
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=_number)
    return text.replace('"\\u0000', "").replace('\\u0000"', "") + "\n"


def fetched(cart):
    out = dict(cart)
    out["channelId"] = cart["ChannelId"]
    out["currency"] = CURRENCY
    return out


def enriched(cart, who, by_id):
    """What cart-enrich makes of CART (cart-dedupe's notificationId stands in
    as a hash of the cart id)."""
    spec = customer_spec(who) if who is not None else ("", "", "", "en-us", cart["ReceiptEmail"])
    details = []
    for l in cart["CartLines"]:
        prod = by_id[l["ProductId"]]
        items = (prod.get("Image") or {}).get("Items") or []
        url = items[0]["Url"] if items else ""
        if url and not url.startswith("https://"):
            url = "https://images.example.com/cms/imageFileData/search?fileName=" + url
        details.append({"productId": str(l["ProductId"]), "productName": l["Description"],
                        "quantity": str(l["Quantity"]), "unitPrice": str(l["Price"]),
                        "productImage": {"altText": items[0]["AltText"] if items else "",
                                         "viewPortImages": [
                                             {"url": url, "media": v,
                                              "useForDefaultImageTag": k == 2}
                                             for k, v in enumerate(VIEWPORTS)] if url else []}})
    return {"notificationId": cart["Id"].replace("-", "") + "00000000", "step": 1,
            "cartId": cart["Id"], "customerId": cart["CustomerId"] or "",
            "modifiedDateTime": cart["ModifiedDateTime"], "email": spec[4],
            "firstName": spec[0], "lastName": spec[1], "language": spec[3],
            "currency": CURRENCY, "returnToCartUrl": RETURN_URL,
            "orderDetails": details, "channelId": cart["ChannelId"]}


def write_dataset(shop, base, out):
    with open(base, encoding="utf-8") as f:
        data = json.load(f, parse_float=Decimal)
    unit = data["retail"]["units"][demo.OUN]
    carts, seen = [], set()
    for cart, who in shop.carts():
        carts.append(cart)
        if who is not None:
            seen.add(who)
    unit["carts"] = carts
    unit["products"] = shop.products
    unit["customers"] = demo.make_customers([customer_spec(i) for i in sorted(seen)])
    for c, i in zip(unit["customers"], sorted(seen)):
        c["AccountNumber"] = account(i)
    out.write(line(data))


def main():
    ap = argparse.ArgumentParser(description="Write the benchmark's data.")
    ap.add_argument("kind", choices=["carts", "enriched", "dataset"])
    ap.add_argument("n", type=int, metavar="N", help="how many carts (or records)")
    ap.add_argument("--seed", type=int, default=11, help="random seed (default 11)")
    ap.add_argument("--now", default="2026-11-24T12:00:00Z",
                    help="the time the run is at (CARTWATCH_NOW; default %(default)s)")
    ap.add_argument("--base", default=demo.DEFAULT_BASE, help="dataset: the data set to start from")
    ap.add_argument("-o", "--output", help="where to write (default: standard output)")
    a = ap.parse_args()
    if a.n < 0:
        demo.fail("N must be 0 or more")
    shop = Shop(a.seed, demo.parse_now(a.now), a.n)
    out = (open(a.output + ".tmp", "w", encoding="utf-8") if a.output
           else open(sys.stdout.fileno(), "w", encoding="utf-8", closefd=False))
    with out:
        if a.kind == "carts":
            for cart, _ in shop.carts():
                out.write(line(fetched(cart)))
        elif a.kind == "enriched":
            by_id = {p["RecordId"]: p for p in shop.products}
            shop.n = a.n * 3    # enough carts to find N with an email
            made = 0
            for cart, who in shop.carts():
                if made == a.n:
                    break
                if cart["ReceiptEmail"] and cart["CartLines"]:
                    out.write(line(enriched(cart, who, by_id)))
                    made += 1
        else:
            write_dataset(shop, a.base, out)
    if a.output:
        os.replace(a.output + ".tmp", a.output)


if __name__ == "__main__":
    main()
