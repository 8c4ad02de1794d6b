#!/bin/bash
# Same-machine A/B of CUDA build variants on one synthetic model (device
# machine, repo root):
#   OUT=dir [SHAPE=qwen-7b] [TYPES="Q8_0"] [P=0] [N=128] [ROUNDS=3] bash bench/cuda_ab.sh VARIANT...
# A variant is a comma-separated list of extra nvcc flags (-DFOO=1,-DBAR=2),
# or "default" for none. The library is built once per variant, then each
# type's synthetic file (bin/luallm synth, deleted after) is benched with
# every build in turn, ROUNDS times (-r 3 each), so machine drift hits all
# variants alike. Lines in $OUT/ab.jsonl (tagged with the variant), and a
# table of medians over the rounds at the end. The variants' module and CUDA
# objects are then removed from build/, so the next make rebuilds them plainly.
set -u
LOG=ab.log
source bench/device_common.sh
SHAPE=${SHAPE:-qwen-7b}
NVCC_BIN=$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)
tag() { echo "$1" | tr -c "A-Za-z0-9=\n" _; }
for V in "$@"; do
  D="${V//,/ }"
  [ "$V" = default ] && D=""
  touch csrc/cuda/*.cu
  make -j16 LUA_INC="$LUA_INC" NVCC="$NVCC_BIN $D" CUDA_HOME="${NVCC_BIN%/bin/nvcc}" >> "$OUT/ab-build.log" 2>&1 ||
    { echo "build $V failed"; tail -20 "$OUT/ab-build.log"; exit 1; }
  cp build/lua5.4/luallm_core.so "/tmp/ab_$(tag "$V").so"
done
for T in ${TYPES:-Q8_0}; do
  f="$SYNTH/$SHAPE-$T.gguf"
  bin/luallm synth "$SHAPE" "$T" "$f" --tokenizer "$TOK" >/dev/null || { echo "synth $T failed"; continue; }
  for r in $(seq "${ROUNDS:-3}"); do
    for V in "$@"; do
      cp "/tmp/ab_$(tag "$V").so" build/lua5.4/luallm_core.so
      bin/luallm bench "$f" --ngl 99 --threads 16 -p "${P:-0}" -n "${N:-128}" -r 3 --tag "$SHAPE $T $V" --json |
        tee -a "$OUT/ab.jsonl"
    done
  done
  rm -f "$f"
done
# The next build (another device script's, maybe in a later call whose copy
# of the tree restores the sources' older times) must not find this
# variant's objects: remove them rather than touch the sources.
rm -f build/*/csrc/cuda/*.o build/*/luallm_core.so luallm_core.so
python3 bench/ab_table.py "$OUT/ab.jsonl" variant
