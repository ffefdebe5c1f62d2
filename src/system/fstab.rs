//! Mounts the system declares (as opposed to the ones in place now): the
//! lines of /etc/fstab and the .mount unit files, as systemd reads them at
//! boot. They tell jts-hot whether the tier is meant to be its own disk, so
//! that an unmounted tier is refused loudly rather than filled on the root
//! filesystem. Reading only; under `--root`, the image's own files.

use super::Root;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{on_disk, on_disk_followed};
use crate::escape::{self, unescape_octal};

/// One declared mount.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeclaredMount {
    /// The device as declared: `UUID=...`, `/dev/nvme0n1p1`, `LABEL=...`.
    pub what: String,
    pub mount_point: PathBuf,
    pub fstype: String,
    pub options: Vec<String>,
    /// Where it is declared: `/etc/fstab:LINE` or the unit file's path.
    pub declared_in: String,
}

impl DeclaredMount {
    pub fn has_option(&self, option: &str) -> bool {
        self.options.iter().any(|o| o == option)
    }

    /// The .mount unit systemd makes of it (or that declares it).
    pub fn unit(&self) -> String {
        escape::mount_unit_name(&self.mount_point)
    }

    /// True when it is declared as a bind mount (which shows the device of
    /// the directory it binds, possibly the parent's).
    pub fn is_bind(&self) -> bool {
        self.has_option("bind") || self.has_option("rbind") || self.fstype == "none"
    }

    /// Whose disk it is, for messages: the tier's (at the base or a parent
    /// of it) or the one declared for a directory below the base.
    fn whose(&self, base: &Path) -> String {
        match base.starts_with(&self.mount_point) {
            true => "the tier's disk".to_string(),
            false => format!(
                "the disk declared for {}",
                escape::untrusted_path(&self.mount_point)
            ),
        }
    }

    /// What is wrong, in the words every part of jts-hot uses (validate,
    /// monitor, setup, apply, the package scripts) when the mount is not in place.
    pub fn not_mounted(&self, base: &Path) -> String {
        format!(
            "{} is not mounted: {} declares {} on {} and nothing is mounted there",
            self.whose(base),
            self.declared_in,
            self.what,
            escape::untrusted_path(&self.mount_point),
        )
    }

    /// The same when it is mounted but hidden: `by` describes the filesystem
    /// seen there instead.
    pub fn hidden(&self, base: &Path, by: &str) -> String {
        format!(
            "{} is hidden: {} declares {} on {}, and the mount table lists it, but the \
             filesystem seen there is {by}",
            self.whose(base),
            self.declared_in,
            self.what,
            escape::untrusted_path(&self.mount_point),
        )
    }

    /// The same when another disk is mounted there: `seen` describes it,
    /// with its names.
    pub fn foreign(&self, base: &Path, seen: &str) -> String {
        format!(
            "{} is not the one mounted: {} declares {} on {}, and what is mounted there is {seen}",
            self.whose(base),
            self.declared_in,
            self.what,
            escape::untrusted_path(&self.mount_point),
        )
    }

    /// What to check and run then.
    pub fn what_to_check(&self) -> String {
        format!(
            "check the disk (lsblk, blkid) and `journalctl -b -u {}`, then `systemctl start {}`",
            self.unit(),
            self.unit(),
        )
    }

    /// What to do when it is hidden.
    pub fn what_to_unhide(&self) -> String {
        format!(
            "`findmnt -o TARGET,SOURCE,FSTYPE` shows the mounts in the order made: unmount \
             what covers {} and the hidden mount (`umount {}`), then mount the parent first \
             and `systemctl start {}`",
            escape::untrusted_path(&self.mount_point),
            escape::untrusted_path(&self.mount_point),
            self.unit(),
        )
    }
}

