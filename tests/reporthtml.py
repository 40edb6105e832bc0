#!/usr/bin/env python3
"""reporthtml.py PAGE: the figures of cart-dedupe report --html's page, read
back from its table, as the NDJSON that report --json prints (one line per day
and step, the same names and order), so that a test can compare the two.

Standard library only: the rows are <tr class="figures">, each figure a cell
named by its class; the rate's exact value is in data-value, revenue amounts
in <span data-currency>, skipped counts in <td class="skipped" data-reason>.
"""
import html.parser
import json
import sys


class Page(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.rows, self.row, self.cell, self.currency = [], None, None, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "tr":
            self.row = {} if a.get("class") == "figures" else None
        elif tag == "td" and self.row is not None:
            self.cell = a
            self.cell["text"] = ""
        elif tag == "span" and self.cell is not None and "data-currency" in a:
            self.currency = a["data-currency"]

    def handle_data(self, data):
        if self.cell is not None:
            self.cell["text"] += data

    def handle_endtag(self, tag):
        if tag == "span" and self.currency is not None:
            # "USD 61.49": the amount after the code
            text = self.cell["text"].rsplit(" ", 1)[-1] if self.cell["text"] else ""
            self.row.setdefault("revenue", {})[self.currency] = text.strip()
            self.cell["text"] = ""
            self.currency = None
        elif tag == "td" and self.cell is not None:
            self.take(self.cell)
            self.cell = None
        elif tag == "tr" and self.row is not None:
            self.rows.append(self.row)
            self.row = None

    def take(self, cell):
        name, text = cell.get("class"), cell["text"].strip()
        if name == "day":
            self.row["day"] = text
        elif name == "rate":
            self.row["rate"] = float(cell["data-value"])
        elif name == "revenue":
            self.row.setdefault("revenue", {})
        elif name == "skipped":
            self.row.setdefault("skipped", {})[cell["data-reason"]] = int(text)
        else:
            self.row[name] = int(text)


def main(path):
    page = Page()
    page.feed(open(path, encoding="utf-8").read())
    order = ("day", "step", "sent", "recovered", "rate", "revenue", "skipped", "failed",
             "uncertain")
    for row in page.rows:
        # the page has a column for every reason any row has; --json names
        # the five always, and others only where they were counted
        row["skipped"] = {k: v for i, (k, v) in enumerate(row["skipped"].items())
                          if i < 5 or v != 0}
        print(json.dumps({k: row[k] for k in order}, separators=(",", ":"),
                         ensure_ascii=False))


if __name__ == "__main__":
    main(sys.argv[1])
