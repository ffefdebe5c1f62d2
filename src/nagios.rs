//! The monitoring-plugin output format (Nagios, Icinga, NRPE, Sensu...):
//! the status line first, `SERVICE STATUS - text | perfdata`, then the
//! details, one per line. The grammar of a performance datum is
//! `'label'=value[UOM];[warn];[crit];[min];[max]` (the Monitoring Plugins
//! Development Guidelines, "Performance data"): a label is quoted and a
//! quote in it doubled; text never carries a `|`, which would start perfdata.

use std::fmt::Write;

use crate::status::Status;

/// What every status line starts with.
pub const SERVICE: &str = "JTS-HOT";

/// One performance datum. Thresholds are plain values (the plugin range
/// `N` alerts above N), left empty when there is none.
#[derive(Debug, Clone, PartialEq)]
pub struct Perf {
    pub label: String,
    pub value: Num,
    /// "B" bytes, "s" seconds, "%" or "" (a count).
    pub uom: &'static str,
    pub warn: Option<Num>,
    pub crit: Option<Num>,
    pub min: Option<Num>,
    pub max: Option<Num>,
}

/// A perfdata number: sizes and counts exact as integers (an f64 holds
/// them exactly only up to 2^53, 9 PB, and a layout may plan up to u64's
/// limit), times and shares as fractions.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Num {
    Int(u128),
    Real(f64),
}

impl From<u64> for Num {
    fn from(n: u64) -> Num {
        Num::Int(n.into())
    }
}

impl From<usize> for Num {
    fn from(n: usize) -> Num {
        Num::Int(n as u128)
    }
}

impl From<f64> for Num {
    fn from(v: f64) -> Num {
        Num::Real(v)
    }
}

impl Perf {
    /// A count with no thresholds, from 0.
    pub fn count(label: impl Into<String>, value: usize) -> Perf {
        Perf {
            label: label.into(),
            value: value.into(),
            uom: "",
            warn: None,
            crit: None,
            min: Some(Num::Int(0)),
            max: None,
        }
    }

    /// `'label'=value[UOM];warn;crit;min;max`, trailing empty fields dropped.
    pub fn render(&self) -> String {
        let mut out = format!("{}={}{}", label(&self.label), number(self.value), self.uom);
        let fields = [self.warn, self.crit, self.min, self.max];
        let last = fields.iter().rposition(Option::is_some);
        if let Some(last) = last {
            for f in &fields[..=last] {
                out.push(';');
                if let Some(v) = f {
                    out.push_str(&number(*v));
                }
            }
        }
        out
    }
}

/// A label in single quotes, a quote doubled; `=` and spaces are then allowed.
fn label(s: &str) -> String {
    let clean: String = s.chars().filter(|c| !c.is_control()).collect();
    format!("'{}'", clean.replace('\'', "''"))
}

/// Integers exactly; fractions with up to six decimals.
fn number(n: Num) -> String {
    let v = match n {
        Num::Int(i) => return i.to_string(),
        Num::Real(v) => v,
    };
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        let s = format!("{v:.6}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// Text for a plugin's output: no `|` (it would start perfdata) and no line
/// breaks (a detail is one line).
fn text(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '|' => '/',
            c if c.is_control() => ' ',
            c => c,
        })
        .collect()
}

/// The whole output: `JTS-HOT STATUS - summary | perf...`, then one detail
/// a line.
pub fn output(status: Status, summary: &str, perf: &[Perf], details: &[String]) -> String {
    let mut out = format!("{SERVICE} {status} - {}", text(summary));
    if !perf.is_empty() {
        out.push_str(" |");
        for p in perf {
            let _ = write!(out, " {}", p.render());
        }
    }
    out.push('\n');
    for d in details {
        out.push_str(&text(d));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perfdata_follows_the_plugin_grammar() {
        let p = Perf {
            label: "postgresql".into(),
            value: 123u64.into(),
            uom: "B",
            warn: Some(640_000_000_000u64.into()),
            crit: Some(760_000_000_000u64.into()),
            min: Some(0u64.into()),
            max: Some(u64::MAX.into()),
        };
        assert_eq!(
            p.render(),
            "'postgresql'=123B;640000000000;760000000000;0;18446744073709551615"
        );
        assert_eq!(Perf::count("it's", 2).render(), "'it''s'=2;;;0");
        let t = Perf {
            label: "time".into(),
            value: 0.0125.into(),
            uom: "s",
            warn: None,
            crit: None,
            min: None,
            max: None,
        };
        assert_eq!(t.render(), "'time'=0.0125s");
    }

    #[test]
    fn status_line_first_and_no_pipe_in_text() {
        let out = output(
            Status::Warning,
            "a | b",
            &[Perf::count("n", 1)],
            &["x|y".into()],
        );
        assert_eq!(out, "JTS-HOT WARNING - a / b | 'n'=1;;;0\nx/y\n");
    }
}
