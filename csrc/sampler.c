/* Sampler stages (parameters + state) and chains of them. */
#include "sampler.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum {
    ST_GREEDY, ST_TEMPERATURE, ST_TOP_K, ST_TOP_P, ST_MIN_P, ST_TYPICAL,
    ST_PENALTIES, ST_LOGIT_BIAS, ST_DIST, ST_CUSTOM,
} stage_kind;

struct ll_sampler_stage {
    stage_kind kind;
    float f;   /* temperature, or p of top_p / min_p / typical */
    int64_t k; /* top_k */
    /* penalties: ring buffer of the last pen.last_n accepted ids */
    ll_penalty_params pen;
    int32_t *ring;    /* (last_n) */
    int32_t *scratch; /* (last_n) sorting space for counting */
    size_t ring_len, ring_head;
    /* logit_bias */
    ll_logit_bias *bias; /* (n_bias) */
    size_t n_bias;
    /* dist */
    uint64_t seed;
    ll_rng rng;
    /* custom */
    const ll_custom_ops *ops;
    void *ud;
};

struct ll_sampler_chain {
    ll_sampler_stage **stages; /* (n, owned) */
    size_t n, cap;
    ll_cand *cand; /* (cand_cap) candidate buffer reused across calls */
    size_t cand_cap;
    bool busy; /* inside ll_sampler_sample: a custom stage must not re-enter */
};

static ll_sampler_stage *stage_new(stage_kind kind, ll_error *e) {
    ll_sampler_stage *s = calloc(1, sizeof *s);
    if (!s) {
        ll_err(e, "sampler: out of memory");
        return NULL;
    }
    s->kind = kind;
    return s;
}

static bool is_prob(float p) { return p >= 0.0f && p <= 1.0f; }

ll_sampler_stage *ll_stage_greedy(ll_error *e) { return stage_new(ST_GREEDY, e); }

ll_sampler_stage *ll_stage_temperature(float t, ll_error *e) {
    if (!(t >= 0.0f) || isinf(t)) {
        ll_err(e, "temperature: t must be a finite number >= 0 (got %g)", t);
        return NULL;
    }
    ll_sampler_stage *s = stage_new(ST_TEMPERATURE, e);
    if (s) s->f = t;
    return s;
}

ll_sampler_stage *ll_stage_top_k(int64_t k, ll_error *e) {
    if (k < 1) {
        ll_err(e, "top_k: k must be an integer >= 1 (got %lld)", (long long)k);
        return NULL;
    }
    ll_sampler_stage *s = stage_new(ST_TOP_K, e);
    if (s) s->k = k;
    return s;
}

static ll_sampler_stage *p_stage(stage_kind kind, const char *name, float p, bool zero_ok,
                                 ll_error *e) {
    if (!is_prob(p) || (!zero_ok && p == 0.0f)) {
        ll_err(e, "%s: p must be in %s1] (got %g)", name, zero_ok ? "[0, " : "(0, ", p);
        return NULL;
    }
    ll_sampler_stage *s = stage_new(kind, e);
    if (s) s->f = p;
    return s;
}

ll_sampler_stage *ll_stage_top_p(float p, ll_error *e) { return p_stage(ST_TOP_P, "top_p", p, false, e); }
ll_sampler_stage *ll_stage_min_p(float p, ll_error *e) { return p_stage(ST_MIN_P, "min_p", p, true, e); }
ll_sampler_stage *ll_stage_typical(float p, ll_error *e) { return p_stage(ST_TYPICAL, "typical", p, false, e); }

