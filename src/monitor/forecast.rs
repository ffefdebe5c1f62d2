//! Forecasts with their uncertainty: when a service reaches its plan and
//! when the filesystem is full, as low / likely / high days from the
//! weighted least-squares line through the history over the layout's
//! `monitor.forecast_window`, its slope's standard error and Student's t
//! (a two-sided 95 % interval). A point (time, bytes, weight) stands for
//! `weight` runs (the history merges old samples); the interval's degrees
//! of freedom are the points' (merged runs are not independent measurements).
//! No figure is invented: too few samples, flat or shrinking usage give
//! null, and the forecast's `trend` says which.

use serde::Serialize;

/// Fewer points than this in the window give no forecast: two always lie
/// on a line, so they carry no uncertainty to show.
pub const MIN_POINTS: usize = 3;
/// Points spanning less than this give no forecast (too noisy).
pub const MIN_SPAN_SECONDS: u64 = 3_600;
/// Below this growth (bytes a day, in magnitude) usage is flat.
const FLAT_BYTES_PER_DAY: f64 = 1.0;

/// What the history says about the trend (the serialized form is a contract).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Trend {
    Growing,
    Flat,
    Shrinking,
    /// Fewer than [`MIN_POINTS`] samples, or spanning less than an hour,
    /// within the window.
    TooFewSamples,
}

impl Trend {
    pub const ALL: [Trend; 4] = [
        Trend::Growing,
        Trend::Flat,
        Trend::Shrinking,
        Trend::TooFewSamples,
    ];

    /// The serialized name.
    pub fn as_str(self) -> &'static str {
        match self {
            Trend::Growing => "growing",
            Trend::Flat => "flat",
            Trend::Shrinking => "shrinking",
            Trend::TooFewSamples => "too_few_samples",
        }
    }

    /// Why there is no figure, in words ("" when growing).
    pub fn why_none(self) -> &'static str {
        match self {
            Trend::Growing => "",
            Trend::Flat => "flat",
            Trend::Shrinking => "shrinking",
            Trend::TooFewSamples => "too few samples",
        }
    }
}

/// A figure as low / likely / high; null where not known or unbounded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Bounds {
    pub low: Option<f64>,
    pub likely: Option<f64>,
    pub high: Option<f64>,
}

impl Bounds {
    /// Each bound with its name, as the metrics' `bound` label has it.
    pub fn named(&self) -> [(&'static str, Option<f64>); 3] {
        [
            ("low", self.low),
            ("likely", self.likely),
            ("high", self.high),
        ]
    }

    fn all(v: f64) -> Bounds {
        Bounds {
            low: Some(v),
            likely: Some(v),
            high: Some(v),
        }
    }
}

/// A service's or the filesystem's forecast.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Forecast {
    pub trend: Trend,
    pub window_seconds: u64,
    /// Samples (points) within the window, this run's included.
    pub samples: usize,
    /// Bytes a day: the slope and its 95 % interval; null with too few samples.
    pub growth_bytes_per_day: Bounds,
    /// Days until the plan (a service) or the tier's planned capacity (the
    /// filesystem): low at the fastest growth the interval allows, high at
    /// the slowest (null: the interval includes no growth at all). 0 when
    /// already there; null when not growing.
    pub days_to_plan: Bounds,
    /// Days until the filesystem's available bytes are used at this growth.
    pub days_to_full: Bounds,
}

/// The weighted least-squares line's slope and its standard error.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fit {
    /// Bytes a day.
    pub slope: f64,
    /// Standard error of the slope, bytes a day.
    pub se: f64,
    pub points: usize,
}

