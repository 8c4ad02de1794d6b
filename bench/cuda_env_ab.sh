#!/bin/bash
# Same-machine A/B of run-time settings (one build) on synthetic models
# (device machine, repo root):
#   OUT=dir [SHAPE=qwen-7b] [TYPES="Q8_0"] [P=0] [N=128] [ROUNDS=3] bash bench/cuda_env_ab.sh SETTING...
# A setting is a space-separated list of VAR=value environment assignments
# ("LUALLM_CUDA_L2PF=0"), or "default" for none. Each type's synthetic file
# (bin/luallm synth, deleted after) is benched with every setting in turn,
# ROUNDS times (-r 3 each), so machine drift hits all settings alike. Lines
# in $OUT/env_ab.jsonl (tagged with the setting), and a table of medians
# over the rounds at the end. For build variants see cuda_ab.sh.
set -u
LOG=env_ab.log
source bench/device_common.sh
SHAPE=${SHAPE:-qwen-7b}
for T in ${TYPES:-Q8_0}; do
  f="$SYNTH/$SHAPE-$T.gguf"
  bin/luallm synth "$SHAPE" "$T" "$f" --tokenizer "$TOK" >/dev/null || { echo "synth $T failed"; continue; }
  for r in $(seq "${ROUNDS:-3}"); do
    for S in "$@"; do
      E=""
      [ "$S" = default ] || E="$S"
      env $E bin/luallm bench "$f" --ngl 99 --threads 16 -p "${P:-0}" -n "${N:-128}" -r 3 --tag "$SHAPE $T $S" --json |
        tee -a "$OUT/env_ab.jsonl"
    done
  done
  rm -f "$f"
done
python3 bench/ab_table.py "$OUT/env_ab.jsonl" setting
