/* Pre-tokenizers: each regex of llama.cpp's per-`pre` table, written as a
 * matcher over decoded code points. A rule is one or more stages; a stage
 * splits every piece of the previous stage into its matches and the gaps
 * between them (both kept), as a regex split with "isolated" behaviour does.
 * The regexes, for reference (\s = White_Space, \p{L} letters, \p{N} numbers):
 *   llama3: (?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])
 *           |[^\r\n\p{L}\p{N}]?\p{L}+ |\p{N}{1,3} | ?[^\s\p{L}\p{N}]+[\r\n]*
 *           |\s*[\r\n]+ |\s+(?!\S) |\s+              (qwen2: \p{N} instead of \p{N}{1,3})
 *   gpt-2:  's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)
 *   smollm: \p{N}, then gpt-2
 *   deepseek-llm: [\r\n], \s?[cased letters]+, \s?[ASCII/CJK punctuation]+, \s+$,
 *           [CJK ideographs/Hangul]+, \p{N}+ */
#include "pretokenize.h"
#include "unicode.h"

#include <stdlib.h>
#include <string.h>

typedef struct rng { uint32_t lo, hi; } rng;

/* deepseek-llm's cased-letter class (Greek and letterlike singletons written as
 * in the original tokenizer, not NFC-folded). */
static const rng ds_letters[] = {
    {0x41, 0x5A}, {0x61, 0x7A}, {0xB5, 0xB5}, {0xC0, 0xD6}, {0xD8, 0xF6}, {0xF8, 0x1BA},
    {0x1BC, 0x1BF}, {0x1C4, 0x293}, {0x295, 0x2AF}, {0x370, 0x373}, {0x376, 0x377},
    {0x37B, 0x37D}, {0x37F, 0x37F}, {0x386, 0x386}, {0x388, 0x38A}, {0x38C, 0x38C},
    {0x38E, 0x3A1}, {0x3A3, 0x3F5}, {0x3F7, 0x481}, {0x48A, 0x52F}, {0x531, 0x556},
    {0x10A0, 0x10C5}, {0x13A0, 0x13F5}, {0x13F8, 0x13FD}, {0x1C90, 0x1CBA}, {0x1CBD, 0x1CBF},
    {0x1D00, 0x1D2B}, {0x1D6B, 0x1D77}, {0x1D79, 0x1D9A}, {0x1E00, 0x1F15}, {0x1F18, 0x1F1D},
    {0x1F20, 0x1F45}, {0x1F48, 0x1F4D}, {0x1F50, 0x1F57}, {0x1F59, 0x1F59}, {0x1F5B, 0x1F5B},
    {0x1F5D, 0x1F5D}, {0x1F5F, 0x1F7D}, {0x1F80, 0x1FB4}, {0x1FB6, 0x1FBC}, {0x1FBE, 0x1FBE},
    {0x1FC2, 0x1FC4}, {0x1FC6, 0x1FCC}, {0x1FD0, 0x1FD3}, {0x1FD6, 0x1FDB}, {0x1FE0, 0x1FEC},
    {0x1FF2, 0x1FF4}, {0x1FF6, 0x1FFC}, {0x2102, 0x2102}, {0x2107, 0x2107}, {0x210A, 0x2113},
    {0x2115, 0x2115}, {0x2119, 0x211D}, {0x2124, 0x2124}, {0x2126, 0x2126}, {0x2128, 0x2128},
    {0x212A, 0x212D}, {0x212F, 0x2134}, {0x2139, 0x2139}, {0x213C, 0x213F}, {0x2145, 0x2149},
    {0x214E, 0x214E}, {0x2183, 0x2184}, {0x2C00, 0x2C7B}, {0x2C7E, 0x2CE4}, {0x2CEB, 0x2CEE},
    {0x2CF2, 0x2CF3}, {0xA640, 0xA66D}, {0xA680, 0xA69B}, {0xA722, 0xA76F}, {0xA771, 0xA787},
    {0xA78B, 0xA78E}, {0xAB70, 0xABBF}, {0xFB00, 0xFB06}, {0xFB13, 0xFB17}, {0xFF21, 0xFF3A},
    {0xFF41, 0xFF5A}, {0x10400, 0x1044F}, {0x104B0, 0x104D3}, {0x104D8, 0x104FB},
    {0x10C80, 0x10CB2}, {0x10CC0, 0x10CF2}, {0x118A0, 0x118DF}, {0x1E900, 0x1E943},
};
/* [!-/:-~！-／：-～‘-‟　-。] */
static const rng ds_punct[] = {
    {0x21, 0x2F}, {0x3A, 0x7E}, {0x2018, 0x201F}, {0x3000, 0x3002}, {0xFF01, 0xFF0F},
    {0xFF1A, 0xFF5E},
};
/* [一-龥ࠀ-一가-퟿] */
static const rng ds_cjk[] = {{0x800, 0x4E00}, {0x4E00, 0x9FA5}, {0xAC00, 0xD7FF}};

