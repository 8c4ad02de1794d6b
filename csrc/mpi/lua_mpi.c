/* luallm_mpi: a minimal Lua binding to MPI (Open MPI from Debian) for
 * sharding evaluations across processes and hosts (see lua/luallm/mpi.lua).
 * A module of its own, built only where mpicc is found, so the core never
 * depends on libmpi. All calls are on MPI_COMM_WORLD from the main thread
 * (MPI_THREAD_FUNNELED); MPI's own errors are fatal (its default handler).
 *
 *   init() -> true | nil, msg        rank() size() -> n
 *   barrier()                        bcast(s | nil) -> s (rank 0's string)
 *   gather(s) -> {s_0, ..., s_{n-1}} at rank 0, true elsewhere
 *   finalize()                       abort(code)  (kills every rank)
 *   initialized() finalized() -> bool
 * A process that exits after init without finalize aborts the whole job
 * (atexit), so an error on one rank never leaves the others waiting. */
#include "lua_compat.h"

#include <mpi.h>
#include <dlfcn.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define LL_API __attribute__((visibility("default")))

static int is_initialized(void) {
    int i = 0, f = 0;
    MPI_Initialized(&i);
    MPI_Finalized(&f);
    return i && !f;
}

static void abort_unfinalized(void) {
    if (is_initialized()) MPI_Abort(MPI_COMM_WORLD, 1);
}

static int check_ready(lua_State *L) {
    if (!is_initialized()) return luaL_error(L, "mpi: not initialized (call init first)");
    return 0;
}

static int l_init(lua_State *L) {
    int i = 0, f = 0;
    MPI_Initialized(&i);
    MPI_Finalized(&f);
    if (f) return ll_pushfail(L, "mpi: already finalized");
    if (i) { lua_pushboolean(L, 1); return 1; }
    /* Lua loads this module RTLD_LOCAL; Open MPI's plugins resolve symbols of
     * libmpi globally, so promote it before MPI_Init. */
    Dl_info di;
    if (dladdr((void *)MPI_Init_thread, &di) && di.dli_fname)
        (void)dlopen(di.dli_fname, RTLD_NOW | RTLD_GLOBAL | RTLD_NOLOAD); /* stays loaded: we link it */
    int provided = 0;
    if (MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
        return ll_pushfail(L, "mpi: MPI_Init_thread failed");
    if (atexit(abort_unfinalized) != 0) {
        MPI_Abort(MPI_COMM_WORLD, 1);
        return ll_pushfail(L, "mpi: atexit failed");
    }
    lua_pushboolean(L, 1);
    return 1;
}

static int l_rank(lua_State *L) {
    check_ready(L);
    int r = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &r);
    ll_pushint(L, r);
    return 1;
}

static int l_size(lua_State *L) {
    check_ready(L);
    int n = 0;
    MPI_Comm_size(MPI_COMM_WORLD, &n);
    ll_pushint(L, n);
    return 1;
}

static int l_barrier(lua_State *L) {
    check_ready(L);
    MPI_Barrier(MPI_COMM_WORLD);
    return 0;
}

/* Every rank learns every length first (Allgather), so all of them agree on
 * whether the gather fits in MPI's int counts before any data moves. */
