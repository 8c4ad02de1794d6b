/* Sampling every logits row of a decode at once: one step of a batch, each
 * sequence with its own sampler chain, spread over the context's threads. */
#ifndef LL_SAMPLE_ROWS_H
#define LL_SAMPLE_ROWS_H

#include "context.h"
#include "sampler.h"

/* ids[i] = chains[i] sampled on logits row i of the last decode, read in
 * place (no copy). Rows run in parallel when every chain is distinct and has
 * no custom stage, else in order on this thread; either way each chain sees
 * exactly the calls it would see alone, so ids do not depend on the batch.
 * Returns 0, or -1 with the error of the first failing row. */
int ll_sample_rows(ll_context *c, int n, ll_sampler_chain *const *chains, int32_t *ids, ll_error *e);

#endif
