#!/usr/bin/env python3
"""Reference encoder of finerank's portable feature map (standard library only).

Reads a feature map written by `finerank export model.frk --format featuremap -o fm.json`
(format "finerank.featuremap.portable", version 1; see docs/export.md) and encodes the rows
of a CSV/TSV file exactly as finerank does: categorical values become ids (0 padding,
1 out-of-vocabulary, 2.. known; hash tables: 2 + murmur3_x86_32(utf8(value), seed) mod
buckets), numeric values go through their steps in float64 and are rounded to float32 once
at the end, bucketized numbers become 2 + (number of boundaries <= x), multi-value cells are
split, truncated (first or last maxLen tokens) and padded with 0.

Usage:
    python3 featuremap_encoder.py fm.json data.csv > encoded.jsonl

Output: one JSON object per data row, keyed by input name:
    sparse / bucketized -> int id
    dense               -> float (the float32 value, printed exactly)
    varlen / sequence   -> {"ids": [maxLen ints], "length": int}
"""
import csv
import json
import math
import re
import struct
import sys

FORMAT = "finerank.featuremap.portable"
VERSION = 1


def murmur3_32(data: bytes, seed: int) -> int:
    """MurmurHash3_x86_32 (Austin Appleby's reference) as an unsigned 32-bit integer."""
    c1, c2, mask = 0xCC9E2D51, 0x1B873593, 0xFFFFFFFF
    h = seed & mask
    n = len(data)
    end4 = n & ~3
    for i in range(0, end4, 4):
        k = int.from_bytes(data[i : i + 4], "little")
        k = (k * c1) & mask
        k = ((k << 15) | (k >> 17)) & mask
        k = (k * c2) & mask
        h ^= k
        h = ((h << 13) | (h >> 19)) & mask
        h = (h * 5 + 0xE6546B64) & mask
    tail = data[end4:]
    if tail:
        k = int.from_bytes(tail, "little")
        k = (k * c1) & mask
        k = ((k << 15) | (k >> 17)) & mask
        k = (k * c2) & mask
        h ^= k
    h ^= n
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & mask
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & mask
    h ^= h >> 16
    return h


def float32(x: float) -> float:
    """x rounded to the nearest float32 (what finerank stores in a batch)."""
    return struct.unpack("<f", struct.pack("<f", x))[0]


class EncodeError(ValueError):
    pass


class Encoder:
    def __init__(self, fm: dict):
        if fm.get("format") != FORMAT:
            raise EncodeError(f'not a portable finerank feature map (expected format "{FORMAT}")')
        if fm.get("version") != VERSION:
            raise EncodeError(f"feature map version {fm.get('version')} is not supported (this encoder reads {VERSION})")
        for v in fm["hash"]["testVectors"]:  # refuse to run with a hash that disagrees with finerank's
            got = murmur3_32(v["value"].encode("utf-8"), v["seed"])
            if got != v["hash"]:
                raise EncodeError(f"murmur3 test vector {v!r} gave {got}")
        self.inputs = fm["inputs"]
        self.lookups = {name: self._lookup(t) for name, t in fm["tables"].items()}
        # JavaScript's ^...$ with ASCII \d, as Python: \Z instead of $ (no newline before the end).
        self.number_re = re.compile(fm["numberSyntax"].replace("$", r"\Z"), re.ASCII)
        ds = fm.get("dataset") or {}
        self.separator = ds.get("separator") or ("\t" if ds.get("format") == "tsv" else ",")
        self.quote = ds.get("quote") or '"'
        self.header = ds.get("header", True)
        self.columns = ds.get("columns")

    @staticmethod
    def _lookup(t: dict):
        if t["type"] == "hash":
            seed, buckets = t["seed"], t["buckets"]
            return lambda v: 2 + murmur3_32(v.encode("utf-8"), seed) % buckets
        ids = {v: i + 2 for i, v in enumerate(t["values"])}
        return lambda v: ids.get(v, 1)

    @staticmethod
    def _steps(steps, x: float) -> float:
        for s in steps:
            t = s["type"]
            if t == "log1p":
                x = math.log1p(x) if x >= 0 else -math.log1p(-x)
            elif t == "clip":
                x = s["min"] if x < s["min"] else s["max"] if x > s["max"] else x
            elif t == "standardize":
                x = (x - s["mean"]) / s["std"]
            elif t == "minmax":
                r = s["max"] - s["min"]
                x = (x - s["min"]) / r if r > 0 else 0.0
            else:
                raise EncodeError(f"unknown numeric step {t!r}")
        return x

    def _number(self, f: dict, cell: str, where: str) -> float:
        text = cell.strip(" ")
        if text == "":
            if f["missing"]["policy"] == "error":
                raise EncodeError(f"{where}: missing value (the schema says missing: error)")
            return float(f["missing"]["value"])
        if not self.number_re.match(cell):
            raise EncodeError(f"{where}: {cell!r} is not a number")
        return float(text)

    def encode_row(self, row: dict, where: str) -> dict:
        out = {}
        for f in self.inputs:
            name, kind = f["name"], f["kind"]
            if f["source"] not in row:
                raise EncodeError(f"{where}: column {f['source']!r} is not in the data")
            cell = row[f["source"]]
            if kind == "sparse":
                look, m = self.lookups[f["table"]], f["missing"]
                if cell == "":
                    if m["policy"] == "error":
                        raise EncodeError(f"{where}, column {f['source']}: missing value (the schema says missing: error)")
                    out[name] = look(m["value"]) if m["policy"] == "value" else 1
                else:
                    out[name] = look(cell)
            elif kind in ("dense", "bucketized"):
                x = self._steps(f["steps"], self._number(f, cell, f"{where}, column {f['source']}"))
                if kind == "dense":
                    out[name] = float32(x)
                else:
                    out[name] = 2 + sum(1 for b in f["boundaries"] if b <= x)
            elif kind in ("varlen", "sequence"):
                look, ml = self.lookups[f["table"]], f["maxLen"]
                toks = [t for t in cell.split(f["sep"]) if t != ""]
                if len(toks) > ml:
                    toks = toks[len(toks) - ml :] if f["keep"] == "last" else toks[:ml]
                ids = [look(t) for t in toks]
                out[name] = {"ids": ids + [0] * (ml - len(ids)), "length": len(ids)}
            else:
                raise EncodeError(f"unknown input kind {kind!r}")
        return out


def main(argv):
    if len(argv) != 3:
        print(__doc__.strip().splitlines()[0] + "\nusage: featuremap_encoder.py FEATUREMAP.json DATA.csv", file=sys.stderr)
        return 2
    with open(argv[1], encoding="utf-8") as fh:
        enc = Encoder(json.load(fh))
    with open(argv[2], encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh, delimiter=enc.separator, quotechar=enc.quote)
        if enc.header:
            header = next(reader)
        elif enc.columns:
            header = enc.columns
        else:
            raise EncodeError("the feature map's dataset says header: false but names no columns")
        out = sys.stdout
        for record in reader:
            if not record:  # blank lines are not rows
                continue
            where = f"{argv[2]}:{reader.line_num}"
            if len(record) != len(header):
                raise EncodeError(f"{where}: {len(record)} fields, expected {len(header)}")
            out.write(json.dumps(enc.encode_row(dict(zip(header, record)), where)) + "\n")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except EncodeError as e:
        print(f"featuremap_encoder: {e}", file=sys.stderr)
        sys.exit(1)
