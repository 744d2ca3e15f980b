/*
 * Watches of the kube backend (store.h's watch calls over a streaming HTTP
 * GET); internal to the backend: kube.c puts these in its vtable.
 */
#ifndef GPUSLICE_STORE_KUBE_WATCH_H
#define GPUSLICE_STORE_KUBE_WATCH_H

#include "store/kube_http.h"
#include "store/store.h"

/* Opens a watch of res in ns through h and waits until the server has
 * answered its headers: an error answer (a bad selector, an unknown
 * resource) fails here; Expired (410) is left for kube_watch_next to say,
 * as store.h wants. The watch carries ops (the backend's vtable). */
int kube_watch_open(const struct store_ops *ops, struct kube_http *h,
                    const struct api_resource *res, const char *ns,
                    const struct store_watch_opts *o, struct store_watch **out, struct err *e);

int kube_watch_next(struct store_watch *w, int timeout_ms, struct store_event *ev,
                    struct err *e);
void kube_watch_cancel(struct store_watch *w);
void kube_watch_close(struct store_watch *w);

#endif
