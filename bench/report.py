"""Turns the load tool's JSON lines into the one benchmark table, with every figure's ratio to
axum_basic from the same run. Prints the table and writes OUT/bench.txt, bench.md (for the
README), bench.csv and bench.json (read by chart.py).

    python bench/report.py RESULTS.jsonl OUT_DIR

Run by scripts/bench.sh, which exports BENCH_COMMIT, BENCH_SERVERS_RUN, BENCH_PULSE_SYNC and
BENCH_SMOKE for the header.

Scenarios 7-10 (instances, storm, ssr, browser) run on Pulse only: their rows show "n/a" for
the peers and no ratio (the peers have no Redis scale-out, no ids to resume from, no pages).
"""
import csv
import datetime
import json
import os
import platform
import sys

BASELINE = "axum_basic"
ORDER = ["pulse", "axum_basic", "node_http", "fastapi_seed", "sse_starlette"]


def machine() -> str:
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores, Linux {platform.release()}"


def num(v: float) -> str:
    if v is None:
        return "–"
    a = abs(v)
    if a >= 1000:
        return f"{v:,.0f}"
    if a >= 100:
        return f"{v:.0f}"
    if a >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


class Row:
    """One line of the table: a metric, and per server a value and its display."""

    def __init__(self, scenario: str, metric: str, unit: str, ratio: bool):
        self.scenario, self.metric, self.unit, self.ratio = scenario, metric, unit, ratio
        self.values: dict[str, float | None] = {}
        self.shown: dict[str, str] = {}

    def set(self, server: str, value, shown: str | None = None):
        self.values[server] = value
        self.shown[server] = shown if shown is not None else num(value)

    def ratio_of(self, server: str):
        base, v = self.values.get(BASELINE), self.values.get(server)
        if not self.ratio or base in (None, 0) or v is None:
            return None
        return v / base

    def cell(self, server: str) -> str:
        if server not in self.shown:
            return ""
        r = self.ratio_of(server)
        return self.shown[server] + (f" ({r:.2f}×)" if r is not None else "")


