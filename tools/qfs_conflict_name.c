/* qfs_conflict_name.c - recognising conflict copies by name (docs/commands.md):
 * NAME.conflict-YYYYMMDD-HHMMSS-TAG[-N][.EXT] next to NAME[.EXT], where TAG is
 * 1 to 7 letters or digits and -N a number (or i and an inode number) that
 * makes the name unique. NAME may be empty (".bashrc" has the copy
 * ".conflict-...-TAG.bashrc"). */
#include "tools/qfs.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#define MARK    ".conflict-"
#define TAG_MAX 7

/* "YYYYMMDD-HHMMSS-TAG[-N]": the length of that prefix of t, or 0. */
static size_t tail_len(const char *t)
{
    for (int i = 0; i < 16; i++)
        if (i == 8 || i == 15 ? t[i] != '-' : !isdigit((unsigned char)t[i]))
            return 0;
    size_t n = 16, tag = 0;
    while (tag < TAG_MAX && isalnum((unsigned char)t[n + tag]))
        tag++;
    if (tag == 0)
        return 0;
    n += tag;
    if (t[n] == '-') {
        size_t d = t[n + 1] == 'i' ? 2 : 1, digits = 0;
        while (isdigit((unsigned char)t[n + d + digits]))
            digits++;
        if (!digits)
            return 0;
        n += d + digits;
    }
    return t[n] == '\0' || t[n] == '.' ? n : 0;
}

int qfs_conflict_original(const char *name, char *out, size_t cap)
{
    /* the last mark that parses wins: "a.conflict-X.conflict-Y" is a copy of a copy */
    const char *m = NULL;
    size_t tl = 0;
    for (const char *p = strstr(name, MARK); p; p = strstr(p + 1, MARK)) {
        size_t n = tail_len(p + strlen(MARK));
        if (n) {
            m = p;
            tl = n;
        }
    }
    if (!m)
        return 0;
    const char *ext = m + strlen(MARK) + tl;
    if (m == name && *ext == '\0')
        return 0; /* nothing left to be the original's name */
    int n = snprintf(out, cap, "%.*s%s", (int)(m - name), name, ext);
    return n > 0 && (size_t)n < cap;
}
