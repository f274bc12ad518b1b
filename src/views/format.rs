//! Number formatting shared by the views (pure, unit-tested).

/// Appends `v` with `decimals` decimals (at most 6), as `{:.N}` would, except that an exact
/// binary tie (0.125 to two places) rounds away from zero rather than to even. Integer
/// formatting, because `{:.N}` takes the exact float-formatting path and often its slow
/// fallback (`dragon`): with `{:.N}`, formatting was 7 % of the CPU of a server rendering
/// `/stocks`, whose rows and sparklines are hundreds of numbers.
pub fn push_fixed(out: &mut String, v: f64, decimals: u32) {
    use std::fmt::Write;
    let scale = 10_i64.pow(decimals.min(6));
    if !v.is_finite() || v.abs() * scale as f64 >= 9e15 {
        let _ = write!(out, "{v:.*}", decimals as usize);
        return;
    }
    let t = (v * scale as f64).round() as i64;
    if t < 0 {
        out.push('-');
    }
    let t = t.unsigned_abs();
    let scale = scale as u64;
    let _ = write!(out, "{}", t / scale);
    if decimals > 0 {
        let _ = write!(out, ".{:0width$}", t % scale, width = decimals as usize);
    }
}

/// `v` with `decimals` decimals ([`push_fixed`]).
pub fn fixed(v: f64, decimals: u32) -> String {
    let mut out = String::with_capacity(12);
    push_fixed(&mut out, v, decimals);
    out
}

/// Appends the SVG point `x,y`, each with one decimal.
pub fn push_point(out: &mut String, x: f64, y: f64) {
    push_fixed(out, x, 1);
    out.push(',');
    push_fixed(out, y, 1);
}

/// A price with two decimals.
pub fn price(p: f64) -> String {
    fixed(p, 2)
}

/// A signed change with two decimals: `+1.20`, `-0.35`, `0.00`.
pub fn signed(v: f64) -> String {
    let mut out = String::with_capacity(12);
    out.push('+');
    push_fixed(&mut out, v, 2);
    if out == "+0.00" || out == "+-0.00" {
        return "0.00".into(); // rounds to zero: no sign
    }
    if out.starts_with("+-") {
        out.remove(0);
    }
    out
}

/// A signed percentage: `+1.25%`.
pub fn percent(v: f64) -> String {
    let mut out = signed(v);
    out.push('%');
    out
}

/// A percentage with one decimal: `42.5%`.
pub fn pct(v: f64) -> String {
    let mut out = fixed(v, 1);
    out.push('%');
    out
}

/// Bytes in binary units: `512 B`, `1.5 KiB`, `3.2 GiB`.
pub fn bytes(n: f64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut v = n.max(0.0);
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{v:.0} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

/// A byte rate: `1.5 MiB/s`.
pub fn rate(bytes_per_sec: f64) -> String {
    format!("{}/s", bytes(bytes_per_sec))
}

/// A duration in the two largest units: `3d 4h`, `2h 5m`, `42s`.
pub fn uptime(secs: u64) -> String {
    let (d, h, m, s) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    if d > 0 {
        format!("{d}d {h}h")
    } else if h > 0 {
        format!("{h}h {m}m")
    } else if m > 0 {
        format!("{m}m {s}s")
    } else {
        format!("{s}s")
    }
}

/// Splits milliseconds since the Unix epoch into a UTC civil date and time
/// (year, month, day, hour, minute, second). Howard Hinnant's days-to-civil algorithm, so no
/// date library is needed in the browser bundle.
pub fn civil(ms: i64) -> (i64, u32, u32, u32, u32, u32) {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let tod = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (
        y,
        m,
        d,
        (tod / 3600) as u32,
        (tod / 60 % 60) as u32,
        (tod % 60) as u32,
    )
}

/// `2026-11-24T15:05:46Z`, for `<time datetime>`.
pub fn iso(ms: i64) -> String {
    let (y, mo, d, h, mi, s) = civil(ms);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

/// `15:05 UTC` — the same text on the server and in the browser (a local time zone would make
/// the hydrated text differ from the server's).
pub fn clock_utc(ms: i64) -> String {
    let (_, _, _, h, mi, _) = civil(ms);
    format!("{h:02}:{mi:02} UTC")
}

/// `Nov 24, 15:05 UTC`.
pub fn date_time_utc(ms: i64) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let (_, mo, d, h, mi, _) = civil(ms);
    format!("{} {d}, {h:02}:{mi:02} UTC", MONTHS[(mo - 1) as usize])
}

/// `Dec 7, 14:05` for a time already shifted to the viewer's zone (no zone named).
pub fn date_time_plain(ms: i64) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let (_, mo, d, h, mi, _) = civil(ms);
    format!("{} {d}, {h:02}:{mi:02}", MONTHS[(mo - 1) as usize])
}

