/*
 * Content negotiation: what a request's body is (Content-Type) and what
 * form of answer it accepts (Accept).
 *
 * Bodies are JSON, YAML, Kubernetes protobuf (for the kinds protobuf.h
 * reads), or one of the four patch types. Answers are JSON
 * objects as stored, or conversions the API server offers through Accept
 * parameters: a Table (`application/json;as=Table;v=v1;g=meta.k8s.io`,
 * what kubectl get asks for) or PartialObjectMetadata(List) (metadata only).
 * Protobuf and CBOR are not served; a client listing them before JSON gets
 * JSON, one accepting nothing else gets 406.
 */
#ifndef GPUSLICE_APISERVER_MEDIA_H
#define GPUSLICE_APISERVER_MEDIA_H

#include "util/err.h"

enum media_body {
    MEDIA_BODY_JSON,
    MEDIA_BODY_YAML,
    MEDIA_BODY_MERGE_PATCH,     /* application/merge-patch+json */
    MEDIA_BODY_JSON_PATCH,      /* application/json-patch+json */
    MEDIA_BODY_STRATEGIC_PATCH, /* application/strategic-merge-patch+json */
    MEDIA_BODY_APPLY_PATCH,     /* application/apply-patch+yaml */
    MEDIA_BODY_PROTOBUF,        /* application/vnd.kubernetes.protobuf */
    MEDIA_BODY_UNSUPPORTED,
};

enum media_answer {
    MEDIA_ANSWER_JSON,
    MEDIA_ANSWER_TABLE,   /* meta.k8s.io Table */
    MEDIA_ANSWER_PARTIAL, /* meta.k8s.io PartialObjectMetadata(List) */
};

/* The kind of body a Content-Type names (parameters such as charset
 * ignored, case-insensitive); NULL or "" is JSON, as the API server assumes
 * for a body without one. */
enum media_body media_body_type(const char *content_type);

/* The first form in accept (a comma-separated list of media ranges) that
 * can be served: JSON for application/json, application/\*, \*\/\* or
 * NULL/""; a Table or partial metadata when the range asks for one with
 * g=meta.k8s.io and v=v1 or v1beta1 (*table_version is set to that v, and
 * is "v1" otherwise). -ENOTSUP (406 NotAcceptable) when no range can be
 * served. */
int media_answer_type(const char *accept, enum media_answer *out, const char **table_version,
                      struct err *e);

#endif
