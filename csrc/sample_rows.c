/* Parallel sampling of a decode's logits rows (see sample_rows.h). */
#include "sample_rows.h"

#include <stdatomic.h>
#include <stdlib.h>

typedef struct {
    ll_context *c;
    int n;
    ll_sampler_chain *const *chains;
    int32_t *ids;
    ll_error *errs; /* (n) */
    _Atomic int next;
} rows_job;

static void sample_one(rows_job *j, int i) {
    j->ids[i] = ll_sampler_sample(j->chains[i], ll_context_logits(j->c, i), j->c->m->hp.n_vocab, NULL, &j->errs[i]);
}

/* Rows are taken one at a time: their cost varies with the nucleus size. */
static void rows_worker(int ith, int nth, void *arg) {
    (void)ith;
    (void)nth;
    rows_job *j = arg;
    for (int i; (i = atomic_fetch_add(&j->next, 1)) < j->n;) sample_one(j, i);
}

static bool can_parallel(int n, ll_sampler_chain *const *chains) {
    for (int i = 0; i < n; i++) {
        if (ll_sampler_chain_has_custom(chains[i])) return false;
        for (int k = 0; k < i; k++)
            if (chains[k] == chains[i]) return false;
    }
    return true;
}

int ll_sample_rows(ll_context *c, int n, ll_sampler_chain *const *chains, int32_t *ids, ll_error *e) {
    if (n < 0 || n > c->n_logits) return ll_err(e, "sample: %d rows asked, the last decode kept %d", n, c->n_logits);
    if (n == 0) return 0;
    ll_error *errs = malloc((size_t)n * sizeof *errs);
    if (!errs) return ll_err(e, "sample: out of memory");
    rows_job j = {.c = c, .n = n, .chains = chains, .ids = ids, .errs = errs};
    atomic_init(&j.next, 0);
    if (n > 1 && can_parallel(n, chains)) ll_context_parallel(c, rows_worker, &j);
    else
        for (int i = 0; i < n; i++) sample_one(&j, i);
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++)
        if (ids[i] < 0) {
            *e = errs[i];
            rc = -1;
        }
    free(errs);
    return rc;
}
