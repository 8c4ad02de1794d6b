#include "cpu/threadpool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <immintrin.h>
#include <sched.h>

#define SPIN_ITERS 200000 /* ~ a few hundred microseconds before sleeping */

typedef struct worker {
    ll_pool *pool;
    int ith;
    pthread_t th;
} worker;

struct ll_pool {
    int n;
    worker *w;
    /* A region: generation counter bumped per run; workers count down `pending`. */
    _Atomic uint64_t gen;
    _Atomic int pending;
    _Atomic int stop;
    ll_pool_fn fn;
    void *arg;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    _Atomic int sleepers;
};

static void *worker_main(void *arg) {
    worker *w = arg;
    ll_pool *p = w->pool;
    uint64_t seen = 0;
    for (;;) {
        uint64_t g;
        int spins = 0;
        while ((g = atomic_load_explicit(&p->gen, memory_order_acquire)) == seen &&
               !atomic_load_explicit(&p->stop, memory_order_acquire)) {
            if (++spins < SPIN_ITERS) {
                if (spins & 1023) _mm_pause();
                else sched_yield();
                continue;
            }
            pthread_mutex_lock(&p->mu);
            atomic_fetch_add(&p->sleepers, 1);
            while (atomic_load(&p->gen) == seen && !atomic_load(&p->stop))
                pthread_cond_wait(&p->cv, &p->mu);
            atomic_fetch_sub(&p->sleepers, 1);
            pthread_mutex_unlock(&p->mu);
            spins = 0;
        }
        if (atomic_load(&p->stop)) return NULL;
        seen = g;
        p->fn(w->ith, p->n, p->arg);
        atomic_fetch_sub_explicit(&p->pending, 1, memory_order_acq_rel);
    }
}

ll_pool *ll_pool_new(int n_threads, ll_error *e) {
    if (n_threads < 1) n_threads = 1;
    ll_pool *p = calloc(1, sizeof *p);
    if (!p) { ll_err(e, "threadpool: out of memory"); return NULL; }
    p->n = n_threads;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    p->w = calloc((size_t)n_threads, sizeof(worker));
    if (!p->w) { ll_pool_free(p); ll_err(e, "threadpool: out of memory"); return NULL; }
    for (int i = 1; i < n_threads; i++) {
        p->w[i].pool = p;
        p->w[i].ith = i;
        if (pthread_create(&p->w[i].th, NULL, worker_main, &p->w[i]) != 0) {
            p->n = i; /* only join those started */
            ll_pool_free(p);
            ll_err(e, "threadpool: cannot start thread %d", i);
            return NULL;
        }
    }
    return p;
}

void ll_pool_free(ll_pool *p) {
    if (!p) return;
    atomic_store(&p->stop, 1);
    pthread_mutex_lock(&p->mu);
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (int i = 1; i < p->n; i++) pthread_join(p->w[i].th, NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p->w);
    free(p);
}

int ll_pool_size(const ll_pool *p) { return p->n; }

void ll_pool_run(ll_pool *p, ll_pool_fn fn, void *arg) {
    if (p->n == 1) {
        fn(0, 1, arg);
        return;
    }
    p->fn = fn;
    p->arg = arg;
    atomic_store_explicit(&p->pending, p->n - 1, memory_order_release);
    atomic_fetch_add_explicit(&p->gen, 1, memory_order_acq_rel);
    if (atomic_load(&p->sleepers) > 0) {
        pthread_mutex_lock(&p->mu);
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
    }
    fn(0, p->n, arg);
    /* Spin, then yield: on an oversubscribed machine the worker we wait for
     * may need this core. */
    for (int spins = 0; atomic_load_explicit(&p->pending, memory_order_acquire) > 0; spins++) {
        if (spins < 4096) _mm_pause();
        else sched_yield();
    }
}
