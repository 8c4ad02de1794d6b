/* Loading a tokenizer from GGUF metadata; pieces, decoding, accessors.
 * Encoding is in tokenize.c and tok_merge.c. */
#include "tokenizer_internal.h"
#include "unicode.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint32_t hash_bytes(const char *s, size_t n) {
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)s[i]) * 16777619u;
    return h;
}

int32_t ll_tok_lookup(const ll_tokenizer *t, const char *s, size_t n) {
    for (uint32_t h = hash_bytes(s, n) & t->hash_mask;; h = (h + 1) & t->hash_mask) {
        uint32_t v = t->hash[h];
        if (v == 0) return -1;
        int32_t id = (int32_t)v - 1;
        uint32_t len = t->text_off[id + 1] - t->text_off[id];
        if (len == n && memcmp(t->text + t->text_off[id], s, n) == 0) return id;
    }
}

static void hash_insert(ll_tokenizer *t, int32_t id) {
    const char *s = t->text + t->text_off[id];
    size_t n = t->text_off[id + 1] - t->text_off[id];
    for (uint32_t h = hash_bytes(s, n) & t->hash_mask;; h = (h + 1) & t->hash_mask) {
        uint32_t v = t->hash[h];
        if (v == 0 || (t->text_off[v] - t->text_off[v - 1] == n &&
                       memcmp(t->text + t->text_off[v - 1], s, n) == 0)) {
            t->hash[h] = (uint32_t)id + 1; /* a duplicate text maps to its last id */
            return;
        }
    }
}

static uint32_t pow2_at_least(uint64_t n) {
    uint32_t p = 16;
    while (p < n) p *= 2;
    return p;
}

static uint32_t merge_slot(const ll_tokenizer *t, uint64_t key) {
    uint64_t x = key * 0x9E3779B97F4A7C15ull;
    for (uint32_t h = (uint32_t)(x >> 32) & t->merge_mask;; h = (h + 1) & t->merge_mask)
        if (t->merge_key[h] == key || t->merge_key[h] == UINT64_MAX) return h;
}

/* GPT-2's reversible byte <-> character map: printable Latin-1 bytes stand
 * for themselves, the others for U+0100 onwards, in byte order. */
static void build_byte_map(ll_tokenizer *t) {
    uint32_t next = 256;
    for (int b = 0; b < 256; b++) {
        bool self = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
        uint32_t cp = self ? (uint32_t)b : next++;
        t->byte_chr_len[b] = (uint8_t)ll_utf8_encode(cp, t->byte_chr[b]);
    }
}

