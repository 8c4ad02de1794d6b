/* GGUF writer: a builder that owns deep copies of metadata values and
 * references tensor data, then writes the whole file (v3) to a temporary name
 * in the target directory, fsyncs and renames it, so a reader never sees a
 * half-written file and a failure leaves nothing behind. */
#include "gguf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define GGUF_WRITE_VERSION 3
#define GGUF_MAX_ALIGNMENT (1u << 20)
#define GGUF_MAX_KEY 65535

typedef struct wkv {
    char *key;
    gguf_value v; /* every pointer inside is owned by the writer */
} wkv;

typedef struct wtensor {
    char *name;
    ll_type type;
    uint32_t n_dims;
    int64_t ne[GGUF_MAX_DIMS];
    const void *data; /* borrowed until gguf_writer_write returns */
    uint64_t nbytes;
    gguf_writer_fill_fn fill; /* or bytes produced on demand (owned ud) */
    void *ud;
    void (*free_ud)(void *);
} wtensor;

struct gguf_writer {
    uint32_t alignment;
    wkv *kv;
    size_t n_kv, cap_kv;
    wtensor *t;
    size_t n_t, cap_t;
    bool sparse; /* tensors may lack data: their bytes are left as a hole */
};

static bool valid_alignment(uint64_t a) {
    return a != 0 && (a & (a - 1)) == 0 && a <= GGUF_MAX_ALIGNMENT;
}

gguf_writer *gguf_writer_new(uint32_t alignment) {
    if (alignment == 0) alignment = GGUF_DEFAULT_ALIGNMENT;
    if (!valid_alignment(alignment)) return NULL;
    gguf_writer *w = calloc(1, sizeof *w);
    if (w) w->alignment = alignment;
    return w;
}

void gguf_writer_set_sparse(gguf_writer *w, bool sparse) { w->sparse = sparse; }
bool gguf_writer_sparse(const gguf_writer *w) { return w->sparse; }

uint32_t gguf_writer_alignment(const gguf_writer *w) { return w->alignment; }

/* ---- owned values ---- */

static void free_owned(gguf_value *v) {
    if (v->type == GGUF_STRING) {
        free((void *)v->s.data);
        v->s.data = NULL;
    } else if (v->type == GGUF_ARRAY) {
        free((void *)v->arr.raw);
        if (v->arr.strs)
            for (uint64_t i = 0; i < v->arr.n; i++) free((void *)v->arr.strs[i].data);
        free(v->arr.strs);
        if (v->arr.items)
            for (uint64_t i = 0; i < v->arr.n; i++) free_owned(&v->arr.items[i]);
        free(v->arr.items);
        v->arr.raw = NULL;
        v->arr.strs = NULL;
        v->arr.items = NULL;
    }
}

static int dup_str(ll_str *dst, const ll_str *src, ll_error *e) {
    if (src->len && !src->data) return ll_err(e, "gguf writer: string without data");
    if (src->len >= SIZE_MAX) return ll_err(e, "gguf writer: string too long");
    char *p = malloc((size_t)src->len + 1);
    if (!p) return ll_err(e, "gguf writer: out of memory copying a string");
    if (src->len) memcpy(p, src->data, (size_t)src->len);
    p[src->len] = 0;
    dst->data = p;
    dst->len = src->len;
    return 0;
}

static int check_scalar(const gguf_value *v, const char *key, ll_error *e) {
    uint64_t umax = 0;
    int64_t imin = 0, imax = 0;
    switch (v->type) {
    case GGUF_UINT8: umax = UINT8_MAX; break;
    case GGUF_UINT16: umax = UINT16_MAX; break;
    case GGUF_UINT32: umax = UINT32_MAX; break;
    case GGUF_INT8: imin = INT8_MIN; imax = INT8_MAX; break;
    case GGUF_INT16: imin = INT16_MIN; imax = INT16_MAX; break;
    case GGUF_INT32: imin = INT32_MIN; imax = INT32_MAX; break;
    default: return 0;
    }
    if (umax && v->u > umax)
        return ll_err(e, "gguf writer: value %llu of '%s' does not fit %s",
                      (unsigned long long)v->u, key, gguf_vtype_name(v->type));
    if (imax && (v->i < imin || v->i > imax))
        return ll_err(e, "gguf writer: value %lld of '%s' does not fit %s",
                      (long long)v->i, key, gguf_vtype_name(v->type));
    return 0;
}

