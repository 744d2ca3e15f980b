#!/usr/bin/env python3
"""A clone stands alone: no file that the build, the tests or the benchmarks
read may refer to a path outside the source tree. A reference that works on
one developer's machine (a sibling folder beside the clone, a home
directory) fails on everyone else's, first of all on CI's fresh clone.

Looks at every tracked meson file, C source and header, script, Makefile and
.ci/ file (comments included: a comment that sends the reader outside the
repository is as wrong as code that does), and fails, naming FILE:LINE, on:
  - a path into "shared", the folder that used to sit beside the clone;
  - an absolute path into a developer's machine (/work, /home, /root, /Users);
  - a relative path whose ".." segments climb above the source root, taken
    from the folder of the file that names it;
  - in meson files, a path built from the source root or the current source
    folder with "/" that ends up outside the root.

Usage: check_paths.py SOURCE_ROOT
"""
import os
import re
import subprocess
import sys

# Written so that this file does not match itself.
OUTSIDE = [
    (re.compile(r"\.\./share[d]\b"), "names shared/, the folder beside the clone"),
    (re.compile(r"(?<![\w.])/(?:wor[k]|hom[e]|roo[t]|User[s])/"),
     "names an absolute path on a developer's machine"),
]
# ".." as a path segment: not part of "..." nor of a longer name.
CLIMB = re.compile(r"(?<![\w.])(?:\.\./)*\.\.(?:/[\w.+-]+)*(?![\w.])")
MESON_JOIN = re.compile(
    r"meson\.(project_source_root|global_source_root|source_root|current_source_dir)\(\)"
    r"((?:\s*/\s*'[^']*')+)")
SUFFIXES = (".c", ".h", ".py", ".sh", ".build", ".txt")


def tracked_files(root):
    """The files git tracks under root; every file outside build folders
    when root is not a git checkout (a release tarball)."""
    try:
        out = subprocess.run(["git", "-C", root, "ls-files", "-z"], capture_output=True,
                             check=True).stdout
        return [p for p in out.decode().split("\0") if p]
    except (OSError, subprocess.CalledProcessError):
        paths = []
        for dirpath, dirs, names in os.walk(root):
            dirs[:] = [d for d in dirs if not d.startswith((".git", "build"))]
            paths += [os.path.relpath(os.path.join(dirpath, n), root) for n in names]
        return paths


def in_scope(rel):
    """Whether the build, a test or a benchmark reads rel as code or
    configuration (not data, not prose)."""
    parts = rel.split("/")
    name = parts[-1]
    if parts[0] in ("scripts", ".ci") or name in ("Makefile", "meson.build", "meson_options.txt"):
        return True
    return name.endswith(SUFFIXES) and parts[0] in ("src", "tests", "bench") and \
        "data" not in parts and "corpus" not in parts


def outside(root, path):
    real = os.path.normpath(path)
    return real != root and not real.startswith(root + os.sep)


def check_line(root, rel, n, line, errors):
    where = f"{rel}:{n}"
    for pattern, why in OUTSIDE:
        if pattern.search(line):
            errors.append(f"{where}: {why}: {line.strip()}")
            return
    base = os.path.join(root, os.path.dirname(rel))
    for m in CLIMB.finditer(line):
        if outside(root, os.path.join(base, m.group(0))):
            errors.append(f"{where}: \"{m.group(0)}\" climbs above the source root: "
                          f"{line.strip()}")
            return
    if rel.endswith(("meson.build", "meson_options.txt")):
        for m in MESON_JOIN.finditer(line):
            start = root if "current" not in m.group(1) else base
            parts = re.findall(r"'([^']*)'", m.group(2))
            if outside(root, os.path.join(start, *parts)):
                errors.append(f"{where}: {'/'.join(parts)} from meson.{m.group(1)}() "
                              f"leaves the source root: {line.strip()}")
                return


def main():
    root = os.path.realpath(sys.argv[1] if len(sys.argv) > 1 else ".")
    errors, checked = [], 0
    for rel in sorted(tracked_files(root)):
        path = os.path.join(root, rel)
        if not in_scope(rel) or not os.path.isfile(path):
            continue
        checked += 1
        with open(path, encoding="utf-8", errors="replace") as f:
            for n, line in enumerate(f, 1):
                check_line(root, rel, n, line, errors)
    for e in errors:
        print(e, file=sys.stderr)
    print(f"{len(errors)} reference(s) outside the source tree in {checked} files")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
