//! When the budgeted subdirectory walk ([`super::subdir_walk`]) runs, and
//! how far it got. A round walks every service whose usage came from its
//! quota; it starts at most once per `monitor.subdir_walk_every` (hourly by
//! default) and, while unfinished, continues at each monitor run from where
//! the last one stopped, at most `monitor.subdir_walk_budget` entries a run.
//! A run where no round is due or unfinished reads one small file and walks
//! nothing. The round's state and the last finished round's top lists live
//! in the state directory (`monitor-subdir-walk.json`).

use std::collections::{BTreeMap, HashSet};
use std::os::fd::AsFd;
use std::path::Path;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::subdir_walk::{self, Budget, Cursor, ServiceWalk};
use super::subdirs::TopSubdirs;
use super::{QuotaFigures, UsageSource};
use crate::escape;
use crate::layout::Layout;
use crate::state::{self, Document, StateDir};
use crate::usage::Subdir;
use crate::usage::Usage;

/// The round in progress and the last one finished.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Round {
    pub started_unix: u64,
    /// None while the round is in progress.
    pub finished_unix: Option<u64>,
    /// Runs that walked in this round, and the entries they spent.
    pub runs: u32,
    pub entries: u64,
    /// The services of the round in walk order, with their figures so far
    /// (a finished round's are dropped once its top lists are made).
    pub services: Vec<ServiceWalk>,
    /// Where the walk stopped in the first service not done.
    pub cursor: Option<Cursor>,
    /// The last finished round's top lists, per service.
    pub last: BTreeMap<String, TopSubdirs>,
    pub last_finished_unix: Option<u64>,
}

impl Document for Round {
    const FILE_NAME: &'static str = "monitor-subdir-walk.json";
    const SCHEMA: &'static str = "jts-hot.monitor-subdir-walk/1";
    const WHAT: &'static str = "subdirectory walk";
    /// At most 10,000 subdirectories of a few hundred bytes per service in
    /// progress, a path of at most 500 names: thousands of services fit.
    const MAX_BYTES: u64 = 256 << 20;
    const PRETTY: bool = false;
}

/// How far the walk got, as the report shows it.
#[derive(Debug, Clone, Serialize)]
pub struct SubdirWalk {
    pub every_seconds: u64,
    /// Entries a run may examine (one per fstatat and per directory listed).
    pub budget_entries: u64,
    /// This run walked (a round was due or unfinished).
    pub walked_this_run: bool,
    pub entries_this_run: u64,
    pub duration_seconds: f64,
    /// The run's walk was in the idle I/O class (false: it could not be set,
    /// see notes).
    pub idle_io: bool,
    pub round_started_unix: u64,
    pub round_complete: bool,
    /// Runs that walked in this round and the entries they examined.
    pub round_runs: u32,
    pub round_entries: u64,
    pub services_done: usize,
    pub services: usize,
    /// Where this round's walk stopped ("service/path", escaped); null when
    /// complete or not yet begun.
    pub stopped_at: Option<String>,
    /// When the last complete round finished: the top lists are from it.
    pub last_complete_unix: Option<u64>,
    /// What to save for the next run.
    #[serde(skip)]
    pub state: Option<Round>,
    /// The round finished in this run: each service's figures, for the top
    /// lists and their growth.
    #[serde(skip)]
    pub fresh: BTreeMap<String, Fresh>,
}

/// A service's figures from a round finished in this run.
#[derive(Debug, Clone)]
pub struct Fresh {
    pub subdirs: Vec<Subdir>,
    pub capped: bool,
    pub partial: bool,
}

/// What the layout asks of the walk.
#[derive(Debug, Clone, Copy)]
pub struct Cadence {
    pub every_seconds: u64,
    pub budget_entries: u64,
}

impl Round {
    fn due(&self, now: u64, every: u64) -> bool {
        self.finished_unix.is_none() || now < self.started_unix || now - self.started_unix >= every
    }

