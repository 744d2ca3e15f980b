/* libFuzzer harness for util/jsontext against jansson itself: any bytes are
 * JSON text, read by both with each flag the project uses. They must agree
 * on whether it parses, on the error (text, line, column, position) when it
 * does not, and on the value when it does; the value must then print to the
 * same bytes through both printers, and jsontext_dumpb must give the same
 * length into a buffer too small and the same bytes into one large enough.
 * Any difference aborts: jsontext promises jansson's results exactly, and
 * the API server reads every request body with it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/jsontext.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void same_error(const json_error_t *a, const json_error_t *b)
{
    if (strcmp(a->text, b->text) != 0 || a->line != b->line || a->column != b->column ||
        a->position != b->position)
        abort();
}

/* v is jsontext's reading and read jansson's: json_equal ignores key order,
 * so the texts compare jsontext's reader and printer with jansson's both. */
static void same_text(const json_t *v, const json_t *read)
{
    char *ours = jsontext_dumps(v);
    char *theirs = json_dumps(read, JSON_COMPACT);
    if (!ours || !theirs || strcmp(ours, theirs) != 0)
        abort();
    size_t len = strlen(theirs);
    char small[8], *big = malloc(len + 1);
    if (jsontext_dumpb(v, small, sizeof small) != len ||
        jsontext_dumpb(v, big, len + 1) != len || memcmp(big, theirs, len) != 0)
        abort();
    free(big);
    free(ours);
    free(theirs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const size_t flags[] = {0, JSON_REJECT_DUPLICATES};
    for (size_t i = 0; i < sizeof flags / sizeof *flags; i++) {
        json_error_t ours_err, theirs_err;
        json_t *ours = jsontext_load((const char *)data, size, flags[i], &ours_err);
        json_t *theirs = json_loadb((const char *)data, size, flags[i], &theirs_err);
        if (!ours != !theirs)
            abort();
        if (!ours)
            same_error(&ours_err, &theirs_err);
        else if (!json_equal(ours, theirs))
            abort();
        else
            same_text(ours, theirs);
        json_decref(ours);
        json_decref(theirs);
    }
    return 0;
}
