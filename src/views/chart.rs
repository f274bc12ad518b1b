//! An SVG line chart over a time range (no chart library), drawn from a [`Tier`] of history:
//! each line is the mean of its buckets, with a faint band from their min to their max (so a
//! spike shorter than a bucket still shows). The newest bucket sits on the right edge and the
//! time axis is labelled relative to it ("−5 min" … "now"), so the server's HTML and the
//! hydrated page agree without knowing the reader's clock or time zone.
//!
//! The y scale is fixed (0–100 %) or taken from the data without letting one outlier flatten the
//! rest ([`scale_top`]); points above the top are clipped and marked. Labels for 0, the middle
//! and the top sit in a gutter beside the plot, never on the line or the legend.
//!
//! A crosshair follows the pointer, or the keyboard on the focused plot (←/→ a point, Home/End
//! the first/last, Escape hides it); it is one [`Crosshair`] time shared by every chart of the
//! page, and each chart's readout shows its values at that time. Screen readers get a summary
//! as the image's name and a table of the points on request.

use leptos::prelude::*;

use crate::event::history::{segments, Range, Tier};

/// The view box is `0 0 WIDTH HEIGHT`; the SVG stretches to its CSS size (strokes do not).
pub const WIDTH: f64 = 300.0;
pub const HEIGHT: f64 = 100.0;

/// The smallest of 1, 2, 5 × 10ⁿ at or above `v` (1 for nothing to show), so the top label is
/// a round number.
pub fn nice_ceiling(v: f64) -> f64 {
    if !(v.is_finite() && v > 0.0) {
        return 1.0;
    }
    let exp = v.log10().floor();
    let base = 10f64.powf(exp);
    for m in [1.0, 2.0, 5.0, 10.0] {
        if m * base >= v * (1.0 - 1e-12) {
            return m * base;
        }
    }
    10.0 * base
}

/// The top of a scale for `values`: the round figure above the peak, unless the peak is more
/// than twice the 95th percentile — then one or a few outliers would squash every other point
/// into the bottom of the chart, so the top is taken from the percentile (with headroom) and the
/// outliers are clipped (and marked) instead.
pub fn scale_top(values: impl IntoIterator<Item = f64>) -> f64 {
    let mut v: Vec<f64> = values
        .into_iter()
        .filter(|x| x.is_finite() && *x >= 0.0)
        .collect();
    if v.is_empty() {
        return 1.0;
    }
    v.sort_by(f64::total_cmp);
    let peak = v[v.len() - 1];
    let idx = ((v.len() as f64 * 0.95).ceil() as usize).clamp(1, v.len()) - 1;
    let p95 = v[idx];
    if p95 > 0.0 && peak > 2.0 * p95 {
        nice_ceiling(p95 * 1.25)
    } else {
        nice_ceiling(peak)
    }
}

/// One labelled tick of the time axis: where it sits (0 = left edge, 1 = now) and its label.
/// Minor ticks lose their label on narrow charts (a container query in the stylesheet).
#[derive(Debug, Clone, PartialEq)]
pub struct Tick {
    pub frac: f64,
    pub label: String,
    pub minor: bool,
}

/// The time axis of `range`, relative to the newest point.
pub fn ticks(range: Range) -> Vec<Tick> {
    let (count, step, unit) = match range {
        Range::FiveMinutes => (5, 1, "min"),
        Range::Hour => (6, 10, "min"),
        Range::Day => (6, 4, "h"),
    };
    (0..=count)
        .map(|i| {
            let ago = (count - i) * step;
            Tick {
                frac: i as f64 / count as f64,
                label: if ago == 0 {
                    "now".into()
                } else {
                    format!("−{ago} {unit}")
                },
                // Every other label goes on narrow charts, counted back from "now" (which
                // always stays), so the ones left are evenly spaced whatever the tick count.
                minor: (count - i) % 2 == 1,
            }
        })
        .collect()
}

