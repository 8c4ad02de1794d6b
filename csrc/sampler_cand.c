/* Candidate arrays: fill, order, select and normalize. */
#include "sampler.h"

#include <math.h>
#include <stdlib.h>

/* The total order of the whole sampler: higher logit first, then lower id. */
static inline bool better(const ll_cand *x, const ll_cand *y) {
    return x->logit > y->logit || (x->logit == y->logit && x->id < y->id);
}

static int cmp_better(const void *pa, const void *pb) {
    const ll_cand *a = pa, *b = pb;
    if (better(a, b)) return -1;
    if (better(b, a)) return 1;
    return 0;
}

void ll_cand_fill(ll_cand_array *a, ll_cand *buf, const float *logits, size_t n_vocab) {
    for (size_t i = 0; i < n_vocab; i++) {
        float l = logits[i];
        buf[i].id = (int32_t)i;
        buf[i].logit = isnan(l) ? -INFINITY : l;
        buf[i].p = 0.0f;
    }
    a->data = buf;
    a->n = n_vocab;
    a->sorted = false;
    a->normalized = false;
}

void ll_cand_sort(ll_cand_array *a) {
    if (!a->sorted) qsort(a->data, a->n, sizeof *a->data, cmp_better);
    a->sorted = true;
}

/* Min-heap on `better` (the root is the worst of the kept set). */
static void sift_down(ll_cand *h, size_t n, size_t i) {
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, w = i;
        if (l < n && better(&h[w], &h[l])) w = l;
        if (r < n && better(&h[w], &h[r])) w = r;
        if (w == i) return;
        ll_cand t = h[i];
        h[i] = h[w];
        h[w] = t;
        i = w;
    }
}

/* Heap in h[0..k) -> sorted better-first (heap sort with a min-heap). */
static void heap_to_sorted(ll_cand *h, size_t k) {
    for (size_t end = k; end > 1; end--) {
        ll_cand t = h[0];
        h[0] = h[end - 1];
        h[end - 1] = t;
        sift_down(h, end - 1, 0);
    }
}

void ll_cand_sort_top(ll_cand_array *a, size_t k) {
    if (a->sorted) return;
    if (k >= a->n) {
        ll_cand_sort(a);
        return;
    }
    if (k == 0) return;
    ll_cand *h = a->data;
    for (size_t i = k / 2; i-- > 0;) sift_down(h, k, i);
    for (size_t j = k; j < a->n; j++) {
        if (better(&h[j], &h[0])) {
            ll_cand t = h[0];
            h[0] = h[j];
            h[j] = t;
            sift_down(h, k, 0);
        }
    }
    heap_to_sorted(h, k);
}

void ll_cand_softmax(ll_cand_array *a) {
    if (a->n == 0) return;
    float max = a->data[ll_cand_best(a)].logit;
    double sum = 0.0;
    for (size_t i = 0; i < a->n; i++) {
        /* an infinite max (all -inf, or a +inf bias that forces a token):
         * the candidates equal to it share the mass instead of NaN */
        float l = a->data[i].logit;
        float p = isinf(max) ? (l == max ? 1.0f : 0.0f) : expf(l - max);
        a->data[i].p = p;
        sum += p;
    }
    for (size_t i = 0; i < a->n; i++) a->data[i].p = (float)(a->data[i].p / sum);
    a->normalized = true;
}

size_t ll_cand_best(const ll_cand_array *a) {
    if (a->sorted) return 0;
    size_t b = 0;
    for (size_t i = 1; i < a->n; i++)
        if (better(&a->data[i], &a->data[b])) b = i;
    return b;
}

void ll_cand_keep_one(ll_cand_array *a, size_t i) {
    a->data[0] = a->data[i];
    a->data[0].p = 1.0f;
    a->n = 1;
    a->sorted = true;
    a->normalized = true;
}

/* Eight running maxima (the max is the same in any order). NaN never
 * compares greater: it counts as -inf. */
float ll_logits_max(const float *logits, size_t n) {
    float m[8];
    for (int q = 0; q < 8; q++) m[q] = -INFINITY;
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int q = 0; q < 8; q++) m[q] = logits[i + q] > m[q] ? logits[i + q] : m[q];
    for (; i < n; i++) m[0] = logits[i] > m[0] ? logits[i] : m[0];
    float max = m[0];
    for (int q = 1; q < 8; q++) max = m[q] > max ? m[q] : max;
    return max;
}

size_t ll_logits_top(const float *logits, size_t n, size_t k, ll_cand *out) {
    if (k > n) k = n;
    if (k == 0) return 0;
    for (size_t i = 0; i < k; i++) {
        out[i].id = (int32_t)i;
        out[i].logit = isnan(logits[i]) ? -INFINITY : logits[i];
        out[i].p = 0.0f;
    }
    for (size_t i = k / 2; i-- > 0;) sift_down(out, k, i);
    /* A later id is better than the root only with a strictly greater logit
     * (ties go to the lower id, and every id in the heap is lower): blocks
     * whose maximum (ll_logits_max: eight independent lanes, at memory
     * speed) is not above the root are skipped; for k = 1 (greedy) nearly
     * every block skips. */
    size_t j = k;
    for (; j + 128 <= n; j += 128) {
        if (!(ll_logits_max(logits + j, 128) > out[0].logit)) continue;
        for (size_t q = j; q < j + 128; q++) {
            ll_cand c = {(int32_t)q, isnan(logits[q]) ? -INFINITY : logits[q], 0.0f};
            if (better(&c, &out[0])) {
                out[0] = c;
                sift_down(out, k, 0);
            }
        }
    }
    for (; j < n; j++) {
        ll_cand c = {(int32_t)j, isnan(logits[j]) ? -INFINITY : logits[j], 0.0f};
        if (better(&c, &out[0])) {
            out[0] = c;
            sift_down(out, k, 0);
        }
    }
    heap_to_sorted(out, k);
    return k;
}
