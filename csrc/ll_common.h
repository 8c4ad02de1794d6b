/* Shared plumbing of the C core: error reporting and checked arithmetic.
 * Every fallible function takes an ll_error* and returns a status; the
 * message is one line meant for a user ("gguf: truncated tensor info 3"). */
#ifndef LL_COMMON_H
#define LL_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#define LL_API __attribute__((visibility("default")))

typedef struct ll_error {
    char msg[512];
} ll_error;

/* Formats a message into e (when e is non-NULL); always returns -1 so callers
 * can write `return ll_err(e, "...")`. */
int ll_err(ll_error *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* a*b into *out; false on overflow. */
static inline bool ll_mul_overflow(uint64_t a, uint64_t b, uint64_t *out) {
    return __builtin_mul_overflow(a, b, out);
}
static inline bool ll_add_overflow(uint64_t a, uint64_t b, uint64_t *out) {
    return __builtin_add_overflow(a, b, out);
}

/* Monotonic wall clock in milliseconds. */
double ll_now_ms(void);

#endif
