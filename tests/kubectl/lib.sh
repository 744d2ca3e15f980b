# Shared by the kubectl tests (sourced): the kubectl to use, skipping
# (exit 77, meson's "skipped") without kubectl 1.28 or newer, and the
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

checks=0
failures=0
k() {
    "$KUBECTL" --request-timeout=20s "$@"
}

# expect DESCRIPTION PATTERN COMMAND...: the command succeeds and its output
# (stdout and stderr) matches the extended regular expression PATTERN.
expect() {
    desc=$1 pattern=$2
    shift 2
    checks=$((checks + 1))
    if out=$("$@" 2>&1) && printf '%s\n' "$out" | grep -Eq -- "$pattern"; then
        echo "ok   $desc"
    else
        failures=$((failures + 1))
        echo "FAIL $desc: $*"
        printf '%s\n' "$out" | sed 's/^/     | /'
    fi
}

# expect_fail DESCRIPTION PATTERN COMMAND...: the command fails with output
# matching PATTERN.
expect_fail() {
    desc=$1 pattern=$2
    shift 2
    checks=$((checks + 1))
    if ! out=$("$@" 2>&1) && printf '%s\n' "$out" | grep -Eq -- "$pattern"; then
        echo "ok   $desc"
    else
        failures=$((failures + 1))
        echo "FAIL $desc: $*"
        printf '%s\n' "$out" | sed 's/^/     | /'
    fi
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
