/*
 * base64 (RFC 4648): the standard alphabet with '=' padding, which
 * Kubernetes uses in JSON for bytes (a Secret's data, a caBundle, a
 * webhook's JSON patch, a kubeconfig's certificates), and base64url
 * without padding, which list continue tokens use so they survive a URL.
 * One encoder and one decoder for both.
 */
#ifndef GPUSLICE_UTIL_BASE64_H
#define GPUSLICE_UTIL_BASE64_H

#include <stddef.h>

enum base64_alphabet {
    BASE64_STD, /* A-Z a-z 0-9 + /, padded with '=' */
    BASE64_URL, /* A-Z a-z 0-9 - _, no padding */
};

/* The base64 of len bytes at data, as a new NUL-terminated string (the
 * caller frees it; memory from util/alloc, so never NULL). */
char *base64_encode(const void *data, size_t len, enum base64_alphabet alphabet);

/* Decodes text in either alphabet: white space is skipped and the padding
 * may be left out. *out gets a new buffer (the caller frees it) of *len
 * bytes, followed by a NUL that *len does not count. -EINVAL when text
 * holds anything else, something after the padding, or a lone character
 * at the end (6 bits are no byte); *out is then untouched. */
int base64_decode(const char *text, unsigned char **out, size_t *len);

#endif
