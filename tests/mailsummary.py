#!/usr/bin/env python3
"""mailsummary.py DIR: what tests/smtpd.py saved in DIR, one JSON line per message.

Standard library only: the message is parsed with the email package, its HTML
part with html.parser, so the checks see what a mail client would see. Each
line holds the envelope (mail_from, rcpt_tos, auth, login, tls), the decoded
headers, the wire form (crlf: only CRLF line ends; max_line), the parts, the
text and HTML bodies, and from the HTML: every <picture> as {"sources":
[[srcset, media]...], "img": [src, alt]}, the <img> outside pictures, the
link targets, the number of <script> elements and the visible text.
"""
import email
import email.policy
import email.utils
import json
import os
import re
import sys
import time
from html.parser import HTMLParser


class Page(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.pictures, self.loose_imgs, self.links, self.scripts = [], [], [], 0
        self.text, self.cur = [], None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "picture":
            self.cur = {"sources": [], "img": None}
        elif tag == "source" and self.cur is not None:
            self.cur["sources"].append([a.get("srcset"), a.get("media")])
        elif tag == "img":
            if self.cur is not None:
                self.cur["img"] = [a.get("src"), a.get("alt")]
            else:
                self.loose_imgs.append([a.get("src"), a.get("alt")])
        elif tag == "a":
            self.links.append(a.get("href"))
        elif tag == "script":
            self.scripts += 1

    def handle_endtag(self, tag):
        if tag == "picture" and self.cur is not None:
            self.pictures.append(self.cur)
            self.cur = None

    def handle_data(self, data):
        if data.strip():
            self.text.append(data.strip())


def summary(d, n):
    raw = open(os.path.join(d, f"{n}.eml"), "rb").read()
    meta = json.load(open(os.path.join(d, f"{n}.json")))
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    lines = raw.split(b"\r\n")
    out = dict(meta)
    out["n"] = n
    out["crlf"] = b"\n" not in raw.replace(b"\r\n", b"") and b"\r" not in raw.replace(b"\r\n", b"")
    out["max_line"] = max(len(x) for x in lines)
    out["headers"] = [k for k in msg.keys()]
    for h in ("From", "Subject", "Message-ID", "X-Cartwatch-Notification-Id",
              "MIME-Version", "Content-Language"):
        out[h.lower().replace("-", "_")] = str(msg[h]) if msg[h] is not None else None
    raw_headers = raw.split(b"\r\n\r\n", 1)[0].decode("ascii")
    out["subject_raw"] = re.search(r"^Subject: ([^\r\n]*(?:\r\n[ \t][^\r\n]*)*)", raw_headers, re.M).group(1)
    to = msg["To"].addresses[0]
    out["to_addr"], out["to_name"] = to.addr_spec, to.display_name
    date = email.utils.parsedate_to_datetime(str(msg["Date"]))
    out["date_skew"] = abs(date.timestamp() - time.time())
    out["content_type"] = msg.get_content_type()
    out["boundary"] = msg.get_boundary()
    out["parts"] = [[p.get_content_type(), p.get_content_charset(), p["Content-Transfer-Encoding"]]
                    for p in msg.iter_parts()]
    text = msg.get_body(("plain",))
    html = msg.get_body(("html",))
    out["text"] = text.get_content() if text else None
    out["html"] = html.get_content() if html else None
    page = Page()
    page.feed(out["html"] or "")
    page.close()
    out["pictures"] = page.pictures
    out["loose_imgs"] = page.loose_imgs
    out["links"] = page.links
    out["scripts"] = page.scripts
    out["html_text"] = " ".join(page.text)
    return out


def main():
    d = sys.argv[1]
    ns = sorted(int(f[:-4]) for f in os.listdir(d) if f.endswith(".eml")) if os.path.isdir(d) else []
    for n in ns:
        print(json.dumps(summary(d, n), ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
