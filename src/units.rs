//! Bytes, rates and durations as people read them: one home, so the layout,
//! `plan`, `monitor`, `probe` and `quota` say the same size the same way.
//! Decimal units, as the layout writes them (`800GB` in the layout is
//! `800 GB` everywhere jts-hot prints it), three significant figures.

const BYTE_UNITS: [&str; 7] = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];

/// 512 B, 1.50 kB, 12.3 GB, 800 GB: decimal units, three figures.
pub fn bytes(bytes: impl Into<u128>) -> String {
    let (value, unit) = scaled(bytes.into() as f64);
    format!("{} {}", three_figures(value, unit == 0), BYTE_UNITS[unit])
}

/// `bytes` with a sign, for what is left (negative: over-committed) or a change.
pub fn bytes_signed(bytes: i128) -> String {
    let sign = if bytes < 0 { "-" } else { "" };
    format!("{sign}{}", self::bytes(bytes.unsigned_abs()))
}

/// A measured or estimated amount that may be fractional or negative (growth
/// per day, a rate): the same units as `bytes`.
pub fn bytes_f64(value: f64) -> String {
    if !value.is_finite() {
        return "?".into();
    }
    let sign = if value < 0.0 { "-" } else { "" };
    let (scaled, unit) = scaled(value.abs());
    format!(
        "{sign}{} {}",
        three_figures(scaled, unit == 0),
        BYTE_UNITS[unit]
    )
}

/// Throughput: 512 MB/s.
pub fn rate(bytes_per_second: f64) -> String {
    format!("{}/s", bytes_f64(bytes_per_second))
}

/// A latency in microseconds: µs below one millisecond, else ms.
pub fn micros(us: f64) -> String {
    if us < 1000.0 {
        format!("{us:.1} us")
    } else {
        format!("{:.3} ms", us / 1000.0)
    }
}

fn scaled(mut value: f64) -> (f64, usize) {
    let mut unit = 0;
    while value >= 999.5 && unit < BYTE_UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    (value, unit)
}

fn three_figures(value: f64, whole: bool) -> String {
    let decimals = if whole || value >= 99.95 {
        0
    } else if value >= 9.995 {
        1
    } else {
        2
    };
    format!("{value:.decimals$}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_three_figures_like_the_layout() {
        assert_eq!(bytes(0u64), "0 B");
        assert_eq!(bytes(512u64), "512 B");
        assert_eq!(bytes(1_500u64), "1.50 kB");
        assert_eq!(bytes(12_345_678_901u64), "12.3 GB");
        assert_eq!(bytes(800_000_000_000u64), "800 GB");
        assert_eq!(bytes(999_499u64), "999 kB");
        assert_eq!(bytes(999_500u64), "1.00 MB");
        assert!(bytes(u128::MAX).ends_with(" EB"));
        assert_eq!(bytes_signed(-2_000_000_000_000), "-2.00 TB");
        assert_eq!(bytes_f64(-1_500.0), "-1.50 kB");
        assert_eq!(bytes_f64(f64::NAN), "?");
        assert_eq!(rate(3e6), "3.00 MB/s");
        assert_eq!(micros(42.25), "42.2 us");
        assert_eq!(micros(1500.0), "1.500 ms");
    }
}
