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
LUA_INC=/usr/include/lua5.4
if ! command -v lua5.4 >/dev/null && [ -f .carry/luart.tgz ]; then
  R=/tmp/luart
  mkdir -p $R && tar -C $R -xzf .carry/luart.tgz
  export PATH=$R/usr/bin:$PATH
  export LD_LIBRARY_PATH=$R/usr/lib/x86_64-linux-gnu:$R/lib/x86_64-linux-gnu:$LD_LIBRARY_PATH
  LUA_INC=$R/usr/include/lua5.4
  cp $R/usr/include/x86_64-linux-gnu/lua5.4-deb-multiarch.h $R/usr/include/lua5.4/ 2>/dev/null
  SYS_PATH="$R/usr/share/lua/5.4/?.lua;$R/usr/share/lua/5.4/?/init.lua"
  SYS_CPATH="$R/usr/lib/x86_64-linux-gnu/lua/5.4/?.so"
  BUSTED=$R/usr/bin/busted
else
  SYS_PATH="/usr/share/lua/5.4/?.lua;/usr/share/lua/5.4/?/init.lua;/usr/local/share/lua/5.4/?.lua"
  SYS_CPATH="/usr/lib/x86_64-linux-gnu/lua/5.4/?.so;/usr/local/lib/lua/5.4/?.so"
  BUSTED=$(command -v busted)
fi
make -j16 LUA_INC=$LUA_INC > "$OUT/build.log" 2>&1 || { tail -40 "$OUT/build.log"; exit 1; }
export LUA_PATH="lua/?.lua;lua/?/init.lua;spec/?.lua;$SYS_PATH"
export LUA_CPATH="build/lua5.4/?.so;$SYS_CPATH"
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
