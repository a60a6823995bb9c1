#!/usr/bin/env python3
"""Seed corpora for the fuzz targets, from Tests/Fixtures/conformance-requests.json.

FuzzParser inputs are a flags byte, a split-seed byte, then the request bytes.
FuzzConnection inputs are 32 decision bytes, then the request bytes.
Each conformance case gives a few seeds: default and tight settings, whole and split.
Requests longer than 8 KiB are cut (the fuzzers run with -max_len=8192 anyway).
"""
import base64, hashlib, json, os, sys

root = os.path.dirname(os.path.abspath(__file__))
fixture = os.path.join(root, "..", "Tests", "Fixtures", "conformance-requests.json")
out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "corpus")
MAX = 8192 - 40

cases = json.load(open(fixture))["cases"]
parser_dir = os.path.join(out, "FuzzParser")
connection_dir = os.path.join(out, "FuzzConnection")
os.makedirs(parser_dir, exist_ok=True)
os.makedirs(connection_dir, exist_ok=True)

def write(directory, data):
    name = hashlib.sha1(data).hexdigest()
    with open(os.path.join(directory, name), "wb") as f:
        f.write(data)

for case in cases:
    raw = base64.b64decode(case["raw_b64"])[:MAX]
    # Parser: default limits whole-ish (seed 0) and split (seed 5); tight limits; keep going after close.
    for flags, seed in ((0x00, 0), (0x00, 5), (0x01, 3), (0x02, 7), (0x19, 2)):
        write(parser_dir, bytes([flags, seed]) + raw)
    # Connection: zero decisions (HTTP/1.1, send whole, plain 200);
    # HTTP/1.0 and tight limits; a derived decision stream (splits, time, handler behaviours).
    digest = hashlib.sha256(raw).digest()
    for prefix in (bytes(32), bytes([0x01]) + bytes(31), bytes([0x02]) + digest[1:32], digest):
        write(connection_dir, prefix + raw)

print(f"{len(cases)} cases -> {len(os.listdir(parser_dir))} parser seeds, {len(os.listdir(connection_dir))} connection seeds in {out}")
