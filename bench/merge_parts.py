"""Merges the results of one scale-out run (`instances`): one JSON line per load process
(`pulse-load instances --part K`, one per Pulse instance) into the one line the report reads.

    python bench/merge_parts.py --backend redis --instances 4 [--redis-persist ARGS]
        [--redis-cpu-ticks N --clk-tck HZ] SYNC_DIR

SYNC_DIR holds part.K.json and part.K.err for K in 0..instances-1. Sums: streams held,
deliveries, loss, duplicates, instance CPU and RSS. Latency percentiles come from the parts'
histograms added together (percentiles of percentiles would be wrong). Deliveries/s: every
delivery over the time from the first publish to the last delivery seen by any part (the load
processes share one monotonic clock). A part that printed nothing or an error makes the merged
line carry an error, so the table's notes show it; the parts' own lines are kept under "parts".
Standard library only (runs with the system python3).
"""
import argparse
import json
import os
import sys


def percentile(hist: dict[int, int], p: float):
    """Nearest rank over a histogram {lower_bound_us: count}; milliseconds."""
    total = sum(hist.values())
    if total == 0:
        return None
    rank = max(1, min(total, int(-(-total * p // 1))))  # ceil(total * p), clamped
    seen = 0
    for lower in sorted(hist):
        seen += hist[lower]
        if seen >= rank:
            return lower / 1000.0
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--backend", required=True)
    ap.add_argument("--instances", type=int, required=True)
    ap.add_argument("--redis-persist", default="")
    ap.add_argument("--redis-cpu-ticks", default="")
    ap.add_argument("--clk-tck", type=float, default=100.0)
    ap.add_argument("sync_dir")
    a = ap.parse_args()

    merged = {
        "scenario": "instances",
        "label": "pulse",
        "backend": a.backend,
        "instances": a.instances,
    }
    if a.redis_persist:
        merged["redis_persist"] = a.redis_persist
    parts, problems = [], []
    for k in range(a.instances):
        path = os.path.join(a.sync_dir, f"part.{k}.json")
        rec = None
        try:
            with open(path) as f:
                lines = [line for line in f if line.strip()]
            if lines:
                rec = json.loads(lines[-1])
        except (OSError, ValueError) as e:
            problems.append(f"part {k}: unreadable result ({e})")
        if rec is None:
            why = ""
            try:
                with open(os.path.join(a.sync_dir, f"part.{k}.err")) as f:
                    tail = [line.strip() for line in f if line.strip()]
                why = tail[-1] if tail else ""
            except OSError:
                pass
            problems.append(f"part {k}: no result{': ' + why if why else ''}")
            continue
        parts.append(rec)
        if "error" in rec:
            problems.append(f"part {k}: {rec['error']}")
        for key in ("warning", "first_publish_error", "first_stream_error"):
            if key in rec:
                merged.setdefault(key, f"part {k}: {rec[key]}")

    def total(key):
        vals = [p.get(key) for p in parts if p.get(key) is not None]
        return sum(vals) if vals else None

    for key in ("subscribers", "held", "failed", "probed", "expected", "delivered", "loss",
                "dups", "extra", "streams_ended", "rss_open_kb", "rss_after_kb"):
        merged[key] = total(key)
    cpu = total("cpu_s")
    merged["cpu_s"] = cpu
    pub = next((p for p in parts if p.get("part") == 0), None)
    if pub:
        for key in ("events", "rate", "accepted", "publishers", "publish_errors", "publish_s",
                    "ack_p50_ms", "ack_p99_ms"):
            if key in pub:
                merged[key] = pub[key]
    hist: dict[int, int] = {}
    for p in parts:
        for lower, count in p.get("hist_us") or []:
            hist[lower] = hist.get(lower, 0) + count
    merged["p50_ms"] = percentile(hist, 0.50)
    merged["p99_ms"] = percentile(hist, 0.99)
    merged["max_ms"] = percentile(hist, 1.0)
    t0 = min((p["t0_ns"] for p in parts if p.get("t0_ns")), default=None)
    last = max((p["last_rx_ns"] for p in parts if p.get("last_rx_ns")), default=None)
    window = (last - t0) / 1e9 if t0 and last and last > t0 else None
    merged["window_s"] = window
    merged["deliveries_per_s"] = (merged["delivered"] / window) if window and merged["delivered"] else None
    merged["cpu_share"] = (cpu / window) if window and cpu is not None else None
    if a.redis_cpu_ticks:
        merged["redis_cpu_s"] = int(a.redis_cpu_ticks) / a.clk_tck
    if problems:
        merged["error"] = "; ".join(problems)
    merged["parts"] = [{k: v for k, v in p.items() if k != "hist_us"} for p in parts]
    print(json.dumps(merged, separators=(",", ":")))


if __name__ == "__main__":
    sys.exit(main())
