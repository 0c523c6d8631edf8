#!/usr/bin/env python3
"""Groups a perf profile's self time into the kinds of work the exporter does.

    perf report -i FILE --no-children --sort dso,symbol -g none --stdio | perf_categories.py NAME

Prints one Markdown table row: NAME, then the percentage of sampled cycles in each category
of CATEGORIES (by the leaf symbol, first match wins). Release builds keep no frame pointers,
so user-space call stacks are not reliable; leaf symbols are, and each category below is
recognisable by its own code.
"""

import re
import sys

# (column, patterns matched against "dso symbol"), first match wins.
CATEGORIES = [
    ("kernel: socket writes and the rest", [r"\[kernel"]),
    ("gzip", [r"miniz_oxide", r"crc32fast", r"flate2"]),
    ("rendering text", [r"exposition::", r"str::converts::from_utf8", r"flt2dec", r"core::fmt"]),
    ("Graph: JSON, collectors, client", [r"serde_json", r"serde_core", r"::collectors::",
                                         r"::graph::", r"sip::Hasher", r"reqwest", r"hashbrown"]),
    ("malloc, free, memcpy", [r"malloc", r"free", r"memmove", r"memcpy", r"memcmp", r"memset",
                              r"_int_", r"unlink_chunk"]),
    ("other (tokio, hyper, ...)", [r".*"]),
]

LINE = re.compile(r"^\s*([\d.]+)%\s+(.*)$")


def main() -> None:
    name = sys.argv[1] if len(sys.argv) > 1 else "profile"
    totals = [0.0] * len(CATEGORIES)
    for line in sys.stdin:
        if line.startswith("#"):
            continue
        m = LINE.match(line)
        if not m:
            continue
        pct, what = float(m.group(1)), m.group(2)
        for i, (_, patterns) in enumerate(CATEGORIES):
            if any(re.search(p, what) for p in patterns):
                totals[i] += pct
                break
    if len(sys.argv) > 2 and sys.argv[2] == "--header":
        print("| case | " + " | ".join(c for c, _ in CATEGORIES) + " |")
        print("|---" * (len(CATEGORIES) + 1) + "|")
    print(f"| {name} | " + " | ".join(f"{t:.1f}%" for t in totals) + " |")


if __name__ == "__main__":
    main()
