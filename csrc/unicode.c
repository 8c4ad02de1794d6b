/* Category lookup and strict UTF-8 coding; see unicode.h. */
#include "unicode.h"

unsigned ll_ucp_flags(uint32_t cp) {
    if (cp < 256) return ll_ucp_latin1[cp];
    if (cp >= LL_UCP_INVALID_BASE) return 0;
    /* last run whose start <= cp */
    int lo = 0, hi = ll_ucp_nruns - 1;
    while (lo < hi) {
        int mid = (lo + hi + 1) / 2;
        if (ll_ucp_runs[mid].start <= cp) lo = mid; else hi = mid - 1;
    }
    return ll_ucp_runs[lo].flags;
}

int ll_utf8_lead_len(uint8_t b) {
    if (b < 0x80) return 1;
    if (b >= 0xC2 && b <= 0xDF) return 2;
    if (b >= 0xE0 && b <= 0xEF) return 3;
    if (b >= 0xF0 && b <= 0xF4) return 4;
    return 1;
}

int ll_utf8_decode(const uint8_t *s, size_t n, uint32_t *cp) {
    uint8_t b = s[0];
    int len = ll_utf8_lead_len(b);
    if (b < 0x80) { *cp = b; return 1; }
    if (len == 1 || (size_t)len > n) goto invalid;
    uint32_t c = b & (0x7F >> len);
    for (int i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) goto invalid;
        c = (c << 6) | (s[i] & 0x3F);
    }
    /* shortest form, no surrogates, at most U+10FFFF */
    if ((len == 3 && c < 0x800) || (len == 4 && (c < 0x10000 || c > 0x10FFFF)) ||
        (c >= 0xD800 && c <= 0xDFFF))
        goto invalid;
    *cp = c;
    return len;
invalid:
    *cp = LL_UCP_INVALID(b);
    return 1;
}

int ll_utf8_encode(uint32_t cp, char *out) {
    if (cp < 0x80) { out[0] = (char)cp; return 1; }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}
