//! An SVG sparkline: a polyline scaled to the series' own min and max (no chart library).
//! Given a baseline (the ticker's session open), the scale also takes in the baseline, a dashed
//! line marks it, and the line is coloured by where the last value stands against it.

use leptos::prelude::*;

use super::format;
use super::memo::derived;

/// The view box is `0 0 WIDTH HEIGHT`; the SVG scales to its CSS size.
pub const WIDTH: f64 = 100.0;
pub const HEIGHT: f64 = 28.0;

/// `WIDTH` and the view box as attribute text, formatted once (a page has a sparkline per row).
static WIDTH_ATTR: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| WIDTH.to_string());
static VIEW_BOX: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| format!("0 0 {WIDTH} {HEIGHT}"));

/// `points` for a polyline: x spread evenly, y flipped so higher values are higher up, with a
/// one-unit margin so the stroke is never clipped. A flat or single-point series is a
/// mid-height line.
pub fn points(values: &[f64]) -> String {
    points_with(values, None)
}

/// The series' scale: its min and max, stretched to include `baseline`.
fn range(values: &[f64], baseline: Option<f64>) -> (f64, f64) {
    values
        .iter()
        .chain(baseline.as_ref())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(*v), hi.max(*v))
        })
}

/// The y of `v` on the scale `(min, max)` (mid-height when the scale is flat).
fn y_of(v: f64, (min, max): (f64, f64)) -> f64 {
    let span = max - min;
    if span > 0.0 {
        1.0 + (HEIGHT - 2.0) * (1.0 - (v - min) / span)
    } else {
        HEIGHT / 2.0
    }
}

/// The y of the baseline, for a series drawn with [`points_with`] and the same baseline.
pub fn baseline_y(values: &[f64], baseline: f64) -> f64 {
    y_of(baseline, range(values, Some(baseline)))
}

/// `"up"`, `"down"` or `"flat"`: where the last value stands against the baseline (the first
/// value when there is none).
pub fn direction(values: &[f64], baseline: Option<f64>) -> &'static str {
    let (Some(first), Some(last)) = (values.first(), values.last()) else {
        return "flat";
    };
    let base = baseline.unwrap_or(*first);
    if *last > base {
        "up"
    } else if *last < base {
        "down"
    } else {
        "flat"
    }
}

/// [`points`] on a scale that also takes in `baseline`.
pub fn points_with(values: &[f64], baseline: Option<f64>) -> String {
    if values.is_empty() {
        return String::new();
    }
    let scale = range(values, baseline);
    let step = if values.len() > 1 {
        WIDTH / (values.len() - 1) as f64
    } else {
        0.0
    };
    let mut out = String::with_capacity(values.len() * 12);
    for (i, v) in values.iter().enumerate() {
        let y = y_of(*v, scale);
        if i > 0 {
            out.push(' ');
        }
        format::push_point(&mut out, i as f64 * step, y);
    }
    if values.len() == 1 {
        out.push(' ');
        format::push_point(&mut out, WIDTH, HEIGHT / 2.0);
    }
    out
}

#[component]
pub fn Sparkline(
    #[prop(into)] values: Signal<Vec<f64>>,
    /// What the line shows, for screen readers.
    #[prop(into)]
    label: String,
    /// A reference value: drawn as a dashed line, and the line's colour says which side of it
    /// the last value is on.
    #[prop(optional)]
    baseline: Option<Signal<f64>>,
) -> impl IntoView {
    let base = move || baseline.map(|b| b.get());
    // The colour and the baseline's height change far less often than the line: memos keep
    // their attributes untouched while they stay the same.
    let trend = derived(move || values.with(|v| direction(v, base())));
    let class = move || {
        if baseline.is_none() {
            "sparkline"
        } else {
            match trend.get() {
                "up" => "sparkline trend-up",
                "down" => "sparkline trend-down",
                _ => "sparkline trend-flat",
            }
        }
    };
    // The dashed baseline is one element for the life of the chart (only its height moves).
    let baseline_line = baseline.map(|b| {
        let y = derived(move || format::fixed(values.with(|v| baseline_y(v, b.get())), 1));
        view! {
            <line
                class="baseline"
                x1="0"
                x2=WIDTH_ATTR.as_str()
                y1=move || y.get()
                y2=move || y.get()
            ></line>
        }
    });
    view! {
        <svg
            class=class
            viewBox=VIEW_BOX.as_str()
            preserveAspectRatio="none"
            role="img"
            aria-label=label
        >
            {baseline_line}
            <polyline points=move || values.with(|v| points_with(v, base())) fill="none"></polyline>
        </svg>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_to_the_box() {
        assert_eq!(points(&[1.0, 3.0, 2.0]), "0.0,27.0 50.0,1.0 100.0,14.0");
    }

    #[test]
    fn the_baseline_is_on_the_scale_and_sets_the_direction() {
        // A baseline below the series stretches the scale down to it.
        assert_eq!(points_with(&[2.0, 3.0], Some(1.0)), "0.0,14.0 100.0,1.0");
        assert_eq!(baseline_y(&[2.0, 3.0], 1.0), 27.0);
        assert_eq!(direction(&[2.0, 3.0], Some(1.0)), "up");
        assert_eq!(direction(&[2.0, 3.0], Some(4.0)), "down");
        assert_eq!(direction(&[3.0, 2.0], None), "down");
        assert_eq!(direction(&[2.0, 2.0], Some(2.0)), "flat");
        assert_eq!(direction(&[], Some(2.0)), "flat");
    }

    #[test]
    fn flat_and_single_series_are_midlines() {
        assert_eq!(points(&[5.0, 5.0]), "0.0,14.0 100.0,14.0");
        assert_eq!(points(&[5.0]), "0.0,14.0 100.0,14.0");
        assert_eq!(points(&[]), "");
    }
}