/// How long ago `at` was, at `now` (both Unix ms): `just now`, `5 min ago`, `3 h ago`, `2 d
/// ago`. A time in the future (a clock ahead of this one) reads `just now`.
pub fn ago(now: i64, at: i64) -> String {
    let secs = (now - at).max(0) / 1000;
    match secs {
        0..45 => "just now".to_owned(),
        45..3600 => format!("{} min ago", (secs + 30) / 60),
        3600..86_400 => format!("{} h ago", secs / 3600),
        _ => format!("{} d ago", secs / 86_400),
    }
}

/// A time span to the second while it is short, then coarser: `0 s`, `42 s`, `1 min 5 s`,
/// `12 min`, `2 h 3 min`, `3 d 4 h` — for "updated 42 s ago", which counts up while it is read.
pub fn elapsed(secs: u64) -> String {
    match secs {
        0..60 => format!("{secs} s"),
        60..600 => format!("{} min {} s", secs / 60, secs % 60),
        600..3600 => format!("{} min", secs / 60),
        3600..86_400 => format!("{} h {} min", secs / 3600, secs / 60 % 60),
        _ => format!("{} d {} h", secs / 86_400, secs / 3600 % 24),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_reads_as_the_standard_formatting_does() {
        let values = [
            0.0,
            1.0,
            12.34,
            99.96,
            -3.21,
            239.99,
            1e9 + 0.3,
            40.0 / 3.0,
            101.27,
        ];
        for v in values.into_iter().chain([f64::NAN, f64::INFINITY, 1e300]) {
            for d in 0..=4 {
                assert_eq!(fixed(v, d), format!("{v:.*}", d as usize), "{v} to {d}");
            }
        }
        // A small negative rounds to 0 without the standard "-0.0".
        assert_eq!(fixed(-0.04, 1), "0.0");
        // An exact binary tie rounds away from zero.
        assert_eq!(fixed(0.125, 2), "0.13");
        assert_eq!(fixed(-0.125, 2), "-0.13");
    }

    #[test]
    fn elapsed_counts_seconds_while_short() {
        assert_eq!(elapsed(0), "0 s");
        assert_eq!(elapsed(42), "42 s");
        assert_eq!(elapsed(65), "1 min 5 s");
        assert_eq!(elapsed(12 * 60 + 59), "12 min");
        assert_eq!(elapsed(2 * 3600 + 3 * 60 + 9), "2 h 3 min");
        assert_eq!(elapsed(3 * 86_400 + 4 * 3600), "3 d 4 h");
    }

    #[test]
    fn relative_and_local_times() {
        let at = 1_795_532_746_000; // Nov 24, 15:05:46 UTC
        assert_eq!(ago(at + 10_000, at), "just now");
        assert_eq!(ago(at - 5_000, at), "just now", "a clock slightly behind");
        assert_eq!(ago(at + 50_000, at), "1 min ago");
        assert_eq!(ago(at + 5 * 60_000, at), "5 min ago");
        assert_eq!(ago(at + 3 * 3_600_000 + 1, at), "3 h ago");
        assert_eq!(ago(at + 49 * 3_600_000, at), "2 d ago");
        // Tokyo is UTC+9: the shifted time reads as the local wall clock.
        assert_eq!(date_time_plain(at + 9 * 3_600_000), "Nov 25, 00:05");
    }

    #[test]
    fn host_figures() {
        assert_eq!(pct(42.46), "42.5%");
        assert_eq!(bytes(512.0), "512 B");
        assert_eq!(bytes(1536.0), "1.5 KiB");
        assert_eq!(bytes(3.5 * 1024.0 * 1024.0 * 1024.0), "3.5 GiB");
        assert_eq!(rate(2048.0), "2.0 KiB/s");
        assert_eq!(uptime(42), "42s");
        assert_eq!(uptime(3 * 3600 + 5 * 60), "3h 5m");
        assert_eq!(uptime(2 * 86_400 + 7200), "2d 2h");
    }

    #[test]
    fn utc_dates() {
        assert_eq!(iso(0), "1970-01-01T00:00:00Z");
        // 2026-11-24T15:05:46Z
        assert_eq!(iso(1_795_532_746_000), "2026-11-24T15:05:46Z");
        assert_eq!(iso(951_782_400_000), "2000-02-29T00:00:00Z");
        assert_eq!(clock_utc(1_795_532_746_000), "15:05 UTC");
        assert_eq!(date_time_utc(1_795_532_746_000), "Nov 24, 15:05 UTC");
    }

    #[test]
    fn formats() {
        assert_eq!(price(1.0), "1.00");
        assert_eq!(price(12.345), "12.35");
        assert_eq!(signed(1.2), "+1.20");
        assert_eq!(signed(-0.351), "-0.35");
        assert_eq!(signed(-0.001), "0.00");
        assert_eq!(percent(2.5), "+2.50%");
    }
}