/* Inverse of build_byte_map for one code point; -1 when not a byte char. */
static int byte_of_char(uint32_t cp) {
    if ((cp >= 0x21 && cp <= 0x7E) || (cp >= 0xA1 && cp <= 0xAC) || (cp >= 0xAE && cp <= 0xFF))
        return (int)cp;
    if (cp < 256 || cp >= 256 + 68) return -1;
    int k = (int)cp - 256;
    for (int b = 0; b < 256; b++) {
        bool self = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
        if (!self && k-- == 0) return b;
    }
    return -1;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

/* Writes the decoded piece of token id at dst (room for 4x its text);
 * returns its length. */
static size_t decode_piece(const ll_tokenizer *t, int32_t id, char *dst) {
    const char *s = t->text + t->text_off[id];
    size_t n = t->text_off[id + 1] - t->text_off[id], o = 0;
    int ty = t->type[id];
    bool normal = ty == TT_NORMAL || ty == TT_UNDEFINED;
    if (t->model == LL_TOK_SPM) {
        if (ty == TT_BYTE && n == 6 && memcmp(s, "<0x", 3) == 0 && s[5] == '>' &&
            hexval(s[3]) >= 0 && hexval(s[4]) >= 0) {
            dst[0] = (char)(hexval(s[3]) * 16 + hexval(s[4]));
            return 1;
        }
        if (normal || ty == TT_USER) {
            for (size_t i = 0; i < n;) {
                if (i + 3 <= n && memcmp(s + i, "\xE2\x96\x81", 3) == 0) { dst[o++] = ' '; i += 3; }
                else dst[o++] = s[i++];
            }
            return o;
        }
    } else if (normal) {
        for (size_t i = 0; i < n;) {
            uint32_t cp;
            int l = ll_utf8_decode((const uint8_t *)s + i, n - i, &cp);
            int b = byte_of_char(cp);
            if (b >= 0) dst[o++] = (char)b;
            else { memcpy(dst + o, s + i, (size_t)l); o += (size_t)l; } /* not a byte char: keep */
            i += (size_t)l;
        }
        return o;
    }
    memcpy(dst, s, n);
    return n;
}

static int cmp_special(const void *pa, const void *pb, void *ctx) {
    const ll_tokenizer *t = ctx;
    int32_t a = *(const int32_t *)pa, b = *(const int32_t *)pb;
    uint8_t fa = (uint8_t)t->text[t->text_off[a]], fb = (uint8_t)t->text[t->text_off[b]];
    if (fa != fb) return fa < fb ? -1 : 1;
    uint32_t la = t->text_off[a + 1] - t->text_off[a], lb = t->text_off[b + 1] - t->text_off[b];
    if (la != lb) return la > lb ? -1 : 1;
    return a < b ? -1 : a > b;
}

static int32_t get_id(const gguf_file *g, const char *key, int32_t dflt, int32_t n_vocab) {
    int64_t v;
    if (!gguf_get_i64(g, key, &v)) return dflt;
    return (v >= 0 && v < n_vocab) ? (int32_t)v : -1;
}

static bool get_flag(const gguf_file *g, const char *key, bool dflt) {
    bool b;
    return gguf_get_bool(g, key, &b) ? b : dflt;
}

static void add_eog(ll_tokenizer *t, int32_t id) {
    if (id < 0 || t->n_eog >= LL_MAX_EOG) return;
    for (int i = 0; i < t->n_eog; i++)
        if (t->eog[i] == id) return;
    t->eog[t->n_eog++] = id;
}

static int load_vocab(ll_tokenizer *t, const gguf_file *g, ll_error *e) {
    const gguf_value *toks = gguf_get(g, "tokenizer.ggml.tokens");
    if (!toks || toks->type != GGUF_ARRAY || toks->arr.type != GGUF_STRING)
        return ll_err(e, "tokenizer: tokenizer.ggml.tokens missing or not a string array");
    if (toks->arr.n == 0 || toks->arr.n >= (1u << 30))
        return ll_err(e, "tokenizer: bad vocabulary size %llu", (unsigned long long)toks->arr.n);
    int32_t n = (int32_t)toks->arr.n;
    t->n_vocab = n;
    uint64_t total = 0;
    for (int32_t i = 0; i < n; i++) total += toks->arr.strs[i].len;
    if (total >= (1u << 30)) return ll_err(e, "tokenizer: token texts too large");

    const gguf_value *types = gguf_get(g, "tokenizer.ggml.token_type");
    if (types && (types->type != GGUF_ARRAY || types->arr.n != (uint64_t)n ||
                  gguf_vtype_size(types->arr.type) == 0))
        return ll_err(e, "tokenizer: tokenizer.ggml.token_type does not match the vocabulary");
    const gguf_value *scores = gguf_get(g, "tokenizer.ggml.scores");
    if (scores && (scores->type != GGUF_ARRAY || scores->arr.n != (uint64_t)n ||
                   gguf_vtype_size(scores->arr.type) == 0))
        return ll_err(e, "tokenizer: tokenizer.ggml.scores does not match the vocabulary");

    t->text = malloc(total + 1);
    t->text_off = malloc(((size_t)n + 1) * sizeof *t->text_off);
    t->piece = malloc(total * 4 + 1);
    t->piece_off = malloc(((size_t)n + 1) * sizeof *t->piece_off);
    t->type = malloc((size_t)n);
    t->hash_mask = pow2_at_least((uint64_t)n + (uint64_t)n / 3) - 1; /* load <= 3/4 */
    t->hash = calloc((size_t)t->hash_mask + 1, sizeof *t->hash);
    if (t->model == LL_TOK_SPM) t->score = malloc((size_t)n * sizeof *t->score);
    if (!t->text || !t->text_off || !t->piece || !t->piece_off || !t->type || !t->hash ||
        (t->model == LL_TOK_SPM && !t->score))
        return ll_err(e, "tokenizer: out of memory");

    uint32_t o = 0;
    for (int32_t i = 0; i < n; i++) {
        const ll_str *s = &toks->arr.strs[i];
        t->text_off[i] = o;
        if (s->len) memcpy(t->text + o, s->data, s->len);
        o += (uint32_t)s->len;
        int64_t ty = types ? gguf_arr_i64(types, (uint64_t)i) : TT_NORMAL;
        t->type[i] = (uint8_t)((ty >= 0 && ty <= TT_BYTE) ? ty : TT_UNDEFINED);
        if (t->score) t->score[i] = scores ? (float)gguf_arr_f64(scores, (uint64_t)i) : 0.0f;
    }
    t->text_off[n] = o;
    for (int32_t i = 0; i < n; i++)
        if (t->text_off[i + 1] > t->text_off[i]) hash_insert(t, i);
    return 0;
}

/* byte_tok for every byte. Some BPE vocabularies (deepseek-llm) list the
 * characters of bytes that never occur in UTF-8 (0xC0, 0xF5..) as user-defined
 * tokens; such a token is the byte's token, so it is treated as a normal one:
 * decoded to its byte and never matched as text, which keeps round trips exact. */
static void load_byte_tokens(ll_tokenizer *t) {
    for (int b = 0; b < 256; b++) t->byte_tok[b] = -1;
    if (t->model == LL_TOK_BPE) {
        build_byte_map(t);
        for (int b = 0; b < 256; b++) {
            int32_t id = ll_tok_lookup(t, t->byte_chr[b], t->byte_chr_len[b]);
            t->byte_tok[b] = id;
            if (id >= 0 && t->type[id] == TT_USER) t->type[id] = TT_NORMAL;
        }
    } else {
        for (int b = 0; b < 256; b++) {
            char name[8];
            snprintf(name, sizeof name, "<0x%02X>", b);
            t->byte_tok[b] = ll_tok_lookup(t, name, 6);
        }
    }
}

static void load_pieces(ll_tokenizer *t) {
    uint32_t po = 0;
    for (int32_t i = 0; i < t->n_vocab; i++) {
        t->piece_off[i] = po;
        po += (uint32_t)decode_piece(t, i, t->piece + po);
    }
    t->piece_off[t->n_vocab] = po;
}

static int load_merges(ll_tokenizer *t, const gguf_file *g, ll_error *e) {
    const gguf_value *m = gguf_get(g, "tokenizer.ggml.merges");
    if (!m || m->type != GGUF_ARRAY || m->arr.type != GGUF_STRING)
        return ll_err(e, "tokenizer: tokenizer.ggml.merges missing or not a string array");
    if (m->arr.n >= (1u << 28)) return ll_err(e, "tokenizer: too many merges");
    t->merge_mask = pow2_at_least(m->arr.n + m->arr.n / 3) - 1; /* load <= 3/4: short probes, half the memory of 2n */
    size_t slots = (size_t)t->merge_mask + 1;
    t->merge_key = malloc(slots * sizeof *t->merge_key);
    t->merge_rank = malloc(slots * sizeof *t->merge_rank);
    t->merge_result = malloc(slots * sizeof *t->merge_result);
    if (!t->merge_key || !t->merge_rank || !t->merge_result)
        return ll_err(e, "tokenizer: out of memory");
    memset(t->merge_key, 0xFF, slots * sizeof *t->merge_key);

    char *cat = NULL;
    size_t cat_cap = 0;
    for (uint64_t r = 0; r < m->arr.n; r++) {
        const ll_str *s = &m->arr.strs[r];
        const char *sp = s->len > 1 ? memchr(s->data + 1, ' ', s->len - 1) : NULL;
        if (!sp) continue; /* malformed: ignored, like a merge never learnt */
        size_t la = (size_t)(sp - s->data), lb = s->len - la - 1;
        int32_t a = ll_tok_lookup(t, s->data, la), b = ll_tok_lookup(t, sp + 1, lb);
        if (a < 0 || b < 0) continue;
        if (la + lb > cat_cap) {
            cat_cap = (la + lb) * 2;
            char *nc = realloc(cat, cat_cap);
            if (!nc) { free(cat); return ll_err(e, "tokenizer: out of memory"); }
            cat = nc;
        }
        memcpy(cat, s->data, la);
        memcpy(cat + la, sp + 1, lb);
        int32_t res = ll_tok_lookup(t, cat, la + lb);
        if (res < 0) continue; /* a merge into no token cannot be emitted */
        uint64_t key = ((uint64_t)(uint32_t)a << 32) | (uint32_t)b;
        uint32_t h = merge_slot(t, key);
        if (t->merge_key[h] == key) continue; /* duplicate: the lower rank stays */
        t->merge_key[h] = key;
        t->merge_rank[h] = (int32_t)r;
        t->merge_result[h] = res;
    }
    free(cat);
    return 0;
}

static int load_specials(ll_tokenizer *t, ll_error *e) {
    size_t n = 0;
    for (int32_t i = 0; i < t->n_vocab; i++) {
        int ty = t->type[i];
        if ((ty == TT_CONTROL || ty == TT_USER || ty == TT_UNKNOWN) &&
            t->text_off[i + 1] > t->text_off[i])
            n++;
    }
    t->special = malloc((n ? n : 1) * sizeof *t->special);
    if (!t->special) return ll_err(e, "tokenizer: out of memory");
    n = 0;
    for (int32_t i = 0; i < t->n_vocab; i++) {
        int ty = t->type[i];
        if ((ty == TT_CONTROL || ty == TT_USER || ty == TT_UNKNOWN) &&
            t->text_off[i + 1] > t->text_off[i])
            t->special[n++] = i;
    }
    qsort_r(t->special, n, sizeof *t->special, cmp_special, t);
    size_t k = 0;
    for (int b = 0; b < 256; b++) {
        t->special_start[b] = (uint32_t)k;
        while (k < n && (uint8_t)t->text[t->text_off[t->special[k]]] == b) k++;
    }
    t->special_start[256] = (uint32_t)n;
    return 0;
}

ll_tokenizer *ll_tokenizer_new(const gguf_file *g, ll_error *e) {
    if (!g) { ll_err(e, "tokenizer: no GGUF file"); return NULL; }
    const ll_str *model = gguf_get_str(g, "tokenizer.ggml.model");
    if (!model) { ll_err(e, "tokenizer: tokenizer.ggml.model missing"); return NULL; }
    ll_tokenizer *t = calloc(1, sizeof *t);
    if (!t) { ll_err(e, "tokenizer: out of memory"); return NULL; }
    if (model->len == 4 && memcmp(model->data, "gpt2", 4) == 0) {
        t->model = LL_TOK_BPE;
        const ll_str *pre = gguf_get_str(g, "tokenizer.ggml.pre");
        int kind = LL_PRE_GPT2; /* absent or "default": llama.cpp's default is gpt-2-like */
        if (pre && !(pre->len == 7 && memcmp(pre->data, "default", 7) == 0)) {
            kind = ll_pretok_kind_from_name(pre->data, pre->len);
            if (kind < 0) {
                ll_err(e, "tokenizer: unsupported pre-tokenizer '%.*s'", (int)pre->len, pre->data);
                goto fail;
            }
        }
        t->pre = (ll_pretok_kind)kind;
        t->ignore_merges = t->pre == LL_PRE_LLAMA3;
    } else if (model->len == 5 && memcmp(model->data, "llama", 5) == 0) {
        t->model = LL_TOK_SPM;
    } else {
        ll_err(e, "tokenizer: unsupported tokenizer model '%.*s'", (int)model->len, model->data);
        goto fail;
    }
    if (load_vocab(t, g, e)) goto fail;
    load_byte_tokens(t);
    load_pieces(t);
    if (t->model == LL_TOK_BPE && load_merges(t, g, e)) goto fail;
    if (load_specials(t, e)) goto fail;

    bool spm = t->model == LL_TOK_SPM;
    int32_t n = t->n_vocab;
    t->bos = get_id(g, "tokenizer.ggml.bos_token_id", spm && n > 1 ? 1 : -1, n);
    t->eos = get_id(g, "tokenizer.ggml.eos_token_id", spm && n > 2 ? 2 : -1, n);
    t->unk = get_id(g, "tokenizer.ggml.unknown_token_id", spm ? 0 : -1, n);
    t->eot = get_id(g, "tokenizer.ggml.eot_token_id", -1, n);
    t->eom = get_id(g, "tokenizer.ggml.eom_token_id", -1, n);
    t->pad = get_id(g, "tokenizer.ggml.padding_token_id", -1, n);
    t->add_bos = get_flag(g, "tokenizer.ggml.add_bos_token", spm || t->pre == LL_PRE_LLAMA3);
    t->add_eos = get_flag(g, "tokenizer.ggml.add_eos_token", false);
    t->add_space_prefix = spm && get_flag(g, "tokenizer.ggml.add_space_prefix", true);

    add_eog(t, t->eos);
    add_eog(t, t->eot);
    add_eog(t, t->eom);
    static const char *const eog_texts[] = {
        "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<EOT>",
        "<|end_of_text|>", "<|eom_id|>", ("<\xEF\xBD\x9C" "end\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>"),
    };
    for (size_t i = 0; i < sizeof eog_texts / sizeof eog_texts[0]; i++) {
        int32_t id = ll_tok_lookup(t, eog_texts[i], strlen(eog_texts[i]));
        if (id >= 0 && t->type[id] != TT_NORMAL) add_eog(t, id);
    }
    return t;
fail:
    ll_tokenizer_free(t);
    return NULL;
}

void ll_tokenizer_free(ll_tokenizer *t) {
    if (!t) return;
    free(t->text); free(t->text_off); free(t->piece); free(t->piece_off); free(t->type);
    free(t->score); free(t->hash); free(t->merge_key); free(t->merge_rank);
    free(t->merge_result); free(t->special);
    free(t);
}

int32_t ll_tokenizer_n_vocab(const ll_tokenizer *t) { return t->n_vocab; }
int32_t ll_tokenizer_bos(const ll_tokenizer *t) { return t->bos; }
int32_t ll_tokenizer_eos(const ll_tokenizer *t) { return t->eos; }
bool ll_tokenizer_add_bos(const ll_tokenizer *t) { return t->add_bos; }
const char *ll_tokenizer_model(const ll_tokenizer *t) {
    return t->model == LL_TOK_SPM ? "llama" : "gpt2";
}
int ll_tokenizer_token_type(const ll_tokenizer *t, int32_t id) {
    return (id >= 0 && id < t->n_vocab) ? t->type[id] : 0;
}

bool ll_tokenizer_is_eog(const ll_tokenizer *t, int32_t id) {
    for (int i = 0; i < t->n_eog; i++)
        if (t->eog[i] == id) return true;
    return false;
}

static bool hidden(int type, bool special) {
    return !special && (type == TT_CONTROL || type == TT_UNKNOWN || type == TT_UNUSED);
}

int ll_token_to_piece(const ll_tokenizer *t, int32_t id, bool special, char *buf, int cap) {
    if (id < 0 || id >= t->n_vocab || hidden(t->type[id], special)) return 0;
    uint32_t n = t->piece_off[id + 1] - t->piece_off[id];
    if (n > (uint32_t)(cap < 0 ? 0 : cap)) return -(int)n;
    memcpy(buf, t->piece + t->piece_off[id], n);
    return (int)n;
}

static bool is_text_token(int type) {
    return type == TT_NORMAL || type == TT_UNDEFINED || type == TT_BYTE;
}

int ll_detokenize(const ll_tokenizer *t, const int32_t *ids, size_t n, bool special, char **out,
                  size_t *out_len, ll_error *e) {
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        if (ids[i] < 0 || ids[i] >= t->n_vocab)
            return ll_err(e, "tokenizer: token id %d out of range [0, %d)", (int)ids[i],
                          (int)t->n_vocab);
        total += t->piece_off[ids[i] + 1] - t->piece_off[ids[i]];
    }
    char *s = malloc(total + 1);
    if (!s) return ll_err(e, "tokenizer: out of memory");
    size_t o = 0;
    /* SentencePiece: the encoder prefixed a space to each text run that
     * starts the text or follows a special token; take it off again. */
    bool run_start = true;
    for (size_t i = 0; i < n; i++) {
        int32_t id = ids[i];
        int ty = t->type[id];
        if (!is_text_token(ty) && ty != TT_USER) { run_start = true; }
        if (hidden(ty, special)) continue;
        const char *p = t->piece + t->piece_off[id];
        size_t pn = t->piece_off[id + 1] - t->piece_off[id];
        if (t->add_space_prefix && is_text_token(ty) && run_start && pn > 0 && p[0] == ' ') {
            p++;
            pn--;
        }
        if (ty == TT_USER) run_start = true;
        else if (is_text_token(ty)) run_start = false;
        memcpy(s + o, p, pn);
        o += pn;
    }
    s[o] = 0;
    *out = s;
    *out_len = o;
    return 0;
}