ll_sampler_stage *ll_stage_penalties(const ll_penalty_params *pp, ll_error *e) {
    if (!(pp->repeat > 0.0f) || isinf(pp->repeat)) {
        ll_err(e, "penalties: repeat must be a finite number > 0 (got %g)", pp->repeat);
        return NULL;
    }
    if (!isfinite(pp->frequency) || !isfinite(pp->presence)) {
        ll_err(e, "penalties: frequency and presence must be finite numbers");
        return NULL;
    }
    if (pp->last_n < 0) {
        ll_err(e, "penalties: last_n must be an integer >= 0 (got %d)", (int)pp->last_n);
        return NULL;
    }
    ll_sampler_stage *s = stage_new(ST_PENALTIES, e);
    if (!s) return NULL;
    s->pen = *pp;
    if (pp->last_n > 0) {
        s->ring = malloc((size_t)pp->last_n * sizeof *s->ring);
        s->scratch = malloc((size_t)pp->last_n * sizeof *s->scratch);
        if (!s->ring || !s->scratch) {
            ll_stage_free(s);
            ll_err(e, "penalties: out of memory (last_n %d)", (int)pp->last_n);
            return NULL;
        }
    }
    return s;
}

ll_sampler_stage *ll_stage_logit_bias(const ll_logit_bias *b, size_t n, ll_error *e) {
    for (size_t i = 0; i < n; i++) {
        if (b[i].id < 0) {
            ll_err(e, "logit_bias: token id must be >= 0 (got %d)", (int)b[i].id);
            return NULL;
        }
        if (isnan(b[i].delta)) {
            ll_err(e, "logit_bias: delta for token %d is NaN", (int)b[i].id);
            return NULL;
        }
    }
    ll_sampler_stage *s = stage_new(ST_LOGIT_BIAS, e);
    if (!s) return NULL;
    if (n > 0) {
        s->bias = malloc(n * sizeof *s->bias);
        if (!s->bias) {
            ll_stage_free(s);
            ll_err(e, "logit_bias: out of memory");
            return NULL;
        }
        memcpy(s->bias, b, n * sizeof *b);
    }
    s->n_bias = n;
    return s;
}

ll_sampler_stage *ll_stage_dist(uint64_t seed, ll_error *e) {
    ll_sampler_stage *s = stage_new(ST_DIST, e);
    if (!s) return NULL;
    s->seed = seed;
    ll_rng_seed(&s->rng, seed);
    return s;
}

ll_sampler_stage *ll_stage_custom(const ll_custom_ops *ops, void *ud, ll_error *e) {
    if (!ops || !ops->apply) {
        ll_err(e, "custom: an apply function is required");
        return NULL;
    }
    ll_sampler_stage *s = stage_new(ST_CUSTOM, e);
    if (!s) return NULL;
    s->ops = ops;
    s->ud = ud;
    return s;
}

void *ll_stage_custom_ud(const ll_sampler_stage *s, const ll_custom_ops *ops) {
    return s->kind == ST_CUSTOM && s->ops == ops ? s->ud : NULL;
}

ll_sampler_stage *ll_stage_clone(const ll_sampler_stage *s, ll_error *e) {
    switch (s->kind) {
    case ST_GREEDY: return ll_stage_greedy(e);
    case ST_TEMPERATURE: return ll_stage_temperature(s->f, e);
    case ST_TOP_K: return ll_stage_top_k(s->k, e);
    case ST_TOP_P: return ll_stage_top_p(s->f, e);
    case ST_MIN_P: return ll_stage_min_p(s->f, e);
    case ST_TYPICAL: return ll_stage_typical(s->f, e);
    case ST_PENALTIES: return ll_stage_penalties(&s->pen, e);
    case ST_LOGIT_BIAS: return ll_stage_logit_bias(s->bias, s->n_bias, e);
    case ST_DIST: return ll_stage_dist(s->seed, e);
    case ST_CUSTOM: {
        if (!s->ops->clone) {
            ll_err(e, "custom stage '%s' cannot be copied", s->ops->name ? s->ops->name : "?");
            return NULL;
        }
        void *ud = s->ops->clone(s->ud);
        if (!ud) {
            ll_err(e, "sampler: out of memory");
            return NULL;
        }
        ll_sampler_stage *c = ll_stage_custom(s->ops, ud, e);
        if (!c && s->ops->free) s->ops->free(ud);
        return c;
    }
    }
    ll_err(e, "sampler: unknown stage");
    return NULL;
}

