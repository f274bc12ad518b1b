//! `/monitor`: the host Pulse runs on (CPU total and per core, memory, swap, disk, network, load,
//! processes, uptime) and the hub's own figures, as numbers and as charts of the last minutes.
//! Everything comes from the `monitor` topic; the sampler publishes every couple of seconds.

use leptos::prelude::*;
use leptos_meta::Title;

use super::chart::{Line, LineChart};
use super::format;
use super::pause::PauseToggle;
use crate::event::monitor::{Sample, SERIES_POINTS};
use crate::event::BuiltIn;
use crate::event::MonitorState;
use crate::live::LiveStore;

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

#[component]
fn Charts(monitor: RwSignal<MonitorState>) -> AnyView {
    let series = move |f: fn(&MonitorState) -> &Vec<f64>| {
        Signal::derive(move || monitor.with(|m| f(m).clone()))
    };
    let pct: fn(f64) -> String = |v| format!("{v:.0}%");
    let rate: fn(f64) -> String = format::rate;
    let per_sec: fn(f64) -> String = |v| format!("{v:.1}/s");
    view! {
        <section class="panel" aria-labelledby="charts-title">
            <h2 id="charts-title">"Last five minutes"</h2>
            <div class="charts">
                <LineChart
                    title="CPU"
                    lines=vec![Line { name: "total", values: series(|m| &m.series.cpu) }]
                    max=100.0
                    format=pct
                    slots=SERIES_POINTS
                />
                <LineChart
                    title="Memory"
                    lines=vec![Line { name: "used", values: series(|m| &m.series.mem) }]
                    max=100.0
                    format=pct
                    slots=SERIES_POINTS
                />
                <LineChart
                    title="Network"
                    lines=vec![
                        Line { name: "received", values: series(|m| &m.series.net_rx) },
                        Line { name: "sent", values: series(|m| &m.series.net_tx) },
                    ]
                    format=rate
                    slots=SERIES_POINTS
                />
                <LineChart
                    title="Disk I/O"
                    lines=vec![
                        Line { name: "read", values: series(|m| &m.series.disk_read) },
                        Line { name: "write", values: series(|m| &m.series.disk_write) },
                    ]
                    format=rate
                    slots=SERIES_POINTS
                />
                <LineChart
                    title="Hub events"
                    lines=vec![
                        Line { name: "in", values: series(|m| &m.series.events_in) },
                        Line { name: "out", values: series(|m| &m.series.events_out) },
                    ]
                    format=per_sec
                    slots=SERIES_POINTS
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
