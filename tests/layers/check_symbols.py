#!/usr/bin/env python3
"""The naming rule for external symbols, enforced on the built static
libraries (BUILD_ROOT/src/FOLDER/*.a) with nm.

A module is a file: src/FOLDER/STEM.c. Every external symbol it defines
must start with one of its prefixes followed by "_":
  - FOLDER            (the layer: api_, store_, controller_)
  - STEM              (the file: mem_watch_, kube_http_, observer_)
  - STEM's first word (its family of files: mem_ for mem_watch.c,
                       placement_ for placement_filter.c)
A function shared only between the files of one folder carries the
private marker PREFIX__ (libuv's uv__): PREFIX__name must be declared in
an *_internal.h header of that folder, and a function declared there must
carry the marker, so a reader tells private from public at the call.

Names that start with "__" belong to the toolchain (sanitizer and
profiling instrumentation) and are not checked.

Fails naming the object, the symbol and the rule broken.

Usage: check_symbols.py BUILD_ROOT SOURCE_ROOT
"""
import glob
import os
import re
import subprocess
import sys

DECL = re.compile(r"\b([a-z][a-z0-9_]*)\s*\(")


def internal_names(src, folder):
    """The functions src/FOLDER/*_internal.h declare: identifiers followed
    by '(' on lines that start a declaration (not comments, not
    continuations)."""
    names = set()
    for path in glob.glob(os.path.join(src, folder, "*_internal.h")):
        with open(path, encoding="utf-8") as f:
            for line in f:
                if re.match(r"[a-z]", line) and not line.startswith("typedef"):
                    names.update(DECL.findall(line))
    return names


def object_stem(obj):
    """The source file's stem of a meson object: "mem_watch.c.o" ->
    "mem_watch"; a generated source, "meson-generated_.._builtin_files.c.o",
    -> "builtin_files" (meson spells the path to it with "_" for "/")."""
    name = obj.removeprefix("meson-generated_")
    while name.startswith(".._"):
        name = name[3:]
    return name.split(".")[0]


def defined_symbols(archive):
    """[(object stem, symbol)] of the external symbols archive defines."""
    out = subprocess.run(["nm", "-A", "-g", "--defined-only", "--format=posix", archive],
                         check=True, capture_output=True, text=True).stdout
    rows = []
    for line in out.splitlines():
        where, _, rest = line.rpartition("]: ")
        member = where.rsplit("[", 1)[-1]
        stem = object_stem(os.path.basename(member))
        rows.append((stem, rest.split()[0]))
    return rows


def check_symbol(folder, stem, sym, internal):
    """None when sym is a name the module may define, else why not."""
    bases = {folder, stem, stem.split("_")[0]}
    private = next((b for b in bases if sym.startswith(b + "__")), None)
    if private:
        if sym not in internal:
            return f"private marker {private}__ but not declared in src/{folder}/*_internal.h"
        return None
    if not any(sym.startswith(b + "_") for b in bases):
        want = ", ".join(sorted(b + "_" for b in bases))
        return f"does not start with its module's prefix ({want})"
    if sym in internal:
        return (f"declared in src/{folder}/*_internal.h, so shared within the module only: "
                f"mark it {sym.split('_')[0]}__{sym.split('_', 1)[1]}")
    return None


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    build, src = sys.argv[1], os.path.join(sys.argv[2], "src")
    archives = sorted(glob.glob(os.path.join(build, "src", "*", "*.a")))
    if not archives:
        print(f"{build}/src: no static libraries (build first)", file=sys.stderr)
        return 1
    errors, count = [], 0
    for archive in archives:
        folder = os.path.basename(os.path.dirname(archive))
        internal = internal_names(src, folder)
        for stem, sym in defined_symbols(archive):
            if sym.startswith("__"):
                continue
            count += 1
            why = check_symbol(folder, stem, sym, internal)
            if why:
                errors.append(f"src/{folder}/{stem}.c: {sym}: {why}")
    for e in errors:
        print(e, file=sys.stderr)
    print(f"{len(errors)} misnamed of {count} external symbols in {len(archives)} libraries")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
