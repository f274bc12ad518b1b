"""Bar chart of the benchmark table's ratios to axum_basic (lower is better for every
ratio drawn: memory, CPU, latency), one group of bars per metric, log scale. When the run
had the scale-out scenario, also OUT/scaleout.png: deliveries/s and p99 per instance count,
with the streams held written on each bar (Pulse only, so no ratios).

    python bench/chart.py OUT/bench.json OUT/ratios.png
"""
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

COLORS = {
    "pulse": "#d9480f",
    "axum_basic": "#868e96",
    "node_http": "#2b8a3e",
    "fastapi_seed": "#1c7ed6",
    "sse_starlette": "#7048e8",
}


def scaleout(data, dst):
    """Deliveries/s (bars) and p99 (line) per instance count, from the raw instances results."""
    runs = [r for r in data.get("raw", []) if r.get("scenario") == "instances" and "error" not in r]
    if not runs:
        return
    runs.sort(key=lambda r: (r.get("backend") != "embedded", r.get("instances") or 0))
    meta = data["meta"]
    labels = [
        ("embedded hub" if r.get("backend") == "embedded" else f"{r.get('instances')} on Redis") for r in runs
    ]
    rate = [r.get("deliveries_per_s") or 0 for r in runs]
    p99 = [r.get("p99_ms") for r in runs]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    bars = ax.bar(range(len(runs)), rate, color=COLORS["pulse"])
    for b, r in zip(bars, runs):
        ax.text(b.get_x() + b.get_width() / 2, b.get_height(), f"{r.get('held') or 0:,} streams",
                ha="center", va="bottom", fontsize=8)
    ax.set_ylabel("deliveries/s")
    ax.set_xticks(range(len(runs)))
    ax.set_xticklabels(labels, fontsize=9)
    ax2 = ax.twinx()
    ax2.plot(range(len(runs)), [v if v is not None else float("nan") for v in p99], "o-", color="black")
    ax2.set_ylabel("p99 publish→receive (ms)")
    ax2.set_ylim(bottom=0)
    title = f"Pulse scale-out, one machine ({meta['machine']}), {meta['date']}"
    title += "\ninstances and Redis share core 0, the load processes core 1: capacity, not speed"
    if meta.get("smoke"):
        title += "\nSMOKE RUN: tiny sizes, the figures mean nothing"
    ax.set_title(title, fontsize=8)
    fig.tight_layout()
    fig.savefig(dst, dpi=110)
    print(f"chart: {dst}")


def main():
    src, dst = sys.argv[1], sys.argv[2]
    with open(src) as f:
        data = json.load(f)
    meta = data["meta"]
    scaleout(data, os.path.join(os.path.dirname(dst) or ".", "scaleout.png"))
    rows = [r for r in data["rows"] if any(v is not None for v in r.get("ratios", {}).values())]
    servers = [s for s in meta["servers"] if s != meta["baseline"]]
    if not rows or not servers:
        print(f"chart: nothing to draw (no ratios to {meta['baseline']})")
        return
    width = 0.8 / len(servers)
    fig, ax = plt.subplots(figsize=(max(8, 1.3 * len(rows) + 2), 6))
    for i, s in enumerate(servers):
        xs, ys = [], []
        for j, r in enumerate(rows):
            v = r["ratios"].get(s)
            if v is not None and v > 0:
                xs.append(j + (i - (len(servers) - 1) / 2) * width)
                ys.append(v)
        ax.bar(xs, ys, width, label=s, color=COLORS.get(s))
        for x, y in zip(xs, ys):
            ax.text(x, y, f"{y:.2g}", ha="center", va="bottom", fontsize=7)
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_yscale("log")
    ax.set_ylabel(f"ratio to {meta['baseline']} (same run; lower is better)")
    ax.set_xticks(range(len(rows)))
    ax.set_xticklabels([r["metric"] for r in rows], rotation=30, ha="right", fontsize=8)
    title = f"Pulse vs peers, {meta['date']} — {meta['machine']}"
    if meta.get("smoke"):
        title += "\nSMOKE RUN: tiny sizes, the figures mean nothing"
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(dst, dpi=110)
    print(f"chart: {dst}")


if __name__ == "__main__":
    main()
