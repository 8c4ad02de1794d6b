/* GGUF reader: maps the file and validates every count, length and offset
 * before anything points into it. The parsed tables hold pointers into the
 * mapping; nothing of the data section is copied. */
#include "gguf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define GGUF_MAGIC "GGUF"

typedef struct cursor {
    const uint8_t *p, *end;
    ll_error *e;
    const char *what; /* context for messages */
} cursor;

static size_t remaining(const cursor *c) { return (size_t)(c->end - c->p); }

static int take(cursor *c, void *dst, size_t n) {
    if (remaining(c) < n)
        return ll_err(c->e, "gguf: file truncated while reading %s", c->what);
    memcpy(dst, c->p, n);
    c->p += n;
    return 0;
}

static int take_u32(cursor *c, uint32_t *v) { return take(c, v, 4); }
static int take_u64(cursor *c, uint64_t *v) { return take(c, v, 8); }

static int take_str(cursor *c, ll_str *s) {
    uint64_t len = 0;
    if (take_u64(c, &len)) return -1;
    if (len > remaining(c))
        return ll_err(c->e, "gguf: string length %llu in %s runs past the end of the file",
                      (unsigned long long)len, c->what);
    s->len = len;
    s->data = (const char *)c->p;
    c->p += len;
    return 0;
}

size_t gguf_vtype_size(gguf_vtype t) {
    switch (t) {
    case GGUF_UINT8: case GGUF_INT8: case GGUF_BOOL: return 1;
    case GGUF_UINT16: case GGUF_INT16: return 2;
    case GGUF_UINT32: case GGUF_INT32: case GGUF_FLOAT32: return 4;
    case GGUF_UINT64: case GGUF_INT64: case GGUF_FLOAT64: return 8;
    default: return 0;
    }
}

const char *gguf_vtype_name(gguf_vtype t) {
    static const char *names[] = {"uint8", "int8", "uint16", "int16", "uint32", "int32",
                                  "float32", "bool", "string", "array", "uint64", "int64",
                                  "float64"};
    return (unsigned)t < GGUF_VTYPE_COUNT ? names[t] : "unknown";
}

static void free_value(gguf_value *v) {
    if (v->type != GGUF_ARRAY) return;
    free(v->arr.strs);
    if (v->arr.items) {
        for (uint64_t i = 0; i < v->arr.n; i++) free_value(&v->arr.items[i]);
        free(v->arr.items);
    }
    v->arr.strs = NULL;
    v->arr.items = NULL;
}

/* Reads a scalar of type t from the cursor into v. */
static int read_scalar(cursor *c, gguf_vtype t, gguf_value *v) {
    v->type = t;
    uint8_t b[8] = {0};
    size_t n = gguf_vtype_size(t);
    if (take(c, b, n)) return -1;
    switch (t) {
    case GGUF_UINT8: v->u = b[0]; break;
    case GGUF_INT8: v->i = (int8_t)b[0]; break;
    case GGUF_BOOL:
        if (b[0] > 1) return ll_err(c->e, "gguf: bool value %u in %s is neither 0 nor 1", b[0], c->what);
        v->b = b[0] != 0;
        break;
    case GGUF_UINT16: { uint16_t x; memcpy(&x, b, 2); v->u = x; break; }
    case GGUF_INT16: { int16_t x; memcpy(&x, b, 2); v->i = x; break; }
    case GGUF_UINT32: { uint32_t x; memcpy(&x, b, 4); v->u = x; break; }
    case GGUF_INT32: { int32_t x; memcpy(&x, b, 4); v->i = x; break; }
    case GGUF_FLOAT32: { float x; memcpy(&x, b, 4); v->f = x; break; }
    case GGUF_UINT64: memcpy(&v->u, b, 8); break;
    case GGUF_INT64: memcpy(&v->i, b, 8); break;
    case GGUF_FLOAT64: memcpy(&v->f, b, 8); break;
    default: return ll_err(c->e, "gguf: bad scalar type in %s", c->what);
    }
    return 0;
}

