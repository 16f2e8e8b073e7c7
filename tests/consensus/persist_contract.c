/* persist_contract.c - the checks shared by the backend tests (persist_contract.h). */
#include "tests/consensus/persist_contract.h"

#include "tests/check_run.h"
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int seen_collect(void *arg, const struct cons_rec *r)
{
    struct seen *s = arg;
    if (s->n < SEEN_MAX) {
        s->slots[s->n] = r->slot;
        s->ballots[s->n] = r->ballot;
        s->flags[s->n] = r->flags;
        snprintf(s->data[s->n], sizeof(s->data[0]), "%.*s", (int)r->e.len, r->e.data);
    }
    s->n++;
    return 0;
}

int save_slots(const struct cons_persist_ops *ops, void *ctx, uint64_t promised, uint64_t log_start,
               uint64_t first, uint64_t n, uint8_t flags)
{
    struct cons_rec recs[64];
    char data[64][16];
    for (uint64_t i = 0; i < n; i++) {
        int len = snprintf(data[i], sizeof(data[i]), "cmd-%llu", (unsigned long long)(first + i));
        recs[i] = (struct cons_rec){
            first + i,
            promised,
            flags,
            {1, first + i, CONS_KIND_CMD, (uint32_t)len, (const uint8_t *)data[i]}};
    }
    struct cons_persist_batch b = {{promised, first + n - 1, log_start}, n, recs};
    return ops->save(ctx, &b);
}

/* Child: persist slot i (promised i), then "answer" by writing i to the pipe. */
static void writer(const struct backend *b, int fd)
{
    void *ctx = b->open();
    if (!ctx)
        _exit(2);
    for (uint64_t i = 1;; i++) {
        if (save_slots(b->ops, ctx, i << 8, 1, i, 1, 0) < 0)
            _exit(3);
        if (write(fd, &i, sizeof(i)) != sizeof(i))
            _exit(4);
    }
}

/* Kills the writer mid-loop: maybe between a save and its answer. The
 * highest slot answered, counting answers already in the pipe. */
static uint64_t run_writer(const struct backend *b, uint64_t min_acked)
{
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        close(fds[0]);
        writer(b, fds[1]);
    }
    close(fds[1]);
    uint64_t acked = 0, v;
    while (acked < min_acked && read(fds[0], &v, sizeof(v)) == sizeof(v))
        acked = v;
    kill(pid, SIGKILL);
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFSIGNALED(status));
    while (read(fds[0], &v, sizeof(v)) == sizeof(v))
        acked = v;
    close(fds[0]);
    return acked;
}

void check_sigkill_loses_nothing(const struct backend *b, uint64_t min_acked)
{
    uint64_t acked = run_writer(b, min_acked);
    ck_assert_uint_ge(acked, min_acked);
    ck_assert_uint_lt(acked, SEEN_MAX);
    void *ctx = b->open();
    ck_assert_ptr_nonnull(ctx);
    struct cons_persist_state st;
    static struct seen s;
    memset(&s, 0, sizeof(s));
    ck_assert_int_eq(b->ops->load(ctx, &st, seen_collect, &s), 0);
    ck_assert_uint_ge(st.promised, acked << 8);
    ck_assert_uint_ge(s.n, acked);
    for (uint64_t i = 0; i < acked; i++) {
        char want[16];
        snprintf(want, sizeof(want), "cmd-%llu", (unsigned long long)(i + 1));
        ck_assert_uint_eq(s.slots[i], i + 1);
        ck_assert_str_eq(s.data[i], want);
    }
    b->close(ctx);
}
