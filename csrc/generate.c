/* The C generation loop (see generate.h). It mirrors Gen:next in
 * lua/luallm/model.lua: sample, stop on end of generation before accepting,
 * hold back text that may start a stop string, never emit a stop string. */
#include "generate.h"

#include <stdlib.h>
#include <string.h>

/* A growable byte string. */
typedef struct {
    char *p;
    size_t n, cap;
} bytes;

static int bytes_append(bytes *b, const char *s, size_t n) {
    if (n == 0) return 0;
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n) cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) return -1;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    return 0;
}

struct ll_gen {
    const ll_model *m;
    const ll_tokenizer *tok;
    ll_sampler_chain *chain;
    int32_t *prompt;
    int n_prompt;
    char **stops;
    int n_stops;
    int max_tokens;
    ll_context_params cp;

    /* written by the run only */
    bytes pending;    /* text held back: it may be the start of a stop string */
    int32_t *tokens;  /* (max_tokens) */
    int n_tokens;
    ll_gen_reason reason;
    ll_error err;
    double t0, tg0;

    /* shared with readers, under mu */
    pthread_mutex_t mu;
    bytes out;        /* everything emitted */
    size_t read_pos;  /* bytes of out handed to ll_gen_read */
    ll_gen_stats stats;

    atomic_bool cancel;
    atomic_bool done;
};

const char *ll_gen_reason_name(ll_gen_reason r) {
    switch (r) {
    case LL_GEN_EOS: return "eos";
    case LL_GEN_LENGTH: return "length";
    case LL_GEN_STOP: return "stop";
    case LL_GEN_CANCEL: return "cancel";
    case LL_GEN_ERROR: return "error";
    default: return "running";
    }
}

ll_gen *ll_gen_new(const ll_model *m, const ll_tokenizer *t, ll_sampler_chain *chain,
                   const int32_t *prompt, int n_prompt, const ll_gen_params *p, ll_error *e) {
    if (n_prompt <= 0 || p->max_tokens < 0 || p->n_stops < 0) {
        ll_sampler_chain_free(chain);
        ll_err(e, "generate: needs a prompt, max_tokens >= 0 and n_stops >= 0");
        return NULL;
    }
    ll_gen *g = calloc(1, sizeof *g);
    if (!g) {
        ll_sampler_chain_free(chain);
        ll_err(e, "generate: out of memory");
        return NULL;
    }
    g->m = m;
    g->tok = t;
    g->chain = chain;
    g->max_tokens = p->max_tokens;
    g->cp = p->ctx;
    g->n_prompt = n_prompt;
    g->prompt = malloc(sizeof(int32_t) * (size_t)n_prompt);
    g->tokens = malloc(sizeof(int32_t) * (size_t)(p->max_tokens ? p->max_tokens : 1));
    g->stops = calloc((size_t)(p->n_stops ? p->n_stops : 1), sizeof(char *));
    if (pthread_mutex_init(&g->mu, NULL) != 0) {
        free(g->prompt);
        free(g->tokens);
        free(g->stops);
        ll_sampler_chain_free(chain);
        free(g);
        ll_err(e, "generate: cannot create a mutex");
        return NULL;
    }
    if (!g->prompt || !g->tokens || !g->stops) goto oom;
    memcpy(g->prompt, prompt, sizeof(int32_t) * (size_t)n_prompt);
    for (int i = 0; i < p->n_stops; i++) {
        size_t n = strlen(p->stops[i]);
        if (n == 0) continue; /* an empty stop string would stop at once: ignore it */
        char *s = malloc(n + 1);
        if (!s) goto oom;
        memcpy(s, p->stops[i], n + 1);
        g->stops[g->n_stops++] = s;
    }
    g->stats.prompt_n = n_prompt;
    atomic_init(&g->cancel, false);
    atomic_init(&g->done, false);
    return g;
oom:
    ll_gen_free(g);
    ll_err(e, "generate: out of memory");
    return NULL;
}

