//! Number formatting shared by the views (pure, unit-tested).

/// A price with two decimals.
pub fn price(p: f64) -> String {
    format!("{p:.2}")
}

/// A signed change with two decimals: `+1.20`, `-0.35`, `0.00`.
pub fn signed(v: f64) -> String {
    if v.abs() < 0.005 {
        "0.00".into()
    } else {
        format!("{v:+.2}")
    }
}

/// A signed percentage: `+1.25%`.
pub fn percent(v: f64) -> String {
    format!("{}%", signed(v))
}

#[cfg(test)]
mod tests {
    use super::*;

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
