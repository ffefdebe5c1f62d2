//! The state directory (`/var/lib/jts-hot`, systemd's `$STATE_DIRECTORY`):
//! the only thing jts-hot keeps between runs. The monitor's growth history
//! and the probe's baseline live here, each a JSON document loaded and saved
//! only through this module, with one policy:
//!
//! - saved atomically (a reader never sees half a file), with its schema name;
//! - read bounded, never through a link, never blocking on a FIFO
//!   ([`read_regular`]);
//! - a file that is corrupt, hostile (not a regular file, too large) or of
//!   another schema is reported and set aside as `NAME.corrupt` for a person
//!   to look at, never a panic, never fatal;
//! - a file that is there but cannot be read now (EMFILE, EIO) is reported
//!   and left as it is.
//!
//! Files written before schema names existed carry none: read as the current
//! schema until the next release (see CHANGELOG.md).

use std::io;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::escape;
use crate::system::file::{read_regular, Links};

/// Where the state directory is when systemd does not say.
pub const DEFAULT_DIR: &str = "/var/lib/jts-hot";

/// The state directory, as given (`--state-dir`, `$STATE_DIRECTORY`).
#[derive(Debug, Clone)]
pub struct StateDir {
    path: PathBuf,
}

impl StateDir {
    pub fn new(path: impl Into<PathBuf>) -> StateDir {
        StateDir { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Where a kind of document lives.
    pub fn file<T: Document>(&self) -> PathBuf {
        self.path.join(T::FILE_NAME)
    }
}

/// A kind of document kept in the state directory.
pub trait Document: Serialize + DeserializeOwned {
    /// Its file name in the state directory.
    const FILE_NAME: &'static str;
    /// The schema name written with it, `jts-hot.<name>/N`.
    const SCHEMA: &'static str;
    /// What a person calls it, in notes: "history".
    const WHAT: &'static str;
    /// A larger file is set aside unread.
    const MAX_BYTES: u64;
    /// Indented (small files a person may read) or compact.
    const PRETTY: bool;

    /// The document from a file of `schema` (None: written before schema
    /// names); by default its own schema only. A document whose schema
    /// changed reads its older ones here.
    fn from_schema(schema: Option<&str>, bytes: &[u8]) -> Result<Self, String> {
        match schema {
            None => {}
            Some(s) if s == Self::SCHEMA => {}
            Some(s) => {
                return Err(format!(
                    "schema \"{}\", not \"{}\"",
                    escape::untrusted(s),
                    Self::SCHEMA
                ))
            }
        }
        serde_json::from_slice(bytes).map_err(|e| e.to_string())
    }
}

/// What is in the state directory for a kind of document.
#[derive(Debug)]
pub enum Loaded<T> {
    /// Nothing yet (or no state directory at all).
    Missing,
    Found(T),
    /// There but unusable: reported, and moved aside when it could be.
    SetAside(String),
    /// There but unreadable for now: reported, left in place; saving over
    /// it would erase what may be good.
    Unreadable(String),
}

impl<T> Loaded<T> {
    /// The document, if one was read.
    pub fn found(self) -> Option<T> {
        match self {
            Loaded::Found(t) => Some(t),
            _ => None,
        }
    }

    /// What a person should know about the file, if anything went wrong.
    pub fn trouble(&self) -> Option<&str> {
        match self {
            Loaded::SetAside(why) | Loaded::Unreadable(why) => Some(why),
            Loaded::Missing | Loaded::Found(_) => None,
        }
    }
}

/// Only the schema name, read before the document itself.
#[derive(Deserialize)]
struct Header {
    schema: Option<String>,
}

/// The document as saved: its schema name first, then its fields.
#[derive(Serialize)]
struct Envelope<'a, T> {
    schema: &'static str,
    #[serde(flatten)]
    document: &'a T,
}

/// Loads a document under the policy above.
pub fn load<T: Document>(dir: &StateDir) -> Loaded<T> {
    let file = dir.file::<T>();
    let shown = escape::untrusted_path(&file);
    let bad = match read_regular(&file, T::MAX_BYTES, Links::Refuse) {
        Ok(bytes) => match parse::<T>(&bytes) {
            Ok(t) => return Loaded::Found(t),
            Err(e) => format!("corrupt {} {shown} ({e})", T::WHAT),
        },
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
            ) =>
        {
            return Loaded::Missing
        }
        // Not a regular file, or too large: never usable as it is.
        Err(e) if e.kind() == io::ErrorKind::InvalidData => {
            format!("{} {shown} unusable ({e})", T::WHAT)
        }
        Err(e) => return Loaded::Unreadable(format!("cannot read {shown}: {e}")),
    };
    // Kept for a person to look at; the next save starts afresh.
    let aside = file.with_extension("json.corrupt");
    if std::fs::rename(&file, &aside).is_ok() {
        Loaded::SetAside(format!(
            "{bad}, moved to {}",
            escape::untrusted_path(&aside)
        ))
    } else {
        Loaded::SetAside(bad)
    }
}

/// The document if its schema is this one's (or none: written before schema
/// names existed). Public for the fuzz targets (fuzz/).
pub fn parse<T: Document>(bytes: &[u8]) -> Result<T, String> {
    let header: Header = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    T::from_schema(header.schema.as_deref(), bytes)
}

