//! Shared by the integration tests: the binary under test, and the rule that a
//! test which cannot run here says so loudly, and under CI=true fails instead.
#![allow(dead_code)]

pub mod mktree;

use std::path::{Path, PathBuf};
use std::process::Command;

/// The jts-hot binary built for these tests, with no layout from the host.
pub fn jts_hot() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_jts-hot"));
    cmd.env_remove("JTS_HOT_CONFIG")
        .env_remove("JOURNAL_STREAM");
    cmd
}

pub fn bin_path() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_jts-hot"))
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Call when a prerequisite is missing. Returns normally (the caller then
/// returns early) outside CI, after a loud message; panics under CI=true.
pub fn cannot_run(test: &str, why: &str) {
    let msg = format!("SKIPPED {test}: {why}");
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{msg} (CI=true: a test that cannot run is a failure)");
    }
    eprintln!("\n!!!!!!!! {msg} !!!!!!!!\n");
}

/// True when `tool` is on PATH; otherwise reports via `cannot_run`.
pub fn have_tool(test: &str, tool: &str) -> bool {
    let found = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|p| p.join(tool).is_file()))
        .unwrap_or(false);
    if !found {
        cannot_run(test, &format!("{tool} is not installed"));
    }
    found
}

/// True when running as root; otherwise reports via `cannot_run`.
pub fn have_root(test: &str) -> bool {
    let root = nix::unistd::geteuid().is_root();
    if !root {
        cannot_run(test, "needs root");
    }
    root
}

/// Runs a command and returns (status code, stdout, stderr).
pub fn run(cmd: &mut Command) -> (i32, String, String) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Every regular file under `dir`, as paths relative to it, sorted.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                out.push(path.strip_prefix(root).unwrap().to_path_buf());
            }
        }
    }
    let mut out = Vec::new();
    if dir.exists() {
        walk(dir, dir, &mut out);
    }
    out.sort();
    out
}
