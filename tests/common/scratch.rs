//! A scratch tier: a temporary directory (under the scratch root, see
//! `scratch_root` in mod.rs) holding a layout file, the tier with a `data`
//! directory per service, and a state directory for the monitor.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use super::{bin_path, json, run};

pub struct Scratch {
    pub dir: tempfile::TempDir,
    /// The binary its commands run: the one cargo built, or a copy in `dir`.
    program: PathBuf,
}

impl Scratch {
    /// `services` each get `hot/NAME/data`; `layout` is given the tier's
    /// base and returns the layout file's text.
    pub fn new(services: &[&str], layout: impl FnOnce(&Path) -> String) -> Scratch {
        let dir = tempfile::tempdir().unwrap();
        // Readable by the unprivileged test user too.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let s = Scratch {
            dir,
            program: bin_path(),
        };
        std::fs::create_dir_all(s.base()).unwrap();
        for name in services {
            std::fs::create_dir_all(s.base().join(name).join("data")).unwrap();
        }
        std::fs::write(s.config(), layout(&s.base())).unwrap();
        s
    }

    /// For tests that run the tool as another user: a copy of the binary
    /// that user can run (target/ may not be reachable) and a state
    /// directory anyone may write.
    pub fn for_any_user(mut self) -> Scratch {
        std::fs::create_dir(self.state()).unwrap();
        std::fs::set_permissions(self.state(), std::fs::Permissions::from_mode(0o777)).unwrap();
        let bin = self.dir.path().join("jts-hot");
        std::fs::copy(bin_path(), &bin).unwrap();
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
        self.program = bin;
        self
    }

    pub fn base(&self) -> PathBuf {
        self.dir.path().join("hot")
    }
    pub fn config(&self) -> PathBuf {
        self.dir.path().join("layout.toml")
    }
    pub fn state(&self) -> PathBuf {
        self.dir.path().join("state")
    }
    pub fn history(&self) -> PathBuf {
        self.state().join("monitor-history.json")
    }
    /// The binary this scratch's commands run.
    pub fn bin(&self) -> PathBuf {
        self.program.clone()
    }

    /// `jts-hot --config LAYOUT ARGS...`, with no layout or journal from the host.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.program);
        cmd.env_remove("JTS_HOT_CONFIG")
            .env_remove("JOURNAL_STREAM")
            .arg("--config")
            .arg(self.config())
            .args(args);
        cmd
    }

    /// `jts-hot monitor --state-dir STATE EXTRA...`.
    pub fn monitor(&self, extra: &[&str]) -> Command {
        let mut cmd = self.cmd(&["monitor", "--state-dir"]);
        cmd.arg(self.state()).args(extra);
        cmd
    }

    /// Runs the monitor with JSON output; returns (exit code, document).
    pub fn json(&self) -> (i32, Value) {
        let (code, out, err) = run(&mut self.monitor(&["--format", "json"]));
        (code, json(&out, &err))
    }
}
