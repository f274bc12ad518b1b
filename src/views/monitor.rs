//! `/monitor`: the host Pulse runs on (CPU total and per core, memory, swap, disk, network, load,
//! processes, uptime) and the hub's own figures, as numbers and as charts of the last minutes.
//! Everything comes from the `monitor` topic; the sampler publishes every couple of seconds.
//! The charts show 5 min, 1 h or 24 h (`?range=`) of the history the server keeps.

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::chart::{Crosshair, Line, LineChart};
use super::format;
use super::pause::PauseToggle;
use crate::api::monitor::monitor_history;
use crate::event::history::{monitor_values, Range, Tier, MONITOR_SERIES};
use crate::event::monitor::Sample;
use crate::event::BuiltIn;
use crate::event::MonitorState;
use crate::live::{take_page_history, LiveStore};

#[component]
pub fn MonitorPage() -> AnyView {
    let monitor = expect_context::<LiveStore>().monitor;
    let has_sample = move || monitor.with(|m| m.latest.is_some());
    view! {
        <Title text="Monitor · Pulse"/>
        <section
            class="panel"
            aria-labelledby="monitor-title"
            data-testid="monitor"
            data-samples=move || monitor.with(|m| m.samples.to_string())
        >
            <div class="panel-head">
                <h1 id="monitor-title">"Monitor"</h1>
                <p class="muted">
                    {move || {
                        monitor
                            .with(|m| match &m.latest {
                                Some(s) => {
                                    format!(
                                        "Up {} · {} processes · load {:.2} {:.2} {:.2}",
                                        format::uptime(s.uptime),
                                        s.processes,
                                        s.load[0],
                                        s.load[1],
                                        s.load[2],
                                    )
                                }
                                None => "The host this Pulse runs on".into(),
                            })
                    }}
                </p>
                <PauseToggle topic=BuiltIn::Monitor/>
            </div>
            <Show
                when=has_sample
                fallback=|| {
                    view! {
                        <p class="empty">
                            "Waiting for the first sample. The sampler reads the host every "
                            "couple of seconds (set by " <code>"--monitor-interval-ms"</code>
                            "; 0 turns it off), and agents can publish to " <code>"monitor"</code> "."
                        </p>
                    }
                }
            >
                <HostFigures monitor/>
            </Show>
        </section>
        <Show when=has_sample>
            <Charts monitor/>
            <Cores monitor/>
            <HubPanel monitor/>
        </Show>
    }
    .into_any()
}

/// Reads one figure from the newest sample (a default sample before the first arrives).
fn pick<T: 'static>(monitor: RwSignal<MonitorState>, f: fn(&Sample) -> T) -> impl Fn() -> T + Copy {
    move || {
        monitor.with(|m| match &m.latest {
            Some(s) => f(s),
            None => f(&Sample::default()),
        })
    }
}

#[component]
fn Tile(
    #[prop(into)] label: String,
    #[prop(into)] testid: String,
    value: Signal<String>,
    detail: Signal<String>,
    /// 0–100 for a bar under the value; `None` for no bar.
    #[prop(optional)]
    fill: Option<Signal<f64>>,
) -> AnyView {
    view! {
        <div class="tile">
            <p class="tile-label">{label}</p>
            <p class="tile-value num" data-testid=testid>{value}</p>
            <p class="tile-detail muted">{detail}</p>
            {fill
                .map(|f| {
                    view! {
                        <div class="bar" aria-hidden="true">
                            <span style:width=move || format!("{:.1}%", f.get().clamp(0.0, 100.0))></span>
                        </div>
                    }
                })}
        </div>
    }
    .into_any()
}

