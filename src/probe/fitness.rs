//! The device judged for each database: the probe's fsync and random-read
//! p99 against what each engine needs. The defaults and where each comes
//! from are here and in docs/probe.md ("Fitness"); the layout may override
//! them per service. Used by `jts-hot probe` (this run's figures) and by
//! validate's `device.fitness` (the saved baseline's), so neither judges
//! differently from the other.

use serde::Serialize;

pub use crate::layout::Engine;
use crate::layout::{EngineSetting, Layout, Service};
use crate::status::Status;
use crate::units;

/// A device slower than this at p99 reads like a spinning disk: half a
/// revolution of a 7,200 rpm disk (60 s / 7,200 / 2 = 4.17 ms) is its
/// average rotational latency alone, before any seek.
const ROTATIONAL_READ_US: f64 = 4_000.0;
const ROTATIONAL_READ_SOURCE: &str = "a 7,200 rpm disk's average rotational latency (4.17 ms, \
     half a revolution) before any seek: slower at p99 reads like a spinning disk";

/// The engine a service or unit name stands for (`postgresql@15-main`,
/// `clickhouse-server`, `mongod`, `redis-server`, ...).
pub fn engine_of_name(name: &str) -> Option<Engine> {
    let stem = name.strip_suffix(".service").unwrap_or(name);
    let stem = stem.split('@').next().unwrap_or(stem);
    match stem {
        "postgresql" | "postgres" => Some(Engine::Postgresql),
        "clickhouse" | "clickhouse-server" => Some(Engine::Clickhouse),
        "kafka" => Some(Engine::Kafka),
        "mongodb" | "mongod" => Some(Engine::Mongodb),
        "redis" | "redis-server" => Some(Engine::Redis),
        "etcd" => Some(Engine::Etcd),
        _ => None,
    }
}

/// What an engine needs by default: (fsync p99, random-read p99), each
/// with where it comes from; None where it publishes no need.
pub fn defaults(engine: Engine) -> [Option<Limit>; 2] {
    let limit = |us: f64, source: &str| {
        Some(Limit {
            us,
            source: source.to_string(),
        })
    };
    let rotational = limit(ROTATIONAL_READ_US, ROTATIONAL_READ_SOURCE);
    match engine {
        Engine::Etcd => [
            limit(
                10_000.0,
                "etcd: the WAL's fsync p99 must stay under 10 ms \
                 (etcd_disk_wal_fsync_duration_seconds; etcd.io/docs op-guide/hardware)",
            ),
            None,
        ],
        Engine::Postgresql => [
            limit(
                10_000.0,
                "etcd's 10 ms fsync p99 as the model: each PostgreSQL commit \
                 waits for its WAL's fdatasync (synchronous_commit = on, wal_sync_method = \
                 fdatasync), as etcd's proposals wait for its WAL; PostgreSQL publishes no figure",
            ),
            rotational,
        ],
        Engine::Mongodb => [
            limit(
                100_000.0,
                "MongoDB: storage.journal.commitIntervalMs, 100 ms by default, \
                 the most a journaled write (j: true) waits for the journal's sync",
            ),
            rotational,
        ],
        Engine::Redis => [
            limit(
                1_000_000.0,
                "Redis: appendfsync everysec (the default) syncs the AOF once \
                 a second; a sync still running after 2 s makes Redis write without waiting \
                 (\"Asynchronous AOF fsync is taking too long\")",
            ),
            None,
        ],
        // Kafka leaves flushing to the OS and replication by default
        // (log.flush.interval.messages unset), and reads its log sequentially.
        Engine::Kafka => [None, None],
        // ClickHouse does not fsync an insert by default
        // (fsync_after_insert = 0), but reads its parts' marks randomly.
        Engine::Clickhouse => [None, rotational],
    }
}

/// The most a figure may be, and where that comes from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Limit {
    #[serde(rename = "limit_us")]
    pub us: f64,
    pub source: String,
}

/// A figure the device is judged on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Figure {
    /// 8 KiB write + fdatasync, p99.
    FsyncP99,
    /// 4 KiB O_DIRECT random read at queue depth 1, p99.
    RandreadP99,
}