static bool in_ranges(const rng *r, size_t n, uint32_t c) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (c < r[mid].lo) hi = mid;
        else if (c > r[mid].hi) lo = mid + 1;
        else return true;
    }
    return false;
}
#define IN(tab, c) in_ranges((tab), sizeof(tab) / sizeof((tab)[0]), (c))

/* A matcher finds the leftmost match in [pos, end) of the current piece
 * (end is the piece's end: `$` and lookaheads stop there). */
typedef bool (*find_fn)(const ll_pretok_buf *b, size_t pos, size_t end, size_t *ms, size_t *me);

static bool is_L(const ll_pretok_buf *b, size_t i) { return b->fl[i] & LL_UCP_LETTER; }
static bool is_N(const ll_pretok_buf *b, size_t i) { return b->fl[i] & LL_UCP_NUMBER; }
static bool is_WS(const ll_pretok_buf *b, size_t i) { return b->fl[i] & LL_UCP_WHITESPACE; }
static bool is_other(const ll_pretok_buf *b, size_t i) {
    return !(b->fl[i] & (LL_UCP_LETTER | LL_UCP_NUMBER | LL_UCP_WHITESPACE));
}
static bool is_nl(uint32_t c) { return c == '\r' || c == '\n'; }
static uint32_t ascii_lower(uint32_t c) { return (c >= 'A' && c <= 'Z') ? c + 32 : c; }

/* 's 't 're 've 'm 'll 'd at i; returns the end or 0. */
static size_t contraction(const ll_pretok_buf *b, size_t i, size_t end, bool any_case) {
    if (b->cp[i] != '\'' || i + 1 >= end) return 0;
    uint32_t c1 = b->cp[i + 1];
    if (any_case) c1 = ascii_lower(c1);
    if (c1 == 's' || c1 == 't' || c1 == 'm' || c1 == 'd') return i + 2;
    if (i + 2 >= end) return 0;
    uint32_t c2 = b->cp[i + 2];
    if (any_case) c2 = ascii_lower(c2);
    if ((c1 == 'r' && c2 == 'e') || (c1 == 'v' && c2 == 'e') || (c1 == 'l' && c2 == 'l'))
        return i + 3;
    return 0;
}

static size_t run_of(const ll_pretok_buf *b, size_t i, size_t end,
                     bool (*pred)(const ll_pretok_buf *, size_t)) {
    while (i < end && pred(b, i)) i++;
    return i;
}

/* The llama3 regex anchored at i; max_digits is 3 (llama3) or 1 (qwen2).
 * Every code point starts some alternative, so this never fails. */
static size_t llama3_at(const ll_pretok_buf *b, size_t i, size_t end, size_t max_digits) {
    size_t j = contraction(b, i, end, true);
    if (j) return j;
    if (is_L(b, i)) return run_of(b, i, end, is_L);
    if (!is_nl(b->cp[i]) && !is_N(b, i) && i + 1 < end && is_L(b, i + 1))
        return run_of(b, i + 1, end, is_L);
    if (is_N(b, i)) {
        j = i;
        while (j < end && j - i < max_digits && is_N(b, j)) j++;
        return j;
    }
    j = (b->cp[i] == ' ' && i + 1 < end && is_other(b, i + 1)) ? i + 1 : i;
    if (is_other(b, j)) {
        j = run_of(b, j, end, is_other);
        while (j < end && is_nl(b->cp[j])) j++;
        return j;
    }
    /* whitespace: \s*[\r\n]+ ends at the run's last newline */
    size_t k = run_of(b, i, end, is_WS);
    for (size_t p = k; p > i; p--)
        if (is_nl(b->cp[p - 1])) return p;
    if (k == end || k - 1 == i) return k; /* \s+(?!\S), else \s+ */
    return k - 1;                          /* leave one space for the next word */
}

static bool find_llama3(const ll_pretok_buf *b, size_t pos, size_t end, size_t *ms, size_t *me) {
    *ms = pos;
    *me = llama3_at(b, pos, end, 3);
    return true;
}
static bool find_qwen2(const ll_pretok_buf *b, size_t pos, size_t end, size_t *ms, size_t *me) {
    *ms = pos;
    *me = llama3_at(b, pos, end, 1);
    return true;
}

/* The gpt-2 regex anchored at i; 0 when no alternative matches (a lone
 * whitespace before a word that takes no space: it stays a gap). */