#[component]
fn HostFigures(monitor: RwSignal<MonitorState>) -> AnyView {
    let cpu = pick(monitor, |s| s.cpu);
    let mem = pick(monitor, |s| s.mem_pct());
    let swap = pick(monitor, |s| s.swap_pct());
    let disk = pick(monitor, |s| s.disk_pct());
    view! {
        <div class="tiles">
            <Tile
                label="CPU"
                testid="cpu"
                value=Signal::derive(move || format::pct(cpu()))
                detail=Signal::derive(pick(monitor, |s| format!("{} cores", s.cores.len())))
                fill=Signal::derive(cpu)
            />
            <Tile
                label="Memory"
                testid="memory"
                value=Signal::derive(move || format::pct(mem()))
                detail=Signal::derive(
                    pick(monitor, |s| format!("{} of {}", format::bytes(s.mem_used as f64), format::bytes(s.mem_total as f64))),
                )
                fill=Signal::derive(mem)
            />
            <Tile
                label="Swap"
                testid="swap"
                value=Signal::derive(move || format::pct(swap()))
                detail=Signal::derive(
                    pick(monitor, |s| if s.swap_total == 0 { "no swap".into() } else { format!("{} of {}", format::bytes(s.swap_used as f64), format::bytes(s.swap_total as f64)) }),
                )
                fill=Signal::derive(swap)
            />
            <Tile
                label="Disk"
                testid="disk"
                value=Signal::derive(move || format::pct(disk()))
                detail=Signal::derive(
                    pick(monitor, |s| format!("{} of {} · read {} · write {}", format::bytes(s.disk_used as f64), format::bytes(s.disk_total as f64), format::rate(s.disk_read), format::rate(s.disk_write))),
                )
                fill=Signal::derive(disk)
            />
            <Tile
                label="Network"
                testid="network"
                value=Signal::derive(pick(monitor, |s| format!("↓ {}", format::rate(s.net_rx))))
                detail=Signal::derive(pick(monitor, |s| format!("↑ {} sent", format::rate(s.net_tx))))
            />
        </div>
    }
    .into_any()
}

/// The range in the address (`?range=1h`), 5 min when absent or unknown.
fn use_range() -> Memo<Range> {
    let query = use_query_map();
    Memo::new(move |_| {
        query
            .with(|q| q.get_str("range").and_then(Range::parse))
            .unwrap_or_default()
    })
}

/// The chart history of the chosen range: the one the page was rendered with, then fetched
/// again when the range changes; live samples are folded in as they arrive (the same
/// [`crate::event::history::Tier::push`] the server uses), so the charts keep moving.
fn use_history(monitor: RwSignal<MonitorState>, range: Memo<Range>) -> Signal<Tier> {
    let store = expect_context::<LiveStore>();
    let history = RwSignal::new(take_page_history());
    Effect::new(move |_| {
        let r = range.get();
        if history.with_untracked(|h| h.as_ref().map(|h| h.tier.range)) == Some(r) {
            return;
        }
        spawn_local(async move {
            // A failed fetch keeps the previous range drawn; the next change tries again.
            if let Ok(view) = monitor_history(r.name().to_owned()).await {
                if range.get_untracked() == r {
                    history.set(Some(view));
                }
            }
        });
    });
    Effect::new(move |_| {
        let latest = monitor.with(|m| m.latest.clone());
        let id = store.last_id.get_untracked();
        let Some(sample) = latest else { return };
        history.update(|h| {
            let Some(h) = h else { return };
            if id <= h.through {
                return;
            }
            h.through = id;
            if let Some(at) = sample.at {
                h.tier.push(at, &monitor_values(&sample));
            }
        });
    });
    Memo::new(move |_| {
        history.with(|h| match h {
            Some(h) if h.tier.range == range.get() => h.tier.clone(),
            _ => Tier::new(range.get()),
        })
    })
    .into()
}

/// Links to each range: they work without JavaScript, and the address keeps the choice across
/// reloads.
#[component]
fn RangeSwitch(range: Memo<Range>) -> AnyView {
    view! {
        <nav class="range-switch" aria-label="Chart range">
            {Range::ALL
                .into_iter()
                .map(|r| {
                    view! {
                        <a
                            href=format!("/monitor?range={}", r.name())
                            aria-current=move || (range.get() == r).then_some("true")
                            data-range=r.name()
                        >
                            {r.label()}
                        </a>
                    }
                })
                .collect_view()}
        </nav>
    }
    .into_any()
}

