#!/bin/bash
# The CPU table of issue #4 on this machine (run it idle: timings on a shared
# machine are noisy). Micro models pp512/tg128 (-r 5), the 1.5B shape at
# Q4_K_M and Q8_0 (written by `luallm synth` into $TMP, deleted after)
# pp64/tg32 (-r 3) like the anchors' llama-bench runs, with peak RSS.
#   bash bench/cpu_table.sh [threads]     (default 2)
set -eu
TH=${1:-2}
SHARED=${LUALLM_SHARED:-../shared}
TMP=${TMP:-$(mktemp -d)}
Q8=$TMP/micro-r1-qwen2-q8_0.gguf
[ -f "$Q8" ] || bin/luallm quantize "$SHARED/models/micro-r1-qwen2-f16.gguf" "$Q8" Q8_0 > /dev/null
run() { # model P N R
  /usr/bin/time -f "peak_rss_kb=%M" bin/luallm bench "$1" -p "$2" -n "$3" -r "$4" --threads "$TH" --json 2> "$TMP/time"
  grep peak_rss_kb "$TMP/time"
}
for m in "$SHARED/models/micro-r1-qwen2-f16.gguf" "$Q8" "$SHARED/models/quant/micro-r1-qwen2-q4_k_m.llamacpp.gguf" \
         "$SHARED/models/micro-r1-llama-f16.gguf"; do
  run "$m" 512 128 5
done
for t in Q4_K_M Q8_0; do
  f=$TMP/qwen-1.5b-$t.gguf
  bin/luallm synth qwen-1.5b $t "$f" --tokenizer "$SHARED/models/micro-r1-qwen2-f16.gguf" > /dev/null
  run "$f" 64 32 3
  rm -f "$f"
done