static size_t gpt2_at(const ll_pretok_buf *b, size_t i, size_t end) {
    size_t j = contraction(b, i, end, false);
    if (j) return j;
    bool sp = b->cp[i] == ' ' && i + 1 < end;
    if (sp && is_L(b, i + 1)) return run_of(b, i + 1, end, is_L);
    if (is_L(b, i)) return run_of(b, i, end, is_L);
    if (sp && is_N(b, i + 1)) return run_of(b, i + 1, end, is_N);
    if (is_N(b, i)) return run_of(b, i, end, is_N);
    if (sp && is_other(b, i + 1)) return run_of(b, i + 1, end, is_other);
    if (is_other(b, i)) return run_of(b, i, end, is_other);
    size_t k = run_of(b, i, end, is_WS);
    if (k == end) return k;
    return k - 1 > i ? k - 1 : 0;
}

static bool find_gpt2(const ll_pretok_buf *b, size_t pos, size_t end, size_t *ms, size_t *me) {
    for (size_t i = pos; i < end; i++) {
        size_t j = gpt2_at(b, i, end);
        if (j) { *ms = i; *me = j; return true; }
    }
    return false;
}

static bool find_digit(const ll_pretok_buf *b, size_t pos, size_t end, size_t *ms, size_t *me) {
    for (size_t i = pos; i < end; i++)
        if (is_N(b, i)) { *ms = i; *me = i + 1; return true; }
    return false;
}

static bool find_digits(const ll_pretok_buf *b, size_t pos, size_t end, size_t *ms, size_t *me) {
    for (size_t i = pos; i < end; i++)
        if (is_N(b, i)) { *ms = i; *me = run_of(b, i, end, is_N); return true; }
    return false;
}

static bool find_newline(const ll_pretok_buf *b, size_t pos, size_t end, size_t *ms, size_t *me) {
    for (size_t i = pos; i < end; i++)
        if (is_nl(b->cp[i])) { *ms = i; *me = i + 1; return true; }
    return false;
}

static bool ds_letter(const ll_pretok_buf *b, size_t i) { return IN(ds_letters, b->cp[i]); }
static bool ds_punc(const ll_pretok_buf *b, size_t i) { return IN(ds_punct, b->cp[i]); }
static bool ds_han(const ll_pretok_buf *b, size_t i) { return IN(ds_cjk, b->cp[i]); }

/* \s?[class]+ */
static bool find_ws_opt_run(const ll_pretok_buf *b, size_t pos, size_t end, size_t *ms,
                            size_t *me, bool (*cls)(const ll_pretok_buf *, size_t)) {
    for (size_t i = pos; i < end; i++) {
        if (is_WS(b, i) && i + 1 < end && cls(b, i + 1)) {
            *ms = i; *me = run_of(b, i + 1, end, cls); return true;
        }
        if (cls(b, i)) { *ms = i; *me = run_of(b, i, end, cls); return true; }
    }
    return false;
}
static bool find_ds_letters(const ll_pretok_buf *b, size_t pos, size_t end, size_t *ms, size_t *me) {
    return find_ws_opt_run(b, pos, end, ms, me, ds_letter);
}
static bool find_ds_punct(const ll_pretok_buf *b, size_t pos, size_t end, size_t *ms, size_t *me) {
    return find_ws_opt_run(b, pos, end, ms, me, ds_punc);
}
static bool find_trailing_ws(const ll_pretok_buf *b, size_t pos, size_t end, size_t *ms, size_t *me) {
    size_t k = end;
    while (k > pos && is_WS(b, k - 1)) k--;
    if (k == end) return false;
    *ms = k; *me = end;
    return true;
}
static bool find_ds_cjk(const ll_pretok_buf *b, size_t pos, size_t end, size_t *ms, size_t *me) {
    for (size_t i = pos; i < end; i++)
        if (ds_han(b, i)) { *ms = i; *me = run_of(b, i, end, ds_han); return true; }
    return false;
}

typedef struct rule { find_fn stages[6]; int n; } rule;

static const rule rules[] = {
    [LL_PRE_LLAMA3] = {{find_llama3}, 1},
    [LL_PRE_QWEN2] = {{find_qwen2}, 1},
    [LL_PRE_GPT2] = {{find_gpt2}, 1},
    [LL_PRE_SMOLLM] = {{find_digit, find_gpt2}, 2},
    [LL_PRE_DEEPSEEK_LLM] = {{find_newline, find_ds_letters, find_ds_punct, find_trailing_ws,
                              find_ds_cjk, find_digits}, 6},
};

