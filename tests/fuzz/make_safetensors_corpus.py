#!/usr/bin/env python3
"""Writes a small seed corpus of valid safetensors files for
cairn-safetensors-fuzzer into the directory given (generated, not checked in,
so the corpus stays text in the repository). Independent of Cairn's writer:
it assembles the bytes with json and struct, as the format's spec describes.
"""
import json
import os
import struct
import sys


def safetensors(tensors, metadata=None, pad=True):
    """tensors: list of (name, dtype, shape, raw bytes)."""
    header, data = {}, b""
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": shape,
                        "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    if metadata:
        header["__metadata__"] = metadata
    text = json.dumps(header, separators=(",", ":")).encode()
    if pad:
        text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + data


def main(out):
    os.makedirs(out, exist_ok=True)
    seeds = {
        "empty.safetensors": safetensors([]),
        "f32_matrix.safetensors": safetensors(
            [("w", "F32", [2, 3], struct.pack("<6f", 1, -2, 3.5, 0, 1e-3, -7))]),
        "all_dtypes.safetensors": safetensors([
            ("a", "F64", [2], struct.pack("<2d", 0.5, -1)),
            ("b", "F16", [2], struct.pack("<2e", 1.5, -2)),
            ("c", "BF16", [1], b"\x80\x3f"),
            ("d", "I32", [], struct.pack("<i", -5)),
            ("e", "I64", [1, 1], struct.pack("<q", 1 << 40)),
            ("f", "BOOL", [3], b"\x01\x00\x01"),
            ("g", "F32", [0, 4], b""),
        ], metadata={"format": "pt", "step": "7"}),
        "unpadded_metadata.safetensors": safetensors(
            [("x", "I32", [2], struct.pack("<2i", 1, 2))], metadata={"k": "v"}, pad=False),
    }
    for name, data in seeds.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main(sys.argv[1])
