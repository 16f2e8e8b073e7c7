/* qfs_conflict_name.c - recognising conflict copies by name (docs/ARCHITECTURE.md,
 * "Conflicts"): NAME.conflict-YYYYMMDD-HHMMSS-NODEID7[.EXT] next to NAME[.EXT]. */
#include "tools/qfs.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#define MARK     ".conflict-"
#define TAIL_LEN (8 + 1 + 6 + 1 + 7) /* YYYYMMDD-HHMMSS-NODEID7 */

static int tail_ok(const char *t)
{
    for (int i = 0; i < TAIL_LEN; i++) {
        bool ok = i == 8 || i == 15 ? t[i] == '-'
                  : i < 15          ? isdigit((unsigned char)t[i])
                                    : isalnum((unsigned char)t[i]);
        if (!ok)
            return 0;
    }
    return t[TAIL_LEN] == '\0' || t[TAIL_LEN] == '.';
}

int qfs_conflict_original(const char *name, char *out, size_t cap)
{
    /* the last mark wins: "a.conflict-X.conflict-Y" is a copy of a copy */
    const char *m = NULL;
    for (const char *p = strstr(name, MARK); p; p = strstr(p + 1, MARK))
        m = p;
    if (!m || m == name || !tail_ok(m + strlen(MARK)))
        return 0;
    const char *ext = m + strlen(MARK) + TAIL_LEN;
    int n = snprintf(out, cap, "%.*s%s", (int)(m - name), name, ext);
    return n > 0 && (size_t)n < cap;
}