void ll_gen_free(ll_gen *g) {
    if (!g) return;
    for (int i = 0; i < g->n_stops; i++) free(g->stops[i]);
    free(g->stops);
    free(g->prompt);
    free(g->tokens);
    free(g->pending.p);
    free(g->out.p);
    ll_sampler_chain_free(g->chain);
    pthread_mutex_destroy(&g->mu);
    free(g);
}

/* Appends emitted text and updates the statistics readers see. */
static int emit(ll_gen *g, const char *s, size_t n) {
    pthread_mutex_lock(&g->mu);
    int rc = bytes_append(&g->out, s, n);
    g->stats.gen_n = g->n_tokens;
    g->stats.gen_ms = ll_now_ms() - g->tg0;
    g->stats.total_ms = ll_now_ms() - g->t0;
    pthread_mutex_unlock(&g->mu);
    return rc;
}

/* Length of the longest suffix of s that is a proper prefix of a stop string. */
static size_t stop_holdback(const ll_gen *g, const char *s, size_t n) {
    size_t best = 0;
    for (int i = 0; i < g->n_stops; i++) {
        size_t len = strlen(g->stops[i]);
        size_t max = len - 1 < n ? len - 1 : n;
        for (size_t k = max; k > best; k--) {
            if (memcmp(s + n - k, g->stops[i], k) == 0) {
                best = k;
                break;
            }
        }
    }
    return best;
}

/* Index of the first occurrence of any stop string in s, or -1. */
static long find_stop(const ll_gen *g, const char *s, size_t n) {
    long first = -1;
    for (int i = 0; i < g->n_stops; i++) {
        size_t len = strlen(g->stops[i]);
        if (len > n) continue;
        for (size_t a = 0; a + len <= n; a++) {
            if (first >= 0 && (long)a >= first) break;
            if (memcmp(s + a, g->stops[i], len) == 0) {
                first = (long)a;
                break;
            }
        }
    }
    return first;
}

/* Feeds one piece through the stop-string filter; true when a stop string
 * ended the generation. */
static bool filter_piece(ll_gen *g, const char *piece, size_t n, int *rc) {
    if (bytes_append(&g->pending, piece, n)) {
        *rc = ll_err(&g->err, "generate: out of memory");
        return false;
    }
    const char *buf = g->pending.p;
    size_t len = g->pending.n;
    long a = find_stop(g, buf, len);
    if (a >= 0) {
        *rc = emit(g, buf, (size_t)a);
        g->pending.n = 0;
        return true;
    }
    size_t hold = stop_holdback(g, buf, len);
    *rc = emit(g, buf, len - hold);
    memmove(g->pending.p, buf + len - hold, hold);
    g->pending.n = hold;
    return false;
}

/* The loop proper; returns the stop reason. */
static ll_gen_reason run(ll_gen *g, ll_context *c, ll_detok_stream *ds, bytes *piece) {
    ll_error *e = &g->err;
    if (atomic_load(&g->cancel)) return LL_GEN_CANCEL;
    double tp = ll_now_ms();
    if (ll_context_decode(c, g->n_prompt, g->prompt, NULL, NULL, NULL, e)) return LL_GEN_ERROR;
    pthread_mutex_lock(&g->mu);
    g->stats.prompt_ms = ll_now_ms() - tp;
    pthread_mutex_unlock(&g->mu);
    g->tg0 = ll_now_ms();
    const int V = g->m->hp.n_vocab;
    for (;;) {
        if (atomic_load(&g->cancel)) return LL_GEN_CANCEL;
        if (g->n_tokens >= g->max_tokens) return LL_GEN_LENGTH;
        int32_t id = ll_sampler_sample(g->chain, ll_context_logits(c, c->n_logits - 1), V, NULL, e);
        if (id < 0) return LL_GEN_ERROR;
        if (ll_tokenizer_is_eog(g->tok, id)) return LL_GEN_EOS;
        ll_sampler_accept(g->chain, id);
        g->tokens[g->n_tokens++] = id;
        int n = ll_detok_stream_feed(ds, id, piece->p, (int)piece->cap);
        if (n < 0) {
            char *p = realloc(piece->p, (size_t)-n);
            if (!p) {
                ll_err(e, "generate: out of memory");
                return LL_GEN_ERROR;
            }
            piece->p = p;
            piece->cap = (size_t)-n;
            n = ll_detok_stream_feed(ds, id, piece->p, (int)piece->cap);
        }
        int rc = 0;
        bool stopped = filter_piece(g, piece->p, n > 0 ? (size_t)n : 0, &rc);
        if (rc) {
            ll_err(e, "generate: out of memory");
            return LL_GEN_ERROR;
        }
        if (stopped) return LL_GEN_STOP;
        /* the last token needs no forward pass: nothing will read its logits */
        if (g->n_tokens >= g->max_tokens) return LL_GEN_LENGTH;
        if (ll_context_decode(c, 1, &id, NULL, NULL, NULL, e)) return LL_GEN_ERROR;
    }
}

