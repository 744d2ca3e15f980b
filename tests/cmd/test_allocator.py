#!/usr/bin/env python3
"""The gpuslice binary runs on the allocator its build chose (meson's
`allocator` option): with jemalloc, the loader must bind malloc to it, so it
has to be loaded, and before the C library, or glibc's malloc serves every
call and the choice means nothing; and the running program must be served
by it.

usage: test_allocator.py GPUSLICE jemalloc|system
"""
import os
import subprocess
import sys


def loaded_objects(binary):
    """The shared objects the loader maps for binary, in search order
    (glibc's loader lists them and exits when LD_TRACE_LOADED_OBJECTS is
    set, without running the program)."""
    env = dict(os.environ, LD_TRACE_LOADED_OBJECTS="1")
    env.pop("LD_PRELOAD", None)
    out = subprocess.run([binary], env=env, capture_output=True, text=True, check=True).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def jemalloc_serves(binary):
    """Whether jemalloc serves the running binary's malloc: asked through
    its MALLOC_CONF to print its statistics at exit, it does only then (a
    jemalloc loaded but built with prefixed names would serve nothing)."""
    env = dict(os.environ, MALLOC_CONF="stats_print:true")
    env.pop("LD_PRELOAD", None)
    run = subprocess.run([binary, "version"], env=env, capture_output=True, text=True, check=True)
    return "Begin jemalloc statistics" in run.stdout + run.stderr


def main():
    binary, expected = sys.argv[1], sys.argv[2]
    objs = loaded_objects(binary)
    libc = next((i for i, o in enumerate(objs) if o.startswith("libc.so")), None)
    jemalloc = next((i for i, o in enumerate(objs) if o.startswith("libjemalloc.so")), None)
    if libc is None:
        sys.exit(f"{binary}: the loader lists no libc.so among {objs}")
    if expected == "jemalloc":
        if jemalloc is None:
            sys.exit(f"{binary}: built for jemalloc but does not load it: {objs}")
        if jemalloc > libc:
            sys.exit(f"{binary}: loads jemalloc after libc, so glibc's malloc is bound: {objs}")
        if not jemalloc_serves(binary):
            sys.exit(f"{binary}: loads jemalloc, but its malloc does not serve the program")
    elif expected == "system":
        if jemalloc is not None or jemalloc_serves(binary):
            sys.exit(f"{binary}: built for the C library's malloc but runs on jemalloc: {objs}")
    else:
        sys.exit(f"usage: {sys.argv[0]} GPUSLICE jemalloc|system (not {expected!r})")
    print(f"{binary}: {expected} malloc, as built")


if __name__ == "__main__":
    main()