/* dst = deep copy of src; on failure dst holds what was copied so far and
 * free_owned releases it. */
static int copy_value(gguf_value *dst, const gguf_value *src, int depth, const char *key, ll_error *e) {
    memset(dst, 0, sizeof *dst);
    if ((unsigned)src->type >= GGUF_VTYPE_COUNT)
        return ll_err(e, "gguf writer: unknown value type %u for '%s'", (unsigned)src->type, key);
    dst->type = src->type;
    if (src->type == GGUF_STRING) return dup_str(&dst->s, &src->s, e);
    if (src->type != GGUF_ARRAY) {
        *dst = *src;
        return check_scalar(src, key, e);
    }
    if (depth >= GGUF_MAX_DEPTH)
        return ll_err(e, "gguf writer: arrays in '%s' nested deeper than %d", key, GGUF_MAX_DEPTH);
    gguf_vtype et = src->arr.type;
    if ((unsigned)et >= GGUF_VTYPE_COUNT)
        return ll_err(e, "gguf writer: unknown array element type %u for '%s'", (unsigned)et, key);
    dst->arr.type = et;
    uint64_t n = src->arr.n;
    size_t es = gguf_vtype_size(et);
    if (es) {
        uint64_t bytes;
        if (ll_mul_overflow(n, es, &bytes) || bytes >= SIZE_MAX)
            return ll_err(e, "gguf writer: array '%s' too large", key);
        if (n && !src->arr.raw) return ll_err(e, "gguf writer: array '%s' without data", key);
        uint8_t *raw = malloc(bytes ? (size_t)bytes : 1);
        if (!raw) return ll_err(e, "gguf writer: out of memory copying '%s'", key);
        if (bytes) memcpy(raw, src->arr.raw, (size_t)bytes);
        dst->arr.raw = raw;
        dst->arr.n = n;
        if (et == GGUF_BOOL)
            for (uint64_t i = 0; i < n; i++)
                if (raw[i] > 1) return ll_err(e, "gguf writer: bool array '%s' holds a value other than 0/1", key);
        return 0;
    }
    if (n > SIZE_MAX / sizeof(gguf_value)) return ll_err(e, "gguf writer: array '%s' too large", key);
    if (n && !(et == GGUF_STRING ? (const void *)src->arr.strs : (const void *)src->arr.items))
        return ll_err(e, "gguf writer: array '%s' without elements", key);
    if (et == GGUF_STRING) {
        dst->arr.strs = calloc(n ? (size_t)n : 1, sizeof(ll_str));
        if (!dst->arr.strs) return ll_err(e, "gguf writer: out of memory copying '%s'", key);
        for (uint64_t i = 0; i < n; i++) {
            dst->arr.n = i + 1;
            if (dup_str(&dst->arr.strs[i], &src->arr.strs[i], e)) return -1;
        }
        dst->arr.n = n;
        return 0;
    }
    dst->arr.items = calloc(n ? (size_t)n : 1, sizeof(gguf_value));
    if (!dst->arr.items) return ll_err(e, "gguf writer: out of memory copying '%s'", key);
    for (uint64_t i = 0; i < n; i++) {
        dst->arr.n = i + 1;
        if (src->arr.items[i].type != GGUF_ARRAY)
            return ll_err(e, "gguf writer: array of arrays '%s' holds a %s", key,
                          gguf_vtype_name(src->arr.items[i].type));
        if (copy_value(&dst->arr.items[i], &src->arr.items[i], depth + 1, key, e)) return -1;
    }
    dst->arr.n = n;
    return 0;
}

void gguf_writer_free(gguf_writer *w) {
    if (!w) return;
    for (size_t i = 0; i < w->n_kv; i++) {
        free(w->kv[i].key);
        free_owned(&w->kv[i].v);
    }
    free(w->kv);
    for (size_t i = 0; i < w->n_t; i++) {
        free(w->t[i].name);
        if (w->t[i].free_ud) w->t[i].free_ud(w->t[i].ud);
    }
    free(w->t);
    free(w);
}

static wkv *find_kv(gguf_writer *w, const char *key) {
    for (size_t i = 0; i < w->n_kv; i++)
        if (strcmp(w->kv[i].key, key) == 0) return &w->kv[i];
    return NULL;
}

