/* The tokenizer's data, shared by tokenizer.c (loading, pieces, decoding),
 * tokenize.c (special tokens, driver) and tok_merge.c (BPE and SentencePiece
 * merging). Not part of the public API. */
#ifndef LL_TOKENIZER_INTERNAL_H
#define LL_TOKENIZER_INTERNAL_H

#include "tokenizer.h"
#include "pretokenize.h"

enum { LL_TOK_BPE, LL_TOK_SPM };
enum { TT_UNDEFINED = 0, TT_NORMAL = 1, TT_UNKNOWN = 2, TT_CONTROL = 3, TT_USER = 4,
       TT_UNUSED = 5, TT_BYTE = 6 };

#define LL_MAX_EOG 16

struct ll_tokenizer {
    int model;              /* LL_TOK_BPE or LL_TOK_SPM */
    ll_pretok_kind pre;     /* BPE only */
    int32_t n_vocab;
    char *text;             /* token texts as in the GGUF, back to back */
    uint32_t *text_off;     /* (n_vocab + 1) */
    char *piece;            /* decoded bytes of each token (see ll_token_to_piece) */
    uint32_t *piece_off;    /* (n_vocab + 1) */
    uint8_t *type;          /* (n_vocab) token_type */
    float *score;           /* (n_vocab) SentencePiece scores, NULL for BPE */
    uint32_t *hash;         /* text -> id + 1, open addressing, 0 = empty */
    uint32_t hash_mask;
    uint64_t *merge_key;    /* (left << 32 | right), UINT64_MAX = empty */
    int32_t *merge_rank;
    int32_t *merge_result;
    uint32_t merge_mask;
    int32_t byte_tok[256];  /* token of each byte (byte-level char / <0xNN>), -1 if none */
    char byte_chr[256][2];  /* BPE: UTF-8 of each byte's byte-level character */
    uint8_t byte_chr_len[256];
    int32_t *special;       /* matchable tokens, grouped by first byte, longest first */
    uint32_t special_start[257];
    int32_t bos, eos, eot, eom, pad, unk;
    bool add_bos, add_eos, add_space_prefix, ignore_merges;
    int32_t eog[LL_MAX_EOG];
    int n_eog;
};

/* id of the token whose GGUF text is s[0..n), or -1. */
int32_t ll_tok_lookup(const ll_tokenizer *t, const char *s, size_t n);

/* A growable id array. */
typedef struct ll_ids { int32_t *v; size_t n, cap; } ll_ids;
int ll_ids_push(ll_ids *a, int32_t id, ll_error *e);

/* Scratch for the merge engines, reused across words of one ll_tokenize call. */
typedef struct ll_merge_buf {
    int32_t *id, *prev, *next;  /* symbols */
    uint32_t *start, *len;      /* SentencePiece: byte range of each symbol */
    void *heap;
    size_t cap, heap_cap;
    char *str;                  /* byte-level text of a word / escaped SPM text */
    size_t str_cap;
} ll_merge_buf;
void ll_merge_buf_free(ll_merge_buf *m);

/* Byte-level BPE of one pre-tokenized word. */
int ll_bpe_word(const ll_tokenizer *t, const uint8_t *w, size_t n, ll_merge_buf *m, ll_ids *out,
                ll_error *e);
/* SentencePiece of one text run (raw text; escaping and prefix done here). */
int ll_spm_run(const ll_tokenizer *t, const uint8_t *s, size_t n, bool prefix_space,
               ll_merge_buf *m, ll_ids *out, ll_error *e);

#endif
