/*
 * Errors as Kubernetes sees them.
 *
 * gpuslice reports failures as negative errno codes (util/err.h); the
 * Kubernetes API reports them as a Status object with a reason and an HTTP
 * code. This is the one table between the two, used in both directions: the
 * embedded API server turns a struct err into a Status response, and the
 * kube backend turns a Status response back into a struct err, so a caller
 * sees the same code (say -ESTALE for a Conflict) from either store backend.
 *
 *   code          reason                  HTTP
 *   -EBADMSG      BadRequest              400
 *   -EACCES       Unauthorized            401
 *   -EPERM        Forbidden               403
 *   -ENOENT       NotFound                404
 *   -ENOSYS       MethodNotAllowed        405
 *   -ENOTSUP      NotAcceptable           406
 *   -EEXIST       AlreadyExists           409
 *   -ESTALE       Conflict                409
 *   -EKEYEXPIRED  Expired                 410 (also parsed from reason Gone)
 *   -E2BIG        RequestEntityTooLarge   413
 *   -ENAMETOOLONG RequestURITooLong       414 (Kubernetes names no reason for
 *                                             414; kube-apiserver's own limit is
 *                                             on the whole header, 1 MiB, 431)
 *   -EMEDIUMTYPE  UnsupportedMediaType    415
 *   -EINVAL       Invalid                 422
 *   -EAGAIN       TooManyRequests         429
 *   -EIO          InternalError           500 (and any code not listed)
 *   -EBUSY        ServiceUnavailable      503
 *   -ETIMEDOUT    Timeout                 504
 *   -ETIME        Timeout                 504 "Too large resource version": a
 *                 read or watch at a resourceVersion the server has not
 *                 reached (kube-apiserver's NewTooLargeResourceVersionError:
 *                 message prefixed "Timeout: ", details.retryAfterSeconds 1,
 *                 details.causes [{reason: ResourceVersionTooLarge}], the
 *                 cause telling it apart when parsing). Clients relist on it.
 */
#ifndef GPUSLICE_API_STATUS_H
#define GPUSLICE_API_STATUS_H

#include <jansson.h>

#include "util/err.h"

/* The reason for code ("NotFound"); "InternalError" for a code not in the
 * table; "" for 0 (success). */
const char *status_reason(int code);

/* The HTTP status for code; 500 for a code not in the table, 200 for 0. */
int status_http(int code);

/* A Status object (kind Status, apiVersion v1) for e: status "Failure",
 * message, reason, code, and details {name, group, kind} for the arguments
 * that are not NULL (kind is the resource plural, as the API server puts it).
 * An Invalid one (-EINVAL) is kube-apiserver's NewInvalid instead, which
 * kubectl prints whole: from a message `Kind "name" is invalid: FIELD:
 * DETAIL`, details {name, group, kind: Kind, causes: [{reason
 * FieldValueInvalid, field FIELD, message DETAIL}]}; from any other, no
 * details (kubectl then prints "The request is invalid: MESSAGE").
 * e->code 0 gives a "Success" Status. New reference, owned by the caller;
 * NULL only when out of memory. */
json_t *status_from_err(const struct err *e, const char *group, const char *resource,
                        const char *name);

/* Reads a Status object received with HTTP status http (0 when unknown) into
 * e and returns its negative code: the reason decides, else the HTTP status,
 * else -EIO. A Status whose status is "Success" returns 0 and clears e. A
 * body that is not a Status gives the code of http with a message saying so. */
int status_to_err(const json_t *status, int http, struct err *e);

#endif