void ll_stage_free(ll_sampler_stage *s) {
    if (!s) return;
    if (s->kind == ST_CUSTOM && s->ops->free) s->ops->free(s->ud);
    free(s->ring);
    free(s->scratch);
    free(s->bias);
    free(s);
}

int ll_stage_describe(const ll_sampler_stage *s, char *buf, size_t size) {
    switch (s->kind) {
    case ST_GREEDY: return snprintf(buf, size, "greedy()");
    case ST_TEMPERATURE: return snprintf(buf, size, "temperature(%g)", s->f);
    case ST_TOP_K: return snprintf(buf, size, "top_k(%lld)", (long long)s->k);
    case ST_TOP_P: return snprintf(buf, size, "top_p(%g)", s->f);
    case ST_MIN_P: return snprintf(buf, size, "min_p(%g)", s->f);
    case ST_TYPICAL: return snprintf(buf, size, "typical(%g)", s->f);
    case ST_PENALTIES:
        return snprintf(buf, size, "penalties(repeat=%g, frequency=%g, presence=%g, last_n=%d)",
                        s->pen.repeat, s->pen.frequency, s->pen.presence, (int)s->pen.last_n);
    case ST_LOGIT_BIAS: return snprintf(buf, size, "logit_bias(%zu ids)", s->n_bias);
    case ST_DIST: return snprintf(buf, size, "dist(%llu)", (unsigned long long)s->seed);
    case ST_CUSTOM: return snprintf(buf, size, "custom(%s)", s->ops->name ? s->ops->name : "?");
    }
    return snprintf(buf, size, "?");
}

static int stage_apply(ll_sampler_stage *s, ll_cand_array *a, void *call, ll_error *e) {
    switch (s->kind) {
    case ST_GREEDY: ll_apply_greedy(a); return 0;
    case ST_TEMPERATURE: ll_apply_temperature(a, s->f); return 0;
    case ST_TOP_K: ll_apply_top_k(a, (size_t)s->k); return 0;
    case ST_TOP_P: ll_apply_top_p(a, s->f); return 0;
    case ST_MIN_P: ll_apply_min_p(a, s->f); return 0;
    case ST_TYPICAL: return ll_apply_typical(a, s->f, e);
    case ST_PENALTIES: {
        /* the ring is contiguous once full and unwrapped before; order of the
         * window does not matter for counting */
        bool off = s->pen.repeat == 1.0f && s->pen.frequency == 0.0f && s->pen.presence == 0.0f;
        if (!off) ll_apply_penalties(a, &s->pen, s->ring, s->ring_len, s->scratch);
        return 0;
    }
    case ST_LOGIT_BIAS: ll_apply_logit_bias(a, s->bias, s->n_bias); return 0;
    case ST_DIST: return ll_apply_dist(a, &s->rng, e);
    case ST_CUSTOM: {
        if (s->ops->apply(a, s->ud, call, e) != 0) return -1;
        if (a->n == 0) return ll_err(e, "custom stage '%s' left no candidates", s->ops->name);
        return 0;
    }
    }
    return ll_err(e, "sampler: unknown stage");
}

static void stage_accept(ll_sampler_stage *s, int32_t id) {
    if (s->kind == ST_PENALTIES && s->pen.last_n > 0) {
        s->ring[s->ring_head] = id;
        s->ring_head = (s->ring_head + 1) % (size_t)s->pen.last_n;
        if (s->ring_len < (size_t)s->pen.last_n) s->ring_len++;
    } else if (s->kind == ST_CUSTOM && s->ops->accept) {
        s->ops->accept(s->ud, id);
    }
}

