/* libFuzzer target for the GGUF reader: parse arbitrary bytes with
 * gguf_open_memory and, when they parse, touch every value, every tensor byte
 * and every lookup, dequantize small tensors, and copy the metadata into a
 * writer, so ASan/UBSan see any read the validation failed to bound. */
#include "gguf.h"

#include <stdlib.h>
#include <string.h>

/* Folds bytes into a sink the optimizer cannot drop. */
static volatile uint64_t sink;

static uint64_t touch(const void *p, uint64_t n) {
    const uint8_t *b = p;
    uint64_t h = n;
    for (uint64_t i = 0; i < n; i++) h = h * 31 + b[i];
    return h;
}

static uint64_t walk_value(const gguf_value *v) {
    uint64_t h = (uint64_t)v->type;
    switch (v->type) {
    case GGUF_STRING: return h + touch(v->s.data, v->s.len);
    case GGUF_ARRAY:
        h += gguf_vtype_size(v->arr.type) + (uint64_t)strlen(gguf_vtype_name(v->arr.type));
        for (uint64_t i = 0; i < v->arr.n; i++) {
            if (v->arr.type == GGUF_STRING) h += touch(v->arr.strs[i].data, v->arr.strs[i].len);
            else if (v->arr.type == GGUF_ARRAY) h += walk_value(&v->arr.items[i]);
            else h += (uint64_t)gguf_arr_i64(v, i) + (uint64_t)(gguf_arr_f64(v, i) != 0);
        }
        return h;
    case GGUF_FLOAT32: case GGUF_FLOAT64: return h + (v->f != 0);
    case GGUF_BOOL: return h + v->b;
    default: return h + v->u;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    ll_error e;
    gguf_file *g = gguf_open_memory(data, size, &e);
    if (!g) {
        sink += strlen(e.msg);
        return 0;
    }
    uint64_t h = g->version + g->alignment + g->data_offset;
    char key[256];
    for (uint64_t i = 0; i < g->n_kv; i++) {
        const gguf_kv *kv = &g->kv[i];
        h += touch(kv->key.data, kv->key.len) + walk_value(&kv->value);
        if (kv->key.len < sizeof key && !memchr(kv->key.data, 0, kv->key.len)) {
            memcpy(key, kv->key.data, kv->key.len);
            key[kv->key.len] = 0;
            uint64_t u; int64_t s; double f; bool b;
            if (gguf_get(g, key) == NULL) __builtin_trap(); /* every key must be found */
            h += gguf_get_u64(g, key, &u) + gguf_get_i64(g, key, &s) + gguf_get_f64(g, key, &f) +
                 gguf_get_bool(g, key, &b) + (gguf_get_str(g, key) != NULL);
        }
    }
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        const gguf_tensor *t = &g->tensors[i];
        h += touch(t->name.data, t->name.len) + touch(t->data, t->nbytes);
        if (t->name.len < sizeof key && !memchr(t->name.data, 0, t->name.len)) {
            memcpy(key, t->name.data, t->name.len);
            key[t->name.len] = 0;
            if (gguf_tensor_by_name(g, key) == NULL) __builtin_trap();
        }
        const ll_type_traits *tr = ll_type_get(t->type);
        if (tr && tr->to_float && t->n_elements <= (1 << 16)) {
            float *out = malloc((size_t)t->n_elements * sizeof(float));
            if (out && gguf_tensor_to_float(t, out, &e) == 0) h += touch(out, (uint64_t)t->n_elements * 4);
            free(out);
        }
    }
    /* The writer must accept whatever the reader accepted. */
    gguf_writer *w = gguf_writer_new(0);
    if (w) {
        if (gguf_writer_copy_metadata(w, g, &e) != 0) {
            /* only keys the writer cannot name (NUL inside) may fail */
            if (!strstr(e.msg, "cannot be copied") && !strstr(e.msg, "general.alignment")) __builtin_trap();
        }
        gguf_writer_free(w);
    }
    sink += h;
    gguf_close(g);
    return 0;
}
