#!/usr/bin/env python3
"""pngstat.py FILE [RRGGBB...]: what a PNG screenshot shows, as one JSON line.

Standard library only (zlib): decodes 8-bit RGB or RGBA, non-interlaced PNGs
(what Chromium writes) and prints {"width", "height", "colours": distinct
colours, "dominant": the commonest colour, "dominant_share": its share of the
pixels, "near": {RRGGBB: pixels within 8 of that colour on every channel}}.
"""
import json
import struct
import sys
import zlib
from collections import Counter


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def decode(path):
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise SystemExit(f"{path}: not a PNG")
    pos, idat, hdr = 8, [], None
    while pos < len(data):
        n, typ = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        pos += 12 + n
        if typ == b"IHDR":
            hdr = struct.unpack(">IIBBBBB", body)
        elif typ == b"IDAT":
            idat.append(body)
        elif typ == b"IEND":
            break
    w, h, depth, ctype, _, _, interlace = hdr
    if depth != 8 or interlace != 0 or ctype not in (2, 6):
        raise SystemExit(f"{path}: only 8-bit RGB/RGBA, not interlaced (got {hdr})")
    bpp = 3 if ctype == 2 else 4
    raw = zlib.decompress(b"".join(idat))
    stride = w * bpp
    prev = bytearray(stride)
    rows = []
    for y in range(h):
        off = y * (stride + 1)
        f = raw[off]
        line = bytearray(raw[off + 1:off + 1 + stride])
        if f == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 255
        elif f == 2:
            line = bytearray((x + y_) & 255 for x, y_ in zip(line, prev))
        elif f == 3:
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((a + prev[i]) >> 1)) & 255
        elif f == 4:
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                c = prev[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + paeth(a, prev[i], c)) & 255
        rows.append(line)
        prev = line
    return w, h, bpp, rows


def main():
    path, want = sys.argv[1], [c.lower() for c in sys.argv[2:]]
    w, h, bpp, rows = decode(path)
    count = Counter()
    for line in rows:
        for x in range(0, w * bpp, bpp):
            count[bytes(line[x:x + 3])] += 1
    dom, dn = count.most_common(1)[0]
    near = {}
    for c in want:
        t = bytes.fromhex(c)
        near[c] = sum(n for k, n in count.items()
                      if all(abs(k[i] - t[i]) <= 8 for i in range(3)))
    print(json.dumps({"width": w, "height": h, "colours": len(count), "dominant": dom.hex(),
                      "dominant_share": round(dn / (w * h), 4), "near": near}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