bool gguf_writer_remove(gguf_writer *w, const char *key) {
    wkv *kv = find_kv(w, key);
    if (!kv) return false;
    size_t i = (size_t)(kv - w->kv);
    free(kv->key);
    free_owned(&kv->v);
    memmove(&w->kv[i], &w->kv[i + 1], (w->n_kv - i - 1) * sizeof(wkv));
    w->n_kv--;
    return true;
}

static int grow(void **arr, size_t *cap, size_t n, size_t elem) {
    if (n < *cap) return 0;
    size_t nc = *cap ? *cap * 2 : 16;
    void *p = realloc(*arr, nc * elem);
    if (!p) return -1;
    *arr = p;
    *cap = nc;
    return 0;
}

int gguf_writer_set(gguf_writer *w, const char *key, const gguf_value *v, ll_error *e) {
    size_t klen = key ? strlen(key) : 0;
    if (klen == 0 || klen > GGUF_MAX_KEY)
        return ll_err(e, "gguf writer: metadata key must be 1 to %d bytes", GGUF_MAX_KEY);
    if (strcmp(key, "general.alignment") == 0) {
        /* The layout key: it sets the writer's alignment. */
        if (v->type != GGUF_UINT32 || !valid_alignment(v->u))
            return ll_err(e, "gguf writer: general.alignment must be a uint32 power of two up to 1 MiB");
    }
    gguf_value copy;
    if (copy_value(&copy, v, 0, key, e)) {
        free_owned(&copy);
        return -1;
    }
    wkv *kv = find_kv(w, key);
    if (kv) {
        free_owned(&kv->v);
        kv->v = copy;
    } else {
        char *k = strdup(key);
        if (!k || grow((void **)&w->kv, &w->cap_kv, w->n_kv, sizeof(wkv))) {
            free(k);
            free_owned(&copy);
            return ll_err(e, "gguf writer: out of memory");
        }
        w->kv[w->n_kv++] = (wkv){k, copy};
    }
    if (strcmp(key, "general.alignment") == 0) w->alignment = (uint32_t)v->u;
    return 0;
}

int gguf_writer_set_str(gguf_writer *w, const char *key, const char *s, ll_error *e) {
    gguf_value v = {.type = GGUF_STRING};
    v.s.data = s;
    v.s.len = s ? strlen(s) : 0;
    return gguf_writer_set(w, key, &v, e);
}

int gguf_writer_set_u32(gguf_writer *w, const char *key, uint32_t x, ll_error *e) {
    gguf_value v = {.type = GGUF_UINT32};
    v.u = x;
    return gguf_writer_set(w, key, &v, e);
}

int gguf_writer_set_f32(gguf_writer *w, const char *key, float x, ll_error *e) {
    gguf_value v = {.type = GGUF_FLOAT32};
    v.f = x;
    return gguf_writer_set(w, key, &v, e);
}

int gguf_writer_copy_metadata(gguf_writer *w, const gguf_file *g, ll_error *e) {
    for (uint64_t i = 0; i < g->n_kv; i++) {
        const gguf_kv *kv = &g->kv[i];
        if (kv->key.len == 0 || kv->key.len > GGUF_MAX_KEY || memchr(kv->key.data, 0, kv->key.len))
            return ll_err(e, "gguf writer: metadata key %llu cannot be copied (empty, too long or holds NUL)",
                          (unsigned long long)i);
        char key[GGUF_MAX_KEY + 1];
        memcpy(key, kv->key.data, kv->key.len);
        key[kv->key.len] = 0;
        if (strcmp(key, "general.alignment") == 0) continue;
        if (gguf_writer_set(w, key, &kv->value, e)) return -1;
    }
    return 0;
}