static int l_gather(lua_State *L) {
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    check_ready(L);
    int rank = 0, n = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &n);
    long long mine = (long long)len;
    long long *lens = malloc(sizeof *lens * (size_t)n);
    int *counts = malloc(sizeof *counts * (size_t)n);
    int *displs = malloc(sizeof *displs * (size_t)n);
    if (!lens || !counts || !displs) {
        free(lens); free(counts); free(displs);
        MPI_Abort(MPI_COMM_WORLD, 1); /* the others are already in the collective */
        return ll_pushfail(L, "mpi: out of memory");
    }
    MPI_Allgather(&mine, 1, MPI_LONG_LONG, lens, 1, MPI_LONG_LONG, MPI_COMM_WORLD);
    long long total = 0;
    for (int i = 0; i < n; i++) {
        displs[i] = (int)(total < INT_MAX ? total : 0);
        counts[i] = (int)(lens[i] < INT_MAX ? lens[i] : 0);
        total += lens[i];
    }
    free(lens);
    if (total > INT_MAX) {
        free(counts); free(displs);
        return ll_pushfail(L, "mpi: gather of more than 2 GiB");
    }
    char *buf = NULL;
    if (rank == 0) {
        buf = malloc(total > 0 ? (size_t)total : 1);
        if (!buf) {
            free(counts); free(displs);
            MPI_Abort(MPI_COMM_WORLD, 1);
            return ll_pushfail(L, "mpi: out of memory");
        }
    }
    MPI_Gatherv(s, (int)len, MPI_CHAR, buf, counts, displs, MPI_CHAR, 0, MPI_COMM_WORLD);
    if (rank == 0) {
        lua_createtable(L, n, 0);
        for (int i = 0; i < n; i++) {
            lua_pushlstring(L, buf + displs[i], (size_t)counts[i]);
            lua_rawseti(L, -2, i + 1);
        }
    } else {
        lua_pushboolean(L, 1);
    }
    free(buf);
    free(counts);
    free(displs);
    return 1;
}

/* bcast(s) -> rank 0's s on every rank (other ranks may pass nil). */
static int l_bcast(lua_State *L) {
    check_ready(L);
    int rank = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    size_t len = 0;
    const char *s = rank == 0 ? luaL_checklstring(L, 1, &len) : NULL;
    long long n = (long long)len;
    MPI_Bcast(&n, 1, MPI_LONG_LONG, 0, MPI_COMM_WORLD);
    if (n > INT_MAX) return ll_pushfail(L, "mpi: bcast of more than 2 GiB");
    if (rank == 0) {
        MPI_Bcast((void *)s, (int)n, MPI_CHAR, 0, MPI_COMM_WORLD);
        lua_pushvalue(L, 1);
        return 1;
    }
    char *buf = malloc(n > 0 ? (size_t)n : 1);
    if (!buf) {
        MPI_Abort(MPI_COMM_WORLD, 1);
        return ll_pushfail(L, "mpi: out of memory");
    }
    MPI_Bcast(buf, (int)n, MPI_CHAR, 0, MPI_COMM_WORLD);
    lua_pushlstring(L, buf, (size_t)n);
    free(buf);
    return 1;
}

static int l_finalize(lua_State *L) {
    (void)L;
    if (is_initialized()) MPI_Finalize();
    return 0;
}

static int l_abort(lua_State *L) {
    int code = (int)luaL_optnumber(L, 1, 1);
    if (is_initialized()) MPI_Abort(MPI_COMM_WORLD, code);
    return 0;
}

static int l_initialized(lua_State *L) {
    int i = 0;
    MPI_Initialized(&i);
    lua_pushboolean(L, i);
    return 1;
}

static int l_finalized(lua_State *L) {
    int f = 0;
    MPI_Finalized(&f);
    lua_pushboolean(L, f);
    return 1;
}

LL_API int luaopen_luallm_mpi(lua_State *L) {
    static const luaL_Reg fns[] = {
        {"init", l_init},           {"rank", l_rank},           {"size", l_size},
        {"barrier", l_barrier},     {"gather", l_gather},       {"bcast", l_bcast},
        {"finalize", l_finalize},   {"abort", l_abort},         {"initialized", l_initialized},
        {"finalized", l_finalized}, {NULL, NULL},
    };
    ll_newlib(L, fns);
    char v[MPI_MAX_LIBRARY_VERSION_STRING];
    int vl = 0;
    MPI_Get_library_version(v, &vl);
    lua_pushlstring(L, v, (size_t)(vl > 0 ? vl : 0));
    lua_setfield(L, -2, "library");
    return 1;
}