/// The declared mounts that concern a tier at `base`: at the base, at an
/// ancestor of it other than `/`, or below it (a service's own disk),
/// outermost first. Unreadable or absent files declare nothing.
pub fn declared_for(root: &Root, base: &Path) -> Vec<DeclaredMount> {
    let mut found: Vec<DeclaredMount> = Vec::new();
    let fstab = read_config(root, Path::new("/etc/fstab")).unwrap_or_default();
    let all = parse_fstab(&fstab).into_iter().chain(unit_mounts(root));
    for m in all {
        let holds = m.mount_point != Path::new("/")
            && (base.starts_with(&m.mount_point) || m.mount_point.starts_with(base));
        // fstab wins over a unit file for the same mount point, as in systemd.
        if holds && !found.iter().any(|f| f.mount_point == m.mount_point) {
            found.push(m);
        }
    }
    found.sort_by_key(|m| m.mount_point.components().count());
    found
}

/// The mount lines of an fstab(5) text (swap and `none` mount points skipped).
pub fn parse_fstab(text: &str) -> Vec<DeclaredMount> {
    text.lines()
        .enumerate()
        .filter_map(|(i, line)| {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                return None;
            }
            let mut fields = line.split_whitespace().map(unescape_octal);
            let what = fields.next()?;
            let mount_point = fields.next()?;
            let fstype = fields.next().unwrap_or_else(|| "auto".into());
            let options = fields.next().unwrap_or_else(|| "defaults".into());
            if !mount_point.starts_with('/') || fstype == "swap" {
                return None;
            }
            Some(DeclaredMount {
                what,
                mount_point: normalize(&mount_point),
                fstype,
                options: options.split(',').map(str::to_string).collect(),
                declared_in: format!("/etc/fstab:{}", i + 1),
            })
        })
        .collect()
}

/// `/data//jts/` → `/data/jts`, as systemd compares mount points.
fn normalize(path: &str) -> PathBuf {
    Path::new(path).components().collect()
}

/// A small configuration file (fstab, a unit), its links followed inside
/// the root: bounded, and only a regular file, so a FIFO or a device planted
/// in an image never hangs validate or setup. `None` when absent or refused.
fn read_config(root: &Root, path: &Path) -> Option<String> {
    /// Far above any fstab or unit file.
    const MAX_CONFIG_BYTES: u64 = 1 << 20;
    let path = on_disk_followed(root, path);
    super::file::read_regular_text(&path, MAX_CONFIG_BYTES, super::file::Links::Follow).ok()
}

/// Every .mount unit file with a Where= (the first directory holding a unit
/// name wins, as in systemd; a symlink to /dev/null masks it).
fn unit_mounts(root: &Root) -> Vec<DeclaredMount> {
    let mut seen: Vec<String> = Vec::new();
    let mut out = Vec::new();
    for dir in super::UNIT_SEARCH_PATH {
        let Ok(entries) = std::fs::read_dir(on_disk(root, Path::new(dir))) else {
            continue;
        };
        let mut names: Vec<String> = entries
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.ends_with(".mount"))
            .collect();
        names.sort();
        for name in names {
            if seen.contains(&name) {
                continue;
            }
            seen.push(name.clone());
            let path = Path::new(dir).join(&name);
            let Some(text) = read_config(root, &path) else {
                continue; // masked (a link to /dev/null, no regular file) or unreadable
            };
            if let Some(m) = parse_mount_unit(&text, &path) {
                out.push(m);
            }
        }
    }
    out
}