static int read_value(cursor *c, gguf_vtype t, gguf_value *v, int depth);

static int read_array(cursor *c, gguf_value *v, int depth) {
    uint32_t et = 0;
    uint64_t n = 0;
    v->type = GGUF_ARRAY;
    v->arr.strs = NULL;
    v->arr.items = NULL;
    v->arr.raw = NULL;
    v->arr.n = 0;
    if (take_u32(c, &et) || take_u64(c, &n)) return -1;
    if (et >= GGUF_VTYPE_COUNT)
        return ll_err(c->e, "gguf: unknown array element type %u in %s", et, c->what);
    if (depth >= GGUF_MAX_DEPTH)
        return ll_err(c->e, "gguf: arrays nested deeper than %d in %s", GGUF_MAX_DEPTH, c->what);
    v->arr.type = (gguf_vtype)et;
    size_t es = gguf_vtype_size((gguf_vtype)et);
    if (es) {
        uint64_t bytes;
        if (ll_mul_overflow(n, es, &bytes) || bytes > remaining(c))
            return ll_err(c->e, "gguf: array of %llu %s in %s runs past the end of the file",
                          (unsigned long long)n, gguf_vtype_name((gguf_vtype)et), c->what);
        v->arr.n = n;
        v->arr.raw = c->p;
        if (et == GGUF_BOOL)
            for (uint64_t i = 0; i < n; i++)
                if (c->p[i] > 1) return ll_err(c->e, "gguf: bool array element not 0/1 in %s", c->what);
        c->p += bytes;
        return 0;
    }
    /* Each string or nested array takes at least 8 bytes: bound n by that
     * before allocating, so an absurd count cannot ask for terabytes. */
    if (n > remaining(c) / 8)
        return ll_err(c->e, "gguf: array count %llu in %s is larger than the file allows",
                      (unsigned long long)n, c->what);
    if (et == GGUF_STRING) {
        v->arr.strs = malloc((size_t)(n ? n : 1) * sizeof(ll_str));
        if (!v->arr.strs) return ll_err(c->e, "gguf: out of memory for %s", c->what);
        for (uint64_t i = 0; i < n; i++)
            if (take_str(c, &v->arr.strs[i])) return -1;
        v->arr.n = n;
        return 0;
    }
    v->arr.items = calloc((size_t)(n ? n : 1), sizeof(gguf_value));
    if (!v->arr.items) return ll_err(c->e, "gguf: out of memory for %s", c->what);
    for (uint64_t i = 0; i < n; i++) {
        v->arr.n = i + 1; /* so free_value releases what was read */
        if (read_value(c, GGUF_ARRAY, &v->arr.items[i], depth + 1)) return -1;
    }
    v->arr.n = n;
    return 0;
}

static int read_value(cursor *c, gguf_vtype t, gguf_value *v, int depth) {
    if (t == GGUF_STRING) {
        v->type = GGUF_STRING;
        return take_str(c, &v->s);
    }
    if (t == GGUF_ARRAY) return read_array(c, v, depth);
    if (t >= GGUF_VTYPE_COUNT) return ll_err(c->e, "gguf: unknown value type %u in %s", (unsigned)t, c->what);
    return read_scalar(c, t, v);
}

void gguf_close(gguf_file *g) {
    if (!g) return;
    if (g->kv) {
        for (uint64_t i = 0; i < g->n_kv; i++) free_value(&g->kv[i].value);
        free(g->kv);
    }
    free(g->tensors);
    if (g->owns_map && g->map) munmap((void *)g->map, g->map_size);
    if (g->fd >= 0) close(g->fd);
    free(g);
}

static bool str_eq(const ll_str *s, const char *z) {
    size_t n = strlen(z);
    return s->len == n && memcmp(s->data, z, n) == 0;
}

static bool str_eq2(const ll_str *a, const ll_str *b) {
    return a->len == b->len && memcmp(a->data, b->data, a->len) == 0;
}