/// The fit through the (time, bytes, weight) points within `window` seconds
/// before `now` (points after `now`, from a clock step, are not used).
/// Err: the trend [`Trend::TooFewSamples`] with the points counted.
pub fn fit(points: &[(u64, u64, u64)], now: u64, window: u64) -> Result<Fit, usize> {
    let w = super::history::in_window(points, now, window);
    let first = w.iter().map(|p| p.0).fold(f64::INFINITY, f64::min);
    let last = w.iter().map(|p| p.0).fold(f64::NEG_INFINITY, f64::max);
    if w.len() < MIN_POINTS || (last - first) * 86_400.0 < MIN_SPAN_SECONDS as f64 {
        return Err(w.len());
    }
    let n: f64 = w.iter().map(|p| p.2).sum();
    let mx = w.iter().map(|p| p.0 * p.2).sum::<f64>() / n;
    let my = w.iter().map(|p| p.1 * p.2).sum::<f64>() / n;
    let sxy: f64 = w.iter().map(|p| p.2 * (p.0 - mx) * (p.1 - my)).sum();
    let sxx: f64 = w.iter().map(|p| p.2 * (p.0 - mx) * (p.0 - mx)).sum();
    let slope = sxy / sxx;
    let intercept = my - slope * mx;
    let ssr: f64 = w
        .iter()
        .map(|p| p.2 * (p.1 - intercept - slope * p.0).powi(2))
        .sum();
    // Each merged point stands for its runs (frequency weights): n - 2
    // degrees of freedom for the residual variance.
    let variance = ssr / (n - 2.0).max(1.0);
    Ok(Fit {
        slope,
        se: (variance / sxx).sqrt(),
        points: w.len(),
    })
}

/// Student's t, the 97.5 % quantile (a two-sided 95 % interval), for
/// `dof` degrees of freedom; between rows of the table, the row below
/// (the wider interval).
pub fn t95(dof: usize) -> f64 {
    const T: [f64; 30] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
        2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
        2.052, 2.048, 2.045, 2.042,
    ];
    match dof {
        0 => f64::INFINITY,
        1..=30 => T[dof - 1],
        31..=39 => 2.042,
        40..=59 => 2.021,
        60..=119 => 2.000,
        120..=999 => 1.980,
        _ => 1.960,
    }
}

