/* Seed corpus for fuzz_gguf, made at run time from real model headers:
 *   make_seeds OUTDIR [MODEL.gguf ...]
 * For each model: its first 64 KiB (a header cut inside the vocabulary), and
 * small valid files (alignment 32 and 64) with the real metadata, arrays cut
 * to 64 elements, and one row of each tensor type. Without models, one small
 * hand-made file. Nothing large is committed; nothing is written but OUTDIR. */
#include "gguf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ARRAY 64
#define PREFIX_BYTES 65536

static int write_prefix(const char *model, const char *out) {
    FILE *in = fopen(model, "rb");
    if (!in) return -1;
    static char buf[PREFIX_BYTES];
    size_t n = fread(buf, 1, sizeof buf, in);
    fclose(in);
    FILE *f = fopen(out, "wb");
    if (!f) return -1;
    size_t k = fwrite(buf, 1, n, f);
    return (fclose(f) == 0 && k == n) ? 0 : -1;
}

/* The model's metadata with long arrays shortened, one row per tensor type. */
static int write_reduced(const gguf_file *g, uint32_t alignment, const char *out, ll_error *e) {
    gguf_writer *w = gguf_writer_new(alignment);
    if (!w) return ll_err(e, "writer");
    int rc = -1;
    char key[1024];
    for (uint64_t i = 0; i < g->n_kv; i++) {
        const gguf_kv *kv = &g->kv[i];
        if (kv->key.len >= sizeof key) continue;
        memcpy(key, kv->key.data, kv->key.len);
        key[kv->key.len] = 0;
        if (strcmp(key, "general.alignment") == 0) continue;
        gguf_value v = kv->value;
        if (v.type == GGUF_ARRAY && v.arr.n > MAX_ARRAY) v.arr.n = MAX_ARRAY;
        if (gguf_writer_set(w, key, &v, e)) goto done;
    }
    bool seen[LL_TYPE_COUNT] = {0};
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        const gguf_tensor *t = &g->tensors[i];
        if (seen[t->type] || t->name.len >= sizeof key) continue;
        seen[t->type] = true;
        memcpy(key, t->name.data, t->name.len);
        key[t->name.len] = 0;
        int64_t ne[2] = {t->ne[0], t->n_dims > 1 ? 2 : 1};
        if (t->n_dims > 1 && (uint64_t)ll_row_size(t->type, t->ne[0]) * 2 > t->nbytes) ne[1] = 1;
        if (gguf_writer_add_tensor(w, key, t->type, t->n_dims > 1 ? 2 : 1, ne, t->data, e)) goto done;
    }
    rc = gguf_writer_write(w, out, e);
done:
    gguf_writer_free(w);
    return rc;
}

static int write_synthetic(const char *out, ll_error *e) {
    gguf_writer *w = gguf_writer_new(0);
    if (!w) return ll_err(e, "writer");
    static const float row[32] = {1, 2, 3};
    int64_t ne[1] = {32};
    int rc = gguf_writer_set_str(w, "general.architecture", "llama", e) ||
             gguf_writer_set_u32(w, "llama.block_count", 1, e) ||
             gguf_writer_set_f32(w, "llama.rope.freq_base", 10000.0f, e) ||
             gguf_writer_add_tensor(w, "t", LL_TYPE_F32, 1, ne, row, e) ||
             gguf_writer_write(w, out, e);
    gguf_writer_free(w);
    return rc ? -1 : 0;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: make_seeds OUTDIR [MODEL.gguf ...]\n");
        return 2;
    }
    char out[4096];
    ll_error e;
    int made = 0;
    for (int i = 2; i < argc; i++) {
        snprintf(out, sizeof out, "%s/prefix-%d.gguf", argv[1], i);
        if (write_prefix(argv[i], out) == 0) made++;
        gguf_file *g = gguf_open(argv[i], &e);
        if (!g) {
            fprintf(stderr, "make_seeds: %s\n", e.msg);
            continue;
        }
        for (uint32_t al = 32; al <= 64; al *= 2) {
            snprintf(out, sizeof out, "%s/reduced-%d-%u.gguf", argv[1], i, al);
            if (write_reduced(g, al, out, &e)) fprintf(stderr, "make_seeds: %s\n", e.msg);
            else made++;
        }
        gguf_close(g);
    }
    snprintf(out, sizeof out, "%s/synthetic.gguf", argv[1]);
    if (write_synthetic(out, &e)) {
        fprintf(stderr, "make_seeds: %s\n", e.msg);
        return 1;
    }
    made++;
    fprintf(stderr, "make_seeds: %d seed files in %s\n", made, argv[1]);
    return 0;
}
