"""Table of an A/B run's bench lines (cuda_ab.sh, cuda_env_ab.sh): per tag,
the median over rounds of pp and tg t/s, with min-max.
    python3 bench/ab_table.py FILE.jsonl [LABEL]"""
import collections
import json
import statistics
import sys

runs = collections.OrderedDict()
for line in open(sys.argv[1]):
    r = json.loads(line)
    if "tag" in r:
        runs.setdefault(r["tag"], []).append(r)
label = sys.argv[2] if len(sys.argv) > 2 else "variant"
width = max([60] + [len(t) for t in runs])
print(f"{label:{width}s} {'pp t/s':>10s} {'tg t/s':>10s}  (medians of rounds; min-max)")
for tag, rs in runs.items():
    pp = [r["pp_tps"] for r in rs]
    tg = [r["tg_tps"] for r in rs]
    print(f"{tag:{width}s} {statistics.median(pp):10.1f} {statistics.median(tg):10.1f}  "
          f"pp {min(pp):.0f}-{max(pp):.0f} tg {min(tg):.1f}-{max(tg):.1f}")
