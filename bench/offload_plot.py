#!/usr/bin/env python3
"""Generation and prompt speed against the GPU's share of the layers, from the
JSON lines that bench/device_table.sh offload writes (bin/luallm bench --json).

    python3 bench/offload_plot.py offload.jsonl bench/offload.png

Prints a markdown table and writes a PNG (needs matplotlib: pip install matplotlib).
"""
import json
import sys


def main():
    src, png = sys.argv[1], sys.argv[2]
    rows = []
    with open(src) as f:
        for line in f:
            line = line.strip()
            if not line.startswith("{"):
                continue
            r = json.loads(line)
            if "tg_tps" in r and r.get("n_layers"):
                rows.append(r)
    by_model = {}
    for r in rows:
        name = r["model"].rsplit("/", 1)[-1]
        by_model.setdefault(name, []).append(r)
    print("| model | GPU layers | GPU share | prompt t/s | generation t/s | split |")
    print("|---|---:|---:|---:|---:|---|")
    for name, rs in by_model.items():
        rs.sort(key=lambda r: r["gpu_layers"])
        for r in rs:
            print(f"| {name} | {r['gpu_layers']} of {r['n_layers']} | {r['gpu_layers'] / r['n_layers']:.0%} "
                  f"| {r['pp_tps']:.1f} (pp{r['p']}) | {r['tg_tps']:.2f} (tg{r['n']}) | {r['processor']} |")
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(1, 2, figsize=(10, 4))
    for name, rs in by_model.items():
        rs = [r for r in rs if r["p"] == 512]  # the sweep (other rows: auto placement checks)
        if len(rs) < 3:
            continue
        x = [r["gpu_layers"] / r["n_layers"] for r in rs]
        ax[0].plot(x, [r["tg_tps"] for r in rs], "o-", label=name)
        ax[1].plot(x, [r["pp_tps"] for r in rs], "o-", label=name)
    ax[0].set_title("generation")
    ax[1].set_title("prompt processing")
    for a in ax:
        a.set_xlabel("fraction of layers on the GPU")
        a.set_ylabel("tokens/s")
        a.set_yscale("log")
        a.grid(True, which="both", alpha=0.3)
        a.legend(fontsize=8)
    fig.suptitle("luallm partial offload, H200 + 16 CPU threads")
    fig.tight_layout()
    fig.savefig(png, dpi=110)


if __name__ == "__main__":
    main()
