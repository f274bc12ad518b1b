//! An SVG sparkline: a polyline scaled to the series' own min and max (no chart library).

use leptos::prelude::*;

/// The view box is `0 0 WIDTH HEIGHT`; the SVG scales to its CSS size.
pub const WIDTH: f64 = 100.0;
pub const HEIGHT: f64 = 28.0;

/// `points` for a polyline: x spread evenly, y flipped so higher values are higher up, with a
/// one-unit margin so the stroke is never clipped. A flat or single-point series is a
/// mid-height line.
pub fn points(values: &[f64]) -> String {
    if values.is_empty() {
        return String::new();
    }
    let (min, max) = values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(*v), hi.max(*v))
        });
    let span = max - min;
    let step = if values.len() > 1 {
        WIDTH / (values.len() - 1) as f64
    } else {
        0.0
    };
    let mut out = String::with_capacity(values.len() * 12);
    for (i, v) in values.iter().enumerate() {
        let y = if span > 0.0 {
            1.0 + (HEIGHT - 2.0) * (1.0 - (v - min) / span)
        } else {
            HEIGHT / 2.0
        };
        if i > 0 {
            out.push(' ');
        }
        out.push_str(&format!("{:.1},{:.1}", i as f64 * step, y));
    }
    if values.len() == 1 {
        out.push_str(&format!(" {WIDTH:.1},{:.1}", HEIGHT / 2.0));
    }
    out
}

#[component]
pub fn Sparkline(
    #[prop(into)] values: Signal<Vec<f64>>,
    /// What the line shows, for screen readers.
    #[prop(into)]
    label: String,
) -> impl IntoView {
    view! {
        <svg
            class="sparkline"
            viewBox=format!("0 0 {WIDTH} {HEIGHT}")
            preserveAspectRatio="none"
            role="img"
            aria-label=label
        >
            <polyline points=move || values.with(|v| points(v)) fill="none"></polyline>
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
    fn flat_and_single_series_are_midlines() {
        assert_eq!(points(&[5.0, 5.0]), "0.0,14.0 100.0,14.0");
        assert_eq!(points(&[5.0]), "0.0,14.0 100.0,14.0");
        assert_eq!(points(&[]), "");
    }
}
