/* Samplers: turn a logits vector into one token id.
 *
 * A sampler is a chain of stages applied in order to a candidate array
 * (every token id with its logit). Filtering stages shrink the array
 * (top_k, top_p, min_p, typical), shaping stages change logits (temperature,
 * penalties, logit_bias), and a selecting stage reduces it to one candidate
 * (greedy, dist). The chain returns data[0].id once n == 1; a chain that
 * ends with more than one candidate returns the best (highest logit) one.
 *
 * Order of candidates: "better" means higher logit, ties broken by lower id.
 * That total order makes every sort and selection identical on every
 * platform, whatever its qsort does with equal keys.
 *
 * Stage state (RNG, penalty history) lives in the stage object, so two
 * chains never share state. */
#ifndef LL_SAMPLER_H
#define LL_SAMPLER_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#include "ll_common.h"
#include "rng.h"

typedef struct {
    int32_t id;
    float logit;
    float p; /* probability, valid only while the array is `normalized` */
} ll_cand;

typedef struct {
    ll_cand *data;
    size_t n;
    bool sorted;     /* data is in "better first" order */
    bool normalized; /* every p is softmax(logits) of the n candidates */
} ll_cand_array;

/* ---- candidate arrays (sampler_cand.c) ---------------------------------- */

/* buf (n_vocab entries) <- {i, logits[i]}; a NaN logit becomes -inf so that
 * a broken model output cannot break the ordering. */
void ll_cand_fill(ll_cand_array *a, ll_cand *buf, const float *logits, size_t n_vocab);
/* Full sort, better first. */
void ll_cand_sort(ll_cand_array *a);
/* Partial selection: afterwards data[0..min(k,n)) holds the best k, sorted,
 * and the rest follows in no particular order. O(n log k), no full sort. */
void ll_cand_sort_top(ll_cand_array *a, size_t k);
/* p <- softmax(logit) over the n candidates (sums in double). */
void ll_cand_softmax(ll_cand_array *a);
/* Index of the best candidate (n >= 1). */
size_t ll_cand_best(const ll_cand_array *a);
/* Reduce the array to its candidate at index i. */
void ll_cand_keep_one(ll_cand_array *a, size_t i);
/* The largest of logits[0..n), NaN counting as -inf (-inf for n = 0). */
float ll_logits_max(const float *logits, size_t n);
/* The best k of a raw logits vector into out (k entries), sorted; returns
 * min(k, n). Used by Logits:topk without building a full candidate array. */
size_t ll_logits_top(const float *logits, size_t n, size_t k, ll_cand *out);

/* ---- stage math (sampler_stages.c): transform an array in place --------- */

typedef struct {
    int32_t id;
    float delta;
} ll_logit_bias;

typedef struct {
    float repeat;    /* > 0; 1 = off. Positive logits / r, negative * r */
    float frequency; /* subtracted once per occurrence in the window */
    float presence;  /* subtracted once if the token occurs at all */
    int32_t last_n;  /* window of accepted tokens; 0 = off */
} ll_penalty_params;

void ll_apply_greedy(ll_cand_array *a);
/* t > 0 divides logits; t == 0 keeps only the best candidate. */
void ll_apply_temperature(ll_cand_array *a, float t);
void ll_apply_top_k(ll_cand_array *a, size_t k);
/* Keeps the smallest set of best candidates whose probability reaches p. */
void ll_apply_top_p(ll_cand_array *a, float p);
/* ll_cand_fill(a, buf, logits, n) then ll_apply_top_p(a, p), computed without
 * the full candidate array (sampler_top_p.c); returns 1, having done
 * nothing, in the rare cases it leaves to those two. */
int ll_top_p_from_logits(const float *logits, size_t n, float p, ll_cand *buf, ll_cand_array *a);
/* Keeps candidates with probability >= p * (max probability). */
void ll_apply_min_p(ll_cand_array *a, float p);
/* Locally typical sampling: keeps the candidates whose surprise -log p is
 * closest to the entropy until their probability reaches p. Allocates. */
int ll_apply_typical(ll_cand_array *a, float p, ll_error *e);
/* hist: the window of accepted ids; scratch: n_hist int32 of caller space. */
void ll_apply_penalties(ll_cand_array *a, const ll_penalty_params *pp,
                        const int32_t *hist, size_t n_hist, int32_t *scratch);
