/*
 * A small bundled problem for the planner's tests, written as JSON text so
 * that each test can change one field with a string replacement and see
 * what the loader or the solvers make of it.
 */
#ifndef GPUSLICE_TESTS_PLANNER_PLAN_FIXTURE_H
#define GPUSLICE_TESTS_PLANNER_PLAN_FIXTURE_H

/* Two accelerators (A100, a 3g.40gb slice of an H100), one model on both,
 * two classes, two servers, capacity for both. */
#define PLAN_FIXTURE                                                                               \
    "{\"system\": {"                                                                               \
    " \"acceleratorData\": {\"accelerators\": ["                                                   \
    "  {\"name\": \"A100\", \"type\": \"A100-80GB\", \"cost\": 40},"                               \
    "  {\"name\": \"H100-3g\", \"type\": \"H100-80GB/3g.40gb\", \"gpuModel\": \"H100-80GB\","      \
    "   \"migProfile\": \"3g.40gb\", \"cost\": 28}]},"                                             \
    " \"modelData\": {\"models\": ["                                                               \
    "  {\"name\": \"llama\", \"acc\": \"A100\", \"accCount\": 1, \"maxBatchSize\": 64,"            \
    "   \"atTokens\": 1024, \"decodeParms\": {\"alpha\": 12, \"beta\": 0.08},"                     \
    "   \"prefillParms\": {\"gamma\": 25, \"delta\": 0.001}},"                                     \
    "  {\"name\": \"llama\", \"acc\": \"H100-3g\", \"accCount\": 1, \"maxBatchSize\": 32,"         \
    "   \"atTokens\": 1024, \"decodeParms\": {\"alpha\": 18, \"beta\": 0.2},"                      \
    "   \"prefillParms\": {\"gamma\": 35, \"delta\": 0.002}}]},"                                   \
    " \"serviceClassData\": {\"serviceClasses\": ["                                                \
    "  {\"name\": \"Premium\", \"priority\": 1, \"modelTargets\": ["                               \
    "   {\"model\": \"llama\", \"slo-itl\": 40, \"slo-ttft\": 500}]},"                             \
    "  {\"name\": \"Bronze\", \"priority\": 2, \"modelTargets\": ["                                \
    "   {\"model\": \"llama\", \"slo-itl\": 80, \"slo-ttft\": 2000}]}]},"                          \
    " \"serverData\": {\"servers\": ["                                                             \
    "  {\"name\": \"p\", \"class\": \"Premium\", \"model\": \"llama\", \"currentAlloc\": {"        \
    "   \"accelerator\": \"A100\", \"numReplicas\": 1, \"cost\": 40,"                              \
    "   \"load\": {\"arrivalRate\": 120, \"avgInTokens\": 512, \"avgOutTokens\": 256}}},"          \
    "  {\"name\": \"b\", \"class\": \"Bronze\", \"model\": \"llama\", \"currentAlloc\": {"         \
    "   \"load\": {\"arrivalRate\": 600, \"avgInTokens\": 256, \"avgOutTokens\": 512}}}]},"        \
    " \"capacityData\": {\"count\": ["                                                             \
    "  {\"type\": \"A100-80GB\", \"count\": 8}, {\"type\": \"H100-80GB/3g.40gb\", \"count\": 8}]},"\
    " \"optimizerData\": {\"optimizer\": {\"unlimited\": false, \"saturationPolicy\": \"None\","    \
    "  \"model\": \"gpuslice\"}}"                                                                \
    "}}"

#include <stdlib.h>
#include <string.h>

/* text with its first `from` replaced by `to` (malloc'd), or NULL when
 * `from` does not occur, so a test whose edit misses fails loudly. */
static inline char *fixture_edit(const char *text, const char *from, const char *to)
{
    const char *at = strstr(text, from);
    if (!at)
        return NULL;
    size_t head = (size_t)(at - text), n = strlen(text) - strlen(from) + strlen(to);
    char *out = malloc(n + 1);
    if (!out)
        return NULL;
    memcpy(out, text, head);
    strcpy(out + head, to);
    strcat(out, at + strlen(from));
    return out;
}

#endif