/// A time of day in UTC, `14:03:20 UTC` (no date: every range is at most a day).
pub fn clock(ms: i64) -> String {
    let secs = ms.div_euclid(1000).rem_euclid(86_400);
    format!(
        "{:02}:{:02}:{:02} UTC",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// Where a chart's x axis starts and how long it is, in ms: it ends at the newest bucket.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    pub start: i64,
    pub span: i64,
}

impl Window {
    pub fn of(tier: &Tier) -> Window {
        let span = tier.range.span_ms();
        let end = tier.newest().unwrap_or(span);
        Window {
            start: end - span,
            span,
        }
    }

    pub fn x(&self, at: i64) -> f64 {
        ((at - self.start) as f64 / self.span as f64 * WIDTH).clamp(0.0, WIDTH)
    }

    /// The time at `frac` of the width (0 = left edge).
    pub fn at(&self, frac: f64) -> i64 {
        self.start + (frac.clamp(0.0, 1.0) * self.span as f64).round() as i64
    }
}

/// The y of `v` on a scale topped at `top` (clipped to the plot, 1 unit inside its edges).
pub fn y(v: f64, top: f64) -> f64 {
    HEIGHT - (v / top).clamp(0.0, 1.0) * (HEIGHT - 2.0) - 1.0
}

/// An SVG path through `(times[i], values[i])`, with a fresh `M` after each gap (see
/// [`segments`]), so a line is never drawn over time nothing was sampled.
pub fn line_path(times: &[i64], values: &[f64], w: Window, top: f64, width: i64) -> String {
    let mut out = String::new();
    for seg in segments(times, width) {
        for (k, i) in seg.enumerate() {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push(if k == 0 { 'M' } else { 'L' });
            super::format::push_point(&mut out, w.x(times[i]), y(values[i], top));
        }
    }
    out
}

/// The closed band from `hi` (left to right) back along `lo`, per segment.
pub fn band_path(times: &[i64], lo: &[f64], hi: &[f64], w: Window, top: f64, width: i64) -> String {
    let mut out = String::new();
    for seg in segments(times, width) {
        let mut first = true;
        for i in seg.clone() {
            out.push_str(if first { "M" } else { " L" });
            first = false;
            super::format::push_point(&mut out, w.x(times[i]), y(hi[i], top));
        }
        for i in seg.rev() {
            out.push_str(" L");
            super::format::push_point(&mut out, w.x(times[i]), y(lo[i], top));
        }
        out.push_str(" Z ");
    }
    out.trim_end().to_owned()
}

/// The index of the time in `times` (ascending) nearest to `t`.
pub fn nearest(times: &[i64], t: i64) -> Option<usize> {
    if times.is_empty() {
        return None;
    }
    let i = times.partition_point(|x| *x < t);
    if i == 0 {
        return Some(0);
    }
    if i == times.len() {
        return Some(i - 1);
    }
    Some(if t - times[i - 1] <= times[i] - t {
        i - 1
    } else {
        i
    })
}

/// The crosshair's time (ms since the epoch), shared by every chart of a page: provide one per
/// page, and each chart marks it and reads its values there.
#[derive(Clone, Copy)]
pub struct Crosshair(pub RwSignal<Option<i64>>);

impl Crosshair {
    pub fn provide() -> Crosshair {
        let c = Crosshair(RwSignal::new(None));
        provide_context(c);
        c
    }
}

/// One series of a chart: its name for the legend and readers, and its index in the tier's
/// buckets.
#[derive(Clone, Copy)]
pub struct Line {
    pub name: &'static str,
    pub index: usize,
}

/// The columns one chart draws, taken from the tier once per change.
#[derive(Clone, PartialEq, Default)]
struct Columns {
    window: Option<Window>,
    width: i64,
    times: Vec<i64>,
    /// Per line: mean, min, max.
    mean: Vec<Vec<f64>>,
    lo: Vec<Vec<f64>>,
    hi: Vec<Vec<f64>>,
}

fn columns(tier: &Tier, lines: &[Line]) -> Columns {
    let pick = |f: fn(&crate::event::history::Bucket) -> &Vec<f64>, i: usize| {
        tier.buckets
            .iter()
            .map(|b| f(b).get(i).copied().unwrap_or(0.0))
            .collect::<Vec<_>>()
    };
    Columns {
        window: Some(Window::of(tier)),
        width: tier.range.bucket_ms(),
        times: tier.buckets.iter().map(|b| b.at).collect(),
        mean: lines.iter().map(|l| pick(|b| &b.mean, l.index)).collect(),
        lo: lines.iter().map(|l| pick(|b| &b.min, l.index)).collect(),
        hi: lines.iter().map(|l| pick(|b| &b.max, l.index)).collect(),
    }
}

#[component]
pub fn LineChart(
    /// What the chart shows, e.g. "CPU".
    #[prop(into)]
    title: String,
    lines: Vec<Line>,
    /// The history to draw (the page's chosen range).
    tier: Signal<Tier>,
    /// A fixed top of the scale (100 for percentages); `None` scales to the data.
    #[prop(optional)]
    max: Option<f64>,
    /// Formats axis labels and values.
    format: fn(f64) -> String,
) -> AnyView {
    let cursor = use_context::<Crosshair>()
        .unwrap_or_else(Crosshair::provide)
        .0;
    let data = {
        let lines = lines.clone();
        Memo::new(move |_| tier.with(|t| columns(t, &lines)))
    };
    let range = Memo::new(move |_| tier.with(|t| t.range));
    let top = Memo::new(move |_| {
        max.unwrap_or_else(|| data.with(|d| scale_top(d.mean.iter().flatten().copied())))
    });
    let window = move || data.with(|d| d.window.unwrap_or(Window { start: 0, span: 1 }));
    let names: Vec<&'static str> = lines.iter().map(|l| l.name).collect();
    // The index of the crosshair's point in this chart, if it is on.
    let at_cursor = Memo::new(move |_| {
        let t = cursor.get()?;
        data.with(|d| nearest(&d.times, t))
    });
    let summary = {
        let names = names.clone();
        let title = title.clone();
        move || {
            let top = top.get();
            data.with(|d| {
                let parts: Vec<String> = names
                    .iter()
                    .enumerate()
                    .map(|(i, n)| {
                        let v = &d.mean[i];
                        match v.last() {
                            Some(now) => {
                                let peak = d.hi[i].iter().copied().fold(f64::MIN, f64::max);
                                format!("{n} now {}, peak {}", format(*now), format(peak))
                            }
                            None => format!("{n} no data"),
                        }
                    })
                    .collect();
                format!(
                    "{title}: {}; last {}, scale 0 to {}",
                    parts.join(", "),
                    range.get().label(),
                    format(top)
                )
            })
        }
    };
    let readout = {
        let names = names.clone();
        move || {
            let i = at_cursor.get()?;
            data.with(|d| {
                let values: Vec<String> = names
                    .iter()
                    .enumerate()
                    .map(|(l, n)| format!("{n} {}", format(d.mean[l][i])))
                    .collect();
                Some(format!("{} · {}", clock(d.times[i]), values.join(" · ")))
            })
        }
    };
    let step = move |key: &str| -> bool {
        let next = data.with(|d| {
            let last = d.times.len().checked_sub(1)?;
            let now = at_cursor.get_untracked();
            let i = match key {
                "Home" => 0,
                "End" => last,
                "ArrowLeft" => now.map_or(last, |i| i.saturating_sub(1)),
                "ArrowRight" => now.map_or(last, |i| (i + 1).min(last)),
                _ => return None,
            };
            Some(d.times[i])
        });
        match (key, next) {
            ("Escape", _) => {
                cursor.set(None);
                true
            }
            (_, Some(t)) => {
                cursor.set(Some(t));
                true
            }
            _ => false,
        }
    };
    let plot_label = format!(
        "{title} chart: use the left and right arrow keys, Home and End to read its values"
    );
    let table_open = RwSignal::new(false);
    let legend_names = names.clone();
    let table_names = names.clone();
    let line_count = lines.len();
    let caption = view! {
        <figcaption>
            <span class="chart-title">{title.clone()}</span>
            <span class="chart-legend">
                {legend_names
                    .into_iter()
                    .enumerate()
                    .map(|(i, n)| {
                        view! {
                            <span class=format!("legend line-{i}")>
                                <span class="swatch" aria-hidden="true"></span>
                                {n}
                                " "
                                <span class="num">
                                    {move || data.with(|d| d.mean[i].last().copied().map_or("–".into(), format))}
                                </span>
                            </span>
                        }
                    })
                    .collect_view()}
            </span>
        </figcaption>
    }
    .into_any();
    let svg = view! {
        <svg
            viewBox=format!("0 0 {WIDTH} {HEIGHT}")
            preserveAspectRatio="none"
            role="img"
            aria-label=summary
        >
            <line class="grid" x1="0" x2=WIDTH y1=HEIGHT / 2.0 y2=HEIGHT / 2.0></line>
            <line class="grid" x1="0" x2=WIDTH y1="1" y2="1"></line>
            {move || {
                ticks(range.get())
                    .into_iter()
                    .map(|t| {
                        let x = t.frac * WIDTH;
                        view! { <line class="grid tick" x1=x x2=x y1="0" y2=HEIGHT></line> }
                    })
                    .collect_view()
            }}
            {(0..line_count)
                .map(|i| {
                    view! {
                        <path
                            class=format!("band line-{i}")
                            d=move || data.with(|d| match d.window {
                                Some(w) => band_path(&d.times, &d.lo[i], &d.hi[i], w, top.get(), d.width),
                                None => String::new(),
                            })
                        ></path>
                        <path
                            class=format!("line line-{i}")
                            fill="none"
                            d=move || data.with(|d| match d.window {
                                Some(w) => line_path(&d.times, &d.mean[i], w, top.get(), d.width),
                                None => String::new(),
                            })
                        ></path>
                    }
                })
                .collect_view()}
            <path
                class="clipped"
                d=move || {
                    let top = top.get();
                    data.with(|d| {
                        let Some(w) = d.window else { return String::new() };
                        let mut out = String::new();
                        for (i, t) in d.times.iter().enumerate() {
                            if d.mean.iter().any(|m| m[i] > top) {
                                out.push_str(&format!("M{:.1},0 L{:.1},6 ", w.x(*t), w.x(*t)));
                            }
                        }
                        out.trim_end().to_owned()
                    })
                }
            ></path>
            {move || {
                let i = at_cursor.get()?;
                let x = data.with(|d| d.window.map(|w| w.x(d.times[i])))?;
                Some(view! { <line class="crosshair" x1=x x2=x y1="0" y2=HEIGHT></line> })
            }}
        </svg>
    }
    .into_any();
    let table = view! {
        <details class="chart-table" on:toggle=move |_| table_open.update(|o| *o = !*o)>
            <summary>"Table of the points"</summary>
            <Show when=move || table_open.get()>
                {
                    let table_names = table_names.clone();
                    move || {
                        let header = table_names
                            .iter()
                            .map(|n| view! { <th scope="col">{*n}</th> })
                            .collect_view();
                        let rows = data.with(|d| {
                            (0..d.times.len())
                                .rev()
                                .map(|i| {
                                    let cells = (0..d.mean.len())
                                        .map(|l| view! { <td class="num">{format(d.mean[l][i])}</td> })
                                        .collect_view();
                                    view! { <tr><th scope="row">{clock(d.times[i])}</th>{cells}</tr> }
                                })
                                .collect_view()
                        });
                        view! {
                            <table>
                                <thead><tr><th scope="col">"Time"</th>{header}</tr></thead>
                                <tbody>{rows}</tbody>
                            </table>
                        }
                    }
                }
            </Show>
        </details>
    }
    .into_any();
    view! {
        <figure class="chart" data-range=move || range.get().name()>
            {caption}
            <div class="chart-body">
                <div class="y-axis" aria-hidden="true">
                    <span class="y-top">{move || format(top.get())}</span>
                    <span class="y-mid">{move || format(top.get() / 2.0)}</span>
                    <span class="y-zero">{format(0.0)}</span>
                </div>
                <div
                    class="plot"
                    tabindex="0"
                    role="group"
                    aria-label=plot_label
                    data-testid="chart-plot"
                    on:pointermove=move |ev| {
                        use leptos::wasm_bindgen::JsCast;
                        let Some(el) = ev
                            .current_target()
                            .and_then(|t| t.dyn_into::<leptos::web_sys::Element>().ok())
                        else {
                            return;
                        };
                        let w = f64::from(el.client_width().max(1));
                        let t = window().at(f64::from(ev.offset_x()) / w);
                        if let Some(i) = data.with_untracked(|d| nearest(&d.times, t)) {
                            cursor.set(data.with_untracked(|d| d.times.get(i).copied()));
                        }
                    }
                    on:pointerleave=move |_| cursor.set(None)
                    on:blur=move |_| cursor.set(None)
                    on:keydown=move |ev| {
                        if step(&ev.key()) {
                            ev.prevent_default();
                        }
                    }
                >
                    {svg}
                </div>
                <div class="x-axis" aria-hidden="true">
                    {move || {
                        ticks(range.get())
                            .into_iter()
                            .map(|t| {
                                view! {
                                    <span
                                        class:minor=t.minor
                                        style:left=format!("{:.2}%", t.frac * 100.0)
                                    >
                                        {t.label}
                                    </span>
                                }
                            })
                            .collect_view()
                    }}
                </div>
                <p class="readout num" aria-live="polite" data-testid="chart-readout">
                    {move || readout().unwrap_or_default()}
                </p>
            </div>
            {table}
        </figure>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_round_up_to_readable_figures() {
        assert_eq!(nice_ceiling(0.0), 1.0);
        assert_eq!(nice_ceiling(0.7), 1.0);
        assert_eq!(nice_ceiling(1.0), 1.0);
        assert_eq!(nice_ceiling(1.2), 2.0);
        assert_eq!(nice_ceiling(3.0), 5.0);
        assert_eq!(nice_ceiling(730.0), 1000.0);
        assert_eq!(nice_ceiling(f64::NAN), 1.0);
    }

    #[test]
    fn one_spike_does_not_flatten_the_rest() {
        let mut v = vec![10.0; 99];
        v.push(10_000.0);
        // The spike is clipped: the scale fits the other 99 points.
        assert_eq!(scale_top(v.clone()), 20.0);
        // Values that simply grow are not outliers: the peak sets the top.
        let ramp: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(scale_top(ramp), 100.0);
        // Mostly idle with one burst: nothing else to keep readable, the burst sets the top.
        let mut idle = vec![0.0; 99];
        idle.push(730.0);
        assert_eq!(scale_top(idle), 1000.0);
        assert_eq!(scale_top(vec![]), 1.0);
    }

    #[test]
    fn the_time_axis_is_labelled_back_from_now() {
        let five = ticks(Range::FiveMinutes);
        let labels: Vec<_> = five.iter().map(|t| t.label.as_str()).collect();
        assert_eq!(
            labels,
            ["−5 min", "−4 min", "−3 min", "−2 min", "−1 min", "now"]
        );
        assert_eq!((five[0].frac, five[5].frac), (0.0, 1.0));
        let day: Vec<_> = ticks(Range::Day).into_iter().map(|t| t.label).collect();
        assert_eq!(day.first().map(String::as_str), Some("−24 h"));
        assert_eq!(day.len(), 7);
        let hour = ticks(Range::Hour);
        assert_eq!(hour[3].label, "−30 min");
        assert!(hour[3].minor && !hour[2].minor);
        // Narrow: "−4 min", "−2 min", "now" — never "−1 min" crowding "now".
        let kept: Vec<_> = five
            .iter()
            .filter(|t| !t.minor)
            .map(|t| t.label.as_str())
            .collect();
        assert_eq!(kept, ["−4 min", "−2 min", "now"]);
    }

    #[test]
    fn clock_reads_utc_time_of_day() {
        // 2027-01-15T08:00:00Z plus 3 h 4 min 5 s.
        assert_eq!(clock(1_800_000_000_000 + 11_045_000), "11:04:05 UTC");
        assert_eq!(clock(0), "00:00:00 UTC");
    }

    #[test]
    fn points_sit_at_their_time_and_gaps_break_the_line() {
        let mut t = Tier::new(Range::FiveMinutes);
        let t0 = 1_800_000_000_000;
        for (dt, v) in [(0, 0.0), (2_000, 50.0), (4_000, 100.0), (64_000, 50.0)] {
            t.push(t0 + dt, &[v]);
        }
        let w = Window::of(&t);
        assert_eq!(w.start, t0 + 64_000 - 300_000);
        assert_eq!(w.x(t0 + 64_000), WIDTH);
        let times: Vec<i64> = t.buckets.iter().map(|b| b.at).collect();
        let values: Vec<f64> = t.buckets.iter().map(|b| b.mean[0]).collect();
        let d = line_path(&times, &values, w, 100.0, 1_000);
        assert_eq!(d, "M236.0,99.0 L238.0,50.0 L240.0,1.0 M300.0,50.0");
        assert_eq!(
            band_path(&times[3..], &[40.0], &[60.0], w, 100.0, 1_000),
            "M300.0,40.2 L300.0,59.8 Z"
        );
        assert_eq!(w.at(1.0), t0 + 64_000);
        assert_eq!(w.at(0.5), t0 + 64_000 - 150_000);
    }

    #[test]
    fn the_crosshair_snaps_to_the_nearest_point() {
        let times = [0, 10, 20];
        assert_eq!(nearest(&times, -5), Some(0));
        assert_eq!(nearest(&times, 14), Some(1));
        assert_eq!(nearest(&times, 16), Some(2));
        assert_eq!(nearest(&times, 99), Some(2));
        assert_eq!(nearest(&[], 3), None);
    }
}
