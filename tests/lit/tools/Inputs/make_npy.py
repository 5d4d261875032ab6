"""Writes a .npy file without numpy, for cairn-run tests.

usage: make_npy.py OUT DTYPE SHAPE VALUES...
  DTYPE: a NumPy descr such as '<f4', '<i4', '<i8', '|b1' (or 'raw:TEXT' to
  write TEXT as the whole file, for corrupt-input tests)
  SHAPE: comma-separated dims ('' for a scalar)
"""
import struct
import sys

FORMATS = {"<f4": "f", "<f8": "d", "<i4": "i", "<i8": "q", "|b1": "?"}


def main():
    out, descr = sys.argv[1], sys.argv[2]
    if descr.startswith("raw:"):
        with open(out, "wb") as f:
            f.write(descr[4:].encode())
        return
    dims = tuple(int(d) for d in sys.argv[3].split(",") if d)
    if len(dims) == 1:
        shape_text = f"({dims[0]},)"
    else:
        shape_text = "(" + ", ".join(str(d) for d in dims) + ")"
    header = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape_text}, }}"
    # Pad so that magic (6) + version (2) + length (2) + header is a multiple of 64.
    pad = 64 - (10 + len(header) + 1) % 64
    header = header + " " * (pad % 64) + "\n"
    code = FORMATS[descr]
    values = [float(v) if code in "fd" else int(v) for v in sys.argv[4:]]
    data = struct.pack("<" + code * len(values), *values)
    with open(out, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + data)


if __name__ == "__main__":
    main()
