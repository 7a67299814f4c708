#!/usr/bin/env python3
"""Replaces one generated section of a Markdown file with stdin.

usage: update_section.py FILE NAME < content

The section lies between '<!-- begin NAME -->' and '<!-- end NAME -->'; it is
appended when missing. Benchmark scripts write their own sections, which are
never edited by hand; the text around them is, and is left as it is."""
import sys

path, name = sys.argv[1], sys.argv[2]
begin, end = "<!-- begin %s -->" % name, "<!-- end %s -->" % name
body = sys.stdin.read().rstrip("\n")
try:
    with open(path) as f:
        text = f.read()
except FileNotFoundError:
    text = "# Benchmarks\n"
block = "%s\n%s\n%s" % (begin, body, end)
if begin in text and end in text:
    head, rest = text.split(begin, 1)
    text = head + block + rest.split(end, 1)[1]
else:
    text = text.rstrip("\n") + "\n\n" + block + "\n"
with open(path, "w") as f:
    f.write(text)
