/* ll_tokenize: cuts special tokens out of the text, then hands each text run
 * to the vocabulary's algorithm (pre-tokenizer + BPE, or SentencePiece). */
#include "tokenizer_internal.h"

#include <stdlib.h>
#include <string.h>

int ll_ids_push(ll_ids *a, int32_t id, ll_error *e) {
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 64;
        int32_t *v = realloc(a->v, cap * sizeof *v);
        if (!v) return ll_err(e, "tokenizer: out of memory");
        a->v = v;
        a->cap = cap;
    }
    a->v[a->n++] = id;
    return 0;
}

typedef struct enc_ctx {
    const ll_tokenizer *t;
    ll_ids out;
    ll_pretok_buf pre;
    ll_merge_buf merge;
    bool prev_special; /* SentencePiece: the next run gets the space prefix */
} enc_ctx;

static int encode_run(enc_ctx *c, const char *s, size_t n, ll_error *e) {
    const ll_tokenizer *t = c->t;
    if (n == 0) return 0;
    if (t->model == LL_TOK_SPM) {
        bool prefix = t->add_space_prefix && c->prev_special;
        c->prev_special = false;
        return ll_spm_run(t, (const uint8_t *)s, n, prefix, &c->merge, &c->out, e);
    }
    if (ll_pretokenize(t->pre, s, n, &c->pre, e)) return -1;
    for (size_t i = 0; i + 1 < c->pre.ncuts; i++) {
        uint32_t a = c->pre.cuts[i], b = c->pre.cuts[i + 1];
        if (ll_bpe_word(t, (const uint8_t *)s + a, b - a, &c->merge, &c->out, e)) return -1;
    }
    return 0;
}

/* The special token written at s[0..n), longest first; -1 when none. */
static int32_t match_special(const ll_tokenizer *t, const char *s, size_t n, size_t *len) {
    uint8_t b = (uint8_t)s[0];
    for (uint32_t k = t->special_start[b]; k < t->special_start[b + 1]; k++) {
        int32_t id = t->special[k];
        size_t l = t->text_off[id + 1] - t->text_off[id];
        if (l <= n && memcmp(t->text + t->text_off[id], s, l) == 0) {
            *len = l;
            return id;
        }
    }
    return -1;
}

int ll_tokenize(const ll_tokenizer *t, const char *text, size_t len, bool add_bos,
                bool parse_special, int32_t **ids_out, ll_error *e) {
    *ids_out = NULL;
    if (!text && len) return ll_err(e, "tokenizer: NULL text");
    if (len > INT32_MAX / 2) return ll_err(e, "tokenizer: text too long (%zu bytes)", len);
    enc_ctx c = {.t = t, .prev_special = true};
    int rc = 0;
    if (add_bos && t->bos >= 0) rc = ll_ids_push(&c.out, t->bos, e);
    size_t run = 0;
    if (parse_special) {
        for (size_t i = 0; i < len && rc == 0;) {
            uint8_t b = (uint8_t)text[i];
            size_t sl;
            int32_t id = t->special_start[b] == t->special_start[b + 1]
                             ? -1 : match_special(t, text + i, len - i, &sl);
            if (id < 0) { i++; continue; }
            rc = encode_run(&c, text + run, i - run, e);
            if (rc == 0) rc = ll_ids_push(&c.out, id, e);
            c.prev_special = true;
            i += sl;
            run = i;
        }
    }
    if (rc == 0) rc = encode_run(&c, text + run, len - run, e);
    if (rc == 0 && add_bos && t->add_eos && t->eos >= 0) rc = ll_ids_push(&c.out, t->eos, e);
    ll_pretok_buf_free(&c.pre);
    ll_merge_buf_free(&c.merge);
    if (rc) { free(c.out.v); return -1; }
    if (c.out.n > INT32_MAX) { free(c.out.v); return ll_err(e, "tokenizer: too many tokens"); }
    if (!c.out.v) { /* empty result: still hand out a valid pointer */
        c.out.v = malloc(sizeof(int32_t));
        if (!c.out.v) return ll_err(e, "tokenizer: out of memory");
    }
    *ids_out = c.out.v;
    return (int)c.out.n;
}
