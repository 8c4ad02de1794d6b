/* Tokenizer of a GGUF model, built from its tokenizer.ggml.* metadata only.
 *
 *   tokenizer.ggml.model = "gpt2"  byte-level BPE: the text is split by the
 *       pre-tokenizer that tokenizer.ggml.pre names (pretokenize.h), each piece
 *       is mapped to byte symbols and merged by merge rank (a heap, lowest rank
 *       first, leftmost on ties).
 *   tokenizer.ggml.model = "llama" SentencePiece: spaces become U+2581, a space
 *       is prefixed to each text run (add_space_prefix, default on), symbols
 *       are merged by the score of the merged token (highest first), and what
 *       no token covers falls back to <0xNN> byte tokens.
 *
 * Special tokens: control (token_type 3) and user-defined (4) tokens are cut
 * out of the text before the above runs, only when parse_special is set;
 * at each position the longest matching token wins (leftmost-longest).
 * Decoding gives the exact input bytes back: invalid UTF-8 input bytes are
 * single-byte symbols (unicode.h) that byte-level BPE encodes as their byte
 * token and SentencePiece as <0xNN>. No Unicode normalization is applied
 * (llama.cpp applies none for these vocabularies either). The one lossy case
 * is inherent to SentencePiece: a literal U+2581 in the text decodes as a space.
 * Differences from llama.cpp: user-defined tokens are matched only with
 * parse_special (llama.cpp always matches them), and overlapping special
 * tokens resolve leftmost-longest (llama.cpp: longest token first, globally).
 *
 * A tokenizer is immutable after ll_tokenizer_new: every function below may be
 * called from several threads at once. */
#ifndef LL_TOKENIZER_H
#define LL_TOKENIZER_H

#include "ll_common.h"
#include "gguf.h"

typedef struct ll_tokenizer ll_tokenizer;

/* Copies what it needs from g (g may be closed afterwards); NULL with e set
 * when the metadata is missing, inconsistent or of an unsupported kind. */
ll_tokenizer *ll_tokenizer_new(const gguf_file *g, ll_error *e);
void ll_tokenizer_free(ll_tokenizer *t);

/* Encodes text (len bytes, any bytes) into *ids_out (malloc'ed, the caller
 * frees it); returns the count or -1 with e set. add_bos prepends BOS (and
 * appends EOS when the model's add_eos_token says so); parse_special matches
 * control and user-defined tokens written in the text. */
int ll_tokenize(const ll_tokenizer *t, const char *text, size_t len, bool add_bos,
                bool parse_special, int32_t **ids_out, ll_error *e);

/* The bytes of one token: byte-level decoded (BPE), U+2581 -> space and
 * <0xNN> -> the byte (SentencePiece). Control, unknown and unused tokens give
 * their text only when `special`; user-defined tokens (e.g. <think>) always
 * do. Returns the length, or -needed when cap is too small (nothing written);
 * an id out of range gives 0. */
int ll_token_to_piece(const ll_tokenizer *t, int32_t id, bool special, char *buf, int cap);

/* Concatenated pieces of ids into *out (malloc'ed, NUL-terminated, *out_len
 * bytes). SentencePiece: the space the encoder prefixed to each text run is
 * removed again, so decode(encode(s)) == s. -1 with e set on an out-of-range id. */
int ll_detokenize(const ll_tokenizer *t, const int32_t *ids, size_t n, bool special, char **out,
                  size_t *out_len, ll_error *e);

int32_t ll_tokenizer_n_vocab(const ll_tokenizer *t);
int32_t ll_tokenizer_bos(const ll_tokenizer *t); /* -1 when none */
int32_t ll_tokenizer_eos(const ll_tokenizer *t); /* -1 when none */
/* End of generation: eos, eot, eom and the vocabulary's end-of-turn tokens
 * (<|im_end|>, <|eot_id|>, <|end_of_text|>, <｜end▁of▁sentence｜> ...). */
bool ll_tokenizer_is_eog(const ll_tokenizer *t, int32_t id);
bool ll_tokenizer_add_bos(const ll_tokenizer *t); /* tokenizer.ggml.add_bos_token */
/* "gpt2" or "llama" */
const char *ll_tokenizer_model(const ll_tokenizer *t);
/* token_type of id (1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused,
 * 6 byte), 0 when out of range. */
int ll_tokenizer_token_type(const ll_tokenizer *t, int32_t id);

/* Streaming decoder for generation: pieces are fed one token at a time and
 * only complete UTF-8 is handed out; the bytes of a character split across
 * tokens are held (at most 3) until the rest arrives. */
typedef struct ll_detok_stream {
    const ll_tokenizer *t;
    bool special;
    int n_held;
    uint8_t held[4];
} ll_detok_stream;

void ll_detok_stream_init(ll_detok_stream *s, const ll_tokenizer *t, bool special);
/* Writes the newly complete text into buf: returns its length (may be 0),
 * -needed when cap is too small (state unchanged), or 0 for an out-of-range id. */
int ll_detok_stream_feed(ll_detok_stream *s, int32_t id, char *buf, int cap);
/* Hands out the held bytes, even if incomplete (at most 3; buf needs 4). */
int ll_detok_stream_flush(ll_detok_stream *s, char *buf, int cap);

#endif
