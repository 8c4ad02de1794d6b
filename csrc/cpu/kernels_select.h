/* The kernel the CPU engine uses for a type: the best SIMD version for this
 * machine once csrc/cpu/kernels.h provides one, else the scalar reference. */
#ifndef LL_KERNELS_SELECT_H
#define LL_KERNELS_SELECT_H

#include "quants.h"
#include "cpu/kernels.h"

ll_vec_dot_fn ll_kernel_vec_dot(ll_type weight_type);
/* NULL when the level has no multi-activation kernel for the type. */
ll_vec_dot_n_fn ll_kernel_vec_dot_n(ll_type weight_type);
ll_vec_dot_tile_fn ll_kernel_vec_dot_tile(ll_type weight_type);
ll_from_float_fn ll_kernel_quantize_act(ll_type act_type);
ll_to_float_fn ll_kernel_to_float(ll_type type);

#endif