/// Saves a document atomically with its schema name, creating the state
/// directory if needed. Returns the file written.
pub fn save<T: Document>(dir: &StateDir, document: &T) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(&dir.path)
        .with_context(|| format!("cannot create {}", escape::untrusted_path(&dir.path)))?;
    let envelope = Envelope {
        schema: T::SCHEMA,
        document,
    };
    let mut json = if T::PRETTY {
        serde_json::to_vec_pretty(&envelope)?
    } else {
        serde_json::to_vec(&envelope)?
    };
    json.push(b'\n');
    // What a run killed before its rename left (kill -9, a power cut).
    crate::files::remove_stale_temporaries(&dir.path)?;
    let file = dir.file::<T>();
    crate::files::write_atomic(&file, &json, 0o644)?;
    Ok(file)
}

/// The state directory's lock file: one monitor run at a time reads,
/// extends and saves the history (two at once lost samples).
pub const LOCK_FILE: &str = "monitor.lock";

/// How a wait for the state directory's lock ended.
pub enum Lock {
    /// Held until dropped.
    Held(nix::fcntl::Flock<std::fs::File>),
    /// Another process held it all along: the PID it wrote, if any.
    Busy(Option<u32>),
}

/// Takes the state directory's lock (flock on `monitor.lock`, never through
/// a link), waiting at most `wait` for another run to finish.
pub fn lock(dir: &StateDir, wait: std::time::Duration) -> anyhow::Result<Lock> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::create_dir_all(&dir.path)
        .with_context(|| format!("cannot create {}", escape::untrusted_path(&dir.path)))?;
    let path = dir.path.join(LOCK_FILE);
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC | libc::O_NONBLOCK)
        .open(&path)
        .with_context(|| format!("cannot open {}", escape::untrusted_path(&path)))?;
    let deadline = std::time::Instant::now() + wait;
    loop {
        match nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusiveNonblock) {
            Ok(mut held) => {
                // Who holds it, for the other run's note.
                let _ = held.set_len(0);
                let _ = writeln!(held, "{}", std::process::id());
                return Ok(Lock::Held(held));
            }
            Err((f, nix::errno::Errno::EWOULDBLOCK)) => {
                if std::time::Instant::now() >= deadline {
                    let pid = std::fs::read_to_string(&path)
                        .ok()
                        .and_then(|t| t.trim().parse().ok());
                    return Ok(Lock::Busy(pid));
                }
                file = f;
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            Err((_, e)) => {
                return Err(e)
                    .with_context(|| format!("cannot lock {}", escape::untrusted_path(&path)))
            }
        }
    }
}

/// A probe's key figures, saved by `jts-hot probe --save`: later probes are
/// compared with it and the monitor exports it. Latencies in microseconds.
/// Here, not in the probe, so the monitor reads it without knowing the probe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    /// When it was measured, seconds since the Unix epoch.
    pub measured_unix: u64,
    /// The directory probed.
    #[serde(serialize_with = "escape::serialize_path")]
    pub dir: PathBuf,
    /// The disks under it, by kernel name.
    pub devices: Vec<String>,
    pub fsync_p50_us: f64,
    pub fsync_p99_us: f64,
    pub randread_p50_us: f64,
    pub randread_p99_us: f64,
    pub seq_write_bytes_per_sec: f64,
}

impl Document for Baseline {
    const FILE_NAME: &'static str = "probe-baseline.json";
    const SCHEMA: &'static str = "jts-hot.probe-baseline/1";
    const WHAT: &'static str = "probe baseline";
    const MAX_BYTES: u64 = 64 << 10;
    const PRETTY: bool = true;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Doc {
        n: u64,
    }

    impl Document for Doc {
        const FILE_NAME: &'static str = "doc.json";
        const SCHEMA: &'static str = "jts-hot.doc/1";
        const WHAT: &'static str = "doc";
        const MAX_BYTES: u64 = 1024;
        const PRETTY: bool = false;
    }

    #[test]
    fn saves_with_its_schema_and_reads_old_files_without_one() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = StateDir::new(tmp.path().join("state"));
        assert!(matches!(load::<Doc>(&dir), Loaded::Missing));
        save(&dir, &Doc { n: 7 }).unwrap();
        let text = std::fs::read_to_string(dir.file::<Doc>()).unwrap();
        assert_eq!(text, "{\"schema\":\"jts-hot.doc/1\",\"n\":7}\n");
        assert_eq!(load::<Doc>(&dir).found(), Some(Doc { n: 7 }));
        // As files were written before schema names.
        std::fs::write(dir.file::<Doc>(), "{\"n\":8}").unwrap();
        assert_eq!(load::<Doc>(&dir).found(), Some(Doc { n: 8 }));
    }

    #[test]
    fn corrupt_or_foreign_files_are_set_aside_and_reported() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = StateDir::new(tmp.path());
        let aside = tmp.path().join("doc.json.corrupt");
        for bad in ["{\"n\":", "{\"schema\":\"jts-hot.doc/2\",\"n\":1}", "[]"] {
            std::fs::write(dir.file::<Doc>(), bad).unwrap();
            let loaded = load::<Doc>(&dir);
            let why = loaded.trouble().unwrap().to_string();
            assert!(matches!(loaded, Loaded::SetAside(_)), "{bad}");
            assert!(why.starts_with("corrupt doc "), "{why}");
            assert!(why.contains("moved to"), "{why}");
            assert!(aside.exists() && !dir.file::<Doc>().exists());
        }
        std::fs::write(dir.file::<Doc>(), vec![b' '; 2000]).unwrap();
        let why = load::<Doc>(&dir).trouble().unwrap().to_string();
        assert!(
            why.contains("unusable") && why.contains("larger than"),
            "{why}"
        );
    }
}