    /// The services to walk are `names`: new ones are added at the end, gone
    /// ones dropped (with the cursor when it was in one).
    fn follow(&mut self, names: &[&str]) {
        let first_open = self.services.iter().position(|s| !s.done);
        if let Some(i) = first_open {
            if !names.contains(&self.services[i].service.as_str()) {
                self.cursor = None;
            }
        }
        self.services
            .retain(|s| names.contains(&s.service.as_str()));
        for n in names {
            if !self.services.iter().any(|s| s.service == *n) {
                self.services.push(ServiceWalk::new(n));
            }
        }
        if self.services.iter().all(|s| s.done) && self.finished_unix.is_none() {
            self.cursor = None;
        }
    }
}

/// The walk for this run's services measured by their quota (none when
/// `monitor.top` is 0).
pub fn of_run(
    layout: &Layout,
    usages: &[(Usage, UsageSource, Option<QuotaFigures>)],
    dir: &StateDir,
    now: u64,
    notes: &mut Vec<String>,
) -> Option<SubdirWalk> {
    if layout.monitor.top() == 0 {
        return None;
    }
    let names: Vec<&str> = layout
        .services
        .iter()
        .zip(usages)
        .filter(|(_, (_, source, _))| *source == UsageSource::Quota)
        .map(|(s, _)| s.name.as_str())
        .collect();
    let cadence = Cadence {
        every_seconds: layout.monitor.subdir_walk_every().as_secs(),
        budget_entries: layout.monitor.subdir_walk_budget(),
    };
    at_cadence(&layout.tier.base, &names, cadence, dir, now, notes)
}

impl SubdirWalk {
    /// Saves the round when this run walked or finished it.
    pub fn save(&mut self, dir: &StateDir) -> anyhow::Result<()> {
        match self.state.take() {
            Some(round) if self.walked_this_run => state::save(dir, &round).map(|_| ()),
            _ => Ok(()),
        }
    }
}

/// Runs the walk when due for the services `names` (those measured by their
/// quota this run); None when there are none.
pub fn at_cadence(
    base: &Path,
    names: &[&str],
    cadence: Cadence,
    dir: &StateDir,
    now: u64,
    notes: &mut Vec<String>,
) -> Option<SubdirWalk> {
    if names.is_empty() {
        return None;
    }
    let loaded = state::load::<Round>(dir);
    notes.extend(loaded.trouble().map(str::to_string));
    // Saving over a file that could not be read would lose its figures.
    let unreadable = matches!(loaded, state::Loaded::Unreadable(_));
    let mut round = loaded.found().unwrap_or_default();
    let due = !unreadable && round.due(now, cadence.every_seconds);
    let mut out = SubdirWalk {
        every_seconds: cadence.every_seconds,
        budget_entries: cadence.budget_entries,
        walked_this_run: false,
        entries_this_run: 0,
        duration_seconds: 0.0,
        idle_io: false,
        round_started_unix: 0,
        round_complete: false,
        round_runs: 0,
        round_entries: 0,
        services_done: 0,
        services: 0,
        stopped_at: None,
        last_complete_unix: None,
        state: None,
        fresh: BTreeMap::new(),
    };
    if due {
        if round.finished_unix.is_some() || round.services.is_empty() {
            round = Round {
                started_unix: now,
                last: std::mem::take(&mut round.last),
                last_finished_unix: round.last_finished_unix,
                ..Round::default()
            };
        }
        round.follow(names);
        let started = Instant::now();
        let stop = super::stop_on_signal(notes);
        let idle = crate::system::ioprio::idle();
        out.idle_io = idle.is_ok();
        if let Err(e) = &idle {
            notes.push(format!(
                "the subdirectory walk runs without the idle I/O class: {e}"
            ));
        }
        let mut budget = Budget {
            left: cadence.budget_entries,
            spent: 0,
            examined: 0,
            stop: &stop,
        };
        walk(base, &mut round, &mut budget, notes);
        drop(idle);
        round.runs += 1;
        round.entries += budget.spent;
        out.walked_this_run = true;
        out.entries_this_run = budget.spent;
        out.duration_seconds = started.elapsed().as_secs_f64();
        if round.services.iter().all(|s| s.done) {
            round.finished_unix = Some(now);
            round.last_finished_unix = Some(now);
            round.cursor = None;
            for s in &mut round.services {
                out.fresh.insert(
                    s.service.clone(),
                    Fresh {
                        subdirs: s.subdirs(),
                        capped: s.capped,
                        partial: s.partial,
                    },
                );
                // Kept only while the round needs them.
                s.subdirs.clear();
            }
        }
    }
    out.round_started_unix = round.started_unix;
    out.round_complete = round.finished_unix.is_some();
    out.round_runs = round.runs;
    out.round_entries = round.entries;
    out.services_done = round.services.iter().filter(|s| s.done).count();
    out.services = round.services.len();
    out.stopped_at = round.cursor.as_ref().and_then(|c| {
        let s = round.services.iter().find(|s| !s.done)?;
        Some(subdir_walk::shown(&s.service, c))
    });
    out.last_complete_unix = round.last_finished_unix;
    // Read when not due too: the last round's top lists are reported from it
    // (saved only when walked).
    out.state = Some(round);
    Some(out)
}

