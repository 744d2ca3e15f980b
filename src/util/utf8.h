/*
 * Text that must be UTF-8 (JSON strings: jansson refuses any other) made
 * so from bytes that may not be: a message that echoes a client's raw
 * bytes (a name from a URL, a selector), or one cut at a fixed length
 * inside a character. The one place that decides what such bytes become:
 * '?', one per byte, so a text never grows and stays readable.
 *
 * Well-formed means what jansson checks (RFC 3629): no overlong forms, no
 * surrogates, nothing past U+10FFFF.
 */
#ifndef GPUSLICE_UTIL_UTF8_H
#define GPUSLICE_UTIL_UTF8_H

/* Makes s well-formed UTF-8 in place: a character cut short by the end of
 * s (a truncated message) is dropped, every other byte that does not
 * belong to a well-formed character becomes '?'. Returns s. */
char *utf8_scrub(char *s);

#endif
