/* Whole-file quantization: every tensor of a GGUF file converted to the type
 * the caller chose for it (the mix rules live in lua/luallm/quantize.lua),
 * metadata copied, general.file_type set, written through the GGUF writer
 * (temporary file + rename, so a failed run leaves nothing behind). */
#ifndef LL_QUANTIZE_H
#define LL_QUANTIZE_H

#include "gguf.h"

typedef struct ll_quantize_params {
    const ll_type *types;  /* one target type per tensor of the source, in file order */
    int file_type;         /* general.file_type (llama.cpp ftype numbering); <0: leave */
    int n_threads;         /* rows of a tensor are split over this many threads */
} ll_quantize_params;

int ll_quantize_file(const gguf_file *src, const char *dst, const ll_quantize_params *p,
                     ll_error *e);

#endif
