/* top_p straight from raw logits, for a chain that starts with it: the same
 * candidates, order and probabilities as ll_cand_fill + ll_apply_top_p, but
 * without building and normalizing a 150k-entry candidate array. The
 * softmax sum is the same double sum of the same expf values in the same
 * (id) order; only the nucleus gets its probabilities written. */
#include "sampler.h"

#include <math.h>

/* Not inlined, so the running sum stays in a register: next to the expf
 * calls it was spilled to the stack around every call. */
static __attribute__((noinline)) double add_chunk(double sum, const float *e, size_t m) {
    for (size_t j = 0; j < m; j++) sum += e[j];
    return sum;
}

#define EXP_CHUNK 512

/* Σ expf(l_i - max) in double, in id order: the expf of a chunk first (calls
 * independent of each other), then the chunk's sequential sum. */
static double exp_sum(const float *logits, size_t n, float max) {
    float e[EXP_CHUNK];
    double sum = 0.0;
    for (size_t i0 = 0; i0 < n; i0 += EXP_CHUNK) {
        const size_t m = n - i0 < EXP_CHUNK ? n - i0 : EXP_CHUNK;
        for (size_t j = 0; j < m; j++) {
            const float l = logits[i0 + j];
            e[j] = expf((isnan(l) ? -INFINITY : l) - max);
        }
        sum = add_chunk(sum, e, m);
    }
    return sum;
}

int ll_top_p_from_logits(const float *logits, size_t n, float p, ll_cand *buf, ll_cand_array *a) {
    if (!(p < 1.0f) || n <= 1) return 1;
    const float max = ll_logits_max(logits, n); /* the sign of a zero max cannot change l - max */
    if (isinf(max)) return 1; /* all -inf or a +inf: the generic path's special case */
    const double sum = exp_sum(logits, n, max);
    size_t k = n < 64 ? n : 64;
    for (;;) {
        ll_logits_top(logits, n, k, buf);
        double cum = 0.0;
        for (size_t i = 0; i < k; i++) {
            const float pi = (float)(expf(buf[i].logit - max) / sum);
            buf[i].p = pi;
            cum += pi;
            if (cum >= p) {
                a->data = buf;
                a->n = i + 1;
                a->sorted = true;
                a->normalized = false;
                return 0;
            }
        }
        if (k == n) return 1; /* rounding left the sum below p: the generic path keeps all */
        k = k * 8 < n ? k * 8 : n;
    }
}
