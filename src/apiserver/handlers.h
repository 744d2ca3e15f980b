/*
 * The verbs on resources: get, list, watch, create, update, patch, delete,
 * deletecollection, and the status and binding subresources, each turning
 * a routed request into store calls and the store's answer (or error) into
 * a response in the form the client accepts.
 */
#ifndef GPUSLICE_APISERVER_HANDLERS_H
#define GPUSLICE_APISERVER_HANDLERS_H

#include "apiserver/media.h"
#include "apiserver/query.h"
#include "apiserver/rest.h"
#include "apiserver/router.h"
#include "apiserver/table.h"

/* One request on a resource, parsed. */
struct handlers_call {
    const struct rest_server *srv;
    const struct rest_request *req;
    const struct route *rt;     /* ROUTE_COLLECTION or ROUTE_OBJECT */
    const struct query *q;
    enum media_answer answer;
    const char *meta_version;   /* meta.k8s.io version for Table and partial answers */
    enum table_include include; /* what Table rows carry */
};

/* Serves c into resp (overwritten). */
void handlers_serve(const struct handlers_call *c, struct rest_response *resp);

#endif
