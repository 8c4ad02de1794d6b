/* The engine's view of the kernel tables: the best level for this machine,
 * falling back to the scalar reference where a level has no kernel. */
#include "cpu/kernels_select.h"
#include "cpu/kernels.h"

ll_vec_dot_fn ll_kernel_vec_dot(ll_type t) {
    ll_vec_dot_fn f = ll_cpu_kernels_get()->vec_dot[t];
    return f ? f : ll_type_get(t)->vec_dot;
}

ll_vec_dot_n_fn ll_kernel_vec_dot_n(ll_type t) { return ll_cpu_kernels_get()->vec_dot_n[t]; }
ll_vec_dot_tile_fn ll_kernel_vec_dot_tile(ll_type t) { return ll_cpu_kernels_get()->vec_dot_tile[t]; }

ll_from_float_fn ll_kernel_quantize_act(ll_type t) {
    ll_from_float_fn f = ll_cpu_kernels_get()->quantize_act[t];
    return f ? f : ll_type_get(t)->from_float;
}

ll_to_float_fn ll_kernel_to_float(ll_type t) {
    ll_to_float_fn f = ll_cpu_kernels_get()->to_float[t];
    return f ? f : ll_type_get(t)->to_float;
}
