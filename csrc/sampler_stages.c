/* The math of each built-in stage, on a candidate array, without state. */
#include "sampler.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void ll_apply_greedy(ll_cand_array *a) {
    if (a->n > 0) ll_cand_keep_one(a, ll_cand_best(a));
}

void ll_apply_temperature(ll_cand_array *a, float t) {
    if (t <= 0.0f) {
        ll_apply_greedy(a);
        return;
    }
    /* dividing by t > 0 keeps the order */
    for (size_t i = 0; i < a->n; i++) a->data[i].logit /= t;
    a->normalized = false;
}

void ll_apply_top_k(ll_cand_array *a, size_t k) {
    if (k == 0 || k >= a->n) return;
    ll_cand_sort_top(a, k);
    a->n = k;
    a->sorted = true;
    a->normalized = false;
}

void ll_apply_top_p(ll_cand_array *a, float p) {
    if (p >= 1.0f || a->n <= 1) return;
    ll_cand_softmax(a);
    /* Sort only as far as needed: the nucleus is usually a few dozen tokens
     * of a 152k vocabulary, so select the best 64, then 512, ... */
    size_t k = a->n < 64 ? a->n : 64;
    for (;;) {
        ll_cand_sort_top(a, k);
        size_t lim = a->sorted ? a->n : k;
        double cum = 0.0;
        for (size_t i = 0; i < lim; i++) {
            cum += a->data[i].p;
            if (cum >= p) {
                a->n = i + 1;
                a->sorted = true;
                a->normalized = false;
                return;
            }
        }
        if (lim == a->n) return; /* rounding left the sum below p: keep all */
        k = k * 8 < a->n ? k * 8 : a->n;
    }
}

void ll_apply_min_p(ll_cand_array *a, float p) {
    if (p <= 0.0f || a->n <= 1) return;
    float max = a->data[ll_cand_best(a)].logit;
    /* p_i >= p * p_max  <=>  logit_i - max >= log p (no softmax needed) */
    float logp = logf(p);
    size_t w = 0;
    for (size_t i = 0; i < a->n; i++) {
        float l = a->data[i].logit;
        if (l == max || l - max >= logp) a->data[w++] = a->data[i];
    }
    a->n = w;
    a->normalized = false;
}

typedef struct {
    float score;
    ll_cand c;
} scored;

static int cmp_scored(const void *pa, const void *pb) {
    const scored *x = pa, *y = pb;
    if (x->score != y->score) return x->score < y->score ? -1 : 1;
    /* equal scores: the sampler's total order, so the result is portable */
    if (x->c.logit != y->c.logit) return x->c.logit > y->c.logit ? -1 : 1;
    return x->c.id < y->c.id ? -1 : (x->c.id > y->c.id);
}

int ll_apply_typical(ll_cand_array *a, float p, ll_error *e) {
    if (p >= 1.0f || a->n <= 1) return 0;
    ll_cand_softmax(a);
    double h = 0.0;
    for (size_t i = 0; i < a->n; i++) {
        double pi = a->data[i].p;
        if (pi > 0.0) h -= pi * log(pi);
    }
    scored *s = malloc(a->n * sizeof *s);
    if (!s) return ll_err(e, "sampler: typical: out of memory (%zu candidates)", a->n);
    for (size_t i = 0; i < a->n; i++) {
        double pi = a->data[i].p;
        s[i].score = pi > 0.0 ? (float)fabs(-log(pi) - h) : INFINITY;
        s[i].c = a->data[i];
    }
    qsort(s, a->n, sizeof *s, cmp_scored);
    double cum = 0.0;
    size_t keep = a->n;
    for (size_t i = 0; i < a->n; i++) {
        cum += s[i].c.p;
        if (cum >= p) {
            keep = i + 1;
            break;
        }
    }
    for (size_t i = 0; i < keep; i++) a->data[i] = s[i].c;
    free(s);
    a->n = keep;
    a->sorted = false; /* ordered by typicality, not by logit */
    a->normalized = false;
    return 0;
}

/* The candidate with this id: O(1) while the array still has the layout
 * ll_cand_fill gave it (data[id].id == id), a scan otherwise. */
static ll_cand *find_id(ll_cand_array *a, int32_t id) {
    if (id < 0) return NULL;
    if ((size_t)id < a->n && a->data[id].id == id) return &a->data[id];
    for (size_t i = 0; i < a->n; i++)
        if (a->data[i].id == id) return &a->data[i];
    return NULL;
}

static int cmp_i32(const void *pa, const void *pb) {
    int32_t x = *(const int32_t *)pa, y = *(const int32_t *)pb;
    return (x > y) - (x < y);
}

void ll_apply_penalties(ll_cand_array *a, const ll_penalty_params *pp,
                        const int32_t *hist, size_t n_hist, int32_t *scratch) {
    if (n_hist == 0) return;
    memcpy(scratch, hist, n_hist * sizeof *scratch);
    qsort(scratch, n_hist, sizeof *scratch, cmp_i32);
    for (size_t i = 0; i < n_hist;) {
        size_t j = i;
        while (j < n_hist && scratch[j] == scratch[i]) j++;
        size_t count = j - i;
        ll_cand *c = find_id(a, scratch[i]);
        if (c) {
            /* dividing a negative logit would make the token more likely */
            if (c->logit > 0.0f) c->logit /= pp->repeat;
            else c->logit *= pp->repeat;
            c->logit -= (float)count * pp->frequency + pp->presence;
        }
        i = j;
    }
    a->sorted = false;
    a->normalized = false;
}

void ll_apply_logit_bias(ll_cand_array *a, const ll_logit_bias *b, size_t n) {
    for (size_t i = 0; i < n; i++) {
        ll_cand *c = find_id(a, b[i].id);
        if (c) c->logit += b[i].delta;
    }
    a->sorted = false;
    a->normalized = false;
}

int ll_apply_dist(ll_cand_array *a, ll_rng *rng, ll_error *e) {
    if (a->n == 0) return ll_err(e, "sampler: dist: no candidates left");
    size_t best = ll_cand_best(a);
    if (a->data[best].logit == -INFINITY)
        return ll_err(e, "sampler: dist: every candidate has logit -inf (all tokens banned?)");
    if (!a->normalized) ll_cand_softmax(a);
    double total = 0.0;
    for (size_t i = 0; i < a->n; i++) total += a->data[i].p;
    double target = ll_rng_uniform(rng) * total, cum = 0.0;
    size_t pick = best;
    for (size_t i = 0; i < a->n; i++) {
        cum += a->data[i].p;
        if (target < cum) {
            pick = i;
            break;
        }
    }
    ll_cand_keep_one(a, pick);
    return 0;
}
