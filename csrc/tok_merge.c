/* The two merge engines. Both keep the symbols of one word in a linked list
 * and the candidate pairs in a binary heap, so a word of n symbols costs
 * O(n log n), never a rescan per merge. Stale heap entries (a side already
 * merged away) are recognised when popped and dropped. */
#include "tokenizer_internal.h"
#include "unicode.h"

#include <stdlib.h>
#include <string.h>

/* A candidate pair; lower key first, then the leftmost. BPE keys are merge
 * ranks, SentencePiece keys are negated scores. */
typedef struct pair {
    float key;
    int32_t rank;    /* BPE: rank (exact integer order) */
    int32_t left, right;
    int32_t a, b;    /* BPE: the two ids; SPM: the pair's byte length in a */
} pair;

static bool pair_before(const pair *x, const pair *y) {
    if (x->rank != y->rank) return x->rank < y->rank;
    if (x->key != y->key) return x->key < y->key;
    return x->left < y->left;
}

typedef struct heap { pair *v; size_t n; } heap;

static void heap_push(heap *h, pair p) {
    size_t i = h->n++;
    while (i > 0) {
        size_t up = (i - 1) / 2;
        if (!pair_before(&p, &h->v[up])) break;
        h->v[i] = h->v[up];
        i = up;
    }
    h->v[i] = p;
}

static pair heap_pop(heap *h) {
    pair top = h->v[0], last = h->v[--h->n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->n) break;
        if (c + 1 < h->n && pair_before(&h->v[c + 1], &h->v[c])) c++;
        if (!pair_before(&h->v[c], &last)) break;
        h->v[i] = h->v[c];
        i = c;
    }
    if (h->n) h->v[i] = last;
    return top;
}

void ll_merge_buf_free(ll_merge_buf *m) {
    free(m->id); free(m->prev); free(m->next); free(m->start); free(m->len);
    free(m->heap); free(m->str);
    memset(m, 0, sizeof *m);
}

/* Room for n symbols and their pairs (at most 3n pushes per word). */
static int reserve(ll_merge_buf *m, size_t n, ll_error *e) {
    if (n > m->cap) {
        size_t cap = m->cap ? m->cap : 64;
        while (cap < n) cap *= 2;
        int32_t *id = realloc(m->id, cap * sizeof *id);
        if (id) m->id = id;
        int32_t *prev = realloc(m->prev, cap * sizeof *prev);
        if (prev) m->prev = prev;
        int32_t *next = realloc(m->next, cap * sizeof *next);
        if (next) m->next = next;
        uint32_t *start = realloc(m->start, cap * sizeof *start);
        if (start) m->start = start;
        uint32_t *len = realloc(m->len, cap * sizeof *len);
        if (len) m->len = len;
        if (!id || !prev || !next || !start || !len) return ll_err(e, "tokenizer: out of memory");
        m->cap = cap;
    }
    if (3 * n > m->heap_cap) {
        size_t cap = 3 * m->cap;
        pair *h = realloc(m->heap, cap * sizeof *h);
        if (!h) return ll_err(e, "tokenizer: out of memory");
        m->heap = h;
        m->heap_cap = cap;
    }
    return 0;
}

static int reserve_str(ll_merge_buf *m, size_t n, ll_error *e) {
    if (n <= m->str_cap) return 0;
    size_t cap = m->str_cap ? m->str_cap : 256;
    while (cap < n) cap *= 2;
    char *s = realloc(m->str, cap);
    if (!s) return ll_err(e, "tokenizer: out of memory");
    m->str = s;
    m->str_cap = cap;
    return 0;
}

/* ---- byte-level BPE ---- */

static void bpe_try_pair(const ll_tokenizer *t, ll_merge_buf *m, heap *h, int32_t l) {
    if (l < 0 || m->next[l] < 0) return;
    int32_t r = m->next[l];
    uint64_t key = ((uint64_t)(uint32_t)m->id[l] << 32) | (uint32_t)m->id[r];
    uint64_t x = key * 0x9E3779B97F4A7C15ull;
    for (uint32_t s = (uint32_t)(x >> 32) & t->merge_mask;; s = (s + 1) & t->merge_mask) {
        if (t->merge_key[s] == UINT64_MAX) return;
        if (t->merge_key[s] == key) {
            heap_push(h, (pair){0, t->merge_rank[s], l, r, m->id[l], m->id[r]});
            return;
        }
    }
}

static int32_t bpe_result(const ll_tokenizer *t, int32_t a, int32_t b) {
    uint64_t key = ((uint64_t)(uint32_t)a << 32) | (uint32_t)b;
    uint64_t x = key * 0x9E3779B97F4A7C15ull;
    for (uint32_t s = (uint32_t)(x >> 32) & t->merge_mask;; s = (s + 1) & t->merge_mask) {
        if (t->merge_key[s] == UINT64_MAX) return -1;
        if (t->merge_key[s] == key) return t->merge_result[s];
    }
}

