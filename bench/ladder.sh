#!/bin/sh
# The quantization ladder of the micro models, measured: every type's file
# size, bits per weight, perplexity + KL divergence vs F16 (n_ctx 256),
# greedy arithmetic accuracy and generation speed. Idempotent: quantized
# files and one JSON file per measurement live under $LADDER_DIR (never in
# the repo) and a measurement already there is not redone, so an interrupted
# run resumes. Ends by printing the markdown tables (bench/ladder_table.lua),
# which also writes $LADDER_DIR/results.jsonl (one line per model/type).
#
#   bench/ladder.sh [MODEL ...]     (default: micro-r1-qwen2 micro-r1-llama)
# env: LADDER_DIR=/tmp/ladder THREADS=2 STEPS="quant ppl arith bench"
#      TYPES="F16 ... Q6_K" ARITH_LIMIT=400 PPL_CHUNKS= (empty: all chunks)
set -eu
cd "$(dirname "$0")/.."
export LUALLM_SHARED="${LUALLM_SHARED:-../shared}"
S="$LUALLM_SHARED"
DIR="${LADDER_DIR:-/tmp/ladder}"
THREADS="${THREADS:-2}"
STEPS="${STEPS:-quant ppl arith bench}"
TYPES="${TYPES:-F16 BF16 Q8_0 Q4_0 Q4_1 Q5_0 Q5_1 Q2_K Q3_K_S Q3_K_M Q3_K_L Q4_K_S Q4_K_M Q5_K_S Q5_K_M Q6_K}"
ARITH_LIMIT="${ARITH_LIMIT:-400}"
PPL_CHUNKS="${PPL_CHUNKS:-}"
MODELS="${*:-micro-r1-qwen2 micro-r1-llama}"
LUA="${LUA:-lua5.4}"
export LUA_PATH="lua/?.lua;lua/?/init.lua;;" LUA_CPATH="./?.so;;"

# run OUT CMD...: CMD's stdout becomes OUT, only when CMD succeeds.
run() {
  out=$1; shift
  [ -s "$out" ] && return 0
  echo "[$(date -u +%H:%M:%S)] $out" >&2
  if "$@" >"$out.tmp" 2>"$out.err"; then mv "$out.tmp" "$out"; else echo "FAILED: $out (see $out.err)" >&2; rm -f "$out.tmp"; fi
}

has() { case " $STEPS " in *" $1 "*) return 0;; esac; return 1; }

for m in $MODELS; do
  src="$S/models/$m-f16.gguf"
  d="$DIR/$m"; mkdir -p "$d"
  # llama.cpp's own file(s) of this model, measured the same way (anchor check)
  for ref in "$S"/models/quant/"$m"-*.llamacpp.gguf; do
    [ -e "$ref" ] || continue
    t=$(basename "$ref" .llamacpp.gguf | sed "s/^$m-//" | tr a-z A-Z)
    run "$d/llamacpp-$t.info.json" bin/luallm info "$ref" --json
    has ppl && run "$d/llamacpp-$t.ppl.json" bin/luallm ppl "$ref" "$S/eval/ppl-dev.txt" --ctx 256 \
      --threads "$THREADS" --against "$src" --json
  done
  for t in $TYPES; do
    q="$d/$t.gguf"
    if has quant && [ ! -s "$q" ]; then
      echo "[$(date -u +%H:%M:%S)] quantize $m $t" >&2
      bin/luallm quantize "$src" "$q.tmp" "$t" --threads "$THREADS" >/dev/null && mv "$q.tmp" "$q"
    fi
    [ -s "$q" ] || continue
    run "$d/$t.info.json" bin/luallm info "$q" --json
    if has ppl; then
      if [ -n "$PPL_CHUNKS" ]; then pf="$d/$t.ppl-c$PPL_CHUNKS.json"; lim="--limit-chunks $PPL_CHUNKS"
      else pf="$d/$t.ppl.json"; lim=""; fi
      # F16 is the KL base itself (its KLD is 0): perplexity alone, half the work
      against="--against $src"; [ "$t" = F16 ] && against=""
      # shellcheck disable=SC2086
      run "$pf" bin/luallm ppl "$q" "$S/eval/ppl-dev.txt" --ctx 256 --threads "$THREADS" \
        $against $lim --json
    fi
    has arith && run "$d/$t.arith$ARITH_LIMIT.json" "$LUA" bench/arith_greedy.lua "$q" \
      --limit "$ARITH_LIMIT" --threads "$THREADS" --json
    has bench && run "$d/$t.bench.json" bin/luallm bench "$q" -p 0 -n 128 -r 3 --threads "$THREADS" --json
  done
done
"$LUA" bench/ladder_table.lua "$DIR" $MODELS
