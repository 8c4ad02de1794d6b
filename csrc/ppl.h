/* Scoring math for perplexity and quantization quality: the negative log
 * likelihood of a target under a logits row, and the KL divergence between
 * the distributions of two rows. Sums run in double: vocabularies are large
 * and the per-token terms tiny. */
#ifndef LL_PPL_H
#define LL_PPL_H

#include <stdbool.h>

/* -log softmax(logits)[target]; target must be in [0, n). */
double ll_ppl_nll(const float *logits, int n, int target);

/* KL(P_base || P_q) over n logits; *same_top tells whether both rows have
 * the same argmax (ties: the lowest id). */
double ll_ppl_kld(const float *base, const float *q, int n, bool *same_top);

#endif
