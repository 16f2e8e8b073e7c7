/* qfs_screen.c - drawing `qfs status --watch` frames over each other on a terminal. */
#include "tools/qfs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

struct screen_out {
    char *p;
    size_t len, cap;
};

static void add(struct screen_out *o, const char *s, size_t n)
{
    if (n <= o->cap - o->len) {
        memcpy(o->p + o->len, s, n);
        o->len += n;
    }
}

/* Copies the escape sequence at f[i] (through its final letter); its length. */
static size_t escape(struct screen_out *o, const char *f, size_t i, size_t len)
{
    size_t j = i + 1;
    while (j < len && !((f[j] >= 'A' && f[j] <= 'Z') || (f[j] >= 'a' && f[j] <= 'z')))
        j++;
    size_t n = (j < len ? j + 1 : len) - i;
    add(o, f + i, n);
    return n;
}

static void write_all(const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(STDOUT_FILENO, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        p += n;
        len -= (size_t)n;
    }
}

void qfs_screen_draw(const char *frame, size_t len)
{
    struct winsize ws = {0};
    size_t rows = 24, cols = 80, row = 0, col = 0;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col) {
        rows = ws.ws_row;
        cols = ws.ws_col;
    }
    struct screen_out o = {malloc(len + 8 * rows + 16), 0, len + 8 * rows + 16};
    if (!o.p)
        return;
    add(&o, "\033[H", 3);
    for (size_t i = 0; i < len && row < rows;) {
        if (frame[i] == '\033') {
            i += escape(&o, frame, i, len);
            continue;
        }
        if (frame[i] == '\n') {
            add(&o, "\033[K", 3); /* the rest of the old line goes */
            if (++row < rows)
                add(&o, "\n", 1); /* never a newline on the last row: no scrolling */
            col = 0;
        } else if (col < cols) { /* a long line is cut, never wrapped */
            add(&o, frame + i, 1);
            col += ((unsigned char)frame[i] & 0xC0) != 0x80; /* UTF-8: count characters */
        }
        i++;
    }
    add(&o, "\033[J", 3); /* and whatever the last frame had below this one */
    write_all(o.p, o.len);
    free(o.p);
}
