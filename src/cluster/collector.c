/*
 * The collector step (see collector.h).
 */
#include "cluster/collector.h"

#include <string.h>

#include "store/mem.h"

bool collector_applies(const struct store *st)
{
    return st && st->ops && st->ops->name && strcmp(st->ops->name, "mem") == 0;
}

int collector_step(struct store *st, size_t max, struct err *e)
{
    if (!collector_applies(st))
        return err_set(e, -EINVAL, "collector: the %s store collects by itself",
                       st && st->ops && st->ops->name ? st->ops->name : "(none)");
    return mem_store_collect(st, max, NULL, e);
}
