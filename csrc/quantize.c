/* Per-tensor quantization loop (see quantize.h). Each tensor is widened to
 * F32, then its rows are quantized by n_threads threads, each taking a
 * contiguous range of rows; the results stay in memory until the writer
 * streams them out. */
#include "quantize.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct job {
    const float *src;
    uint8_t *dst;
    int64_t ne0, row0, row1;
    size_t row_bytes;
    ll_from_float_fn fn;
} job;

static void *run_job(void *arg) {
    job *j = arg;
    for (int64_t r = j->row0; r < j->row1; r++)
        j->fn(j->src + r * j->ne0, j->dst + (size_t)r * j->row_bytes, j->ne0);
    return NULL;
}

#define MAX_THREADS 256

/* Quantizes nrows rows of ne0 floats into dst with up to n_threads threads. */
static int quantize_rows(const float *src, void *dst, int64_t ne0, int64_t nrows, ll_type type,
                         int n_threads, ll_error *e) {
    const ll_type_traits *tr = ll_type_get(type);
    if (n_threads < 1) n_threads = 1;
    if (n_threads > MAX_THREADS) n_threads = MAX_THREADS;
    if (n_threads > nrows) n_threads = (int)nrows;
    job jobs[MAX_THREADS];
    pthread_t th[MAX_THREADS];
    int started = 0;
    for (int t = 0; t < n_threads; t++) {
        jobs[t] = (job){src, dst, ne0, nrows * t / n_threads, nrows * (t + 1) / n_threads,
                        ll_row_size(type, ne0), tr->from_float};
    }
    /* thread 0 works on the calling thread */
    for (int t = 1; t < n_threads; t++) {
        if (pthread_create(&th[t], NULL, run_job, &jobs[t]) != 0) break;
        started = t;
    }
    for (int t = started + 1; t < n_threads; t++) run_job(&jobs[t]); /* creation failed: do it here */
    run_job(&jobs[0]);
    for (int t = 1; t <= started; t++) pthread_join(th[t], NULL);
    (void)e;
    return 0;
}

/* Converts tensor t to type; *out is a new buffer (owned by the caller). */
static int convert_tensor(const gguf_tensor *t, ll_type type, int n_threads, void **out,
                          ll_error *e) {
    const ll_type_traits *tr = ll_type_get(type);
    const ll_type_traits *st = ll_type_get(t->type);
    if (!tr || (!tr->from_float && type != LL_TYPE_F32))
        return ll_err(e, "quantize: no quantizer for type %s", tr ? tr->name : "?");
    if (!st || !st->to_float)
        return ll_err(e, "quantize: tensor %.*s has unsupported type %s", (int)t->name.len,
                      t->name.data, st ? st->name : "?");
    const int64_t ne0 = t->ne[0], nrows = t->n_elements / (ne0 ? ne0 : 1);
    const size_t row = ll_row_size(type, ne0);
    if (row == 0)
        return ll_err(e, "quantize: tensor %.*s: row of %lld is not a multiple of the %s block",
                      (int)t->name.len, t->name.data, (long long)ne0, tr->name);
    uint64_t bytes;
    if (ll_mul_overflow(row, (uint64_t)nrows, &bytes) || bytes > SIZE_MAX)
        return ll_err(e, "quantize: tensor too large");
    void *dst = malloc(bytes ? bytes : 1);
    if (!dst) return ll_err(e, "quantize: out of memory");
    if (type == t->type) { /* same type: bytes as they are */
        memcpy(dst, t->data, bytes);
        *out = dst;
        return 0;
    }
    float *f = type == LL_TYPE_F32 ? dst : malloc(sizeof(float) * (size_t)t->n_elements);
    if (!f) { free(dst); return ll_err(e, "quantize: out of memory"); }
    if (gguf_tensor_to_float(t, f, e)) {
        if (f != dst) free(f);
        free(dst);
        return -1;
    }
    int rc = 0;
    if (f != dst) {
        rc = quantize_rows(f, dst, ne0, nrows, type, n_threads, e);
        free(f);
    }
    if (rc) { free(dst); return -1; }
    *out = dst;
    return 0;
}

int ll_quantize_file(const gguf_file *src, const char *dst, const ll_quantize_params *p,
                     ll_error *e) {
    gguf_writer *w = gguf_writer_new((uint32_t)src->alignment);
    if (!w) return ll_err(e, "quantize: out of memory");
    void **bufs = calloc(src->n_tensors ? src->n_tensors : 1, sizeof *bufs);
    int rc = -1;
    if (!bufs) { ll_err(e, "quantize: out of memory"); goto done; }
    if (gguf_writer_copy_metadata(w, src, e)) goto done;
    if (p->file_type >= 0 && gguf_writer_set_u32(w, "general.file_type", (uint32_t)p->file_type, e))
        goto done;
    for (uint64_t i = 0; i < src->n_tensors; i++) {
        const gguf_tensor *t = &src->tensors[i];
        if (convert_tensor(t, p->types[i], p->n_threads, &bufs[i], e)) goto done;
        char name[512];
        if (t->name.len >= sizeof name) { ll_err(e, "quantize: tensor name too long"); goto done; }
        memcpy(name, t->name.data, t->name.len);
        name[t->name.len] = '\0';
        if (gguf_writer_add_tensor(w, name, p->types[i], (int)t->n_dims, t->ne, bufs[i], e)) goto done;
    }
    rc = gguf_writer_write(w, dst, e);
done:
    gguf_writer_free(w);
    if (bufs)
        for (uint64_t i = 0; i < src->n_tensors; i++) free(bufs[i]);
    free(bufs);
    return rc;
}
