#!/bin/bash
# Builds and runs bench/cuda_kernels.cu on the device machine (repo root):
#   OUT=dir bash bench/cuda_kernels.sh [FLAGS...]
# One binary per argument, each a comma-separated list of extra nvcc flags
# (e.g. -DFOO=1,-DBAR=2, for trying a kernel variant behind a macro); none:
# the sources as they are. With .carry/old_matvec_q8.cu present (an earlier
# csrc/cuda/matvec_q8.cu), its kernels are timed beside the current ones.
OUT=${OUT:-cuda-out}
mkdir -p "$OUT"
set -e
NV="nvcc -O3 -std=c++17 -Icsrc -arch=sm_90"
SRC="csrc/cuda/kernels.cu csrc/cuda/attn_prompt.cu csrc/cuda/packed.cu"
OLD=""
if [ -f .carry/old_matvec_q8.cu ]; then
  R=""
  for n in ll_cuda_matvec_q8 ll_cuda_matvec_q8_ok ll_cuda_quant_q8 ll_cuda_rmsnorm_quant_q8 \
           ll_cuda_swiglu_quant_q8 ll_cuda_matvec_q8_group k_quant_q8 k_rmsnorm_quant_q8 \
           k_swiglu_quant_q8 k_matvec_q8 k_matvec_q8_multi; do
    R="$R -D$n=old_${n#ll_cuda_}"
  done
  $NV $R -c .carry/old_matvec_q8.cu -o /tmp/old_mv.o
  OLD="/tmp/old_mv.o -DOLD_MV"
fi
SKIP_SMALL=""
for V in ${@:-default}; do # the variants build side by side
  D=""
  [ "$V" != default ] && D="${V//,/ }"
  B=/tmp/ck_$(echo "$V" | tr -c "A-Za-z0-9" _)
  ($NV $D bench/cuda_kernels.cu csrc/cuda/matvec_q8.cu $SRC $OLD -o $B 2>&1 | grep -v "^$" || true) &
done
wait
for V in ${@:-default}; do
  B=/tmp/ck_$(echo "$V" | tr -c "A-Za-z0-9" _)
  echo "== $V" | tee -a "$OUT/cuda_kernels.log"
  $B $SKIP_SMALL 2>&1 | tee -a "$OUT/cuda_kernels.log"
  SKIP_SMALL=-q # the first variant only times the rest
done