static void stage_reset(ll_sampler_stage *s) {
    if (s->kind == ST_PENALTIES) s->ring_len = s->ring_head = 0;
    else if (s->kind == ST_DIST) ll_rng_seed(&s->rng, s->seed);
    else if (s->kind == ST_CUSTOM && s->ops->reset) s->ops->reset(s->ud);
}

ll_sampler_chain *ll_sampler_chain_new(ll_error *e) {
    ll_sampler_chain *c = calloc(1, sizeof *c);
    if (!c) ll_err(e, "sampler: out of memory");
    return c;
}

void ll_sampler_chain_free(ll_sampler_chain *c) {
    if (!c) return;
    for (size_t i = 0; i < c->n; i++) ll_stage_free(c->stages[i]);
    free(c->stages);
    free(c->cand);
    free(c);
}

int ll_sampler_chain_add(ll_sampler_chain *c, ll_sampler_stage *s, ll_error *e) {
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 8;
        ll_sampler_stage **st = realloc(c->stages, cap * sizeof *st);
        if (!st) {
            ll_stage_free(s);
            return ll_err(e, "sampler: out of memory");
        }
        c->stages = st;
        c->cap = cap;
    }
    c->stages[c->n++] = s;
    return 0;
}

size_t ll_sampler_chain_len(const ll_sampler_chain *c) { return c->n; }

const ll_sampler_stage *ll_sampler_chain_stage(const ll_sampler_chain *c, size_t i) {
    return i < c->n ? c->stages[i] : NULL;
}

int32_t ll_sampler_sample(ll_sampler_chain *c, const float *logits, int n_vocab,
                          void *call, ll_error *e) {
    if (c->busy) {
        ll_err(e, "sampler: sample() called again from inside one of its own stages");
        return -1;
    }
    if (n_vocab <= 0) {
        ll_err(e, "sampler: empty logits");
        return -1;
    }
    if (c->n == 1 && c->stages[0]->kind == ST_GREEDY) {
        /* A chain that is only greedy needs no candidate array: the argmax of
         * the raw logits, with the same rules (NaN as -inf, ties to the lower
         * id), costs one pass instead of building 150k candidates. */
        ll_cand best;
        ll_logits_top(logits, (size_t)n_vocab, 1, &best);
        return best.id;
    }
    if ((size_t)n_vocab > c->cand_cap) {
        ll_cand *buf = realloc(c->cand, (size_t)n_vocab * sizeof *buf);
        if (!buf) {
            ll_err(e, "sampler: out of memory (%d candidates)", n_vocab);
            return -1;
        }
        c->cand = buf;
        c->cand_cap = (size_t)n_vocab;
    }
    ll_cand_array a;
    size_t first = 0;
    /* the usual chain starts with top_p: its nucleus straight from the logits */
    if (c->n > 0 && c->stages[0]->kind == ST_TOP_P &&
        ll_top_p_from_logits(logits, (size_t)n_vocab, c->stages[0]->f, c->cand, &a) == 0)
        first = 1;
    else
        ll_cand_fill(&a, c->cand, logits, (size_t)n_vocab);
    c->busy = true;
    for (size_t i = first; i < c->n; i++) {
        /* every stage runs even once one candidate is left, so dist draws
         * once per call and the RNG stream never depends on the logits */
        if (stage_apply(c->stages[i], &a, call, e) != 0) {
            c->busy = false;
            return -1;
        }
    }
    c->busy = false;
    return a.data[ll_cand_best(&a)].id;
}

bool ll_sampler_chain_has_custom(const ll_sampler_chain *c) {
    for (size_t i = 0; i < c->n; i++)
        if (c->stages[i]->kind == ST_CUSTOM) return true;
    return false;
}

void ll_sampler_accept(ll_sampler_chain *c, int32_t id) {
    for (size_t i = 0; i < c->n; i++) stage_accept(c->stages[i], id);
}

void ll_sampler_reset(ll_sampler_chain *c) {
    for (size_t i = 0; i < c->n; i++) stage_reset(c->stages[i]);
}
