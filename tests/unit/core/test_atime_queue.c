/* test_atime_queue.c - the queue of readers' atime updates on its own, with a
 * submit function that blocks until the test opens a gate: adding never
 * waits for a submission, one entry per inode keeps the latest time, take()
 * waits for an update in flight, a full queue says so, stop drains. */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fs/core/atime_queue.h"
#include "tests/check_run.h"

#define MAX_SEEN 4096

struct fake {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool gate_open;
    int entered; /* submissions begun */
    int n;       /* submissions done */
    uint64_t ino[MAX_SEEN];
    struct meta_time t[MAX_SEEN];
};

static struct fake fk;
static struct atime_queue q;

static int fake_submit(void *ctx, uint64_t ino, const struct meta_time *t)
{
    struct fake *f = ctx;
    pthread_mutex_lock(&f->lock);
    f->entered++;
    pthread_cond_broadcast(&f->cond);
    while (!f->gate_open)
        pthread_cond_wait(&f->cond, &f->lock);
    if (f->n < MAX_SEEN) {
        f->ino[f->n] = ino;
        f->t[f->n] = *t;
    }
    f->n++;
    pthread_mutex_unlock(&f->lock);
    return 0;
}

static void open_gate(bool open)
{
    pthread_mutex_lock(&fk.lock);
    fk.gate_open = open;
    pthread_cond_broadcast(&fk.cond);
    pthread_mutex_unlock(&fk.lock);
}

/* Polls (no sleep-as-synchronization): until the thread is inside submit. */
static void wait_entered(int n)
{
    pthread_mutex_lock(&fk.lock);
    while (fk.entered < n)
        pthread_cond_wait(&fk.cond, &fk.lock);
    pthread_mutex_unlock(&fk.lock);
}

static int submitted(void)
{
    pthread_mutex_lock(&fk.lock);
    int n = fk.n;
    pthread_mutex_unlock(&fk.lock);
    return n;
}

static void setup(void)
{
    memset(&fk, 0, sizeof(fk));
    pthread_mutex_init(&fk.lock, NULL);
    pthread_cond_init(&fk.cond, NULL);
    atime_queue_init(&q, fake_submit, &fk);
}

static void teardown(void)
{
    open_gate(true);
    atime_queue_destroy(&q);
}

static struct meta_time at(int64_t s)
{
    return (struct meta_time){s, 0};
}

START_TEST(add_does_not_wait_for_submission)
{
    struct meta_time t = at(100);
    ck_assert_int_eq(atime_queue_add(&q, 7, &t), 0);
    wait_entered(1); /* the thread holds 7's update at the closed gate */
    for (uint64_t ino = 10; ino < 20; ino++)
        ck_assert_int_eq(atime_queue_add(&q, ino, &t), 0);
    ck_assert_int_eq(submitted(), 0);
    open_gate(true);
    atime_queue_stop(&q);
    ck_assert_int_eq(submitted(), 11); /* stop drained everything */
    ck_assert_int_eq(atime_queue_add(&q, 30, &t), -ESHUTDOWN);
}
END_TEST

START_TEST(one_entry_per_inode_keeps_latest)
{
    struct meta_time t1 = at(100), t2 = at(200), t0 = at(50), got;
    ck_assert_int_eq(atime_queue_add(&q, 1, &t1), 0);
    wait_entered(1); /* inode 1 is in flight: the rest stays queued */
    ck_assert_int_eq(atime_queue_add(&q, 5, &t1), 0);
    ck_assert_int_eq(atime_queue_add(&q, 5, &t2), 0);
    ck_assert_int_eq(atime_queue_add(&q, 5, &t0), 0); /* older: ignored */
    ck_assert(atime_queue_take(&q, 5, &got));
    ck_assert_int_eq(got.sec, 200);
    ck_assert(!atime_queue_take(&q, 5, &got)); /* taken: gone */
    ck_assert(!atime_queue_take(&q, 6, &got));
    open_gate(true);
    atime_queue_stop(&q);
    ck_assert_int_eq(submitted(), 1); /* only inode 1: 5 was taken */
    ck_assert_uint_eq(fk.ino[0], 1);
}
END_TEST

