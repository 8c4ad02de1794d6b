/* The greedy choice over a row of logits. */
#ifndef LL_ARGMAX_H
#define LL_ARGMAX_H

/* Index of the largest of x[0..n) (n >= 1): NaN counts as -inf, ties go to
 * the lowest index, and a row with nothing above -inf gives 0. */
int ll_argmax_f32(const float *x, int n);

#endif
