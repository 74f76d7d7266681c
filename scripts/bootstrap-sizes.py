"""Prints each Lambda bootstrap's size, stripped and zipped as Lambda takes it.

Usage: bootstrap-sizes.py [--baseline BOOTSTRAP] BOOTSTRAP...
Each row is named after the bootstrap's directory (the function). With --baseline,
the baseline comes first and every row also shows its size as a ratio to it.
"""
import io
import os
import sys
import zipfile


def zipped(path):
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", zipfile.ZIP_DEFLATED) as z:
        z.write(path, "bootstrap")
    return len(b.getvalue())


def main(args):
    baseline = None
    if args[:1] == ["--baseline"]:
        baseline, args = args[1], args[2:]
    print(f"{'function':32} {'binary (B)':>12} {'zipped (B)':>12}" + ("  ratio" if baseline else ""))
    base = os.path.getsize(baseline) if baseline else None
    for path in ([baseline] if baseline else []) + args:
        size = os.path.getsize(path)
        name = os.path.basename(os.path.dirname(path))
        ratio = f"  {size / base:5.2f}x" if base else ""
        print(f"{name:32} {size:12} {zipped(path):12}{ratio}")


if __name__ == "__main__":
    main(sys.argv[1:])
