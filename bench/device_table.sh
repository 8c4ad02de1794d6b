#!/bin/bash
# The H200 tables of issues #7 and #8 in one command per phase, run on the
# device machine from the repository root (see bench/RESULTS.md for figures):
#   OUT=dir bash bench/device_table.sh quick    1.5B and 7B Q4_K_M only (a check after a change)
#   OUT=dir bash bench/device_table.sh table1   1.5B Q4_K_M/Q8_0/F16 + 7B Q4_K_M, full offload
#   OUT=dir bash bench/device_table.sh table2   7B Q8_0/F16 + 14B Q4_K_M, full offload
#   OUT=dir bash bench/device_table.sh gen7b    7B Q4_K_M and Q8_0 full offload, and generation
#                                                without dependent launches (LUALLM_CUDA_PDL=0)
#   OUT=dir bash bench/device_table.sh ab       7B Q4_K_M generation with each measurement switch
#   OUT=dir bash bench/device_table.sh offload  7B Q4_K_M split sweep (16 threads),
#                                                14B Q4_K_M on an 8 GB budget, plan checks
# Models are written by `bin/luallm synth` (random weights, exact shapes) to
# $SYNTH (default /tmp/synth) with the tokenizer of the carried micro model,
# and deleted after use: they never leave the machine. Results: one JSON line
# per measurement in $OUT/<phase>.jsonl, the log in $OUT/<phase>.log.
set -u
PHASE=${1:-table1}
LOG=$PHASE.log
source bench/device_common.sh
J="$OUT/$PHASE.jsonl"
nvidia-smi --query-gpu=name,memory.total,memory.used --format=csv

synth() { # shape type -> path (timed)
  local f="$SYNTH/$1-$2.gguf"
  local t0=$(date +%s.%N)
  bin/luallm synth "$1" "$2" "$f" --tokenizer "$TOK" >&2 || return 1
  local t1=$(date +%s.%N)
  echo "{\"synth\":\"$1 $2\",\"bytes\":$(stat -c %s "$f"),\"seconds\":$(awk "BEGIN{print $t1 - $t0}")}" >> "$J"
  echo "$f"
}

bench() { # file ngl threads P N R [extra flags...] -> JSON line tagged with the shape
  local f=$1 ngl=$2 th=$3 P=$4 N=$5 R=$6
  shift 6
  echo "== bench $(basename "$f") ngl $ngl threads $th p$P n$N $*" >&2
  local line
  line=$(bin/luallm bench "$f" --ngl "$ngl" --threads "$th" -p "$P" -n "$N" -r "$R" "$@" --json) || return 1
  echo "$line" >> "$J"
  echo "$line"
}

full_offload() { # shape type
  local f
  f=$(synth "$1" "$2") || { echo "synth $1 $2 failed"; return; }
  bench "$f" 99 16 512 128 3
  [ "${GRAPHS_TOO:-}" = "$1-$2" ] && LUALLM_CUDA_GRAPHS=0 bench "$f" 99 16 0 128 3 --tag nographs
  [ "$1" != qwen-14b ] && lua5.4 bench/plan_check.lua "$f" 99 4096 | tee -a "$J"
  rm -f "$f"
}

case "$PHASE" in
quick)
  GRAPHS_TOO=qwen-7b-Q4_K_M
  full_offload qwen-1.5b Q4_K_M
  full_offload qwen-7b Q4_K_M
  ;;
table1)
  GRAPHS_TOO=qwen-7b-Q4_K_M
  for t in Q4_K_M Q8_0 F16; do full_offload qwen-1.5b $t; done
  full_offload qwen-7b Q4_K_M
  ;;
table2)
  full_offload qwen-7b Q8_0
  full_offload qwen-7b F16
  full_offload qwen-14b Q4_K_M
  ;;
gen7b)
  for t in Q4_K_M Q8_0; do
    f=$(synth qwen-7b $t) || continue
    bench "$f" 99 16 512 128 3
    LUALLM_CUDA_PDL=0 bench "$f" 99 16 0 128 3 --tag nopdl
    lua5.4 bench/plan_check.lua "$f" 99 4096 | tee -a "$J"
    rm -f "$f"
  done
  ;;
ab)
  # generation switches on one file, same machine: each env setting, -n 128 -r 5
  f=$(synth qwen-7b Q4_K_M)
  for env in "" LUALLM_CUDA_PDL=0 LUALLM_CUDA_GRAPHS=0 ""; do
    env $env bin/luallm bench "$f" --ngl 99 -p 0 -n 128 -r 5 --tag "${env:-default}" --json | tee -a "$J"
  done
  rm -f "$f"
  ;;
offload)
  f=$(synth qwen-7b Q4_K_M)
  for ngl in 0 3 6 10 14 18 22 26 28; do bench "$f" $ngl 16 512 32 2; done
  for b in 2G 4G 8G; do
    echo "== auto placement, vram budget $b" >&2
    bin/luallm bench "$f" --ngl auto --vram-budget $b --threads 16 -p 64 -n 8 -r 1 --tag "auto $b" --json | tee -a "$J"
  done
  lua5.4 bench/plan_check.lua "$f" 6 4096 | tee -a "$J"
  rm -f "$f"
  f=$(synth qwen-14b Q4_K_M)
  bin/luallm info "$f" --ngl auto --vram 8G --ctx 4096 | tee -a "$OUT/$PHASE.info.txt"
  bench "$f" auto 16 256 32 2 --vram-budget 8G
  bench "$f" 10 16 256 32 2
  rm -f "$f"
  ;;
*) echo "unknown phase $PHASE"; exit 2 ;;
esac
