#!/bin/bash
# One run of everything CUDA on a device machine (run from the repo root):
# build with nvcc, the CUDA spec against the CPU backend, and the
# throughput bench. Logs go to $OUT (default ./cuda-out).
# Expects in .carry/ (see tools/cuda_pack_lua.sh): luart.tgz (Lua 5.4 +
# busted, when the machine has no Lua), the models to check
# (LUALLM_CUDA_MODEL, ':'-separated; default: the .gguf files in .carry),
# and optionally quant-zoo.{gguf,json,f32} for the kernel checks.
OUT=${OUT:-cuda-out}
mkdir -p "$OUT"
exec > >(tee "$OUT/cuda_device.log") 2>&1
set -x
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv || true
source tools/device_env.sh
if [ -z "$LUALLM_CUDA_MODEL" ]; then
  LUALLM_CUDA_MODEL=$(ls .carry/*.gguf 2>/dev/null | grep -v quant-zoo | tr '\n' ':' | sed 's/:$//')
  [ -n "$LUALLM_CUDA_MODEL" ] && export LUALLM_CUDA_MODEL
fi
[ -f .carry/quant-zoo.gguf ] && export LUALLM_CUDA_ZOO=$PWD/.carry
export LUALLM_SHARED=${LUALLM_SHARED:-$PWD/shared}
lua5.4 -e 'local c = require("luallm_core").cuda_info(); print("cuda_info:", c.compiled, #c.devices, c.devices[1] and c.devices[1].name)'
lua5.4 $BUSTED -o utfTerminal spec/cuda_spec.lua 2>&1 | tee "$OUT/cuda_spec.log"
for mp in ${LUALLM_CUDA_MODEL//:/ }; do
  lua5.4 bench/cuda_bench.lua "$mp" 2>&1 | tee -a "$OUT/cuda_bench.log"
done
