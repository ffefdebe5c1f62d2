//! A real ext4 in a file, on its own loop device, mounted: for what only a
//! filesystem of its own shows (mount options, capacity, device identity,
//! what a walk must not cross).
//!
//! Whatever the test does, panic included, drop unmounts it and detaches its
//! loop device (and any other loop device left on the same image).

use std::path::{Path, PathBuf};
use std::process::Command;

use super::{have_root, have_tools, must, run};

/// What a test needs on the host to loop-mount; reports what is missing via
/// `cannot_run`.
pub fn loop_tools(test: &str) -> bool {
    have_root(test) && have_tools(test, &["truncate", "mkfs.ext4", "losetup", "mount"])
}

/// A mounted loop device; see the module's comment.
pub struct LoopMount {
    /// The file holding the filesystem.
    pub image: PathBuf,
    /// The loop device, e.g. `/dev/loop3`.
    pub device: String,
    /// Where it is mounted.
    pub at: PathBuf,
    mounted: bool,
    /// A temporary directory holding image and mount point, when the
    /// LoopMount made it; removed after the unmount.
    _dir: Option<tempfile::TempDir>,
}

/// How to make one: `LoopMount::ext4(...)`, then options, then `mount()`.
pub struct Ext4 {
    /// The file holding the filesystem.
    pub image: PathBuf,
    at: PathBuf,
    size: String,
    mkfs_args: Vec<String>,
    losetup_args: Vec<String>,
    options: String,
    dir: Option<tempfile::TempDir>,
}

impl LoopMount {
    /// A new ext4 of `size` (truncate's syntax: 64M, 4TB) in the file
    /// `image`, to be mounted at `at` (made if missing).
    pub fn ext4(image: &Path, at: &Path, size: &str) -> Ext4 {
        Ext4 {
            image: image.to_path_buf(),
            at: at.to_path_buf(),
            size: size.to_string(),
            mkfs_args: Vec::new(),
            losetup_args: Vec::new(),
            options: String::new(),
            dir: None,
        }
    }

    /// The same, with image and mount point (`mnt`) in a temporary directory
    /// of its own.
    pub fn ext4_in_tempdir(size: &str) -> Ext4 {
        let dir = tempfile::tempdir().unwrap();
        let mut ext4 = LoopMount::ext4(&dir.path().join("fs.img"), &dir.path().join("mnt"), size);
        ext4.dir = Some(dir);
        ext4
    }

    /// The mount point.
    pub fn mnt(&self) -> PathBuf {
        self.at.clone()
    }

    /// The device's name in /sys/block (`loop3`).
    pub fn name(&self) -> &str {
        self.device.trim_start_matches("/dev/")
    }
}

impl Ext4 {
    /// Extra arguments to mkfs.ext4 (e.g. lazy init for a huge sparse image).
    pub fn mkfs_args(mut self, args: &[&str]) -> Ext4 {
        self.mkfs_args = args.iter().map(|a| a.to_string()).collect();
        self
    }

    /// Extra arguments to losetup (e.g. `--sector-size 4096`).
    pub fn losetup_args(mut self, args: &[&str]) -> Ext4 {
        self.losetup_args = args.iter().map(|a| a.to_string()).collect();
        self
    }

    /// Mount options (`mount -o`).
    pub fn options(mut self, options: &str) -> Ext4 {
        self.options = options.to_string();
        self
    }

    /// Makes the filesystem (failures of truncate and mkfs fail the test),
    /// attaches and mounts it. Err says why the kernel would not attach or
    /// mount it (no loop devices here?): the caller decides if that is
    /// `cannot_run` or a failure.
    pub fn mount(self) -> Result<LoopMount, String> {
        must(
            Command::new("truncate")
                .args(["-s", &self.size])
                .arg(&self.image),
        );
        must(
            Command::new("mkfs.ext4")
                .arg("-q")
                .args(&self.mkfs_args)
                .arg(&self.image),
        );
        let (code, out, err) = run(Command::new("losetup")
            .args(["--find", "--show"])
            .args(&self.losetup_args)
            .arg(&self.image));
        if code != 0 {
            return Err(format!("losetup {}: {err}", self.image.display()));
        }
        // From here on, drop detaches whatever happens.
        let mut lm = LoopMount {
            image: self.image,
            device: out.trim().to_string(),
            at: self.at,
            mounted: false,
            _dir: self.dir,
        };
        std::fs::create_dir_all(&lm.at).unwrap();
        let mut mount = Command::new("mount");
        if !self.options.is_empty() {
            mount.args(["-o", &self.options]);
        }
        let (code, _, err) = run(mount.arg(&lm.device).arg(&lm.at));
        if code != 0 {
            return Err(format!("mount {} {}: {err}", lm.device, lm.at.display()));
        }
        lm.mounted = true;
        Ok(lm)
    }
}

impl Drop for LoopMount {
    fn drop(&mut self) {
        if self.mounted {
            let (code, _, _) = run(Command::new("umount").arg(&self.at));
            if code != 0 {
                // Busy (a process of the failed test still in it): detach
                // it from the tree now, the kernel frees it when released.
                let _ = Command::new("umount").arg("-l").arg(&self.at).status();
            }
        }
        let _ = Command::new("losetup").args(["-d", &self.device]).status();
        // Anything else still attached to the image (a retry, a crash).
        if let Ok(out) = Command::new("losetup").arg("-j").arg(&self.image).output() {
            for line in String::from_utf8_lossy(&out.stdout).lines() {
                if let Some((dev, _)) = line.split_once(':') {
                    let _ = Command::new("losetup").args(["-d", dev]).status();
                }
            }
        }
    }
}
