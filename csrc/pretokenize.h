/* Pre-tokenizers of byte-level BPE vocabularies: split a text into the pieces
 * ("words") that BPE merges never cross. One hand-written matcher per regex
 * that tokenizer.ggml.pre names (llama.cpp's table of pre-tokenizer regexes
 * is the reference); no regex engine. Categories come from unicode.h, so the
 * rules hold over the whole Unicode range; invalid UTF-8 bytes count as
 * punctuation (see unicode.h). */
#ifndef LL_PRETOKENIZE_H
#define LL_PRETOKENIZE_H

#include "ll_common.h"

typedef enum ll_pretok_kind {
    LL_PRE_LLAMA3,       /* llama-bpe, llama3, dbrx, smaug-bpe: digits in runs of <= 3 */
    LL_PRE_QWEN2,        /* qwen2, deepseek-r1-qwen: the llama3 rule, digits one by one */
    LL_PRE_GPT2,         /* gpt-2 and its many aliases */
    LL_PRE_SMOLLM,       /* smollm, starcoder, refact, command-r: digits apart, then gpt-2 */
    LL_PRE_DEEPSEEK_LLM, /* deepseek-llm: a sequence of six splits */
} ll_pretok_kind;

/* Maps a tokenizer.ggml.pre value to a kind; -1 when unknown. */
int ll_pretok_kind_from_name(const char *name, size_t len);

/* Scratch reused across calls (owned by the caller; zero-initialise). */
typedef struct ll_pretok_buf {
    uint32_t *cp;     /* (ncp) code points */
    uint8_t *fl;      /* (ncp) LL_UCP_* flags */
    uint32_t *off;    /* (ncp + 1) byte offset of each code point */
    uint32_t *cuts;   /* (ncuts) piece boundaries, in code points, then bytes */
    uint32_t *tmp;    /* second boundary list for multi-stage rules */
    size_t cap, ncuts;
} ll_pretok_buf;

void ll_pretok_buf_free(ll_pretok_buf *b);

/* Splits text[0..len) (len < 4 GiB); on success the pieces are
 * [b->cuts[i], b->cuts[i + 1]) in bytes, i < b->ncuts - 1. */
int ll_pretokenize(ll_pretok_kind kind, const char *text, size_t len, ll_pretok_buf *b,
                   ll_error *e);

#endif
