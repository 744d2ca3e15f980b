/*
 * Kubernetes protobuf request bodies, read into JSON.
 *
 * kubectl's typed clients (`kubectl create namespace`, `kubectl create
 * configmap`) send objects as application/vnd.kubernetes.protobuf whatever
 * the server prefers, so the API server must read them. The wire form is
 * the magic "k8s\0" and a runtime.Unknown message (typeMeta, raw) whose raw
 * bytes are the object's own message. Only the kinds kubectl creates this
 * way and gpuslice serves are read: Namespace and ConfigMap, with the full
 * ObjectMeta. Empty strings, zero numbers and false are dropped as Go's
 * JSON omitempty drops them; unknown fields are skipped.
 */
#ifndef GPUSLICE_APISERVER_PROTOBUF_H
#define GPUSLICE_APISERVER_PROTOBUF_H

#include <stddef.h>

#include <jansson.h>

#include "util/err.h"

/* Decodes body[0..len) into a JSON object carrying apiVersion and kind
 * (*out, new reference). -EBADMSG for a malformed message (naming the
 * field), -EMEDIUMTYPE for a kind this decoder does not read. */
int protobuf_decode_object(const char *body, size_t len, json_t **out, struct err *e);

#endif