impl Forecast {
    /// The forecast from the points over `window` seconds before `now`,
    /// `to_plan` and `to_full` bytes from the plan and from full.
    pub fn of(
        points: &[(u64, u64, u64)],
        now: u64,
        window: u64,
        to_plan: u64,
        to_full: u64,
    ) -> Forecast {
        let fitted = fit(points, now, window);
        let samples = match fitted {
            Ok(f) => f.points,
            Err(n) => n,
        };
        let (trend, growth) = match fitted {
            Err(_) => (Trend::TooFewSamples, Bounds::default()),
            Ok(f) => {
                let margin = t95(f.points - 2) * f.se;
                let trend = if f.slope.abs() < FLAT_BYTES_PER_DAY {
                    Trend::Flat
                } else if f.slope < 0.0 {
                    Trend::Shrinking
                } else {
                    Trend::Growing
                };
                let growth = Bounds {
                    low: Some(f.slope - margin),
                    likely: Some(f.slope),
                    high: Some(f.slope + margin),
                };
                (trend, growth)
            }
        };
        let days = |remaining: u64| match trend {
            _ if remaining == 0 => Bounds::all(0.0),
            Trend::Growing => {
                let at = |g: Option<f64>| g.filter(|g| *g > 0.0).map(|g| remaining as f64 / g);
                Bounds {
                    low: at(growth.high),
                    likely: at(growth.likely),
                    high: at(growth.low),
                }
            }
            _ => Bounds::default(),
        };
        Forecast {
            trend,
            window_seconds: window,
            samples,
            growth_bytes_per_day: growth,
            days_to_plan: days(to_plan),
            days_to_full: days(to_full),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: u64 = 86_400;

    /// Seven daily points on 10 MB/day, off the line by d·(1,-1,0,0,0,-1,1):
    /// residuals orthogonal to time, so the slope stays exact and its
    /// standard error is d/sqrt(35) (residual sum 4d², 5 degrees of freedom,
    /// Sxx = 28 days²).
    #[test]
    fn a_known_line_with_known_noise() {
        let now = 1000 * DAY;
        let (g, d) = (10e6, 5e6);
        let r = [1.0, -1.0, 0.0, 0.0, 0.0, -1.0, 1.0];
        let pts: Vec<(u64, u64, u64)> = (0..7)
            .map(|i| {
                let x = i as f64 - 6.0;
                let t = now - (6 - i) * DAY;
                (t, (1e9 + g * x + d * r[i as usize]) as u64, 1)
            })
            .collect();
        let f = fit(&pts, now, 7 * DAY).unwrap();
        assert!((f.slope - g).abs() < 1.0, "{f:?}");
        assert!((f.se - d / 35f64.sqrt()).abs() < 1.0, "{f:?}");
        let fc = Forecast::of(&pts, now, 7 * DAY, 100_000_000, 1_000_000_000);
        assert_eq!(fc.trend, Trend::Growing);
        let margin = 2.571 * d / 35f64.sqrt();
        let close = |a: Option<f64>, b: f64| (a.unwrap() - b).abs() < 1e-6 * b;
        assert!(close(fc.days_to_plan.likely, 10.0), "{fc:?}");
        assert!(close(fc.days_to_plan.low, 1e8 / (g + margin)), "{fc:?}");
        assert!(close(fc.days_to_plan.high, 1e8 / (g - margin)), "{fc:?}");
        assert!(close(fc.days_to_full.likely, 100.0), "{fc:?}");
        // A window of 3 days holds 4 of the points: a different answer.
        let short = Forecast::of(&pts, now, 3 * DAY, 100_000_000, 0);
        assert_eq!(short.samples, 4);
        assert_eq!(short.days_to_full, Bounds::all(0.0), "already full");
    }

    #[test]
    fn no_figure_for_flat_shrinking_or_too_few() {
        let now = 1000 * DAY;
        let line = |per_day: i64, n: u64| -> Vec<(u64, u64, u64)> {
            (0..n)
                .map(|i| (now - i * DAY, (1_000_000 - per_day * i as i64) as u64, 1))
                .collect()
        };
        for (pts, trend) in [
            (line(0, 5), Trend::Flat),
            (line(-1000, 5), Trend::Shrinking),
            (line(1000, 2), Trend::TooFewSamples),
            (
                vec![(now, 1, 1), (now - 60, 1, 1), (now - 120, 2, 1)],
                Trend::TooFewSamples,
            ),
        ] {
            let f = Forecast::of(&pts, now, 7 * DAY, 5, 5);
            assert_eq!(f.trend, trend, "{pts:?}");
            assert_eq!(f.days_to_plan, Bounds::default(), "{pts:?}");
            assert_eq!(f.days_to_full, Bounds::default(), "{pts:?}");
        }
        // A growth whose interval reaches zero: no upper bound on the days.
        let noisy = [(now - 2 * DAY, 100, 1), (now - DAY, 300, 1), (now, 110, 1)];
        let f = Forecast::of(&noisy, now, 7 * DAY, 1000, 1000);
        assert_eq!(f.trend, Trend::Growing);
        assert!(f.days_to_plan.low.is_some() && f.days_to_plan.high.is_none());
    }

    #[test]
    fn merged_samples_weigh_as_their_runs() {
        let now = 1000 * DAY;
        // A merged point for 24 runs and two single ones on one line.
        let pts = [(now - 2 * DAY, 0, 24), (now - DAY, 100, 1), (now, 200, 1)];
        let f = fit(&pts, now, 7 * DAY).unwrap();
        assert!((f.slope - 100.0).abs() < 1e-9 && f.se < 1e-9, "{f:?}");
        assert_eq!(t95(5), 2.571);
        assert_eq!(t95(35), 2.042);
        assert_eq!(t95(100_000), 1.960);
    }
}

#[cfg(test)]
mod contract {
    use super::Trend;

    #[test]
    fn trends_serialize_as_named_and_the_docs_name_them() {
        let docs = include_str!("../../docs/monitor.md");
        for t in Trend::ALL {
            assert_eq!(
                serde_json::to_value(t).unwrap(),
                serde_json::Value::from(t.as_str())
            );
            assert!(docs.contains(&format!("`{}`", t.as_str())), "{t:?}");
        }
    }
}
