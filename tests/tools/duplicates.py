#!/usr/bin/env python3
"""Pairs of places in Rust sources that share a run of 6 or more lines.

Lines are compared after trimming, with blank lines, comments and lone closing brackets left out and
string and number literals normalised (so `sdk_error("TagResource", e)` and `sdk_error("AddTags", e)`
count as the same line). A pair is one maximal run shared by two places (in two files, or twice in
one); `identical` counts the runs that also match literally. Unit tests (`#[cfg(test)] mod tests`) are
left out.

    python3 tests/tools/duplicates.py src/drivers        # the count docs/design.md reports
    python3 tests/tools/duplicates.py src/drivers -l 20  # and the 20 longest runs
"""
import collections
import os
import re
import sys

WINDOW = 6
SKIP = {"}", "{", ");", "},", "})", "});", "))", ")", "],", "];"}


def lines(path):
    src = open(path).read()
    cut = src.find("#[cfg(test)]\nmod tests")
    if cut >= 0:
        src = src[:cut]
    out = []
    for n, line in enumerate(src.split("\n"), 1):
        s = line.strip()
        if s and not s.startswith("//") and s not in SKIP:
            out.append((n, s))
    return out


def shape(line):
    line = re.sub(r'"(\\.|[^"\\])*"', "S", line)
    return re.sub(r"\b\d+\b", "N", line)


def runs(data, key):
    index = collections.defaultdict(list)
    for f, ls in data.items():
        for i in range(len(ls) - WINDOW + 1):
            index[tuple(key(s) for _, s in ls[i : i + WINDOW])].append((f, i))
    matches = set()
    for locs in index.values():
        if len(locs) < 2 or len(locs) > 20:
            continue
        for a in range(len(locs)):
            for b in range(a + 1, len(locs)):
                (fa, ia), (fb, ib) = sorted([locs[a], locs[b]])
                if fa == fb and abs(ia - ib) < WINDOW:
                    continue
                matches.add((fa, ia, fb, ib))
    starts = [m for m in matches if (m[0], m[1] - 1, m[2], m[3] - 1) not in matches]
    return starts, matches


def main():
    root = sys.argv[1]
    files = [os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs if f.endswith(".rs")]
    data = {f: lines(f) for f in files}
    shaped, all_shaped = runs(data, shape)
    identical, _ = runs(data, lambda s: s)
    print(f"pairs sharing runs of {WINDOW}+ lines: {len(shaped)} (identical: {len(identical)})")
    if "-l" in sys.argv:
        longest = []
        for fa, ia, fb, ib in shaped:
            n = 0
            while (fa, ia + n + 1, fb, ib + n + 1) in all_shaped:
                n += 1
            longest.append((n + WINDOW, fa, data[fa][ia][0], fb, data[fb][ib][0]))
        for run in sorted(longest, reverse=True)[: int(sys.argv[-1])]:
            print(*run)


if __name__ == "__main__":
    main()