impl Figure {
    pub fn what(self) -> &'static str {
        match self {
            Figure::FsyncP99 => "fsync p99",
            Figure::RandreadP99 => "random read p99",
        }
    }
}

/// What one service needs of the device.
#[derive(Debug, Clone, PartialEq)]
pub struct Need {
    pub service: String,
    pub engine: Option<Engine>,
    pub fsync_p99: Option<Limit>,
    pub randread_p99: Option<Limit>,
}

/// What each of the layout's services needs: its engine's defaults, the
/// engine known from the service's name or one of its gated units.
pub fn needs(layout: &Layout) -> Vec<Need> {
    layout.services.iter().map(need_of).collect()
}

fn need_of(service: &Service) -> Need {
    let set = &service.fitness;
    let engine = match set.engine {
        Some(EngineSetting::Is(e)) => Some(e),
        Some(EngineSetting::None) => None,
        None => engine_of_name(service.name.as_str()).or_else(|| {
            service
                .gate
                .iter()
                .find_map(|unit| engine_of_name(unit.as_str()))
        }),
    };
    let [fsync_p99, randread_p99] = engine.map_or([None, None], defaults);
    // The layout's own limit replaces the engine's.
    let name = service.name.as_str();
    let own = |d: Option<std::time::Duration>, key: &str| {
        d.map(|d| Limit {
            us: d.as_secs_f64() * 1e6,
            source: format!("the layout's services.{name}.{key}"),
        })
    };
    Need {
        service: name.to_string(),
        engine,
        fsync_p99: own(set.fsync_p99_max, "fsync_p99_max").or(fsync_p99),
        randread_p99: own(set.randread_p99_max, "randread_p99_max").or(randread_p99),
    }
}

/// The device's figures, from a probe run or its saved baseline (microseconds).
#[derive(Debug, Clone, Copy)]
pub struct Figures {
    pub fsync_p99_us: f64,
    pub randread_p99_us: f64,
}

/// Fit, unfit, or not judged (no need known, or no figure).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Fit,
    Unfit,
    NotJudged,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Fit => "fit",
            Verdict::Unfit => "unfit",
            Verdict::NotJudged => "not-judged",
        }
    }

    /// Unfit is a WARNING: the tier works, slower than the database needs.
    pub fn status(self) -> Status {
        match self {
            Verdict::Unfit => Status::Warning,
            Verdict::Fit | Verdict::NotJudged => Status::Ok,
        }
    }
}

/// One figure against one limit.
#[derive(Debug, Clone, Serialize)]
pub struct Judged {
    pub figure: Figure,
    pub measured_us: f64,
    #[serde(flatten)]
    pub limit: Limit,
    pub within: bool,
}

/// One service's verdict.
#[derive(Debug, Clone, Serialize)]
pub struct ServiceFitness {
    pub service: String,
    pub engine: Option<Engine>,
    pub verdict: Verdict,
    pub judged: Vec<Judged>,
}

impl ServiceFitness {
    /// One line for people: the verdict and each figure against its limit.
    pub fn summary(&self) -> String {
        let engine = self
            .engine
            .map_or_else(|| "no known engine".to_string(), |e| e.to_string());
        if self.judged.is_empty() {
            return format!(
                "{} ({engine}): {}, no requirement",
                self.service,
                self.verdict.as_str()
            );
        }
        let figures: Vec<String> = self
            .judged
            .iter()
            .map(|j| {
                format!(
                    "{} {} {} {}",
                    j.figure.what(),
                    units::micros(j.measured_us),
                    if j.within { "within" } else { "beyond" },
                    units::micros(j.limit.us)
                )
            })
            .collect();
        format!(
            "{} ({engine}): {}: {}",
            self.service,
            self.verdict.as_str(),
            figures.join(", ")
        )
    }
}

