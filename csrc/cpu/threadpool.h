/* A fixed set of worker threads that run one parallel region at a time.
 * The caller is thread 0 and works too. Workers spin briefly between regions
 * (generation issues ~30 regions per token, a condition-variable wake per
 * region would cost more than the work) and then sleep. */
#ifndef LL_THREADPOOL_H
#define LL_THREADPOOL_H

#include "ll_common.h"

typedef struct ll_pool ll_pool;

/* fn(ith, nth, arg) runs on every thread of the pool, ith in [0, nth). */
typedef void (*ll_pool_fn)(int ith, int nth, void *arg);

ll_pool *ll_pool_new(int n_threads, ll_error *e); /* n_threads >= 1 */
void ll_pool_free(ll_pool *p);
int ll_pool_size(const ll_pool *p);
/* Runs fn on all threads and returns when all are done. */
void ll_pool_run(ll_pool *p, ll_pool_fn fn, void *arg);

/* Static split of [0, n) for thread ith of nth. */
static inline void ll_split(int64_t n, int ith, int nth, int64_t *lo, int64_t *hi) {
    int64_t per = (n + nth - 1) / nth;
    *lo = per * ith;
    *hi = *lo + per;
    if (*lo > n) *lo = n;
    if (*hi > n) *hi = n;
}

#endif
