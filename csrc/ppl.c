/* Log-softmax scoring (see ppl.h). */
#include "ppl.h"

#include <math.h>

/* max and log(sum(exp(x - max))) of a row */
static void log_norm(const float *x, int n, float *max_out, double *lse_out, int *arg_out) {
    float mx = x[0];
    int arg = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > mx) { mx = x[i]; arg = i; }
    double s = 0.0;
    for (int i = 0; i < n; i++) s += exp((double)x[i] - mx);
    *max_out = mx;
    *lse_out = log(s);
    if (arg_out) *arg_out = arg;
}

double ll_ppl_nll(const float *logits, int n, int target) {
    float mx;
    double lse;
    log_norm(logits, n, &mx, &lse, 0);
    return lse - ((double)logits[target] - mx);
}

double ll_ppl_kld(const float *base, const float *q, int n, bool *same_top) {
    float mb, mq;
    double lb, lq;
    int ab, aq;
    log_norm(base, n, &mb, &lb, &ab);
    log_norm(q, n, &mq, &lq, &aq);
    double kld = 0.0;
    for (int i = 0; i < n; i++) {
        double lpb = (double)base[i] - mb - lb;
        double lpq = (double)q[i] - mq - lq;
        kld += exp(lpb) * (lpb - lpq);
    }
    if (same_top) *same_top = ab == aq;
    /* rounding can leave a tiny negative sum for identical rows */
    return kld < 0.0 ? 0.0 : kld;
}