#[component]
fn Charts(monitor: RwSignal<MonitorState>) -> AnyView {
    Crosshair::provide();
    let range = use_range();
    let tier = use_history(monitor, range);
    let pct: fn(f64) -> String = |v| format!("{v:.0}%");
    let rate: fn(f64) -> String = format::rate;
    let per_sec: fn(f64) -> String = |v| format!("{v:.1}/s");
    let line = |name, series: &str| Line {
        name,
        index: MONITOR_SERIES
            .iter()
            .position(|s| *s == series)
            .unwrap_or(0),
    };
    view! {
        <section class="panel" aria-labelledby="charts-title">
            <div class="panel-head charts-head">
                <h2 id="charts-title">{move || format!("Last {}", range.get().label())}</h2>
                <RangeSwitch range/>
            </div>
            <div class="charts">
                <LineChart title="CPU" lines=vec![line("total", "cpu")] tier max=100.0 format=pct/>
                <LineChart title="Memory" lines=vec![line("used", "mem")] tier max=100.0 format=pct/>
                <LineChart
                    title="Network"
                    lines=vec![line("received", "net_rx"), line("sent", "net_tx")]
                    tier
                    format=rate
                />
                <LineChart
                    title="Disk I/O"
                    lines=vec![line("read", "disk_read"), line("write", "disk_write")]
                    tier
                    format=rate
                />
                <LineChart
                    title="Hub events"
                    lines=vec![line("in", "events_in"), line("out", "events_out")]
                    tier
                    format=per_sec
                />
            </div>
        </section>
    }
    .into_any()
}

#[component]
fn Cores(monitor: RwSignal<MonitorState>) -> AnyView {
    let count = pick(monitor, |s| s.cores.len());
    view! {
        <section class="panel" aria-labelledby="cores-title">
            <h2 id="cores-title">"CPU per core"</h2>
            <ol class="cores">
                <For each=move || 0..count() key=|i| *i let:i>
                    <li class="core">
                        <span class="core-name">{format!("#{i}")}</span>
                        <div class="bar" aria-hidden="true">
                            <span style:width=move || {
                                monitor
                                    .with(|m| {
                                        let v = m.latest.as_ref().and_then(|s| s.cores.get(i).copied()).unwrap_or(0.0);
                                        format!("{:.1}%", v.clamp(0.0, 100.0))
                                    })
                            }></span>
                        </div>
                        <span class="num">
                            {move || {
                                monitor
                                    .with(|m| {
                                        m.latest
                                            .as_ref()
                                            .and_then(|s| s.cores.get(i).copied())
                                            .map_or("–".into(), format::pct)
                                    })
                            }}
                        </span>
                    </li>
                </For>
            </ol>
        </section>
    }
    .into_any()
}

#[component]
fn HubPanel(monitor: RwSignal<MonitorState>) -> AnyView {
    let hub = move |f: fn(&crate::event::monitor::HubFigures) -> String| {
        Signal::derive(move || {
            monitor.with(|m| {
                m.latest
                    .as_ref()
                    .and_then(|s| s.hub.as_ref())
                    .map_or("–".into(), f)
            })
        })
    };
    let none = Signal::derive(String::new);
    view! {
        <section class="panel" aria-labelledby="hub-title">
            <h2 id="hub-title">"Hub"</h2>
            <div class="tiles">
                <Tile label="Subscribers" testid="hub-subscribers" value=hub(|h| h.subscribers.to_string()) detail=Signal::derive(|| "open streams".to_string())/>
                <Tile label="Events in" testid="hub-events-in" value=hub(|h| format!("{:.1}/s", h.events_in)) detail=Signal::derive(|| "published".to_string())/>
                <Tile label="Events out" testid="hub-events-out" value=hub(|h| format!("{:.1}/s", h.events_out)) detail=Signal::derive(|| "delivered to streams".to_string())/>
                <Tile label="Lagged" testid="hub-lagged" value=hub(|h| h.lagged.to_string()) detail=Signal::derive(|| "subscribers cut off, since start".to_string())/>
                <Tile label="Resets" testid="hub-resets" value=hub(|h| h.resets.to_string()) detail=Signal::derive(|| "re-snapshots, since start".to_string())/>
                <Tile label="History" testid="hub-history" value=hub(|h| h.history.to_string()) detail=none/>
            </div>
        </section>
    }
    .into_any()
}