int ll_pretok_kind_from_name(const char *name, size_t len) {
    static const struct { const char *name; ll_pretok_kind kind; } names[] = {
        {"llama-bpe", LL_PRE_LLAMA3}, {"llama3", LL_PRE_LLAMA3}, {"llama-v3", LL_PRE_LLAMA3},
        {"dbrx", LL_PRE_LLAMA3}, {"smaug-bpe", LL_PRE_LLAMA3},
        {"qwen2", LL_PRE_QWEN2}, {"deepseek-r1-qwen", LL_PRE_QWEN2}, {"qwen2.5", LL_PRE_QWEN2},
        {"stablelm2", LL_PRE_QWEN2}, {"megrez", LL_PRE_QWEN2},
        {"gpt-2", LL_PRE_GPT2}, {"phi-2", LL_PRE_GPT2}, {"mpt", LL_PRE_GPT2},
        {"olmo", LL_PRE_GPT2}, {"jais", LL_PRE_GPT2}, {"jina-es", LL_PRE_GPT2},
        {"jina-de", LL_PRE_GPT2}, {"roberta-bpe", LL_PRE_GPT2},
        {"smollm", LL_PRE_SMOLLM}, {"starcoder", LL_PRE_SMOLLM}, {"refact", LL_PRE_SMOLLM},
        {"command-r", LL_PRE_SMOLLM}, {"codeshell", LL_PRE_SMOLLM},
        {"deepseek-llm", LL_PRE_DEEPSEEK_LLM},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strlen(names[i].name) == len && memcmp(names[i].name, name, len) == 0)
            return (int)names[i].kind;
    return -1;
}

void ll_pretok_buf_free(ll_pretok_buf *b) {
    free(b->cp); free(b->fl); free(b->off); free(b->cuts); free(b->tmp);
    memset(b, 0, sizeof *b);
}

static int reserve(ll_pretok_buf *b, size_t n, ll_error *e) {
    if (n + 1 <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < n + 1) cap *= 2;
    uint32_t *cp = realloc(b->cp, cap * sizeof *cp);
    if (cp) b->cp = cp;
    uint8_t *fl = realloc(b->fl, cap);
    if (fl) b->fl = fl;
    uint32_t *off = realloc(b->off, cap * sizeof *off);
    if (off) b->off = off;
    uint32_t *cuts = realloc(b->cuts, cap * sizeof *cuts);
    if (cuts) b->cuts = cuts;
    uint32_t *tmp = realloc(b->tmp, cap * sizeof *tmp);
    if (tmp) b->tmp = tmp;
    if (!cp || !fl || !off || !cuts || !tmp) return ll_err(e, "tokenizer: out of memory");
    b->cap = cap;
    return 0;
}

/* One stage: every piece [src[k], src[k+1]) becomes its matches and gaps. */
static size_t split_stage(const ll_pretok_buf *b, find_fn find, const uint32_t *src, size_t nsrc,
                          uint32_t *dst) {
    size_t nd = 0;
    dst[nd++] = src[0];
    for (size_t k = 0; k + 1 < nsrc; k++) {
        size_t pos = src[k], end = src[k + 1], ms, me;
        while (pos < end && find(b, pos, end, &ms, &me)) {
            if (ms > pos) dst[nd++] = (uint32_t)ms;
            dst[nd++] = (uint32_t)me;
            pos = me;
        }
        if (pos < end) dst[nd++] = (uint32_t)end;
    }
    return nd;
}

int ll_pretokenize(ll_pretok_kind kind, const char *text, size_t len, ll_pretok_buf *b,
                   ll_error *e) {
    if ((unsigned)kind >= sizeof rules / sizeof rules[0])
        return ll_err(e, "tokenizer: bad pre-tokenizer kind %d", (int)kind);
    if (len >= UINT32_MAX) return ll_err(e, "tokenizer: text too long (%zu bytes)", len);
    if (reserve(b, len, e)) return -1;
    const uint8_t *s = (const uint8_t *)text;
    size_t n = 0;
    for (size_t i = 0; i < len; n++) {
        b->off[n] = (uint32_t)i;
        i += (size_t)ll_utf8_decode(s + i, len - i, &b->cp[n]);
        b->fl[n] = (uint8_t)ll_ucp_flags(b->cp[n]);
    }
    b->off[n] = (uint32_t)len;
    if (n == 0) { b->ncuts = 0; return 0; }

    const rule *r = &rules[kind];
    uint32_t *cur = b->cuts, *nxt = b->tmp;
    cur[0] = 0;
    cur[1] = (uint32_t)n;
    size_t nc = 2;
    for (int st = 0; st < r->n; st++) {
        nc = split_stage(b, r->stages[st], cur, nc, nxt);
        uint32_t *t = cur; cur = nxt; nxt = t;
    }
    for (size_t i = 0; i < nc; i++) b->cuts[i] = b->off[cur[i]];
    b->ncuts = nc;
    return 0;
}