/// Walks the round's services in order from its cursor until done or spent.
fn walk(base: &Path, round: &mut Round, budget: &mut Budget, notes: &mut Vec<String>) {
    let opened = crate::quota::open_dir(base).and_then(|f| {
        let st = nix::sys::stat::fstat(std::os::fd::AsRawFd::as_raw_fd(&f))?;
        Ok((f, st.st_dev))
    });
    let (base_fd, dev) = match opened {
        Ok(x) => x,
        Err(e) => {
            notes.push(format!(
                "the subdirectory walk cannot open {}: {e}",
                escape::untrusted_path(base)
            ));
            return;
        }
    };
    let mut seen = HashSet::new();
    for s in round.services.iter_mut().filter(|s| !s.done) {
        let cursor = round.cursor.take();
        if cursor.is_none() && budget.spent_out() {
            return; // this service begins next run
        }
        match subdir_walk::walk_service(
            base_fd.as_fd(),
            base,
            dev,
            s,
            cursor.as_ref(),
            budget,
            &mut seen,
        ) {
            None => s.done = true,
            Some(c) => {
                round.cursor = Some(c);
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;
    use std::path::PathBuf;

    fn tree(base: &Path) {
        for svc in ["kafka", "redis"] {
            for t in 0..6 {
                let topic = base.join(svc).join("data").join(format!("topic-{t}"));
                std::fs::create_dir_all(&topic).unwrap();
                for f in 0..(t + 1) {
                    std::fs::write(topic.join(format!("{f:08}.log")), vec![7u8; 4096 * (t + 1)])
                        .unwrap();
                }
            }
            let odd = base.join(svc).join("odd\nname").join("deep").join("deeper");
            std::fs::create_dir_all(&odd).unwrap();
            std::fs::write(odd.join("f"), [1u8; 8192]).unwrap();
            std::fs::write(base.join(svc).join("top-file"), [1u8; 4096]).unwrap();
            std::os::unix::fs::symlink("/", base.join(svc).join("data").join("link")).unwrap();
            nix::unistd::mkfifo(&base.join(svc).join("fifo"), nix::sys::stat::Mode::S_IRWXU)
                .unwrap();
        }
    }

    fn sorted(mut v: Vec<Subdir>) -> Vec<(PathBuf, u64)> {
        v.sort_by(|a, b| a.path.cmp(&b.path));
        v.into_iter().map(|s| (s.path, s.bytes)).collect()
    }

    #[test]
    fn a_round_in_small_budgets_adds_up_to_the_full_walk_then_waits() {
        let tmp = tempfile::tempdir().unwrap();
        let base = tmp.path().join("hot");
        tree(&base);
        let state = StateDir::new(tmp.path().join("state"));
        let names = ["kafka", "redis"];
        let full = crate::usage::scan(&base, &names.map(std::ffi::OsStr::new), 1);
        let cadence = Cadence {
            every_seconds: 3600,
            budget_entries: 7,
        };
        let mut notes = Vec::new();
        let mut runs = 0;
        let fresh = loop {
            runs += 1;
            assert!(runs < 100, "the round never finished");
            let mut w = at_cadence(&base, &names, cadence, &state, 1000, &mut notes).unwrap();
            // Past the budget by at most the directories listed again to resume.
            assert!(w.walked_this_run && w.entries_this_run <= 7 + 5, "{w:?}");
            assert_eq!(w.round_runs as usize, runs);
            if w.round_complete {
                assert!(w.stopped_at.is_none());
                let fresh = std::mem::take(&mut w.fresh);
                w.save(&state).unwrap();
                break fresh;
            }
            assert!(w.stopped_at.is_some(), "{w:?}");
            w.save(&state).unwrap();
        };
        assert!(notes.is_empty(), "{notes:?}");
        assert!(runs > 5, "a budget of 7 took only {runs} runs");
        for (name, u) in names.iter().zip(&full.usages) {
            let f = &fresh[*name];
            assert!(!f.partial && !f.capped);
            assert_eq!(
                sorted(f.subdirs.clone()),
                sorted(u.subdirs.clone()),
                "{name}"
            );
        }
        // Not due within the hour: nothing walked, nothing to save.
        let mut w = at_cadence(&base, &names, cadence, &state, 2000, &mut notes).unwrap();
        assert!(!w.walked_this_run && w.round_complete && w.entries_this_run == 0);
        assert_eq!(w.last_complete_unix, Some(1000));
        w.save(&state).unwrap();
        // An hour after the round began, the next begins.
        let w = at_cadence(&base, &names, cadence, &state, 4600, &mut notes).unwrap();
        assert!(w.walked_this_run && !w.round_complete && w.round_runs == 1);
        assert_eq!(w.round_started_unix, 4600);
        assert_eq!(w.last_complete_unix, Some(1000));
    }

    #[test]
    fn hostile_trees_end_their_round_partial_never_followed() {
        let tmp = tempfile::tempdir().unwrap();
        let base = tmp.path().join("hot");
        // Deeper than the walk enters, a planted link as a service directory.
        std::fs::create_dir_all(base.join("deep")).unwrap();
        // Past PATH_MAX: made one level at a time, relative to the last.
        let mut at = std::fs::File::open(base.join("deep")).unwrap();
        for _ in 0..subdir_walk::MAX_DEPTH + 3 {
            nix::sys::stat::mkdirat(Some(at.as_raw_fd()), "d", nix::sys::stat::Mode::S_IRWXU)
                .unwrap();
            let fd = nix::fcntl::openat(
                Some(at.as_raw_fd()),
                "d",
                nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_DIRECTORY,
                nix::sys::stat::Mode::empty(),
            )
            .unwrap();
            // SAFETY: just opened, owned from here on.
            at = unsafe { <std::fs::File as std::os::fd::FromRawFd>::from_raw_fd(fd) };
        }
        std::os::unix::fs::symlink(tmp.path(), base.join("linked")).unwrap();
        let state = StateDir::new(tmp.path().join("state"));
        let cadence = Cadence {
            every_seconds: 3600,
            budget_entries: 1000,
        };
        let mut notes = Vec::new();
        let names = ["deep", "linked"];
        let mut runs = 0;
        let w = loop {
            runs += 1;
            assert!(runs < 20, "the round never finished");
            let mut w = at_cadence(&base, &names, cadence, &state, 1000, &mut notes).unwrap();
            if w.round_complete {
                break w;
            }
            w.save(&state).unwrap();
        };
        assert!(runs >= 2, "503 levels in budgets of 1,000: {runs} runs");
        let deep = &w.fresh["deep"];
        assert!(deep.partial);
        assert_eq!(deep.subdirs.len(), 2, "{:?}", deep.subdirs);
        let linked = &w.fresh["linked"];
        assert!(linked.partial && linked.subdirs.is_empty());
        let round = w.state.as_ref().unwrap();
        let errors: Vec<&String> = round.services.iter().flat_map(|s| &s.errors).collect();
        assert!(
            errors.iter().any(|e| e.contains("not entered"))
                && errors.iter().any(|e| e.contains("linked")),
            "{errors:?}"
        );
    }
}