/* Bounded printable copy of a name for messages. */
static const char *show(const ll_str *s, char *buf, size_t cap) {
    size_t n = s->len < cap - 1 ? s->len : cap - 1;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s->data[i];
        buf[i] = (ch >= 32 && ch < 127) ? (char)ch : '?';
    }
    buf[n] = 0;
    return buf;
}

typedef struct { uint64_t start, end; uint64_t idx; } span;

static int cmp_span(const void *a, const void *b) {
    const span *x = a, *y = b;
    return x->start < y->start ? -1 : x->start > y->start;
}

static int parse(gguf_file *g, ll_error *e) {
    cursor c = {g->map, g->map + g->map_size, e, "the header"};
    char magic[4];
    if (g->map_size < 4 || take(&c, magic, 4))
        return ll_err(e, "gguf: file too small to be GGUF (%zu bytes)", g->map_size);
    if (memcmp(magic, GGUF_MAGIC, 4) != 0) return ll_err(e, "gguf: not a GGUF file (bad magic)");
    if (take_u32(&c, &g->version)) return -1;
    if (g->version == 1) return ll_err(e, "gguf: version 1 files are not supported (v2 and v3 are)");
    if (g->version != 2 && g->version != 3) {
        uint32_t swapped = __builtin_bswap32(g->version);
        if (swapped == 2 || swapped == 3) return ll_err(e, "gguf: big-endian GGUF files are not supported");
        return ll_err(e, "gguf: unsupported version %u", g->version);
    }
    if (take_u64(&c, &g->n_tensors) || take_u64(&c, &g->n_kv)) return -1;
    /* A kv takes at least 8+4+1 bytes, a tensor info at least 8+4+8+4+8. */
    if (g->n_kv > remaining(&c) / 13)
        return ll_err(e, "gguf: metadata count %llu is larger than the file allows", (unsigned long long)g->n_kv);
    if (g->n_tensors > remaining(&c) / 32)
        return ll_err(e, "gguf: tensor count %llu is larger than the file allows", (unsigned long long)g->n_tensors);

    g->kv = calloc(g->n_kv ? g->n_kv : 1, sizeof(gguf_kv));
    g->tensors = calloc(g->n_tensors ? g->n_tensors : 1, sizeof(gguf_tensor));
    if (!g->kv || !g->tensors) return ll_err(e, "gguf: out of memory");

    char what[96], nb[64];
    uint64_t n_kv = g->n_kv;
    g->n_kv = 0; /* counts what is parsed, so gguf_close frees exactly that */
    for (uint64_t i = 0; i < n_kv; i++) {
        gguf_kv *kv = &g->kv[i];
        uint32_t t = 0;
        snprintf(what, sizeof what, "metadata key %llu", (unsigned long long)i);
        c.what = what;
        if (take_str(&c, &kv->key)) return -1;
        snprintf(what, sizeof what, "metadata '%s'", show(&kv->key, nb, sizeof nb));
        if (take_u32(&c, &t)) return -1;
        if (t >= GGUF_VTYPE_COUNT) return ll_err(e, "gguf: unknown value type %u for %s", t, what);
        kv->value.type = (gguf_vtype)t;
        g->n_kv = i + 1;
        if (read_value(&c, (gguf_vtype)t, &kv->value, 0)) return -1;
        for (uint64_t j = 0; j < i; j++)
            if (str_eq2(&g->kv[j].key, &kv->key)) return ll_err(e, "gguf: duplicate %s", what);
    }

    g->alignment = GGUF_DEFAULT_ALIGNMENT;
    const gguf_value *al = gguf_get(g, "general.alignment");
    if (al) {
        if (al->type != GGUF_UINT32 && al->type != GGUF_UINT64)
            return ll_err(e, "gguf: general.alignment must be an unsigned integer");
        if (al->u == 0 || (al->u & (al->u - 1)) || al->u > (1u << 20))
            return ll_err(e, "gguf: general.alignment %llu is not a power of two up to 1 MiB",
                          (unsigned long long)al->u);
        g->alignment = al->u;
    }

    for (uint64_t i = 0; i < g->n_tensors; i++) {
        gguf_tensor *t = &g->tensors[i];
        uint32_t type = 0;
        snprintf(what, sizeof what, "tensor info %llu", (unsigned long long)i);
        c.what = what;
        if (take_str(&c, &t->name)) return -1;
        snprintf(what, sizeof what, "tensor '%s'", show(&t->name, nb, sizeof nb));
        if (take_u32(&c, &t->n_dims)) return -1;
        if (t->n_dims == 0 || t->n_dims > GGUF_MAX_DIMS)
            return ll_err(e, "gguf: %s has %u dimensions (1 to %d allowed)", what, t->n_dims, GGUF_MAX_DIMS);
        uint64_t nel = 1;
        for (int d = 0; d < GGUF_MAX_DIMS; d++) t->ne[d] = 1;
        for (uint32_t d = 0; d < t->n_dims; d++) {
            uint64_t ne = 0;
            if (take_u64(&c, &ne)) return -1;
            if (ne == 0 || ne > (uint64_t)INT64_MAX)
                return ll_err(e, "gguf: %s has dimension %u of size %llu", what, d, (unsigned long long)ne);
            if (ll_mul_overflow(nel, ne, &nel) || nel > (uint64_t)INT64_MAX)
                return ll_err(e, "gguf: %s has too many elements (dimension product overflows)", what);
            t->ne[d] = (int64_t)ne;
        }
        t->n_elements = (int64_t)nel;
        if (take_u32(&c, &type) || take_u64(&c, &t->offset)) return -1;
        const ll_type_traits *tr = ll_type_get((int)type);
        if (!tr) return ll_err(e, "gguf: %s has unknown type id %u", what, type);
        t->type = (ll_type)type;
        if (t->ne[0] % tr->blck_size)
            return ll_err(e, "gguf: %s row of %lld is not a multiple of the %s block size %d",
                          what, (long long)t->ne[0], tr->name, tr->blck_size);
        uint64_t nbytes;
        if (ll_mul_overflow(nel / (uint64_t)tr->blck_size, tr->type_size, &nbytes))
            return ll_err(e, "gguf: %s byte size overflows", what);
        t->nbytes = nbytes;
        if (t->offset % g->alignment)
            return ll_err(e, "gguf: %s offset %llu is not aligned to %llu", what,
                          (unsigned long long)t->offset, (unsigned long long)g->alignment);
        for (uint64_t j = 0; j < i; j++)
            if (str_eq2(&g->tensors[j].name, &t->name)) return ll_err(e, "gguf: duplicate %s", what);
    }

    uint64_t hdr = (uint64_t)(c.p - g->map);
    g->data_offset = (hdr + g->alignment - 1) / g->alignment * g->alignment;
    if (g->n_tensors && g->data_offset > g->map_size)
        return ll_err(e, "gguf: file truncated before the data section");
    uint64_t data_size = g->map_size > g->data_offset ? g->map_size - g->data_offset : 0;

    span *sp = malloc((g->n_tensors ? g->n_tensors : 1) * sizeof(span));
    if (!sp) return ll_err(e, "gguf: out of memory");
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        gguf_tensor *t = &g->tensors[i];
        uint64_t end;
        if (ll_add_overflow(t->offset, t->nbytes, &end) || end > data_size) {
            free(sp);
            return ll_err(e, "gguf: tensor '%s' (%llu bytes at %llu) lies outside the data section of %llu bytes (truncated file?)",
                          show(&t->name, nb, sizeof nb), (unsigned long long)t->nbytes,
                          (unsigned long long)t->offset, (unsigned long long)data_size);
        }
        t->data = g->map + g->data_offset + t->offset;
        /* Kernels read blocks through typed pointers (fp16, float): a file
         * with a tiny general.alignment could place them misaligned. The
         * lowest set bit of the block size bounds the block's alignment. */
        size_t need = ll_type_get(t->type)->type_size;
        need = need & (~need + 1);
        if (need > 8) need = 8;
        if ((uintptr_t)t->data % need) {
            free(sp);
            return ll_err(e, "gguf: tensor '%s' data at file offset %llu is not aligned to %zu bytes for its type %s",
                          show(&t->name, nb, sizeof nb), (unsigned long long)(g->data_offset + t->offset),
                          need, ll_type_get(t->type)->name);
        }
        sp[i] = (span){t->offset, end, i};
    }
    qsort(sp, g->n_tensors, sizeof(span), cmp_span);
    for (uint64_t i = 1; i < g->n_tensors; i++) {
        if (sp[i].start < sp[i - 1].end) {
            char nb2[64];
            int r = ll_err(e, "gguf: tensors '%s' and '%s' overlap",
                           show(&g->tensors[sp[i - 1].idx].name, nb, sizeof nb),
                           show(&g->tensors[sp[i].idx].name, nb2, sizeof nb2));
            free(sp);
            return r;
        }
    }
    free(sp);
    return 0;
}

