/* A generation loop in C, for callers that cannot run the Lua loop: a
 * background thread (lua_job.c) or an embedding application.
 *
 * ll_gen_run evaluates the prompt in a context of its own, then samples with
 * a C sampler chain until end of generation, max_tokens, a stop string or a
 * cancel request. Stop strings are matched across token boundaries and never
 * emitted: text that could be the start of one is held back until decided.
 * Output is complete UTF-8 pieces, appended to a mutex-protected buffer that
 * another thread drains with ll_gen_read while the run goes on.
 *
 * Threads: one thread calls ll_gen_run; any thread may call ll_gen_cancel,
 * ll_gen_done, ll_gen_read and ll_gen_stats at any time. The rest of the
 * result (tokens, stop reason, error) is read after ll_gen_run returned. */
#ifndef LL_GENERATE_H
#define LL_GENERATE_H

#include "context.h"
#include "sampler.h"
#include "tokenizer.h"

#include <pthread.h>
#include <stdatomic.h>

typedef enum {
    LL_GEN_RUNNING, LL_GEN_EOS, LL_GEN_LENGTH, LL_GEN_STOP, LL_GEN_CANCEL, LL_GEN_ERROR,
} ll_gen_reason;

/* "eos", "length", "stop", "cancel", "error" (as the Lua loop names them). */
const char *ll_gen_reason_name(ll_gen_reason r);

typedef struct ll_gen_stats {
    int prompt_n, gen_n;
    double prompt_ms, gen_ms, total_ms;
} ll_gen_stats;

typedef struct ll_gen_params {
    int max_tokens;            /* >= 0 */
    const char *const *stops;  /* (n_stops) NUL-terminated, copied */
    int n_stops;
    ll_context_params ctx;     /* the context the run creates (n_ctx 0: default) */
} ll_gen_params;

typedef struct ll_gen ll_gen;

/* Copies the prompt and the stop strings; takes ownership of chain (freed
 * with the generation, even when this fails). m and t must outlive it. */
ll_gen *ll_gen_new(const ll_model *m, const ll_tokenizer *t, ll_sampler_chain *chain,
                   const int32_t *prompt, int n_prompt, const ll_gen_params *p, ll_error *e);
void ll_gen_free(ll_gen *g);

/* The whole run, on the calling thread; returns when it ends. The context
 * exists only during the call. */
void ll_gen_run(ll_gen *g);

void ll_gen_cancel(ll_gen *g);
bool ll_gen_done(ll_gen *g);
/* Copies up to cap bytes of output not read yet into buf; returns the count.
 * Output only ever grows by whole UTF-8 pieces, so reading until 0 ends on
 * a character boundary. */
size_t ll_gen_read(ll_gen *g, char *buf, size_t cap);
/* A consistent snapshot of the statistics so far. */
ll_gen_stats ll_gen_stats_get(ll_gen *g);

/* After ll_gen_run returned: */
ll_gen_reason ll_gen_reason_get(const ll_gen *g);
const char *ll_gen_error(const ll_gen *g); /* message when the reason is LL_GEN_ERROR */
/* The whole emitted text (not NUL-terminated) and the generated token ids. */
const char *ll_gen_text(const ll_gen *g, size_t *len);
const int32_t *ll_gen_tokens(const ll_gen *g, int *n);

#endif