static int add_tensor(gguf_writer *w, const char *name, ll_type type, int n_dims,
                      const int64_t *ne, const void *data, gguf_writer_fill_fn fill, ll_error *e) {
    size_t nlen = name ? strlen(name) : 0;
    if (nlen == 0 || nlen > GGUF_MAX_KEY) return ll_err(e, "gguf writer: tensor name must be 1 to %d bytes", GGUF_MAX_KEY);
    const ll_type_traits *tr = ll_type_get((int)type);
    if (!tr || !tr->blck_size || !tr->type_size)
        return ll_err(e, "gguf writer: tensor '%s' has unknown type id %d", name, (int)type);
    if (n_dims < 1 || n_dims > GGUF_MAX_DIMS)
        return ll_err(e, "gguf writer: tensor '%s' has %d dimensions (1 to %d allowed)", name, n_dims, GGUF_MAX_DIMS);
    wtensor t = {.type = type, .n_dims = (uint32_t)n_dims, .data = data};
    uint64_t nel = 1;
    for (int d = 0; d < GGUF_MAX_DIMS; d++) t.ne[d] = 1;
    for (int d = 0; d < n_dims; d++) {
        if (ne[d] < 1) return ll_err(e, "gguf writer: tensor '%s' has dimension %d of size %lld", name, d, (long long)ne[d]);
        if (ll_mul_overflow(nel, (uint64_t)ne[d], &nel) || nel > (uint64_t)INT64_MAX)
            return ll_err(e, "gguf writer: tensor '%s' has too many elements", name);
        t.ne[d] = ne[d];
    }
    if (t.ne[0] % tr->blck_size)
        return ll_err(e, "gguf writer: tensor '%s' row of %lld is not a multiple of the %s block size %d",
                      name, (long long)t.ne[0], tr->name, tr->blck_size);
    if (ll_mul_overflow(nel / (uint64_t)tr->blck_size, tr->type_size, &t.nbytes))
        return ll_err(e, "gguf writer: tensor '%s' byte size overflows", name);
    if (!data && !fill && !w->sparse) return ll_err(e, "gguf writer: tensor '%s' has no data", name);
    t.fill = fill;
    for (size_t i = 0; i < w->n_t; i++)
        if (strcmp(w->t[i].name, name) == 0) return ll_err(e, "gguf writer: duplicate tensor '%s'", name);
    t.name = strdup(name);
    if (!t.name || grow((void **)&w->t, &w->cap_t, w->n_t, sizeof(wtensor))) {
        free(t.name);
        return ll_err(e, "gguf writer: out of memory");
    }
    w->t[w->n_t++] = t;
    return 0;
}

int gguf_writer_add_tensor(gguf_writer *w, const char *name, ll_type type,
                           int n_dims, const int64_t *ne, const void *data, ll_error *e) {
    return add_tensor(w, name, type, n_dims, ne, data, NULL, e);
}

int gguf_writer_add_tensor_fill(gguf_writer *w, const char *name, ll_type type, int n_dims,
                                const int64_t *ne, gguf_writer_fill_fn fill, void *ud,
                                void (*free_ud)(void *), ll_error *e) {
    if (!fill || add_tensor(w, name, type, n_dims, ne, NULL, fill, e)) {
        if (free_ud) free_ud(ud);
        return fill ? -1 : ll_err(e, "gguf writer: tensor '%s' has no fill function", name ? name : "");
    }
    w->t[w->n_t - 1].ud = ud;
    w->t[w->n_t - 1].free_ud = free_ud;
    return 0;
}

/* ---- serialization ---- */

typedef struct buf {
    uint8_t *p;
    size_t n, cap;
    bool oom;
} buf;

static void put(buf *b, const void *src, size_t n) {
    if (b->oom) return;
    if (b->n + n > b->cap) {
        size_t nc = b->cap ? b->cap : 4096;
        while (nc < b->n + n) nc *= 2;
        uint8_t *p = realloc(b->p, nc);
        if (!p) { b->oom = true; return; }
        b->p = p;
        b->cap = nc;
    }
    memcpy(b->p + b->n, src, n);
    b->n += n;
}

static void put_u32(buf *b, uint32_t x) { put(b, &x, 4); }
static void put_u64(buf *b, uint64_t x) { put(b, &x, 8); }
static void put_str(buf *b, const char *s, uint64_t len) {
    put_u64(b, len);
    put(b, s, (size_t)len);
}

static void put_scalar(buf *b, const gguf_value *v) {
    switch (v->type) {
    case GGUF_UINT8: { uint8_t x = (uint8_t)v->u; put(b, &x, 1); break; }
    case GGUF_INT8: { int8_t x = (int8_t)v->i; put(b, &x, 1); break; }
    case GGUF_UINT16: { uint16_t x = (uint16_t)v->u; put(b, &x, 2); break; }
    case GGUF_INT16: { int16_t x = (int16_t)v->i; put(b, &x, 2); break; }
    case GGUF_UINT32: { uint32_t x = (uint32_t)v->u; put(b, &x, 4); break; }
    case GGUF_INT32: { int32_t x = (int32_t)v->i; put(b, &x, 4); break; }
    case GGUF_FLOAT32: { float x = (float)v->f; put(b, &x, 4); break; }
    case GGUF_BOOL: { uint8_t x = v->b ? 1 : 0; put(b, &x, 1); break; }
    case GGUF_UINT64: put(b, &v->u, 8); break;
    case GGUF_INT64: put(b, &v->i, 8); break;
    case GGUF_FLOAT64: put(b, &v->f, 8); break;
    default: break;
    }
}