/* Ids absent from the array (filtered out, or past the vocabulary) are skipped. */
void ll_apply_logit_bias(ll_cand_array *a, const ll_logit_bias *b, size_t n);
/* Draws one candidate from softmax(logits) with u = ll_rng_uniform(rng). */
int ll_apply_dist(ll_cand_array *a, ll_rng *rng, ll_error *e);

/* ---- stages and chains (sampler.c) -------------------------------------- */

typedef struct ll_sampler_stage ll_sampler_stage;
typedef struct ll_sampler_chain ll_sampler_chain;

/* A stage written by the user. `call` is whatever the caller passed to
 * ll_sampler_sample (the Lua binding passes its lua_State there). apply
 * returns 0, or -1 with a message in e; it may change logits, reorder and
 * shrink the array (keeping n >= 1), and must keep the flags truthful. */
typedef struct {
    const char *name;
    int (*apply)(ll_cand_array *a, void *ud, void *call, ll_error *e);
    void (*accept)(void *ud, int32_t id); /* optional */
    void (*reset)(void *ud);              /* optional */
    void *(*clone)(void *ud);             /* optional; NULL result = no memory */
    void (*free)(void *ud);               /* optional */
} ll_custom_ops;

/* Constructors return NULL with a message for invalid parameters. */
ll_sampler_stage *ll_stage_greedy(ll_error *e);
ll_sampler_stage *ll_stage_temperature(float t, ll_error *e); /* t >= 0 */
ll_sampler_stage *ll_stage_top_k(int64_t k, ll_error *e);     /* k >= 1 */
ll_sampler_stage *ll_stage_top_p(float p, ll_error *e);       /* 0 < p <= 1 */
ll_sampler_stage *ll_stage_min_p(float p, ll_error *e);       /* 0 <= p <= 1 */
ll_sampler_stage *ll_stage_typical(float p, ll_error *e);     /* 0 < p <= 1 */
ll_sampler_stage *ll_stage_penalties(const ll_penalty_params *pp, ll_error *e);
ll_sampler_stage *ll_stage_logit_bias(const ll_logit_bias *b, size_t n, ll_error *e);
ll_sampler_stage *ll_stage_dist(uint64_t seed, ll_error *e);
/* ops must outlive the stage (a static table); ud is owned by the stage
 * when ops->free is set. */
ll_sampler_stage *ll_stage_custom(const ll_custom_ops *ops, void *ud, ll_error *e);
/* An independent copy with fresh state (history cleared, RNG re-seeded). */
ll_sampler_stage *ll_stage_clone(const ll_sampler_stage *s, ll_error *e);
void ll_stage_free(ll_sampler_stage *s);
/* "top_k(40)", "dist(42)", ... into buf; returns the length it needed. */
int ll_stage_describe(const ll_sampler_stage *s, char *buf, size_t size);
/* ud of a custom stage made with exactly these ops, else NULL. */
void *ll_stage_custom_ud(const ll_sampler_stage *s, const ll_custom_ops *ops);

ll_sampler_chain *ll_sampler_chain_new(ll_error *e);
void ll_sampler_chain_free(ll_sampler_chain *c);
/* Appends s; the chain owns s from now on, even when this fails. */
int ll_sampler_chain_add(ll_sampler_chain *c, ll_sampler_stage *s, ll_error *e);
size_t ll_sampler_chain_len(const ll_sampler_chain *c);
const ll_sampler_stage *ll_sampler_chain_stage(const ll_sampler_chain *c, size_t i);

/* Runs the stages over logits[0..n_vocab) and returns the chosen id, or -1
 * with a message in e (a custom stage failed, no memory, bad input, or the
 * chain is already sampling: a custom stage may not re-enter its chain). */
int32_t ll_sampler_sample(ll_sampler_chain *c, const float *logits, int n_vocab,
                          void *call, ll_error *e);
/* True when a stage is custom: the chain may call back into its owner (Lua)
 * and must be sampled on the owner's thread. */
bool ll_sampler_chain_has_custom(const ll_sampler_chain *c);
/* Records an emitted token (penalty history, custom stages). */
void ll_sampler_accept(ll_sampler_chain *c, int32_t id);
/* Back to the state right after construction. */
void ll_sampler_reset(ll_sampler_chain *c);

#endif