/// Each service's verdict on the device's figures.
pub fn judge(needs: &[Need], figures: &Figures) -> Vec<ServiceFitness> {
    needs
        .iter()
        .map(|n| {
            let judged: Vec<Judged> = [
                (Figure::FsyncP99, &n.fsync_p99, figures.fsync_p99_us),
                (
                    Figure::RandreadP99,
                    &n.randread_p99,
                    figures.randread_p99_us,
                ),
            ]
            .into_iter()
            .filter_map(|(figure, limit, measured_us)| {
                let limit = limit.clone()?;
                // A figure of 0 or not a number was not measured.
                (measured_us.is_finite() && measured_us > 0.0).then_some(Judged {
                    figure,
                    measured_us,
                    within: measured_us <= limit.us,
                    limit,
                })
            })
            .collect();
            let verdict = if judged.is_empty() {
                Verdict::NotJudged
            } else if judged.iter().all(|j| j.within) {
                Verdict::Fit
            } else {
                Verdict::Unfit
            };
            ServiceFitness {
                service: n.service.clone(),
                engine: n.engine,
                verdict,
                judged,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn figures(fsync_ms: f64, read_ms: f64) -> Figures {
        Figures {
            fsync_p99_us: fsync_ms * 1000.0,
            randread_p99_us: read_ms * 1000.0,
        }
    }

    fn verdicts(layout: &Layout, f: Figures) -> Vec<(String, &'static str)> {
        judge(&needs(layout), &f)
            .into_iter()
            .map(|s| (s.service, s.verdict.as_str()))
            .collect()
    }

    #[test]
    fn engines_are_known_by_service_or_unit_name() {
        assert_eq!(
            engine_of_name("postgresql@15-main.service"),
            Some(Engine::Postgresql)
        );
        assert_eq!(
            engine_of_name("clickhouse-server.service"),
            Some(Engine::Clickhouse)
        );
        assert_eq!(engine_of_name("mongod.service"), Some(Engine::Mongodb));
        assert_eq!(engine_of_name("docker.service"), None);
        for e in Engine::ALL {
            assert_eq!(engine_of_name(e.as_str()), Some(e));
            assert_eq!(serde_json::to_value(e).unwrap(), e.as_str());
        }
    }

    #[test]
    fn the_default_layout_judged_on_a_fast_and_a_slow_device() {
        let layout = Layout::builtin();
        // An NVMe: every need met; Docker and backup have none.
        let fast = verdicts(&layout, figures(0.8, 0.1));
        let expect = |v: &[&'static str]| -> Vec<(String, &'static str)> {
            [
                "postgresql",
                "clickhouse",
                "kafka",
                "mongodb",
                "redis",
                "docker",
                "backup",
            ]
            .iter()
            .map(|s| s.to_string())
            .zip(v.iter().copied())
            .collect()
        };
        assert_eq!(
            fast,
            expect(&[
                "fit",
                "fit",
                "not-judged",
                "fit",
                "fit",
                "not-judged",
                "not-judged"
            ])
        );
        // A spinning disk behind a cache-less controller: 25 ms fsync, 12 ms reads.
        let slow = verdicts(&layout, figures(25.0, 12.0));
        assert_eq!(
            slow,
            expect(&[
                "unfit",
                "unfit",
                "not-judged",
                "unfit",
                "fit",
                "not-judged",
                "not-judged"
            ])
        );
        // At the limit is within it; just past it is not.
        let edge = verdicts(&layout, figures(10.0, 4.0));
        assert_eq!(edge[0].1, "fit");
        let past = verdicts(&layout, figures(10.001, 0.1));
        assert_eq!(past[0].1, "unfit");
        // Figures never measured judge nothing.
        let none = verdicts(&layout, figures(0.0, f64::NAN));
        assert!(none.iter().all(|(_, v)| *v == "not-judged"), "{none:?}");
    }

    #[test]
    fn the_summary_names_each_figure_against_its_limit() {
        let layout = Layout::builtin();
        let judged = judge(&needs(&layout), &figures(25.0, 0.1));
        assert_eq!(
            judged[0].summary(),
            "postgresql (postgresql): unfit: fsync p99 25.000 ms beyond 10.000 ms, \
             random read p99 100.0 us within 4.000 ms"
        );
        assert_eq!(
            judged[5].summary(),
            "docker (no known engine): not-judged, no requirement"
        );
        assert_eq!(judged[0].verdict.status(), Status::Warning);
    }

    #[test]
    fn every_default_says_where_it_comes_from() {
        for e in Engine::ALL {
            for limit in defaults(e).into_iter().flatten() {
                assert!(limit.us > 0.0 && limit.source.len() > 40, "{e}: {limit:?}");
            }
        }
    }
}
