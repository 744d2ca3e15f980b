# Shared by the kubectl tests (sourced): the kubectl to use, skipping
# (exit 77, meson's "skipped") without kubectl 1.28 or newer, a folder
# $tmp and the process $server (set it) taken away at exit, and the
# checks, which count into $checks and $failures.
KUBECTL=${KUBECTL:-/usr/bin/kubectl}

if [ ! -x "$KUBECTL" ]; then
    echo "SKIP: no kubectl at $KUBECTL (set KUBECTL to use another)"
    exit 77
fi
minor=$("$KUBECTL" version --client -o json 2>/dev/null |
        sed -n 's/.*"minor": *"\([0-9]*\).*/\1/p' | head -n 1)
major=$("$KUBECTL" version --client -o json 2>/dev/null |
        sed -n 's/.*"major": *"\([0-9]*\).*/\1/p' | head -n 1)
if [ "${major:-0}" != 1 ] || [ "${minor:-0}" -lt 28 ]; then
    echo "SKIP: $KUBECTL is version ${major:-?}.${minor:-?}; this test needs 1.28 or newer"
    exit 77
fi

tmp=$(mktemp -d)
server=
cleanup() {
    [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT

checks=0
failures=0
k() {
    "$KUBECTL" --request-timeout=20s "$@"
}

# check SUCCEED DESCRIPTION PATTERN COMMAND...: the command succeeds (SUCCEED
# yes) or fails (no), and its output (stdout and stderr) matches the
# extended regular expression PATTERN.
check() {
    succeed=$1 desc=$2 pattern=$3
    shift 3
    checks=$((checks + 1))
    if out=$("$@" 2>&1); then ran=yes; else ran=no; fi
    if [ "$ran" = "$succeed" ] && printf '%s\n' "$out" | grep -Eq -- "$pattern"; then
        echo "ok   $desc"
    else
        failures=$((failures + 1))
        echo "FAIL $desc: $*"
        printf '%s\n' "$out" | sed 's/^/     | /'
    fi
}

# expect DESCRIPTION PATTERN COMMAND...: succeeds, the output matches.
expect() {
    check yes "$@"
}

# expect_fail DESCRIPTION PATTERN COMMAND...: fails, the output matches.
expect_fail() {
    check no "$@"
}

# expect_text DESCRIPTION WANT COMMAND...: the command's output (stdout and
# stderr, whatever its exit) is exactly WANT.
expect_text() {
    desc=$1 want=$2
    shift 2
    checks=$((checks + 1))
    out=$("$@" 2>&1)
    if [ "$out" = "$want" ]; then
        echo "ok   $desc"
    else
        failures=$((failures + 1))
        echo "FAIL $desc: $*"
        printf '%s\n' "$out" | sed 's/^/     got  | /'
        printf '%s\n' "$want" | sed 's/^/     want | /'
    fi
}