def main():
    results_path, out = sys.argv[1], sys.argv[2]
    records = []
    with open(results_path) as f:
        for line in f:
            line = line.strip()
            if line:
                records.append(json.loads(line))
    run_servers = os.environ.get("BENCH_SERVERS_RUN", "").split()
    servers = [s for s in ORDER if s in run_servers] + [s for s in run_servers if s not in ORDER]
    notes: list[str] = []
    rows: list[Row] = []

    def find(scenario, server, **match):
        for r in records:
            if r.get("scenario") == scenario and r.get("label") == server and all(
                r.get(k) == v for k, v in match.items()
            ):
                return r
        return None

    for line in os.environ.get("BENCH_SKIPPED", "").splitlines():
        if line.strip():
            notes.append(f"not run: {line.strip()}")
    # utime+stime come in clock ticks (10 ms): a short run has few of them.
    for r in records:
        if r.get("scenario") == "fanout" and r.get("cpu_s") is not None and r["cpu_s"] < 1.0:
            notes.append(
                f"{r['label']} / {r['scenario']}: server CPU {r['cpu_s']:.2f} s is under 100 clock ticks: "
                "CPU per delivery is coarse"
            )
    # Every problem a run reported, whether or not the run made it into a row.
    for r in records:
        for key in ("error", "warning", "first_publish_error", "first_stream_error", "first_request_error", "page_error"):
            if key in r:
                size = f" ({r['subscribers']:,} subs)" if r.get("scenario") == "idle" and "subscribers" in r else ""
                if r.get("scenario") == "instances":
                    size = f" ({r.get('backend')}, {r.get('instances')} instance{'s' if r.get('instances') != 1 else ''})"
                notes.append(f"{r.get('label')} / {r.get('scenario')}{size}: {key.replace('_', ' ')}: {r[key]}")

    def loss_cell(r):
        if r is None or r.get("loss") is None:
            return None, ""
        shown = f"{r['loss']:,}"
        if r.get("dups"):
            shown += f" (+{r['dups']:,} dup)"
        return float(r["loss"]), shown

    # 1. idle subscribers, one row pair per size
    for n in sorted({r["subscribers"] for r in records if r.get("scenario") == "idle" and "subscribers" in r}):
        rss = Row("idle", f"1. hold {n:,} idle: server RSS per subscriber (KB)", "KB", True)
        held = Row("idle", f"1. hold {n:,} idle: held / live after one event", "", False)
        for s in servers:
            r = find("idle", s, subscribers=n)
            if r and "error" not in r:
                rss.set(s, r.get("rss_per_sub_kb"))
                held.set(s, float(r["live"]), f"{r['held']:,} / {r['live']:,}")
            elif r:
                rss.set(s, None, "error")
        rows += [rss, held]

    def delivery_rows(scenario, title, metrics):
        recs = {s: find(scenario, s) for s in servers}
        if not any(recs.values()):
            return
        any_r = next(r for r in recs.values() if r)
        t = title(any_r)
        made = [Row(scenario, f"{t}: {label}", unit, ratio) for (label, unit, ratio, _) in metrics]
        for s, r in recs.items():
            if r is None:
                continue
            for row, (_, _, _, get) in zip(made, metrics):
                if "error" in r:
                    row.set(s, None, "error")
                else:
                    value, shown = get(r)
                    row.set(s, value, shown)
        if scenario == "publish":  # the peers store nothing: there is nothing durable to measure
            for row in made:
                for s in servers:
                    row.shown.setdefault(s, "n/a")
        rows.extend(made)

    def field(key, scale=1.0):
        return lambda r: ((r[key] * scale) if r.get(key) is not None else None, None)

    def plain(getter):
        def g(r):
            v, _ = getter(r)
            return v, num(v)

        return g

    delivery_rows(
        "fanout",
        lambda r: f"2. {r['subscribers']:,} subs × {r['events']:,} events, {r['publishers']} publishers",
        [
            ("server CPU per delivery (µs)", "µs", True, plain(field("cpu_per_delivery_us"))),
            ("loss", "", False, loss_cell),
        ],
    )
    delivery_rows(
        "latency",
        lambda r: f"3. {r['subscribers']:,} subs × {r['events']:,} events at {r['rate']:g}/s",
        [
            ("p50 publish→receive (ms)", "ms", True, plain(field("p50_ms"))),
            ("p99 publish→receive (ms)", "ms", True, plain(field("p99_ms"))),
            ("loss", "", False, loss_cell),
        ],
    )
    delivery_rows(
        "wide",
        lambda r: f"4. {r['subscribers']:,} subs × {r['events']:,} events at {r['rate']:g}/s",
        [
            ("publishes accepted", "", False, lambda r: (float(r["accepted"]), f"{r['accepted']:,} / {r['events']:,}")),
            ("p99 publish→receive (ms)", "ms", True, plain(field("p99_ms"))),
            ("loss", "", False, loss_cell),
        ],
    )

    def vs_clean(r):
        clean = find("latency", r["label"])
        if clean and clean.get("p99_ms") and r.get("p99_ms") is not None:
            v = r["p99_ms"] / clean["p99_ms"]
            return v, f"{v:.2f}×"
        return None, "–"

    delivery_rows(
        "stalled",
        lambda r: f"5. run 3 + {r['stalled']:,} never-reading subs",
        [
            ("readers' p99 (ms)", "ms", True, plain(field("p99_ms"))),
            ("readers' p99 / run 3's", "×", False, vs_clean),
            ("server RSS at end (MB)", "MB", True, plain(field("rss_after_kb", 1 / 1024))),
            ("server peak RSS (MB)", "MB", True, plain(field("rss_hwm_kb", 1 / 1024))),
            ("loss (readers)", "", False, loss_cell),
        ],
    )
    sync = os.environ.get("BENCH_PULSE_SYNC", "full")
    delivery_rows(
        "publish",
        lambda r: f"6. durable publish, {r['publishers']} publishers, no subscribers (Pulse only)",
        [
            ("acknowledged/s", "/s", False, plain(field("acked_per_s"))),
            ("p99 ack (ms)", "ms", False, plain(field("ack_p99_ms"))),
        ],
    )

    # 7-10: Pulse only. One row per metric; the peers' cells say "n/a".
    def pulse_rows(scenario, title, metrics, r):
        if "error" in r:  # one row says so; the notes say why
            metrics = [("run failed (see notes)", "", lambda r: (None, "error"))]
        for label, unit, get in metrics:
            row = Row(scenario, f"{title}: {label}", unit, False)
            value, shown = get(r)
            row.set("pulse", value, shown if shown is not None else num(value))
            for s in servers:
                row.shown.setdefault(s, "n/a")
            rows.append(row)

    def pair(a, b, scale=1.0):
        def g(r):
            x, y = r.get(a), r.get(b)
            if x is None and y is None:
                return None, "–"
            return y, f"{num(x * scale if x is not None else None)} / {num(y * scale if y is not None else None)}"

        return g

    def count_of(a, b):
        return lambda r: (float(r.get(a) or 0), f"{r.get(a) or 0:,} / {r.get(b) or 0:,}")

    def loss_dups(r):
        if r.get("loss") is None:
            return None, "–"
        return float(r["loss"]), f"{r['loss']:,}" + (f" (+{r['dups']:,} dup)" if r.get("dups") else "")

    inst = [r for r in records if r.get("scenario") == "instances"]
    inst.sort(key=lambda r: (r.get("backend") != "embedded", r.get("instances") or 0))
    for r in inst:
        n = r.get("instances") or 0
        where = "embedded hub" if r.get("backend") == "embedded" else f"{n} on Redis"
        title = f"7. scale-out, {where}"
        if "error" not in r:
            per = (r.get("subscribers") or 0) // max(n, 1)
            title += f", {n} × {per:,} subs, {r.get('rate') or 0:g}/s"
        pulse_rows(
            "instances",
            title,
            [
                ("streams held / live after a probe", "", count_of("held", "probed")),
                ("deliveries/s", "/s", lambda r: (r.get("deliveries_per_s"), None)),
                ("p50 / p99 publish→receive (ms)", "ms", pair("p50_ms", "p99_ms")),
                ("loss", "", loss_dups),
            ],
            r,
        )

    for r in (x for x in records if x.get("scenario") == "storm"):
        title = "8. reconnect storm"
        if "error" not in r:
            title += f", {r.get('held', 0):,} subs, {r.get('rate') or 0:g}/s"

        def live_all(r):
            if r.get("all_live_ms") is not None:
                return r["all_live_ms"], None
            return None, f"not all: {r.get('live_again', 0):,} of {r.get('held', 0):,}"

        pulse_rows(
            "storm",
            title,
            [
                ("resumed exactly", "", count_of("resumed_exact", "held")),
                ("lost / duplicated / resets", "", lambda r: (
                    float(r.get("loss") or 0) + float(r.get("dups") or 0),
                    f"{r.get('loss', 0):,} / {r.get('dups', 0):,} / {r.get('resets', 0):,}")),
                ("all reconnected after the drop (ms)", "ms", lambda r: (r.get("all_back_ms"), None)),
                ("all live again after the drop (ms)", "ms", live_all),
                ("live again p50 / p99 (ms)", "ms", pair("live_p50_ms", "live_p99_ms")),
            ],
            r,
        )

    for r in (x for x in records if x.get("scenario") == "ssr"):
        title = "9. SSR"
        if "error" not in r:
            title += f", GET {r.get('url', '/stocks')}, {r.get('connections', 0)} connections"
        pulse_rows(
            "ssr",
            title,
            [
                ("requests/s", "/s", lambda r: (r.get("req_per_s"), None)),
                ("p50 / p99 latency (ms)", "ms", pair("p50_ms", "p99_ms")),
                ("answered 200", "", count_of("ok", "requests")),
                ("server CPU (share of its core)", "%", lambda r: (
                    r.get("cpu_share"), f"{r['cpu_share'] * 100:.0f}%" if r.get("cpu_share") is not None else "–")),
            ],
            r,
        )

    for r in (x for x in records if x.get("scenario") == "browser"):
        slow, fast = r.get("slow_rate", 50), r.get("fast_rate", 1000)
        title = "10. browser /stocks"
        if "error" not in r:
            title += f", {r.get('symbols', 0)} symbols"
        pulse_rows(
            "browser",
            title,
            [
                (f"{slow:g}/s: publish→DOM p50 / p99 (ms)", "ms", pair("slow_p50_ms", "slow_p99_ms")),
                (f"{slow:g}/s: ticks on screen", "", count_of("slow_seen", "slow_accepted")),
                (f"{fast:g}/s: publishes achieved (/s)", "/s", lambda r: (r.get("fast_achieved_rate"), None)),
                (f"{fast:g}/s: last tick on screen after its publish (ms)", "ms",
                 lambda r: (r.get("fast_last_lag_ms"), None)),
                ("a tab left open at the simulator's 6 ticks/s: main thread busy", "%",
                 lambda r: (r.get("ambient_busy_share"),
                            None if r.get("ambient_busy_share") is None else f"{r['ambient_busy_share'] * 100:.1f}%")),
                (f"{fast:g}/s: tab main thread busy (idle / {slow:g}/s / {fast:g}/s)", "%", lambda r: (
                    r.get("fast_busy_share"),
                    " / ".join(
                        f"{r[k] * 100:.0f}%" if r.get(k) is not None else "–"
                        for k in ("idle_busy_share", "slow_busy_share", "fast_busy_share")
                    ))),
            ],
            r,
        )

    meta = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "commit": os.environ.get("BENCH_COMMIT", "unknown"),
        "pulse_sync": sync,
        "smoke": os.environ.get("BENCH_SMOKE", "0") == "1",
        "servers": servers,
        "baseline": BASELINE,
    }

    # Plain text
    header = ["scenario / metric"] + servers
    table = [header] + [[r.metric] + [r.cell(s) for s in servers] for r in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    text = [
        f"Pulse benchmark, {meta['date']}, {meta['machine']}, commit {meta['commit']}"
        + (" — SMOKE RUN (tiny sizes: figures mean nothing)" if meta["smoke"] else ""),
        f"server on core 0, load on core 1; (n×) = ratio to {BASELINE} in this run; Pulse sync={sync}; "
        "n/a: rows 6-10 are Pulse only",
        "",
    ]
    for i, line in enumerate(table):
        text.append("  ".join(c.ljust(widths[j]) if j == 0 else c.rjust(widths[j]) for j, c in enumerate(line)))
        if i == 0:
            text.append("  ".join("-" * w for w in widths))
    if notes:
        text += ["", "notes:"] + [f"  - {n}" for n in notes]
    text_out = "\n".join(text) + "\n"
    print(text_out, end="")

    # Markdown
    md = [
        f"Measured {meta['date']} on {meta['machine']} (commit {meta['commit']}); "
        f"ratios to {BASELINE} from the same run; Pulse `--sync {sync}`"
        + (" — **smoke run, tiny sizes**" if meta["smoke"] else "")
        + ".",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
    md += ["| " + " | ".join([r.metric] + [r.cell(s) or "–" for s in servers]) + " |" for r in rows]
    if notes:
        md += [""] + [f"- {n}" for n in notes]

    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "bench.txt"), "w") as f:
        f.write(text_out)
    with open(os.path.join(out, "bench.md"), "w") as f:
        f.write("\n".join(md) + "\n")
    with open(os.path.join(out, "bench.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["scenario", "metric", "unit", "server", "value", "shown", "ratio_to_" + BASELINE])
        for r in rows:
            for s in servers:
                if s in r.shown:
                    w.writerow([r.scenario, r.metric, r.unit, s, r.values.get(s), r.shown[s], r.ratio_of(s)])
    with open(os.path.join(out, "bench.json"), "w") as f:
        json.dump(
            {
                "meta": meta,
                "rows": [
                    {
                        "scenario": r.scenario,
                        "metric": r.metric,
                        "unit": r.unit,
                        "values": r.values,
                        "shown": r.shown,
                        "ratios": {s: r.ratio_of(s) for s in servers if r.ratio},
                    }
                    for r in rows
                ],
                "notes": notes,
                "raw": records,
            },
            f,
            indent=1,
        )


if __name__ == "__main__":
    main()
