/*
 * FNV-1a, the one non-cryptographic hash of gpuslice: for hash tables,
 * names made unique by a hash, and change signatures. Deterministic across
 * runs and machines (no seed from the environment), which reproducible
 * names and simulations need; not for anything an attacker chooses to
 * collide on. 64 bits everywhere, except where a format fixes 32: the
 * Deployment pod-template-hash, which must match the Kubernetes
 * controller's FNV-32a.
 */
#ifndef GPUSLICE_UTIL_HASH_H
#define GPUSLICE_UTIL_HASH_H

#include <stddef.h>
#include <stdint.h>

#define HASH_INIT UINT64_C(14695981039346656037) /* FNV-1a offset basis */

/* h extended by n bytes at p. */
static inline uint64_t hash_bytes(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * UINT64_C(1099511628211);
    return h;
}

/* h extended by the bytes of the string s, without a terminator. */
static inline uint64_t hash_string(uint64_t h, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        h = (h ^ *p) * UINT64_C(1099511628211);
    return h;
}

/* h extended by the string s (NULL hashes as "") and a separator byte, so
 * that a sequence of fields hashes unambiguously ("ab","c" != "a","bc"). */
static inline uint64_t hash_field(uint64_t h, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++)
        h = (h ^ *p) * UINT64_C(1099511628211);
    return (h ^ 0xff) * UINT64_C(1099511628211);
}

#define HASH_INIT32 UINT32_C(2166136261) /* FNV-1a 32-bit offset basis */

/* FNV-1a, 32 bits: h extended by n bytes at p. */
static inline uint32_t hash_bytes32(uint32_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * UINT32_C(16777619);
    return h;
}

#endif
