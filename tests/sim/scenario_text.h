/*
 * What the simulator's tests share: a scenario decoded from YAML text, and
 * the envelope's cluster (two A100-40GB, each holding a 3g.20gb at memory
 * slice 4 that gpuslice did not make) to put in front of a workload.
 */
#ifndef GPUSLICE_TESTS_SIM_SCENARIO_TEXT_H
#define GPUSLICE_TESTS_SIM_SCENARIO_TEXT_H

#include <string.h>

#include "sim/scenario.h"

#define ENVELOPE_CLUSTER                                                        \
    "cluster:\n"                                                                \
    "  nodes:\n"                                                                \
    "    - name: gpu-node-1\n"                                                  \
    "      gpus:\n"                                                             \
    "        - {model: A100-40GB, slices: [{profile: 3g.20gb, start: 4}]}\n"    \
    "        - {model: A100-40GB, slices: [{profile: 3g.20gb, start: 4}]}\n"    \
    "device: {createMs: 1000, destroyMs: 500}\n"

/* Decodes text (named "s.yaml") into *sc; the rc of scenario_decode. */
static inline int scenario_text(const char *text, struct scenario *sc, struct err *e)
{
    struct yaml_doc *doc = NULL;
    int rc = yaml_doc_parse("s.yaml", text, strlen(text), NULL, &doc, e);
    return rc < 0 ? rc : scenario_decode(sc, doc, NULL, e);
}

#endif