gguf_file *gguf_open_memory(const void *buf, size_t size, ll_error *e) {
    gguf_file *g = calloc(1, sizeof *g);
    if (!g) { ll_err(e, "gguf: out of memory"); return NULL; }
    g->fd = -1;
    g->map = buf;
    g->map_size = size;
    g->file_size = size;
    if (parse(g, e)) { gguf_close(g); return NULL; }
    return g;
}

gguf_file *gguf_open(const char *path, ll_error *e) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) { ll_err(e, "gguf: cannot open %s: %s", path, strerror(errno)); return NULL; }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ll_err(e, "gguf: %s is not a regular file", path);
        close(fd);
        return NULL;
    }
    gguf_file *g = calloc(1, sizeof *g);
    if (!g) { close(fd); ll_err(e, "gguf: out of memory"); return NULL; }
    g->fd = fd;
    g->file_size = (uint64_t)st.st_size;
    g->map_size = (size_t)st.st_size;
    if (g->map_size == 0) {
        ll_err(e, "gguf: %s is empty", path);
        gguf_close(g);
        return NULL;
    }
    void *m = mmap(NULL, g->map_size, PROT_READ, MAP_SHARED, fd, 0);
    if (m == MAP_FAILED) {
        ll_err(e, "gguf: cannot map %s: %s", path, strerror(errno));
        gguf_close(g);
        return NULL;
    }
    g->map = m;
    g->owns_map = true;
    if (parse(g, e)) {
        /* prefix the path so the user knows which file */
        if (e) {
            char msg[sizeof e->msg];
            memcpy(msg, e->msg, sizeof msg);
            ll_err(e, "%.200s: %.300s", path, msg);
        }
        gguf_close(g);
        return NULL;
    }
    return g;
}