struct taker {
    uint64_t ino;
    pid_t tid;
    bool took, returned;
    int submitted_then; /* submissions done when take() returned */
};

static void *take_thread(void *arg)
{
    struct taker *tk = arg;
    struct meta_time t;
    __atomic_store_n(&tk->tid, (pid_t)syscall(SYS_gettid), __ATOMIC_RELEASE);
    tk->took = atime_queue_take(&q, tk->ino, &t);
    tk->submitted_then = submitted();
    __atomic_store_n(&tk->returned, true, __ATOMIC_RELEASE);
    return NULL;
}

/* The kernel's word for a thread blocked in a wait: state S in its stat. */
static bool thread_sleeping(pid_t tid)
{
    char path[64], buf[256];
    snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)tid);
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = 0;
    const char *p = strrchr(buf, ')');
    return p && p[1] == ' ' && p[2] == 'S';
}

START_TEST(take_waits_for_update_in_flight)
{
    struct meta_time t = at(100);
    ck_assert_int_eq(atime_queue_add(&q, 9, &t), 0);
    wait_entered(1);
    struct taker tk = {.ino = 9};
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, take_thread, &tk), 0);
    /* Polled: until the taker returned (wrong) or blocks. */
    while (!__atomic_load_n(&tk.returned, __ATOMIC_ACQUIRE) &&
           !(__atomic_load_n(&tk.tid, __ATOMIC_ACQUIRE) && thread_sleeping(tk.tid)))
        sched_yield();
    open_gate(true);
    pthread_join(th, NULL);
    ck_assert(!tk.took);
    ck_assert_int_eq(tk.submitted_then, 1); /* it returned after the update */
}
END_TEST

START_TEST(full_queue_is_refused)
{
    struct meta_time t = at(100);
    ck_assert_int_eq(atime_queue_add(&q, 1, &t), 0);
    wait_entered(1);
    for (uint64_t ino = 2; ino < 2 + ATIME_QUEUE_MAX; ino++)
        ck_assert_int_eq(atime_queue_add(&q, ino, &t), 0);
    ck_assert_int_eq(atime_queue_add(&q, 99999, &t), -ENOSPC);
    ck_assert_int_eq(atime_queue_add(&q, 2, &t), 0); /* a queued inode still fits */
    open_gate(true);
    atime_queue_stop(&q);
    ck_assert_int_eq(submitted(), 1 + ATIME_QUEUE_MAX);
}
END_TEST

START_TEST(oldest_first_and_pending)
{
    struct meta_time t = at(100), got;
    ck_assert(!atime_queue_pending(&q, 1));
    ck_assert_int_eq(atime_queue_add(&q, 1, &t), 0);
    wait_entered(1);
    ck_assert(atime_queue_pending(&q, 1)); /* in flight */
    for (uint64_t ino = 2; ino <= 6; ino++)
        ck_assert_int_eq(atime_queue_add(&q, ino, &t), 0);
    ck_assert(atime_queue_pending(&q, 4)); /* queued */
    ck_assert(atime_queue_take(&q, 6, &got));
    ck_assert(!atime_queue_pending(&q, 6)); /* taken */
    open_gate(true);
    atime_queue_stop(&q);
    ck_assert_int_eq(submitted(), 5);
    for (int i = 0; i < 5; i++)
        ck_assert_uint_eq(fk.ino[i], (uint64_t)i + 1);
    ck_assert(!atime_queue_pending(&q, 5));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("atime_queue");
    TCase *tc = tcase_create("queue");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, add_does_not_wait_for_submission);
    tcase_add_test(tc, one_entry_per_inode_keeps_latest);
    tcase_add_test(tc, take_waits_for_update_in_flight);
    tcase_add_test(tc, full_queue_is_refused);
    tcase_add_test(tc, oldest_first_and_pending);
    suite_add_tcase(s, tc);
    return check_run(s);
}
