/* GGUF v2/v3 reader (mmap, zero-copy) and writer (temporary file + rename).
 *
 * File layout: magic "GGUF", u32 version, u64 n_tensors, u64 n_kv,
 * n_kv x (string key, u32 type, value), n_tensors x (string name, u32 n_dims,
 * n_dims x u64 ne, u32 type, u64 offset), padding to `general.alignment`
 * (default 32), then the data section. Strings are u64 length + bytes. */
#ifndef LL_GGUF_H
#define LL_GGUF_H

#include "ll_common.h"
#include "quants.h"

typedef enum gguf_vtype {
    GGUF_UINT8 = 0, GGUF_INT8 = 1, GGUF_UINT16 = 2, GGUF_INT16 = 3,
    GGUF_UINT32 = 4, GGUF_INT32 = 5, GGUF_FLOAT32 = 6, GGUF_BOOL = 7,
    GGUF_STRING = 8, GGUF_ARRAY = 9, GGUF_UINT64 = 10, GGUF_INT64 = 11,
    GGUF_FLOAT64 = 12, GGUF_VTYPE_COUNT
} gguf_vtype;

/* A string inside the mapped file: not NUL-terminated. */
typedef struct ll_str {
    uint64_t len;
    const char *data;
} ll_str;

typedef struct gguf_value gguf_value;
struct gguf_value {
    gguf_vtype type;
    union {
        uint64_t u;   /* UINT8..UINT64 */
        int64_t i;    /* INT8..INT64 */
        double f;     /* FLOAT32, FLOAT64 */
        bool b;
        ll_str s;
        struct {
            gguf_vtype type;    /* element type */
            uint64_t n;
            const uint8_t *raw; /* fixed-size elements, in the file (unaligned) */
            ll_str *strs;       /* STRING elements (owned array) */
            gguf_value *items;  /* ARRAY elements (owned array) */
        } arr;
    };
};

typedef struct gguf_kv {
    ll_str key;
    gguf_value value;
} gguf_kv;

#define GGUF_MAX_DIMS 4
#define GGUF_DEFAULT_ALIGNMENT 32
/* Nested arrays deeper than this are rejected (real files use depth 1). */
#define GGUF_MAX_DEPTH 8

typedef struct gguf_tensor {
    ll_str name;
    uint32_t n_dims;
    int64_t ne[GGUF_MAX_DIMS]; /* ne[0] fastest; unused dims are 1 */
    ll_type type;
    uint64_t offset;           /* relative to the data section */
    uint64_t nbytes;
    int64_t n_elements;
    const void *data;          /* in the mapping */
} gguf_tensor;

typedef struct gguf_file {
    uint32_t version;
    uint64_t n_kv, n_tensors;
    gguf_kv *kv;
    gguf_tensor *tensors;
    uint64_t alignment;
    uint64_t data_offset;      /* start of the data section in the file */
    uint64_t file_size;
    const uint8_t *map;        /* whole file */
    size_t map_size;
    int fd;
    bool owns_map;
} gguf_file;

/* Opens and validates path; NULL with e set on any problem. */
gguf_file *gguf_open(const char *path, ll_error *e);
/* Validates an in-memory image (used by the fuzzer); buf must outlive the
 * result and be 8-byte aligned (tensor data is checked for its type's alignment). */
gguf_file *gguf_open_memory(const void *buf, size_t size, ll_error *e);
void gguf_close(gguf_file *g);

/* Lookups; NULL / -1 when absent. Keys are compared as byte strings. */
const gguf_value *gguf_get(const gguf_file *g, const char *key);
int64_t gguf_find_tensor(const gguf_file *g, const char *name);
const gguf_tensor *gguf_tensor_by_name(const gguf_file *g, const char *name);

/* Typed getters with conversion between integer widths; false when the key is
 * absent or of a non-numeric type. */
bool gguf_get_u64(const gguf_file *g, const char *key, uint64_t *out);
bool gguf_get_i64(const gguf_file *g, const char *key, int64_t *out);
bool gguf_get_f64(const gguf_file *g, const char *key, double *out);
bool gguf_get_bool(const gguf_file *g, const char *key, bool *out);
/* String value; NULL when absent or not a string. */
const ll_str *gguf_get_str(const gguf_file *g, const char *key);

/* Element i of a fixed-size numeric array, converted. */
int64_t gguf_arr_i64(const gguf_value *v, uint64_t i);
double gguf_arr_f64(const gguf_value *v, uint64_t i);
size_t gguf_vtype_size(gguf_vtype t); /* 0 for STRING/ARRAY */
const char *gguf_vtype_name(gguf_vtype t);

/* Dequantize a whole tensor into dst (n_elements floats). */
int gguf_tensor_to_float(const gguf_tensor *t, float *dst, ll_error *e);

/* ---- writer ---- */
typedef struct gguf_writer gguf_writer;

/* alignment: a power of two up to 1 MiB, 0 for the default 32; NULL when
 * invalid or out of memory. The writer's alignment is authoritative: the file
 * gets a matching general.alignment key whenever it is not the default. */
gguf_writer *gguf_writer_new(uint32_t alignment);
void gguf_writer_free(gguf_writer *w);
/* Copies key and value (deeply) into the writer; replaces an existing key. */
int gguf_writer_set(gguf_writer *w, const char *key, const gguf_value *v, ll_error *e);
int gguf_writer_set_str(gguf_writer *w, const char *key, const char *s, ll_error *e);
int gguf_writer_set_u32(gguf_writer *w, const char *key, uint32_t x, ll_error *e);
int gguf_writer_set_f32(gguf_writer *w, const char *key, float x, ll_error *e);
/* Deep-copies every metadata key of g, in file order, except general.alignment
 * (the layout belongs to the writer). */
int gguf_writer_copy_metadata(gguf_writer *w, const gguf_file *g, ll_error *e);
/* Removes a key; false when it was absent. */
bool gguf_writer_remove(gguf_writer *w, const char *key);
uint32_t gguf_writer_alignment(const gguf_writer *w);
/* Sparse: tensors added with data NULL are written as holes (for header-only
 * test files of any size; reading such a tensor gives zeros). */
void gguf_writer_set_sparse(gguf_writer *w, bool sparse);
bool gguf_writer_sparse(const gguf_writer *w);
/* Adds a tensor; data (nbytes = ll_row_size * rows) is referenced, not copied,
 * and must stay valid until gguf_writer_write returns. */
int gguf_writer_add_tensor(gguf_writer *w, const char *name, ll_type type,
                           int n_dims, const int64_t *ne, const void *data, ll_error *e);
/* A tensor whose bytes are produced while the file is written, so a file
 * larger than memory can be streamed: fill(ud, row0, nrows, dst, e) writes
 * rows [row0, row0 + nrows) (a row = ne[0] elements) to dst and returns 0,
 * or -1 with e set to abort the write. Rows are asked for in order, in
 * chunks of at most a few MiB. The writer owns ud and calls free_ud(ud)
 * (when not NULL) when it is freed, also when adding fails. */
typedef int (*gguf_writer_fill_fn)(void *ud, int64_t row0, int64_t nrows, void *dst, ll_error *e);
int gguf_writer_add_tensor_fill(gguf_writer *w, const char *name, ll_type type, int n_dims,
                                const int64_t *ne, gguf_writer_fill_fn fill, void *ud,
                                void (*free_ud)(void *), ll_error *e);
/* Writes to path.tmp-XXXXXX in the same directory, fsyncs, renames onto
 * path. On any error the temporary file is removed and path is untouched. */
int gguf_writer_write(gguf_writer *w, const char *path, ll_error *e);

#endif
