/* core.ppl_nll(row, target) and core.ppl_kld(base, q): rows are Logits
 * objects (c:logits(i)) or floatbufs (c:logits_buf(i)); targets are 0-based. */
#include "lua_luallm.h"
#include "lua_logits.h"
#include "lua_floatbuf.h"
#include "ppl.h"

#include <stdbool.h>

static const float *check_row(lua_State *L, int i, int *n) {
    const ll_lua_logits *lg = ll_lua_test_logits(L, i);
    if (lg) { *n = lg->n; return lg->data; }
    ll_floatbuf *b = ll_testudata(L, i, LL_FLOATBUF_MT);
    if (b) { *n = (int)b->n; return b->data; }
    luaL_argerror(L, i, "logits row (Logits or floatbuf) expected");
    return 0;
}

/* core.ppl_nll(row, target) -> -log p(target) | nil, msg */
static int l_nll(lua_State *L) {
    int n;
    const float *row = check_row(L, 1, &n);
    lua_Integer t = luaL_checkinteger(L, 2);
    if (n <= 0 || t < 0 || t >= n) return ll_pushfail(L, "ppl_nll: target out of range");
    lua_pushnumber(L, ll_ppl_nll(row, n, (int)t));
    return 1;
}

/* core.ppl_kld(base, q) -> kld, same_top | nil, msg */
static int l_kld(lua_State *L) {
    int nb, nq;
    const float *b = check_row(L, 1, &nb);
    const float *q = check_row(L, 2, &nq);
    if (nb != nq || nb <= 0) return ll_pushfail(L, "ppl_kld: rows differ in length");
    bool same;
    lua_pushnumber(L, ll_ppl_kld(b, q, nb, &same));
    lua_pushboolean(L, same);
    return 2;
}

void ll_lua_open_ppl(lua_State *L) {
    static const luaL_Reg fns[] = {
        {"ppl_nll", l_nll}, {"ppl_kld", l_kld}, {NULL, NULL},
    };
    ll_setfuncs(L, fns);
}
