/*
 * Quantity parsing (see quantity.h). The digits are read into an exact
 * integer mantissa with a decimal exponent, then scaled once to
 * thousandths in 128-bit arithmetic, so no value within range is ever
 * approximated the way a double would.
 */
#include "api/quantity.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define EXPONENT_CAP 1000 /* beyond this any non-zero value is out of range or rounds to 1 */

struct suffix {
    const char *text;
    int exp10; /* decimal suffixes */
    int shift; /* binary suffixes: a power of 2 */
};

static const struct suffix suffixes[] = {
    {"", 0, 0},    {"n", -9, 0},  {"u", -6, 0},  {"m", -3, 0},  {"k", 3, 0},
    {"M", 6, 0},   {"G", 9, 0},   {"T", 12, 0},  {"P", 15, 0},  {"E", 18, 0},
    {"Ki", 0, 10}, {"Mi", 0, 20}, {"Gi", 0, 30}, {"Ti", 0, 40}, {"Pi", 0, 50},
    {"Ei", 0, 60},
};

/* A parsed number: the value is mantissa * 10^exp10 * 2^shift. */
struct number {
    uint64_t mantissa;
    int exp10;
    int shift;
    bool negative;
};

static int malformed(const char *s, const char *field, struct err *e)
{
    return err_set(e, -EINVAL, "%s: Invalid value: \"%s\": quantities must match the regular "
                               "expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
                   field, s);
}

static int too_large(const char *s, const char *field, struct err *e)
{
    return err_set(e, -ERANGE, "%s: Invalid value: \"%s\": quantity out of range", field, s);
}

/* Reads digits and an optional fraction from *p into n. Leading zeros and
 * trailing fraction zeros are not significant, so they never count against
 * QUANTITY_MAX_DIGITS. Returns the number of digits read, or -ERANGE. */
static int read_digits(const char **p, struct number *n)
{
    int digits = 0, significant = 0, pending_zeros = 0;
    bool fraction = false;
    for (;; (*p)++) {
        char c = **p;
        if (c == '.' && !fraction) {
            fraction = true;
            continue;
        }
        if (c < '0' || c > '9')
            break;
        digits++;
        if (fraction)
            n->exp10--;
        if (c == '0' && (n->mantissa == 0 || fraction)) {
            /* A zero that only shifts, or one that counts if a digit follows. */
            pending_zeros += n->mantissa != 0;
            continue;
        }
        if (significant + pending_zeros + 1 > QUANTITY_MAX_DIGITS)
            return -ERANGE;
        for (; pending_zeros > 0; pending_zeros--, significant++)
            n->mantissa *= 10;
        n->mantissa = n->mantissa * 10 + (uint64_t)(c - '0');
        significant++;
    }
    /* Only fraction zeros are deferred; those no digit followed are dropped,
     * so their shift is undone. */
    n->exp10 += pending_zeros;
    return digits;
}

/* An exponent "e-3" / "E12" at p (after the e); false when malformed. */
static bool read_exponent(const char *p, int *exp10)
{
    bool negative = *p == '-';
    if (*p == '+' || *p == '-')
        p++;
    if (!*p)
        return false;
    int v = 0;
    for (; *p; p++) {
        if (*p < '0' || *p > '9')
            return false;
        if (v < EXPONENT_CAP)
            v = v * 10 + (*p - '0');
    }
    *exp10 += negative ? -v : v;
    return true;
}

/* A suffix, else an exponent: "E" and "Ei" are suffixes, "E3" an exponent. */
static bool read_suffix(const char *p, struct number *n)
{
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        if (strcmp(p, suffixes[i].text) == 0) {
            n->exp10 += suffixes[i].exp10;
            n->shift = suffixes[i].shift;
            return true;
        }
    }
    return (*p == 'e' || *p == 'E') && read_exponent(p + 1, &n->exp10);
}

/* mantissa * 10^(exp10 + 3) * 2^shift, rounded away from zero; false when
 * it does not fit in an int64. */
static bool scale_to_milli(const struct number *n, int64_t *out)
{
    if (n->mantissa == 0) {
        *out = 0;
        return true;
    }
    /* mantissa < 10^18 < 2^60 and shift <= 60: fits in 120 bits. */
    unsigned __int128 v = (unsigned __int128)n->mantissa << n->shift;
    int k = n->exp10 + 3;
    const unsigned __int128 limit = INT64_MAX;
    if (k >= 0) {
        for (; k > 0; k--) {
            if (v > limit)
                return false;
            v *= 10;
        }
    } else if (k < -38) {
        v = 1; /* a positive value below a thousandth rounds up to one */
    } else {
        unsigned __int128 div = 1;
        for (; k < 0; k++)
            div *= 10;
        v = v / div + (v % div != 0);
    }
    if (v > limit)
        return false;
    *out = n->negative ? -(int64_t)v : (int64_t)v;
    return true;
}

int quantity_parse(const char *s, const char *field, int64_t *milli, struct err *e)
{
    if (!field)
        field = "quantity";
    if (!s)
        return err_set(e, -EINVAL, "%s: Required value", field);
    struct number n = {0};
    const char *p = s;
    if (*p == '+' || *p == '-')
        n.negative = *p++ == '-';
    int digits = read_digits(&p, &n);
    if (digits == -ERANGE)
        return too_large(s, field, e);
    if (digits == 0 || !read_suffix(p, &n))
        return malformed(s, field, e);
    if (n.exp10 > EXPONENT_CAP && n.mantissa != 0)
        return too_large(s, field, e);
    if (!scale_to_milli(&n, milli))
        return too_large(s, field, e);
    return 0;
}

int quantity_from_json(const json_t *v, const char *field, int64_t *milli, struct err *e)
{
    char buf[64];
    if (json_is_string(v))
        return quantity_parse(json_string_value(v), field, milli, e);
    if (json_is_integer(v))
        snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v))
        snprintf(buf, sizeof buf, "%.17g", json_real_value(v));
    else
        return err_set(e, -EINVAL, "%s: Invalid value: a quantity must be a string or a number",
                       field ? field : "quantity");
    return quantity_parse(buf, field, milli, e);
}
