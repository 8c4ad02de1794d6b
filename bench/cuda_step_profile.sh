#!/bin/bash
# Where a generation step's (or a prompt's) time goes on the device machine
# (repo root):
#   OUT=dir bash bench/cuda_step_profile.sh [TYPE...]            (default Q4_K_M Q8_0)
#   PROMPT=512 OUT=dir bash bench/cuda_step_profile.sh [TYPE...]  a 512-token prompt
# For each type, a synthetic 7B file (bin/luallm synth, deleted after) is
# benched for tg128 (or ppPROMPT; -r 3), then Nsight Compute times every
# kernel of two single-token steps (two prompts) one at a time (no overlap
# between kernels, so the sum is more than a real step, which overlaps them
# with dependent launches). Writes $OUT/profile-TYPE.txt (profile-TYPE-ppN.txt):
# per kernel and grid, calls and microseconds per call, and the sum.
set -u
LOG=step_profile.log
source bench/device_common.sh
SHAPE=${SHAPE:-qwen-7b}
NCU=$(command -v ncu || ls /opt/nvidia/nsight-compute/*/ncu /usr/local/cuda/bin/ncu 2>/dev/null | head -1)
for T in ${@:-Q4_K_M Q8_0}; do
  f="$SYNTH/$SHAPE-$T.gguf"
  bin/luallm synth "$SHAPE" "$T" "$f" --tokenizer "$TOK" >/dev/null || { echo "synth $T failed"; continue; }
  P=${PROMPT:-0}
  if [ "$P" -gt 0 ]; then N=0 NP=$P NN=0 NAME="$T-pp$P"; else N=128 NP=0 NN=2 NAME=$T; fi
  bin/luallm bench "$f" --ngl 99 --threads 16 -p "$NP" -n "$N" -r 3 --json | tee -a "$OUT/step_profile.jsonl"
  # warm-up run (captures the graph) + one timed run of 2 tokens (or one prompt) each
  "$NCU" --clock-control none --metrics gpu__time_duration.sum --csv --page raw \
    bin/luallm bench "$f" --ngl 99 --threads 1 -p "$NP" -n "$NN" -r 1 > "/tmp/ncu-$NAME.csv" 2> "/tmp/ncu-$NAME.err" ||
    tail -5 "/tmp/ncu-$NAME.err"
  python3 - "/tmp/ncu-$NAME.csv" "$SHAPE $T" "$P" > "$OUT/profile-$NAME.txt" <<'EOF'
import csv, sys, collections
rows = [r for r in csv.reader(l for l in open(sys.argv[1]) if l.startswith('"'))]
head, data = rows[0], rows[2:]  # row 1 holds the units
ki, gi, ti = head.index("Kernel Name"), head.index("Grid Size"), head.index("gpu__time_duration.sum")
acc = collections.OrderedDict()
for r in data:
    if "pack" in r[ki]: continue  # the upload's packing kernels
    name = r[ki].split("(")[0].split("<")[0].replace("void ", "")[:40]
    key = (name, r[gi])
    n, t = acc.get(key, (0, 0.0))
    acc[key] = (n + 1, t + float(r[ti].replace(",", "")) / 1000.0)  # ns -> us
prompt = int(sys.argv[3])
# bench -n 2 -r 1 (or -p P -n 0 -r 1): a warm-up run and a timed run
units, unit = (2, "prompt") if prompt else (4, "token")
what = f"{prompt}-token prompts" if prompt else "single-token steps"
print(f"{sys.argv[2]}: {sum(n for n, _ in acc.values())} kernels over {units} {what}")
print(f"{'kernel':40s} {'grid':>16s} {'per ' + unit:>10s} {'us/call':>9s} {'us/' + unit:>9s}")
total = 0.0
for (name, grid), (n, t) in sorted(acc.items(), key=lambda kv: -kv[1][1]):
    total += t / units
    print(f"{name:40s} {grid:>16s} {n / units:10.1f} {t / n:9.2f} {t / units:9.1f}")
print(f"sum of kernel times per {unit}: {total:.0f} us")
EOF
  cat "$OUT/profile-$NAME.txt"
  rm -f "$f"
done
