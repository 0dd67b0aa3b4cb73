#!/usr/bin/env python3
"""Prints how long the HTTP handlers in src/ are.

A handler is a function under an actix route attribute (`#[get(…)]`, `#[post(…)]`, …).
Its length is counted from its `fn` line to its closing brace, attributes and doc
comments excluded. Prints the count, mean, median, how many are over 40 and over 60
lines, and the ten longest. With --max-mean N / --max-lines N it fails when the mean
or the longest is over.
"""
import argparse
import pathlib
import re
import statistics
import sys

ROUTE = re.compile(r"^\s*#\[(get|post|put|patch|delete|head|options)\(")
FN = re.compile(r"^\s*pub(\([^)]*\))?\s+async\s+fn\s+(\$?\w+)")


def handlers(path):
    lines = path.read_text(encoding="utf-8").splitlines()
    pending = False
    for number, line in enumerate(lines):
        if ROUTE.match(line):
            pending = True
            continue
        if not pending:
            continue
        found = FN.match(line)
        if not found:
            continue
        pending = False
        depth, started = 0, False
        for end in range(number, len(lines)):
            text = re.sub(r'"(\\.|[^"\\])*"', '""', lines[end])
            text = re.sub(r"//.*", "", text)
            depth += text.count("{") - text.count("}")
            started = started or "{" in text
            if started and depth == 0:
                yield found.group(2), path, end - number + 1
                break


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--max-mean", type=float)
    parser.add_argument("--max-lines", type=int)
    args = parser.parse_args()
    root = pathlib.Path(__file__).resolve().parent.parent / "src"
    found = [h for path in sorted(root.rglob("*.rs")) for h in handlers(path)]
    lengths = [length for _, _, length in found]
    mean = statistics.mean(lengths)
    print(
        f"handlers: {len(found)}, mean {mean:.1f} lines, median {statistics.median(lengths):.0f}, "
        f"over 40: {sum(n > 40 for n in lengths)}, over 60: {sum(n > 60 for n in lengths)}, "
        f"longest {max(lengths)}"
    )
    for name, path, length in sorted(found, key=lambda h: -h[2])[:10]:
        print(f"  {length:4d}  {name}  ({path.relative_to(root.parent)})")
    failed = (args.max_mean is not None and mean > args.max_mean) or (
        args.max_lines is not None and max(lengths) > args.max_lines
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
