/* The background committer of frozen staging sets (committer.h). */
#include "fs/core/committer.h"

void committer_init(struct committer *cm, commit_set_fn commit, void *ctx)
{
    *cm = (struct committer){.commit = commit, .ctx = ctx};
    pthread_mutex_init(&cm->lock, NULL);
    pthread_cond_init(&cm->work, NULL);
    pthread_cond_init(&cm->done, NULL);
}

static void *committer_thread(void *arg)
{
    pthread_setname_np(pthread_self(), "qfs-commit"); /* for top -H, perf, gdb */
    struct committer *cm = arg;
    pthread_mutex_lock(&cm->lock);
    for (;;) {
        while (!cm->head && !cm->stop)
            pthread_cond_wait(&cm->work, &cm->lock);
        if (!cm->head)
            break;
        struct sfile *set = cm->head;
        cm->head = set->bg_next;
        if (!cm->head)
            cm->tail = NULL;
        pthread_mutex_unlock(&cm->lock);
        int rc = cm->commit(cm->ctx, set);
        pthread_mutex_lock(&cm->lock);
        set->bg_rc = rc;
        set->bg_done = true;
        pthread_cond_broadcast(&cm->done);
    }
    pthread_mutex_unlock(&cm->lock);
    return NULL;
}

int committer_queue(struct committer *cm, struct sfile *set)
{
    pthread_mutex_lock(&cm->lock);
    int rc = 0;
    if (!cm->started) {
        rc = -pthread_create(&cm->thread, NULL, committer_thread, cm);
        cm->started = rc == 0;
    }
    if (!rc) {
        set->bg_done = false;
        set->bg_next = NULL;
        if (cm->tail)
            cm->tail->bg_next = set;
        else
            cm->head = set;
        cm->tail = set;
        pthread_cond_signal(&cm->work);
    }
    pthread_mutex_unlock(&cm->lock);
    return rc;
}

bool committer_done(struct committer *cm, struct sfile *set)
{
    pthread_mutex_lock(&cm->lock);
    bool done = set->bg_done;
    pthread_mutex_unlock(&cm->lock);
    return done;
}

int committer_wait(struct committer *cm, struct sfile *set)
{
    pthread_mutex_lock(&cm->lock);
    while (!set->bg_done)
        pthread_cond_wait(&cm->done, &cm->lock);
    int rc = set->bg_rc;
    pthread_mutex_unlock(&cm->lock);
    return rc;
}

void committer_destroy(struct committer *cm)
{
    pthread_mutex_lock(&cm->lock);
    cm->stop = true;
    pthread_cond_signal(&cm->work);
    pthread_mutex_unlock(&cm->lock);
    if (cm->started)
        pthread_join(cm->thread, NULL);
    pthread_mutex_destroy(&cm->lock);
    pthread_cond_destroy(&cm->work);
    pthread_cond_destroy(&cm->done);
}