void ll_detok_stream_init(ll_detok_stream *s, const ll_tokenizer *t, bool special) {
    s->t = t;
    s->special = special;
    s->n_held = 0;
}

/* Length of the complete-UTF-8 prefix of p[0..n): an incomplete sequence at
 * the end (a lead byte followed by fewer continuation bytes than it needs)
 * is left out. */
static size_t complete_prefix(const uint8_t *p, size_t n) {
    for (size_t back = 1; back <= 3 && back <= n; back++) {
        uint8_t c = p[n - back];
        if ((c & 0xC0) == 0x80) continue; /* continuation: look further back */
        int need = ll_utf8_lead_len(c);
        return (need > 1 && (size_t)need > back) ? n - back : n;
    }
    return n;
}

int ll_detok_stream_feed(ll_detok_stream *s, int32_t id, char *buf, int cap) {
    const ll_tokenizer *t = s->t;
    if (id < 0 || id >= t->n_vocab || hidden(t->type[id], s->special)) return 0;
    const uint8_t *p = (const uint8_t *)t->piece + t->piece_off[id];
    size_t pn = t->piece_off[id + 1] - t->piece_off[id];
    size_t n = (size_t)s->n_held + pn;
    /* look at the joined bytes' tail without copying the whole piece twice */
    uint8_t tail[8];
    size_t tn = n < 4 ? n : 4;
    for (size_t i = 0; i < tn; i++) {
        size_t k = n - tn + i;
        tail[i] = k < (size_t)s->n_held ? s->held[k] : p[k - (size_t)s->n_held];
    }
    size_t keep = tn - complete_prefix(tail, tn);
    size_t emit = n - keep;
    if (emit > (size_t)(cap < 0 ? 0 : cap)) return -(int)emit;
    uint8_t joined_tail[4];
    for (size_t i = 0; i < keep; i++) joined_tail[i] = tail[tn - keep + i];
    size_t o = 0;
    for (int i = 0; i < s->n_held && o < emit; i++) buf[o++] = (char)s->held[i];
    if (o < emit) memcpy(buf + o, p, emit - o);
    memcpy(s->held, joined_tail, keep);
    s->n_held = (int)keep;
    return (int)emit;
}

int ll_detok_stream_flush(ll_detok_stream *s, char *buf, int cap) {
    if (s->n_held > cap) return -s->n_held;
    int n = s->n_held;
    memcpy(buf, s->held, (size_t)n);
    s->n_held = 0;
    return n;
}
