#!/bin/sh
# Full arith-dev report (400 problems): k = 8 samples at temperature 0.6,
# top-p 0.95, plus one greedy pass, for both micro models; writes a markdown
# table. Needs the fast CPU kernels (hours with the scalar reference ones).
# Resumable: rerun the same command after an interruption (results/*.jsonl).
#
#   LUALLM_SHARED=/work/shared sh bench/eval_report.sh [OUT.md]
#   env: K=8 PARALLEL=16 MAX_TOKENS=224 SEED=0 RESULTS_DIR=bench/eval_results LUA=lua5.4
#        LIMIT=N (first N problems only: a quick check of the script)
set -eu
cd "$(dirname "$0")/.."
SHARED=${LUALLM_SHARED:-../shared}
OUT=${1:-bench/eval_report.md}
K=${K:-8}
PARALLEL=${PARALLEL:-16}
MAX_TOKENS=${MAX_TOKENS:-224}   # micro models were trained on 256-token sequences
SEED=${SEED:-0}
RESULTS_DIR=${RESULTS_DIR:-bench/eval_results}
LUA=${LUA:-lua5.4}
LIMIT_ARGS=""
if [ -n "${LIMIT:-}" ]; then LIMIT_ARGS="--limit $LIMIT"; fi
DATA="$SHARED/eval/arith-dev.jsonl"
mkdir -p "$RESULTS_DIR"
pct() { awk -v x="$1" 'BEGIN { if (x == "") print "-"; else printf "%.1f%%", x * 100 }'; }
field() { $LUA -e "package.path = 'lua/?.lua;' .. package.path
  local v = require('luallm.json').decode(io.read('a'))['$1']
  io.write(v == nil and '' or tostring(v))"; }
{
  echo "## arith-dev evaluation"
  echo
  echo "$(date -u +%Y-%m-%d), $(uname -m), $(nproc) cores; k = $K, temperature 0.6, top-p 0.95, max tokens $MAX_TOKENS, seed $SEED, parallel $PARALLEL."
  echo "Command: \`sh bench/eval_report.sh\` (per model: \`bin/luallm eval MODEL $DATA --samples $K --parallel $PARALLEL --temperature 0.6 --top-p 0.95 --seed $SEED --max-tokens $MAX_TOKENS --greedy --results FILE --json\`)."
  echo
  echo "| model | problems | pass@1 | cons@$K | pass@$K | greedy | tokens | seconds | tokens/s |"
  echo "|---|---|---|---|---|---|---|---|---|"
} > "$OUT"
for name in qwen2 llama; do
  model="$SHARED/models/micro-r1-$name-f16.gguf"
  json=$(bin/luallm eval "$model" "$DATA" --samples "$K" --parallel "$PARALLEL" \
    --temperature 0.6 --top-p 0.95 --seed "$SEED" --max-tokens "$MAX_TOKENS" --greedy $LIMIT_ARGS \
    --results "$RESULTS_DIR/micro-r1-$name-k$K-s$SEED-t$MAX_TOKENS${LIMIT:+-n$LIMIT}.jsonl" --json)
  printf '| micro-r1-%s | %s | %s | %s | %s | %s | %s | %.0f | %.1f |\n' "$name" \
    "$(echo "$json" | field n_problems)" "$(pct "$(echo "$json" | field pass1)")" \
    "$(pct "$(echo "$json" | field cons)")" "$(pct "$(echo "$json" | field pass_k)")" \
    "$(pct "$(echo "$json" | field greedy)")" "$(echo "$json" | field tokens_total)" \
    "$(echo "$json" | field seconds)" "$(echo "$json" | field tokens_per_s)" >> "$OUT"
done
echo >> "$OUT"
echo "tokens: all generated tokens of the samples (resumed ones included); seconds and tokens/s: the last invocation." >> "$OUT"
cat "$OUT"
