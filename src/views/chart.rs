//! An SVG line chart for a few minutes of history (no chart library): newest point at the right
//! edge, so the lines crawl left as samples arrive, and a y scale that is either fixed (0–100 %)
//! or rounded up to a readable figure (1, 2 or 5 × 10ⁿ) from the data.

use leptos::prelude::*;

/// The view box is `0 0 WIDTH HEIGHT`; the SVG scales to its CSS size.
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

/// Polyline points for `values` scaled to `top`, right-aligned on a grid of `slots` points.
pub fn points(values: &[f64], top: f64, slots: usize) -> String {
    let slots = slots.max(2);
    let step = WIDTH / (slots - 1) as f64;
    let n = values.len().min(slots);
    let skip = values.len() - n;
    let mut out = String::with_capacity(n * 12);
    for (i, v) in values[skip..].iter().enumerate() {
        let x = WIDTH - (n - 1 - i) as f64 * step;
        let y = HEIGHT - (v / top).clamp(0.0, 1.0) * (HEIGHT - 2.0) - 1.0;
        if i > 0 {
            out.push(' ');
        }
        out.push_str(&format!("{x:.1},{y:.1}"));
    }
    out
}

/// The same line closed along the bottom, for the shaded area under the first series.
fn area(values: &[f64], top: f64, slots: usize) -> String {
    if values.is_empty() {
        return String::new();
    }
    let line = points(values, top, slots);
    let first_x = line
        .split(',')
        .next()
        .and_then(|x| x.parse::<f64>().ok())
        .unwrap_or(0.0);
    format!("{first_x:.1},{HEIGHT:.1} {line} {WIDTH:.1},{HEIGHT:.1}")
}

/// One series of a chart: a name for the legend and screen readers, and its values.
#[derive(Clone)]
pub struct Line {
    pub name: &'static str,
    pub values: Signal<Vec<f64>>,
}

#[component]
pub fn LineChart(
    /// What the chart shows, e.g. "CPU, last 5 minutes".
    #[prop(into)]
    title: String,
    lines: Vec<Line>,
    /// A fixed top of the scale (100 for percentages); `None` scales to the data.
    #[prop(optional)]
    max: Option<f64>,
    /// Formats the top-of-scale label and the current values.
    format: fn(f64) -> String,
    /// Points the x axis holds (a full window of history).
    slots: usize,
) -> AnyView {
    let all = lines.clone();
    let top = Memo::new(move |_| {
        max.unwrap_or_else(|| {
            let peak = all
                .iter()
                .map(|l| l.values.with(|v| v.iter().copied().fold(0.0, f64::max)))
                .fold(0.0, f64::max);
            nice_ceiling(peak)
        })
    });
    let first = lines.first().map(|l| l.values);
    let described = lines.clone();
    let summary = move || {
        described
            .iter()
            .map(|l| {
                let now = l.values.with(|v| v.last().copied());
                format!("{} {}", l.name, now.map_or("no data".into(), format))
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let legend = lines.clone();
    view! {
        <figure class="chart">
            <figcaption>
                <span class="chart-title">{title.clone()}</span>
                <span class="chart-legend">
                    {legend
                        .into_iter()
                        .enumerate()
                        .map(|(i, l)| {
                            view! {
                                <span class=format!("legend line-{i}")>
                                    <span class="swatch" aria-hidden="true"></span>
                                    {l.name}
                                    " "
                                    <span class="num">
                                        {move || l.values.with(|v| v.last().copied().map_or("–".into(), format))}
                                    </span>
                                </span>
                            }
                        })
                        .collect_view()}
                </span>
            </figcaption>
            <svg
                viewBox=format!("0 0 {WIDTH} {HEIGHT}")
                preserveAspectRatio="none"
                role="img"
                aria-label=move || format!("{title}: {}", summary())
            >
                <line class="grid" x1="0" x2=WIDTH y1=HEIGHT / 4.0 y2=HEIGHT / 4.0></line>
                <line class="grid" x1="0" x2=WIDTH y1=HEIGHT / 2.0 y2=HEIGHT / 2.0></line>
                <line class="grid" x1="0" x2=WIDTH y1=HEIGHT * 0.75 y2=HEIGHT * 0.75></line>
                {first
                    .map(|v| {
                        view! {
                            <polygon
                                class="area"
                                points=move || v.with(|v| area(v, top.get(), slots))
                            ></polygon>
                        }
                    })}
                {lines
                    .into_iter()
                    .enumerate()
                    .map(|(i, l)| {
                        view! {
                            <polyline
                                class=format!("line line-{i}")
                                fill="none"
                                points=move || l.values.with(|v| points(v, top.get(), slots))
                            ></polyline>
                        }
                    })
                    .collect_view()}
            </svg>
            <span class="chart-top" aria-hidden="true">{move || format(top.get())}</span>
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
    fn newest_point_sits_on_the_right_edge() {
        assert_eq!(points(&[0.0, 100.0], 100.0, 3), "150.0,99.0 300.0,1.0");
        assert_eq!(points(&[50.0], 100.0, 3), "300.0,50.0");
        // More values than slots: only the newest are drawn.
        assert_eq!(points(&[1.0, 2.0, 200.0], 100.0, 2), "0.0,97.0 300.0,1.0");
        assert_eq!(area(&[], 1.0, 3), "");
        assert_eq!(area(&[0.0], 1.0, 3), "300.0,100.0 300.0,99.0 300.0,100.0");
    }
}
