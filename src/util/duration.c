/*
 * Go-style durations (see duration.h): each term is digits, an optional
 * fraction, and a unit; terms add up. Overflow is checked on every step,
 * so no input can wrap around.
 */
#include "util/duration.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "util/clock.h"

static const struct {
    const char *name;
    int64_t ns;
} units[] = {
    /* longer names first, so "ms" is not read as "m" then "s" */
    {"ms", NS_PER_MS}, {"us", NS_PER_US}, {"ns", 1},
    {"h", 3600 * NS_PER_SEC}, {"m", 60 * NS_PER_SEC}, {"s", NS_PER_SEC},
};

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* The unit at *p, advancing past it; 0 when there is none. */
static int64_t read_unit(const char **p)
{
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        size_t n = strlen(units[i].name);
        if (strncmp(*p, units[i].name, n) == 0) {
            *p += n;
            return units[i].ns;
        }
    }
    return 0;
}

/* One term "12.5s" at *p into *ns (added); advances past it. */
static int read_term(const char **p, int64_t *ns)
{
    const char *s = *p;
    int64_t whole = 0, frac = 0, scale = 1;
    if (!is_digit(*s) && !(*s == '.' && is_digit(s[1])))
        return -EINVAL;
    for (; is_digit(*s); s++) {
        if (whole > (INT64_MAX - 9) / 10)
            return -ERANGE;
        whole = whole * 10 + (*s - '0');
    }
    if (*s == '.') {
        for (s++; is_digit(*s); s++)
            if (scale < 1000000000000000000LL) { /* digits past 10^-18 add nothing */
                frac = frac * 10 + (*s - '0');
                scale *= 10;
            }
    }
    int64_t unit = read_unit(&s);
    if (unit == 0)
        return -EINVAL;
    if (whole > INT64_MAX / unit)
        return -ERANGE;
    /* frac/scale < 1, and unit <= 3.6e12: the product fits as a double */
    int64_t term = whole * unit + (int64_t)((double)frac * (double)unit / (double)scale);
    if (term > INT64_MAX - *ns)
        return -ERANGE;
    *ns += term;
    *p = s;
    return 0;
}

int duration_parse(const char *text, int64_t *ns, struct err *e)
{
    const char *p = text ? text : "";
    int64_t total = 0;
    int rc = *p ? 0 : -EINVAL;
    while (rc == 0 && *p)
        rc = read_term(&p, &total);
    if (rc == -ERANGE)
        return err_set(e, rc, "duration \"%s\" is too long", text ? text : "");
    if (rc < 0)
        return err_set(e, rc, "\"%s\" is not a duration (write e.g. \"30s\", \"1m30s\", "
                       "\"250ms\")", text ? text : "");
    *ns = total;
    return 0;
}

char *duration_format(int64_t ns, char out[DURATION_TEXT_MAX])
{
    if (ns < 0)
        ns = 0;
    if (ns < NS_PER_SEC && ns % NS_PER_MS == 0 && ns > 0) {
        snprintf(out, DURATION_TEXT_MAX, "%lldms", (long long)(ns / NS_PER_MS));
        return out;
    }
    int64_t hours = ns / (3600 * NS_PER_SEC), minutes = ns / (60 * NS_PER_SEC) % 60;
    int64_t secs = ns / NS_PER_SEC % 60, millis = ns / NS_PER_MS % 1000;
    size_t used = 0;
    if (hours)
        used += (size_t)snprintf(out + used, DURATION_TEXT_MAX - used, "%lldh",
                                 (long long)hours);
    if (hours || minutes)
        used += (size_t)snprintf(out + used, DURATION_TEXT_MAX - used, "%lldm",
                                 (long long)minutes);
    used += (size_t)snprintf(out + used, DURATION_TEXT_MAX - used, "%lld", (long long)secs);
    if (millis) {
        char frac[8];
        snprintf(frac, sizeof frac, ".%03lld", (long long)millis);
        for (size_t n = strlen(frac); n > 1 && frac[n - 1] == '0'; n--)
            frac[n - 1] = '\0';
        used += (size_t)snprintf(out + used, DURATION_TEXT_MAX - used, "%s", frac);
    }
    snprintf(out + used, DURATION_TEXT_MAX - used, "s");
    return out;
}
