/* control_scan.c - the node-wide chunk scan (core_sync_all), cached. */
#include "fs/control/control_internal.h"

#include "fs/core/core.h"

#include <string.h>

int control_scan(struct control_server *s, const struct core_sync_all **all)
{
    struct core_stats cs;
    int rc = core_stats(s->core, &cs);
    if (rc)
        return rc;
    uint64_t key[3] = {cs.applied, cs.chunks, cs.chunks_freed};
    if (!s->scan.valid || memcmp(key, s->scan.key, sizeof(key)) != 0) {
        s->scan.valid = false;
        rc = core_sync_all(s->core, &s->scan.all);
        if (rc)
            return rc;
        memcpy(s->scan.key, key, sizeof(key));
        s->scan.valid = true;
    }
    *all = &s->scan.all;
    return 0;
}