const gguf_value *gguf_get(const gguf_file *g, const char *key) {
    for (uint64_t i = 0; i < g->n_kv; i++)
        if (str_eq(&g->kv[i].key, key)) return &g->kv[i].value;
    return NULL;
}

int64_t gguf_find_tensor(const gguf_file *g, const char *name) {
    for (uint64_t i = 0; i < g->n_tensors; i++)
        if (str_eq(&g->tensors[i].name, name)) return (int64_t)i;
    return -1;
}

const gguf_tensor *gguf_tensor_by_name(const gguf_file *g, const char *name) {
    int64_t i = gguf_find_tensor(g, name);
    return i < 0 ? NULL : &g->tensors[i];
}

static bool is_uint(gguf_vtype t) {
    return t == GGUF_UINT8 || t == GGUF_UINT16 || t == GGUF_UINT32 || t == GGUF_UINT64;
}
static bool is_int(gguf_vtype t) {
    return t == GGUF_INT8 || t == GGUF_INT16 || t == GGUF_INT32 || t == GGUF_INT64;
}

bool gguf_get_i64(const gguf_file *g, const char *key, int64_t *out) {
    const gguf_value *v = gguf_get(g, key);
    if (!v) return false;
    if (is_uint(v->type)) { if (v->u > (uint64_t)INT64_MAX) return false; *out = (int64_t)v->u; return true; }
    if (is_int(v->type)) { *out = v->i; return true; }
    if (v->type == GGUF_BOOL) { *out = v->b; return true; }
    return false;
}

