/*
 * A list answer as the bytes of a streaming HTTP response, encoded while it
 * is sent, so that a list never exists whole in the server's memory.
 *
 * The store is read a page of LISTSTREAM_PAGE objects at a time (limit and
 * continue underneath; every page of one list is served at the
 * resourceVersion of the first, as store_list guarantees), and each page is
 * converted to the form the client accepts (the List, a Table's rows,
 * PartialObjectMetadata) and written out before the next page is read. What
 * the server holds for a list is one page, whatever the list's size.
 *
 * The answer means what the unstreamed one means: the same objects, the
 * same resourceVersion, the client's own limit, continue token and
 * remainingItemCount, its selectors. Only the order of the document's keys
 * can differ: the array comes last, and when the client's limit spans
 * several pages the metadata comes after it (its continue token is known
 * only at the end). A list that fits one page is answered whole, exactly
 * as before.
 *
 * The first page is read when the stream is opened, so the errors a list
 * can have (a malformed selector, an expired continue token, a
 * resourceVersion too new) are the request's, with their status. A later
 * page can only fail when the store's history no longer reaches the first
 * page's resourceVersion; the stream then ends short (liststream_read says
 * so) and the HTTP layer cuts the response, which the client sees as an
 * incomplete body and lists again.
 */
#ifndef GPUSLICE_APISERVER_LISTSTREAM_H
#define GPUSLICE_APISERVER_LISTSTREAM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "apiserver/media.h"
#include "apiserver/table.h"
#include "store/store.h"
#include "util/err.h"

/* Objects read from the store, converted and written per step. */
#define LISTSTREAM_PAGE 250

/* The form of the answer. */
struct liststream_form {
    enum media_answer answer;
    struct table_spec *table;  /* MEDIA_ANSWER_TABLE: the columns; else NULL */
    enum table_include include; /* what Table rows carry */
    const char *meta_version;  /* meta.k8s.io version: a static string ("v1", "v1beta1") */
    int64_t now_ns;            /* Table ages are relative to it */
};

struct liststream;

/* The answer to list (a List document, taken) in form: the List itself, a
 * Table, or a PartialObjectMetadataList. New reference; NULL only when out
 * of memory. form->table stays the caller's. */
json_t *liststream_convert(const struct liststream_form *form, json_t *list);

/* Lists res in ns with o (as store_list) in form, whose table the call
 * takes (freed with the stream, or here). On success exactly one of *whole
 * (the converted answer, when the list fitted one page; a new reference)
 * and *out (a stream, freed with liststream_free) is set. On failure
 * neither is, and e holds the store's error. store, res and ns must outlive
 * the stream; o's strings are copied. */
int liststream_open(struct store *st, const struct api_resource *res, const char *ns,
                    const struct store_list_opts *o, const struct liststream_form *form,
                    json_t **whole, struct liststream **out, struct err *e);

/* Copies up to max (> 0) bytes of the answer into buf: the number copied,
 * 0 once every byte was read, or -EIO when a later page could not be read
 * and the answer must be cut short. Used by one thread at a time. */
ssize_t liststream_read(struct liststream *ls, char *buf, size_t max);

/* Frees the stream; ls may be NULL. */
void liststream_free(struct liststream *ls);

#endif