int ll_bpe_word(const ll_tokenizer *t, const uint8_t *w, size_t n, ll_merge_buf *m, ll_ids *out,
                ll_error *e) {
    if (n == 0) return 0;
    for (size_t i = 0; i < n; i++)
        if (t->byte_tok[w[i]] < 0)
            return ll_err(e, "tokenizer: the vocabulary has no token for byte 0x%02X", w[i]);
    if (n == 1) return ll_ids_push(out, t->byte_tok[w[0]], e);
    if (t->ignore_merges) { /* a word that is a token is taken whole */
        if (reserve_str(m, 2 * n, e)) return -1;
        size_t o = 0;
        for (size_t i = 0; i < n; i++) {
            memcpy(m->str + o, t->byte_chr[w[i]], t->byte_chr_len[w[i]]);
            o += t->byte_chr_len[w[i]];
        }
        int32_t id = ll_tok_lookup(t, m->str, o);
        if (id >= 0) return ll_ids_push(out, id, e);
    }
    if (reserve(m, n, e)) return -1;
    heap h = {m->heap, 0};
    for (size_t i = 0; i < n; i++) {
        m->id[i] = t->byte_tok[w[i]];
        m->prev[i] = (int32_t)i - 1;
        m->next[i] = i + 1 < n ? (int32_t)i + 1 : -1;
    }
    for (size_t i = 0; i + 1 < n; i++) bpe_try_pair(t, m, &h, (int32_t)i);
    while (h.n) {
        pair p = heap_pop(&h);
        int32_t l = p.left, r = p.right;
        /* stale: a side was merged away or changed since the push */
        if (m->id[l] != p.a || m->next[l] != r || m->id[r] != p.b) continue;
        m->id[l] = bpe_result(t, p.a, p.b);
        m->id[r] = -1;
        m->next[l] = m->next[r];
        if (m->next[r] >= 0) m->prev[m->next[r]] = l;
        bpe_try_pair(t, m, &h, m->prev[l]);
        bpe_try_pair(t, m, &h, l);
    }
    for (int32_t i = 0; i >= 0; i = m->next[i])
        if (ll_ids_push(out, m->id[i], e)) return -1;
    return 0;
}

/* ---- SentencePiece ---- */

static void spm_try_pair(const ll_tokenizer *t, ll_merge_buf *m, heap *h, int32_t l) {
    if (l < 0 || m->next[l] < 0) return;
    int32_t r = m->next[l];
    uint32_t len = m->len[l] + m->len[r];
    int32_t id = ll_tok_lookup(t, m->str + m->start[l], len);
    if (id < 0) return;
    heap_push(h, (pair){-t->score[id], 0, l, r, (int32_t)len, 0});
}

int ll_spm_run(const ll_tokenizer *t, const uint8_t *s, size_t n, bool prefix_space,
               ll_merge_buf *m, ll_ids *out, ll_error *e) {
    /* escaped text: optional leading space, every ' ' as U+2581 */
    if (reserve_str(m, 3 * n + 3, e)) return -1;
    size_t o = 0;
    if (prefix_space) { memcpy(m->str, "\xE2\x96\x81", 3); o = 3; }
    for (size_t i = 0; i < n; i++) {
        if (s[i] == ' ') { memcpy(m->str + o, "\xE2\x96\x81", 3); o += 3; }
        else m->str[o++] = (char)s[i];
    }
    if (reserve(m, o, e)) return -1;
    size_t ns = 0;
    for (size_t i = 0; i < o; ns++) {
        uint32_t cp;
        int l = ll_utf8_decode((const uint8_t *)m->str + i, o - i, &cp);
        m->start[ns] = (uint32_t)i;
        m->len[ns] = (uint32_t)l;
        m->prev[ns] = (int32_t)ns - 1;
        m->next[ns] = (int32_t)ns + 1;
        i += (size_t)l;
    }
    if (ns == 0) return 0;
    m->next[ns - 1] = -1;
    heap h = {m->heap, 0};
    for (size_t i = 0; i + 1 < ns; i++) spm_try_pair(t, m, &h, (int32_t)i);
    while (h.n) {
        pair p = heap_pop(&h);
        int32_t l = p.left, r = p.right;
        if (m->len[l] == 0 || m->len[r] == 0 || m->next[l] != r ||
            m->len[l] + m->len[r] != (uint32_t)p.a)
            continue;
        m->len[l] += m->len[r];
        m->len[r] = 0;
        m->next[l] = m->next[r];
        if (m->next[r] >= 0) m->prev[m->next[r]] = l;
        spm_try_pair(t, m, &h, m->prev[l]);
        spm_try_pair(t, m, &h, l);
    }
    for (int32_t i = 0; i >= 0; i = m->next[i]) {
        const char *sym = m->str + m->start[i];
        int32_t id = ll_tok_lookup(t, sym, m->len[i]);
        if (id >= 0) {
            if (ll_ids_push(out, id, e)) return -1;
            continue;
        }
        for (uint32_t k = 0; k < m->len[i]; k++) { /* byte fallback */
            int32_t b = t->byte_tok[(uint8_t)sym[k]];
            if (b < 0) b = t->unk;
            if (b < 0) return ll_err(e, "tokenizer: no token for byte 0x%02X", (uint8_t)sym[k]);
            if (ll_ids_push(out, b, e)) return -1;
        }
    }
    return 0;
}