/* The value without its type tag (arrays of arrays store elements so). */
static void put_value(buf *b, const gguf_value *v) {
    if (v->type == GGUF_STRING) {
        put_str(b, v->s.data, v->s.len);
    } else if (v->type == GGUF_ARRAY) {
        put_u32(b, (uint32_t)v->arr.type);
        put_u64(b, v->arr.n);
        size_t es = gguf_vtype_size(v->arr.type);
        if (es) put(b, v->arr.raw, (size_t)v->arr.n * es);
        else if (v->arr.type == GGUF_STRING)
            for (uint64_t i = 0; i < v->arr.n; i++) put_str(b, v->arr.strs[i].data, v->arr.strs[i].len);
        else
            for (uint64_t i = 0; i < v->arr.n; i++) put_value(b, &v->arr.items[i]);
    } else {
        put_scalar(b, v);
    }
}

static uint64_t align_up(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

static int write_all(int fd, const void *p, size_t n) {
    const uint8_t *s = p;
    while (n) {
        ssize_t k = write(fd, s, n < (1u << 30) ? n : (1u << 30));
        if (k < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        s += k;
        n -= (size_t)k;
    }
    return 0;
}

#define FILL_CHUNK ((size_t)8 << 20)

/* Streams a fill tensor through buf (FILL_CHUNK bytes, at least one row). */
static int write_filled(int fd, const wtensor *t, uint8_t **buf, size_t *cap, ll_error *e) {
    const int64_t rows = t->ne[1] * t->ne[2] * t->ne[3]; /* unused dimensions are 1 */
    const size_t row_bytes = rows ? (size_t)(t->nbytes / (uint64_t)rows) : 0;
    int64_t step = row_bytes ? (int64_t)(FILL_CHUNK / row_bytes) : 1;
    if (step < 1) step = 1;
    if (step > rows) step = rows;
    const size_t need = (size_t)step * row_bytes;
    if (need > *cap) {
        uint8_t *p = realloc(*buf, need);
        if (!p) return ll_err(e, "gguf writer: out of memory for tensor '%s'", t->name);
        *buf = p;
        *cap = need;
    }
    for (int64_t r = 0; r < rows; r += step) {
        const int64_t n = rows - r < step ? rows - r : step;
        if (t->fill(t->ud, r, n, *buf, e)) return -1;
        if (write_all(fd, *buf, (size_t)n * row_bytes))
            return ll_err(e, "gguf writer: writing tensor '%s' failed: %s", t->name, strerror(errno));
    }
    return 0;
}

static int write_zeros(int fd, uint64_t n) {
    static const uint8_t zeros[4096];
    while (n) {
        size_t k = n < sizeof zeros ? (size_t)n : sizeof zeros;
        if (write_all(fd, zeros, k)) return -1;
        n -= k;
    }
    return 0;
}

/* Builds the header (everything before the data section, padded) and the
 * tensor offsets; *data_size is the padded size of the data section. */
static int build_header(gguf_writer *w, buf *b, uint64_t *offsets, uint64_t *data_size, ll_error *e) {
    uint64_t a = w->alignment, off = 0;
    for (size_t i = 0; i < w->n_t; i++) {
        offsets[i] = off;
        if (ll_add_overflow(off, w->t[i].nbytes, &off) || off > UINT64_MAX - a)
            return ll_err(e, "gguf writer: data section too large");
        off = align_up(off, a);
    }
    *data_size = off;
    put(b, "GGUF", 4);
    put_u32(b, GGUF_WRITE_VERSION);
    put_u64(b, w->n_t);
    put_u64(b, w->n_kv);
    for (size_t i = 0; i < w->n_kv; i++) {
        put_str(b, w->kv[i].key, strlen(w->kv[i].key));
        put_u32(b, (uint32_t)w->kv[i].v.type);
        put_value(b, &w->kv[i].v);
    }
    for (size_t i = 0; i < w->n_t; i++) {
        const wtensor *t = &w->t[i];
        put_str(b, t->name, strlen(t->name));
        put_u32(b, t->n_dims);
        for (uint32_t d = 0; d < t->n_dims; d++) put_u64(b, (uint64_t)t->ne[d]);
        put_u32(b, (uint32_t)t->type);
        put_u64(b, offsets[i]);
    }
    size_t pad = (size_t)(align_up(b->n, a) - b->n);
    while (pad--) put(b, "", 1);
    if (b->oom) return ll_err(e, "gguf writer: out of memory building the header");
    return 0;
}

int gguf_writer_write(gguf_writer *w, const char *path, ll_error *e) {
    if (!path || !*path) return ll_err(e, "gguf writer: empty output path");
    /* Readers find a non-default alignment only through this key. */
    if (w->alignment != GGUF_DEFAULT_ALIGNMENT || find_kv(w, "general.alignment"))
        if (gguf_writer_set_u32(w, "general.alignment", w->alignment, e)) return -1;

    uint64_t *offsets = malloc((w->n_t ? w->n_t : 1) * sizeof(uint64_t));
    buf b = {0};
    char *tmp = NULL;
    int fd = -1, rc = -1;
    uint64_t data_size = 0;
    uint8_t *fbuf = NULL; /* chunk buffer of fill tensors */
    size_t fcap = 0;
    if (!offsets) { ll_err(e, "gguf writer: out of memory"); goto done; }
    if (build_header(w, &b, offsets, &data_size, e)) goto done;

    size_t plen = strlen(path);
    tmp = malloc(plen + sizeof ".tmp-XXXXXX");
    if (!tmp) { ll_err(e, "gguf writer: out of memory"); goto done; }
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp-XXXXXX", sizeof ".tmp-XXXXXX");
    fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        ll_err(e, "gguf writer: cannot create a temporary file for %s: %s", path, strerror(errno));
        free(tmp);
        tmp = NULL; /* nothing to remove */
        goto done;
    }
    /* mkstemp makes the file private; a model file is ordinary data. */
    if (fchmod(fd, 0644) != 0) { ll_err(e, "gguf writer: chmod %s: %s", tmp, strerror(errno)); goto done; }
    if (write_all(fd, b.p, b.n)) goto io_error;
    uint64_t pos = 0;
    for (size_t i = 0; i < w->n_t; i++) {
        if (write_zeros(fd, offsets[i] - pos)) goto io_error;
        if (w->t[i].fill) {
            if (write_filled(fd, &w->t[i], &fbuf, &fcap, e)) goto done;
        } else if (!w->t[i].data) {
            if (lseek(fd, (off_t)w->t[i].nbytes, SEEK_CUR) < 0) goto io_error;
        } else if (write_all(fd, w->t[i].data, (size_t)w->t[i].nbytes)) goto io_error;
        pos = offsets[i] + w->t[i].nbytes;
    }
    if (write_zeros(fd, data_size - pos)) goto io_error;
    /* a skipped last tensor leaves the file short of its hole */
    if (w->sparse && ftruncate(fd, (off_t)(b.n + data_size)) != 0) goto io_error;
    if (fsync(fd) != 0) goto io_error;
    if (close(fd) != 0) { fd = -1; goto io_error; }
    fd = -1;
    if (rename(tmp, path) != 0) {
        ll_err(e, "gguf writer: cannot rename onto %s: %s", path, strerror(errno));
        goto done;
    }
    free(tmp);
    tmp = NULL;
    /* Make the rename itself durable (best effort: some filesystems refuse). */
    {
        char *dir = strdup(path);
        if (dir) {
            char *slash = strrchr(dir, '/');
            const char *d = slash ? (slash == dir ? "/" : (*slash = 0, dir)) : ".";
            int dfd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (dfd >= 0) { (void)fsync(dfd); close(dfd); }
            free(dir);
        }
    }
    rc = 0;
    goto done;

io_error:
    ll_err(e, "gguf writer: writing %s failed: %s", tmp, strerror(errno));
done:
    if (fd >= 0) close(fd);
    if (tmp) { unlink(tmp); free(tmp); }
    free(b.p);
    free(fbuf);
    free(offsets);
    return rc;
}
