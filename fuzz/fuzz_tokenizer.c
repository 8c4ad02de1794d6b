/* libFuzzer target: encode arbitrary bytes with a real vocabulary (path in
 * LUALLM_FUZZ_VOCAB, e.g. ../shared/models/micro-r1-qwen2-f16.gguf), with and
 * without special-token parsing, and check that decoding gives them back.
 *   clang -std=c11 -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Icsrc \
 *     fuzz/fuzz_tokenizer.c csrc/tokenizer.c csrc/tokenize.c csrc/tok_merge.c \
 *     csrc/pretokenize.c csrc/unicode.c csrc/unicode_tables.c csrc/gguf.c \
 *     csrc/quants.c csrc/ll_common.c -lm -o build/fuzz_tokenizer
 *   LUALLM_FUZZ_VOCAB=... build/fuzz_tokenizer -max_total_time=60 */
#include "tokenizer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static ll_tokenizer *vocab(void) {
    static ll_tokenizer *t; /* loaded once per fuzzing process */
    if (t) return t;
    const char *path = getenv("LUALLM_FUZZ_VOCAB");
    if (!path) {
        fprintf(stderr, "fuzz_tokenizer: set LUALLM_FUZZ_VOCAB to a GGUF file\n");
        abort();
    }
    ll_error e = {{0}};
    gguf_file *g = gguf_open(path, &e);
    if (!g) { fprintf(stderr, "fuzz_tokenizer: %s\n", e.msg); abort(); }
    t = ll_tokenizer_new(g, &e);
    gguf_close(g);
    if (!t) { fprintf(stderr, "fuzz_tokenizer: %s\n", e.msg); abort(); }
    return t;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    ll_tokenizer *t = vocab();
    for (int special = 0; special <= 1; special++) {
        ll_error e = {{0}};
        int32_t *ids;
        int n = ll_tokenize(t, (const char *)data, size, special, special, &ids, &e);
        if (n < 0) abort(); /* any byte string must encode */
        char *back;
        size_t len;
        if (ll_detokenize(t, ids, (size_t)n, special, &back, &len, &e)) abort();
        /* with special, BOS is prepended and decodes to its text */
        size_t skip = 0;
        if (special && n > 0 && ids[0] == ll_tokenizer_bos(t)) {
            char buf[256];
            int pl = ll_token_to_piece(t, ids[0], true, buf, sizeof buf);
            skip = pl > 0 ? (size_t)pl : 0;
        }
        if (len - skip != size || memcmp(back + skip, data, size) != 0) abort();
        ll_detok_stream s;
        ll_detok_stream_init(&s, t, special);
        size_t o = 0;
        char piece[1024];
        for (int i = 0; i < n; i++) {
            int k = ll_detok_stream_feed(&s, ids[i], piece, sizeof piece);
            if (k < 0 || o + (size_t)k > len || memcmp(back + o, piece, (size_t)k) != 0) abort();
            o += (size_t)k;
        }
        int k = ll_detok_stream_flush(&s, piece, sizeof piece);
        if (o + (size_t)k != len) abort();
        free(back);
        free(ids);
    }
    return 0;
}