/// What=, Where=, Type= and Options= of a .mount unit's [Mount] section.
pub fn parse_mount_unit(text: &str, path: &Path) -> Option<DeclaredMount> {
    let mut section = "";
    let (mut what, mut place, mut fstype, mut options) = (None, None, None, None);
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            section = line;
            continue;
        }
        if section != "[Mount]" {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let value = value.trim().to_string();
        match key.trim() {
            "What" => what = Some(value),
            "Where" => place = Some(value),
            "Type" => fstype = Some(value),
            "Options" => options = Some(value),
            _ => {}
        }
    }
    let place = place?;
    if !place.starts_with('/') {
        return None;
    }
    Some(DeclaredMount {
        what: what.unwrap_or_default(),
        mount_point: normalize(&place),
        fstype: fstype.unwrap_or_else(|| "auto".into()),
        options: options
            .unwrap_or_default()
            .split(',')
            .filter(|o| !o.is_empty())
            .map(str::to_string)
            .collect(),
        declared_in: path.display().to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fstab_lines_with_comments_escapes_and_swap() {
        let text = "# comment\n\
                    UUID=1 / ext4 errors=remount-ro 0 1\n\
                    \n\
                    UUID=2 none swap sw 0 0\n\
                    UUID=3 /data/jts/hot ext4 noatime,nofail,x-systemd.device-timeout=90s 0 2\n\
                    /dev/sdb1 /srv/hot\\040tier xfs defaults\n";
        let m = parse_fstab(text);
        assert_eq!(m.len(), 3, "{m:?}");
        assert_eq!(m[1].what, "UUID=3");
        assert_eq!(m[1].mount_point, Path::new("/data/jts/hot"));
        assert_eq!(m[1].declared_in, "/etc/fstab:5");
        assert!(m[1].has_option("nofail"));
        assert_eq!(m[2].mount_point, Path::new("/srv/hot tier"));
    }

    /// A FIFO where fstab or a unit should be (an image's, under --root)
    /// declares nothing and is never opened for reading: no hang.
    #[test]
    fn a_fifo_in_an_image_declares_nothing() {
        let root = tempfile::tempdir().unwrap();
        let units = root.path().join("etc/systemd/system");
        std::fs::create_dir_all(&units).unwrap();
        for fifo in [root.path().join("etc/fstab"), units.join("data.mount")] {
            nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o644)).unwrap();
        }
        assert!(declared_for(
            &Root::open(root.path()).unwrap(),
            Path::new("/data/jts/hot")
        )
        .is_empty());
    }

    #[test]
    fn mount_units() {
        let text =
            "[Unit]\nWhere=/nope\n[Mount]\nWhat=/dev/vdb\nWhere=/data/jts/hot/\nOptions=noatime\n";
        let m =
            parse_mount_unit(text, Path::new("/etc/systemd/system/data-jts-hot.mount")).unwrap();
        assert_eq!(m.mount_point, Path::new("/data/jts/hot"));
        assert_eq!(m.what, "/dev/vdb");
        assert_eq!(m.options, ["noatime"]);
        assert_eq!(
            parse_mount_unit("[Mount]\nWhat=x\n", Path::new("x.mount")),
            None
        );
    }

    #[test]
    fn declared_for_the_base_its_ancestors_or_below_outermost_first() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("etc/systemd/system")).unwrap();
        std::fs::write(
            root.path().join("etc/fstab"),
            "UUID=r / ext4 defaults\nUUID=h /data/jts/hot ext4 nofail\nUUID=o /data/other ext4 defaults\n",
        )
        .unwrap();
        std::fs::write(
            root.path().join("etc/systemd/system/data.mount"),
            "[Mount]\nWhat=/dev/vdc\nWhere=/data\n",
        )
        .unwrap();
        let m = declared_for(
            &Root::open(root.path()).unwrap(),
            Path::new("/data/jts/hot"),
        );
        let points: Vec<_> = m.iter().map(|m| m.mount_point.clone()).collect();
        assert_eq!(
            points,
            [PathBuf::from("/data"), PathBuf::from("/data/jts/hot")]
        );
        // Below the base too (a service's own disk), never a sibling.
        std::fs::write(
            root.path().join("etc/fstab"),
            "UUID=k /data/jts/hot/kafka xfs nofail\nUUID=s /data/jts/hotter ext4 defaults\n",
        )
        .unwrap();
        let m = declared_for(
            &Root::open(root.path()).unwrap(),
            Path::new("/data/jts/hot"),
        );
        let points: Vec<_> = m.iter().map(|m| m.mount_point.clone()).collect();
        assert_eq!(
            points,
            [PathBuf::from("/data"), PathBuf::from("/data/jts/hot/kafka")]
        );
        assert!(declared_for(&Root::open(root.path()).unwrap(), Path::new("/srv/x")).is_empty());
    }
}
