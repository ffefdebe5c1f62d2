//! The project quotas as a privileged reader saw them, for the sandboxed
//! validate and monitor units. Reading a project's usage (Q_GETQUOTA on a
//! project) takes CAP_SYS_ADMIN; `statfs()` on a project's directory does not,
//! but shows neither the usage of a project without a limit nor its inodes
//! (docs/quotas.md). So jts-hot-quota-read.service, with CAP_SYS_ADMIN and
//! quotactl and nothing else, runs `jts-hot quota record` just before each
//! validate and monitor run and saves what the kernel says here; validate and
//! the monitor, which walk what service users own, hold neither. `inspect`
//! reads this record only when it is denied quotactl itself, and only a
//! fresh one for the same base.

use std::os::fd::AsFd;
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::{block_size, open_dir, sys, Quota, State};
use crate::escape;
use crate::layout::{Layout, QuotaMode};
use crate::state::{self, Document, StateDir};

/// How old a record may be and still stand for now: the reader runs just
/// before each run that reads it (Wants=, After=), so this only bounds a
/// reader that failed.
pub const MAX_AGE_SECONDS: u64 = 300;

/// Saved in the state directory as `quota-usage.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub taken_unix: u64,
    pub base: PathBuf,
    pub state: RecordedState,
    pub granularity: u64,
    pub projects: Vec<RecordedQuota>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedState {
    pub accounting: bool,
    pub enforcing: bool,
}

/// One project's figures, or why they could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedQuota {
    pub project_id: u32,
    pub space_bytes: u64,
    pub inodes: u64,
    pub soft_bytes: u64,
    pub hard_bytes: u64,
    pub error: Option<String>,
}

impl Document for Record {
    const FILE_NAME: &'static str = "quota-usage.json";
    const SCHEMA: &'static str = "jts-hot.quota-usage/1";
    const WHAT: &'static str = "quota record";
    /// ~120 bytes a project: 10,000 services fit many times over.
    const MAX_BYTES: u64 = 16 << 20;
    const PRETTY: bool = false;
}

impl Record {
    pub fn state(&self) -> State {
        State {
            accounting: self.state.accounting,
            enforcing: self.state.enforcing,
        }
    }

    /// The project's figures, or why there are none.
    pub fn quota(&self, project_id: u32) -> Result<Quota, String> {
        match self.projects.iter().find(|p| p.project_id == project_id) {
            Some(RecordedQuota { error: Some(e), .. }) => Err(e.clone()),
            Some(p) => Ok(Quota {
                space_bytes: p.space_bytes,
                inodes: p.inodes,
                soft_bytes: p.soft_bytes,
                hard_bytes: p.hard_bytes,
            }),
            None => Err(format!("project {project_id} is not in the quota record")),
        }
    }
}

fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Reads the base's quota state and every service's project: what `jts-hot
/// quota record` saves. Err: the base could not be opened or queried.
pub fn take(layout: &Layout) -> Result<Option<Record>, String> {
    if layout.tier.quota == QuotaMode::Off {
        return Ok(None);
    }
    let base = open_dir(&layout.tier.base).map_err(|e| {
        format!(
            "cannot open {}: {e}",
            escape::untrusted_path(&layout.tier.base)
        )
    })?;
    let state =
        sys::state(base.as_fd()).map_err(|e| format!("cannot query project quotas: {e}"))?;
    let projects = if state.accounting {
        layout
            .services
            .iter()
            .map(|s| {
                let id = s.quota.project_id;
                match sys::get(base.as_fd(), id) {
                    Ok(q) => RecordedQuota {
                        project_id: id,
                        space_bytes: q.space_bytes,
                        inodes: q.inodes,
                        soft_bytes: q.soft_bytes,
                        hard_bytes: q.hard_bytes,
                        error: None,
                    },
                    Err(e) => RecordedQuota {
                        project_id: id,
                        space_bytes: 0,
                        inodes: 0,
                        soft_bytes: 0,
                        hard_bytes: 0,
                        error: Some(format!("cannot read project {id}'s quota: {e}")),
                    },
                }
            })
            .collect()
    } else {
        Vec::new()
    };
    Ok(Some(Record {
        taken_unix: now_unix(),
        base: layout.tier.base.clone(),
        state: RecordedState {
            accounting: state.accounting,
            enforcing: state.enforcing,
        },
        granularity: block_size(&base),
        projects,
    }))
}

/// `jts-hot quota record`: takes the record and saves it in `dir`.
pub fn save(layout: &Layout, dir: &StateDir) -> Result<Option<(Record, PathBuf)>, String> {
    match take(layout)? {
        None => Ok(None),
        Some(record) => {
            let path = state::save(dir, &record).map_err(|e| format!("{e:#}"))?;
            Ok(Some((record, path)))
        }
    }
}

/// The record in `dir` if it is for this layout's base and fresh at `now`;
/// else why not, for the caller's error.
pub fn fresh(layout: &Layout, dir: &StateDir, now: u64) -> Result<Record, String> {
    let shown = escape::untrusted_path(&dir.file::<Record>());
    let record = match state::load::<Record>(dir) {
        state::Loaded::Found(r) => r,
        state::Loaded::Missing => return Err(format!("no record in {shown}")),
        other => return Err(other.trouble().unwrap_or("unusable").to_string()),
    };
    if record.base != layout.tier.base {
        return Err(format!(
            "{shown} is for {}, not this layout's base",
            escape::untrusted_path(&record.base)
        ));
    }
    if now < record.taken_unix || now - record.taken_unix > MAX_AGE_SECONDS {
        return Err(format!(
            "{shown} was taken at {} (Unix time), not within {MAX_AGE_SECONDS}s of now",
            record.taken_unix
        ));
    }
    Ok(record)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_fresh_record_for_the_base_is_used() {
        let layout = Layout::builtin();
        let tmp = tempfile::tempdir().unwrap();
        let dir = StateDir::new(tmp.path());
        assert!(fresh(&layout, &dir, 1000)
            .unwrap_err()
            .contains("no record"));
        let record = Record {
            taken_unix: 1000,
            base: layout.tier.base.clone(),
            state: RecordedState {
                accounting: true,
                enforcing: false,
            },
            granularity: 4096,
            projects: vec![RecordedQuota {
                project_id: 7,
                space_bytes: 5,
                inodes: 2,
                soft_bytes: 0,
                hard_bytes: 0,
                error: None,
            }],
        };
        state::save(&dir, &record).unwrap();
        let got = fresh(&layout, &dir, 1000 + MAX_AGE_SECONDS).unwrap();
        assert_eq!(got, record);
        assert_eq!(got.quota(7).unwrap().space_bytes, 5);
        assert!(got.quota(8).is_err());
        assert!(
            fresh(&layout, &dir, 1001 + MAX_AGE_SECONDS).is_err(),
            "stale"
        );
        assert!(fresh(&layout, &dir, 999).is_err(), "from the future");
        let mut other = record.clone();
        other.base = "/elsewhere".into();
        state::save(&dir, &other).unwrap();
        assert!(fresh(&layout, &dir, 1000)
            .unwrap_err()
            .contains("not this layout's base"));
    }
}