void ll_gen_run(ll_gen *g) {
    g->t0 = ll_now_ms();
    g->tg0 = g->t0;
    ll_detok_stream ds;
    ll_detok_stream_init(&ds, g->tok, true);
    bytes piece = {malloc(64), 0, 64};
    ll_gen_reason r;
    ll_context *c = NULL;
    if (!piece.p) {
        ll_err(&g->err, "generate: out of memory");
        r = LL_GEN_ERROR;
    } else if (!(c = ll_context_new(g->m, &g->cp, &g->err))) {
        r = LL_GEN_ERROR;
    } else {
        r = run(g, c, &ds, &piece);
    }
    ll_context_free(c);
    free(piece.p);
    /* what was held back is text too, unless a stop string ended it */
    if (r != LL_GEN_STOP) {
        char tail[8];
        int n = ll_detok_stream_flush(&ds, tail, sizeof tail);
        if ((g->pending.n && emit(g, g->pending.p, g->pending.n)) ||
            (n > 0 && emit(g, tail, (size_t)n))) {
            if (r != LL_GEN_ERROR) ll_err(&g->err, "generate: out of memory");
            r = LL_GEN_ERROR;
        }
    }
    g->pending.n = 0;
    g->reason = r;
    pthread_mutex_lock(&g->mu);
    double now = ll_now_ms();
    g->stats.gen_n = g->n_tokens;
    g->stats.gen_ms = now - g->tg0;
    g->stats.total_ms = now - g->t0;
    pthread_mutex_unlock(&g->mu);
    atomic_store(&g->done, true);
}

void ll_gen_cancel(ll_gen *g) { atomic_store(&g->cancel, true); }

bool ll_gen_done(ll_gen *g) { return atomic_load(&g->done); }

size_t ll_gen_read(ll_gen *g, char *buf, size_t cap) {
    pthread_mutex_lock(&g->mu);
    size_t n = g->out.n - g->read_pos;
    if (n > cap) n = cap;
    if (n) memcpy(buf, g->out.p + g->read_pos, n);
    g->read_pos += n;
    pthread_mutex_unlock(&g->mu);
    return n;
}

ll_gen_stats ll_gen_stats_get(ll_gen *g) {
    pthread_mutex_lock(&g->mu);
    ll_gen_stats s = g->stats;
    pthread_mutex_unlock(&g->mu);
    return s;
}

ll_gen_reason ll_gen_reason_get(const ll_gen *g) { return g->reason; }

const char *ll_gen_error(const ll_gen *g) {
    return g->reason == LL_GEN_ERROR ? g->err.msg : NULL;
}

const char *ll_gen_text(const ll_gen *g, size_t *len) {
    *len = g->out.n;
    return g->out.p ? g->out.p : "";
}

const int32_t *ll_gen_tokens(const ll_gen *g, int *n) {
    *n = g->n_tokens;
    return g->tokens;
}
