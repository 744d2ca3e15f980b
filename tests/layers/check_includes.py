#!/usr/bin/env python3
"""The layer rule, enforced: every `#include "..."` under src/ must name a
header of the including folder itself or of a folder that the table in
docs/architecture.md (section "Layers") lets it use. The table is the one
statement of the rule; this test reads it, so the two cannot disagree.

Fails, naming FILE:LINE and the rule broken, on:
  - an include of a folder the table does not allow;
  - a bare include ("x.h") of a header that is not in the same folder;
  - an include of a header that does not exist, or one that climbs out
    with "..";
  - a folder under src/ that the table does not list (a new layer must be
    placed in the order before it can be used).

Usage: check_includes.py SOURCE_ROOT
"""
import os
import re
import sys

ROW = re.compile(r"^\|\s*`src/([a-z_]+)/`\s*\|\s*([^|]*)\|")
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def read_table(doc):
    """{folder: set of folders it may use}, from the Layers table."""
    allowed, in_section = {}, False
    with open(doc, encoding="utf-8") as f:
        for line in f:
            if line.startswith("## "):
                in_section = line.strip() == "## Layers"
                continue
            m = ROW.match(line) if in_section else None
            if m:
                uses = re.findall(r"`([a-z_]+)`", m.group(2))
                allowed[m.group(1)] = set(uses)
    return allowed


def check_file(root, folder, path, allowed, errors):
    rel = os.path.relpath(path, root)
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            m = INCLUDE.match(line)
            if not m:
                continue
            inc = m.group(1)
            where = f"{rel}:{n}"
            if ".." in inc.split("/"):
                errors.append(f'{where}: "{inc}" climbs out of src/; name it from src/')
            elif "/" not in inc:
                if not os.path.isfile(os.path.join(os.path.dirname(path), inc)):
                    errors.append(f'{where}: "{inc}" is not a header of src/{folder}/')
            else:
                target = inc.split("/", 1)[0]
                if not os.path.isfile(os.path.join(root, "src", inc)):
                    errors.append(f'{where}: "{inc}" does not exist under src/')
                elif target != folder and target not in allowed[folder]:
                    errors.append(f'{where}: src/{folder}/ may not include "{inc}" '
                                  f'(layer {target} is not in what {folder} may use)')


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else "."
    doc = os.path.join(root, "docs", "architecture.md")
    allowed = read_table(doc)
    if not allowed:
        print(f"{doc}: no Layers table found", file=sys.stderr)
        return 1
    errors = []
    for folder, uses in allowed.items():
        for u in sorted(uses - set(allowed)):
            errors.append(f"{doc}: src/{folder}/ may use `{u}`, which the table does not list")
    src = os.path.join(root, "src")
    for folder in sorted(os.listdir(src)):
        fdir = os.path.join(src, folder)
        if not os.path.isdir(fdir):
            continue
        if folder not in allowed:
            errors.append(f"src/{folder}/: not in the Layers table of docs/architecture.md")
            continue
        for dirpath, _, names in os.walk(fdir):
            for name in sorted(names):
                if name.endswith((".c", ".h")):
                    check_file(root, folder, os.path.join(dirpath, name), allowed, errors)
    for e in errors:
        print(e, file=sys.stderr)
    print(f"{len(errors)} layer violation(s) in {len(allowed)} layers")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