bool gguf_get_u64(const gguf_file *g, const char *key, uint64_t *out) {
    int64_t x;
    if (!gguf_get_i64(g, key, &x) || x < 0) return false;
    *out = (uint64_t)x;
    return true;
}

bool gguf_get_f64(const gguf_file *g, const char *key, double *out) {
    const gguf_value *v = gguf_get(g, key);
    if (!v) return false;
    if (v->type == GGUF_FLOAT32 || v->type == GGUF_FLOAT64) { *out = v->f; return true; }
    int64_t x;
    if (gguf_get_i64(g, key, &x)) { *out = (double)x; return true; }
    return false;
}

bool gguf_get_bool(const gguf_file *g, const char *key, bool *out) {
    const gguf_value *v = gguf_get(g, key);
    if (!v || v->type != GGUF_BOOL) return false;
    *out = v->b;
    return true;
}

const ll_str *gguf_get_str(const gguf_file *g, const char *key) {
    const gguf_value *v = gguf_get(g, key);
    return v && v->type == GGUF_STRING ? &v->s : NULL;
}

/* Saturating: a float element may hold NaN or a value no int64 can (the
 * plain cast would be undefined behaviour). */
static int64_t f64_to_i64(double x) {
    if (x != x) return 0;
    if (x >= 9223372036854775808.0) return INT64_MAX;
    if (x < -9223372036854775808.0) return INT64_MIN;
    return (int64_t)x;
}

int64_t gguf_arr_i64(const gguf_value *v, uint64_t i) {
    const uint8_t *p = v->arr.raw + i * gguf_vtype_size(v->arr.type);
    switch (v->arr.type) {
    case GGUF_UINT8: case GGUF_BOOL: return p[0];
    case GGUF_INT8: return (int8_t)p[0];
    case GGUF_UINT16: { uint16_t x; memcpy(&x, p, 2); return x; }
    case GGUF_INT16: { int16_t x; memcpy(&x, p, 2); return x; }
    case GGUF_UINT32: { uint32_t x; memcpy(&x, p, 4); return x; }
    case GGUF_INT32: { int32_t x; memcpy(&x, p, 4); return x; }
    case GGUF_UINT64: { uint64_t x; memcpy(&x, p, 8); return (int64_t)x; }
    case GGUF_INT64: { int64_t x; memcpy(&x, p, 8); return x; }
    case GGUF_FLOAT32: { float x; memcpy(&x, p, 4); return f64_to_i64(x); }
    case GGUF_FLOAT64: { double x; memcpy(&x, p, 8); return f64_to_i64(x); }
    default: return 0;
    }
}

double gguf_arr_f64(const gguf_value *v, uint64_t i) {
    const uint8_t *p = v->arr.raw + i * gguf_vtype_size(v->arr.type);
    if (v->arr.type == GGUF_FLOAT32) { float x; memcpy(&x, p, 4); return x; }
    if (v->arr.type == GGUF_FLOAT64) { double x; memcpy(&x, p, 8); return x; }
    return (double)gguf_arr_i64(v, i);
}

int gguf_tensor_to_float(const gguf_tensor *t, float *dst, ll_error *e) {
    const ll_type_traits *tr = ll_type_get(t->type);
    if (!tr || !tr->to_float)
        return ll_err(e, "gguf: tensor type %s cannot be dequantized (unsupported)", tr ? tr->name : "?");
    tr->to_float(t->data, dst, t->n_elements);
    return 0;
}
