#include "cpu/kernels_select.h"

ll_vec_dot_fn ll_kernel_vec_dot(ll_type t) { return ll_type_get(t)->vec_dot; }
ll_from_float_fn ll_kernel_quantize_act(ll_type t) { return ll_type_get(t)->from_float; }
ll_to_float_fn ll_kernel_to_float(ll_type t) { return ll_type_get(t)->to_float; }
