//! The mount table, read from /proc/self/mountinfo (proc(5)), and which
//! mount a path lives on: the one home of both.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::escape::unescape_octal;

/// One line of mountinfo, the fields jts-hot asks about.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Mount {
    /// The mount's id and its parent's (fields 1 and 2): which mount a
    /// stacked one covers. Not serialized (they change at every mount).
    #[serde(skip)]
    pub id: u32,
    #[serde(skip)]
    pub parent: u32,
    /// The directory of the filesystem mounted here (field 4): `/` for a
    /// whole filesystem, the source directory for a bind mount.
    #[serde(skip)]
    pub root: PathBuf,
    /// Device number of the mounted filesystem (st_dev of files on it).
    pub major: u32,
    pub minor: u32,
    pub fstype: String,
    /// Per-mount options (field 6: rw, noatime, nosuid...).
    pub options: Vec<String>,
    /// Filesystem (superblock) options after the separator (discard, errors=...).
    pub super_options: Vec<String>,
    pub mount_point: PathBuf,
    /// The mount source, e.g. /dev/nvme0n1p1 (free text for virtual filesystems).
    pub source: String,
}

impl Mount {
    /// True when `opt` is among the per-mount or the filesystem options.
    pub fn has_option(&self, opt: &str) -> bool {
        self.options
            .iter()
            .chain(&self.super_options)
            .any(|o| o == opt)
    }
}

/// The whole mount table, for callers that ask several questions of it.
pub fn read() -> Result<Vec<Mount>> {
    let text = std::fs::read_to_string("/proc/self/mountinfo")
        .context("cannot read /proc/self/mountinfo")?;
    parse(&text)
}

/// The mount holding `path` (canonicalized first), from a fresh read of
/// the table: for callers with one question.
pub fn mount_of(path: &Path) -> Result<Mount> {
    // Resolved here first for errors that say which step failed.
    let path = path
        .canonicalize()
        .with_context(|| format!("cannot resolve {}", path.display()))?;
    std::fs::metadata(&path).with_context(|| format!("cannot stat {}", path.display()))?;
    let mounts = read()?;
    let (mount, _) =
        holding(&mounts, &path).with_context(|| format!("no mount holds {}", path.display()))?;
    Ok(mount.clone())
}

/// The mount holding `path`, which must exist: resolved as the mount table
/// names it (canonicalized), and picked by its device number (st_dev), as
/// findmnt --target does: mountinfo is not in mount order and lists hidden
/// mounts too. Returns the resolved path too, to compare with the mount point.
pub fn holding<'a>(mounts: &'a [Mount], path: &Path) -> Option<(&'a Mount, PathBuf)> {
    use std::os::unix::fs::MetadataExt;
    let real = std::fs::canonicalize(path).ok()?;
    let dev = std::fs::metadata(&real).ok()?.dev();
    let dev = (
        nix::sys::stat::major(dev) as u32,
        nix::sys::stat::minor(dev) as u32,
    );
    Some((mount_of_in(&real, dev, mounts)?, real))
}

/// `mount_of` on parsed mounts: `path` must be canonical, `dev` its st_dev.
/// Among the mounts of that device whose mount point holds the path, the
/// deepest; on a tie (stacked mounts) the last listed.
pub fn mount_of_in<'a>(path: &Path, dev: (u32, u32), mounts: &'a [Mount]) -> Option<&'a Mount> {
    let holds = |m: &&Mount| path.starts_with(&m.mount_point);
    let deepest = |best: Option<&'a Mount>, m: &'a Mount| match best {
        Some(b) if b.mount_point.components().count() > m.mount_point.components().count() => {
            Some(b)
        }
        _ => Some(m),
    };
    let on_dev = mounts
        .iter()
        .filter(holds)
        .filter(|m| (m.major, m.minor) == dev)
        .fold(None, deepest);
    on_dev.or_else(|| mounts.iter().filter(holds).fold(None, deepest))
}

/// Where `path` (canonical, below `m`'s mount point) lies in `m`'s
/// filesystem: the mount's root joined with the path below its mount point.
fn within_fs(m: &Mount, path: &Path) -> Option<PathBuf> {
    Some(m.root.join(path.strip_prefix(&m.mount_point).ok()?))
}

/// A mount of the same filesystem over `path` (which must exist) that shows
/// another of its directories there than `reference` does: a bind mount of
/// another directory, which st_dev cannot tell from the real one (only the
/// mount's root can). `None` when `path` is `reference`'s own directory.
pub fn rebound<'a>(mounts: &'a [Mount], path: &Path, reference: &Mount) -> Option<&'a Mount> {
    let (seen, real) = holding(mounts, path)?;
    if seen.id == reference.id
        || (seen.major, seen.minor) != (reference.major, reference.minor)
        || seen.fstype == "btrfs"
    {
        return None;
    }
    (within_fs(seen, &real)? != within_fs(reference, &real)?).then_some(seen)
}

/// The mount of the whole filesystem on `dev` (its root `/`) whose mount
/// point is the deepest at or above `path`: what a path shows when no bind
/// mount of one of its directories covers it.
pub fn whole_fs_over<'a>(mounts: &'a [Mount], path: &Path, dev: (u32, u32)) -> Option<&'a Mount> {
    mounts
        .iter()
        .filter(|m| (m.major, m.minor) == dev && m.root == Path::new("/"))
        .filter(|m| path.starts_with(&m.mount_point))
        .max_by_key(|m| m.mount_point.components().count())
}

/// What is seen at a declared mount point (see [`seen_at`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen<'a> {
    /// A filesystem of its own is mounted right there, and it is the one seen.
    Mounted(&'a Mount),
    /// Nothing is mounted there.
    Missing,
    /// The mount table lists a mount there, but what the path shows is
    /// another filesystem: `by`, mounted later on a parent or on top of it
    /// (a bind mount), or nothing known (`None`).
    Hidden { by: Option<&'a Mount> },
}

/// What is seen at `at` (a path as the mount table names it; its last
/// component may be a symlink, which is never followed): the mount table
/// lists mounts by path, hidden ones too, so the mount there counts only
/// when the path's own device number (lstat) is that mount's and differs
/// from its parent directory's. `bind`: the mount is declared as a bind
/// mount, which may show the parent's device.
pub fn seen_at<'a>(mounts: &'a [Mount], at: &Path, bind: bool) -> Seen<'a> {
    use std::os::unix::fs::MetadataExt;
    let listed: Vec<&Mount> = mounts.iter().filter(|m| m.mount_point == at).collect();
    let dev_of = |p: &Path| {
        std::fs::symlink_metadata(p).ok().map(|m| {
            let d = m.dev();
            (
                nix::sys::stat::major(d) as u32,
                nix::sys::stat::minor(d) as u32,
            )
        })
    };
    let Some(dev) = dev_of(at) else {
        return match listed.is_empty() {
            true => Seen::Missing,
            // Gone from view: whatever holds the nearest existing ancestor hides it.
            false => Seen::Hidden {
                by: holding(mounts, &super::nearest_existing(at)).map(|(m, _)| m),
            },
        };
    };
    let parent_dev = at.parent().and_then(dev_of);
    let own_root = parent_dev != Some(dev);
    // A btrfs subvolume shows a device number of its own, not the mount's.
    let own = listed
        .iter()
        .rev()
        .find(|m| (m.major, m.minor) == dev || (m.fstype == "btrfs" && own_root))
        .copied();
    match own {
        // A bind mount of one of the filesystem's directories (same device)
        // over the mount point of the whole one: not what is declared.
        Some(m) if !bind && m.root != Path::new("/") && m.fstype != "btrfs" => {
            Seen::Hidden { by: Some(m) }
        }
        Some(m) if bind || own_root => Seen::Mounted(m),
        _ if listed.is_empty() => Seen::Missing,
        _ => Seen::Hidden {
            by: mount_of_in(at, dev, mounts),
        },
    }
}

/// Parses the whole mountinfo text.
pub fn parse(text: &str) -> Result<Vec<Mount>> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| parse_line(l).with_context(|| format!("bad mountinfo line: {l}")))
        .collect()
}

/// `36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue`
fn parse_line(line: &str) -> Result<Mount> {
    let fields: Vec<&str> = line.split(' ').collect();
    let sep = fields
        .iter()
        .position(|f| *f == "-")
        .context("no ' - ' separator")?;
    if sep < 6 || fields.len() < sep + 3 {
        bail!("too few fields");
    }
    let (major, minor) = fields[2].split_once(':').context("no major:minor")?;
    // The kernel writes absolute mount points; anything else is not a
    // mountinfo line (found by the mountinfo fuzz target: "." was taken as one).
    if !fields[4].starts_with('/') {
        bail!("mount point {:?} is not absolute", fields[4]);
    }
    Ok(Mount {
        id: fields[0].parse().context("bad mount id")?,
        parent: fields[1].parse().context("bad parent id")?,
        root: PathBuf::from(unescape_octal(fields[3])),
        major: major.parse().context("bad major")?,
        minor: minor.parse().context("bad minor")?,
        mount_point: PathBuf::from(unescape_octal(fields[4])),
        options: split_options(fields[5]),
        fstype: unescape_octal(fields[sep + 1]),
        source: unescape_octal(fields[sep + 2]),
        super_options: fields
            .get(sep + 3)
            .map_or_else(Vec::new, |o| split_options(o)),
    })
}

fn split_options(field: &str) -> Vec<String> {
    field.split(',').map(unescape_octal).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard,resv_strict
22 27 0:21 / /proc rw,relatime - proc proc rw
90 27 259:3 / /data/jts/hot rw,noatime shared:5 - ext4 /dev/nvme0n1p1 rw,errors=remount-ro
91 90 7:0 / /data/jts/hot/with\\040space rw - xfs /dev/loop0 rw
92 27 7:1 / /data/jts/hot rw,relatime - ext4 /dev/loop1 rw
";

    #[test]
    fn parses_fields_and_escapes() {
        let mounts = parse(SAMPLE).unwrap();
        assert_eq!(mounts.len(), 5);
        let m = &mounts[2];
        assert_eq!((m.major, m.minor), (259, 3));
        assert_eq!(m.fstype, "ext4");
        assert_eq!(m.source, "/dev/nvme0n1p1");
        assert_eq!(m.options, ["rw", "noatime"]);
        assert_eq!(m.super_options, ["rw", "errors=remount-ro"]);
        assert_eq!(mounts[3].mount_point, Path::new("/data/jts/hot/with space"));
        assert!(mounts[0].has_option("discard"));
        assert!(!mounts[0].has_option("noatime"));
    }

    #[test]
    fn the_paths_device_picks_the_mount() {
        let mounts = parse(SAMPLE).unwrap();
        let at = |p: &str, dev| {
            mount_of_in(Path::new(p), dev, &mounts)
                .unwrap()
                .source
                .clone()
        };
        assert_eq!(at("/etc", (254, 0)), "/dev/vda");
        // Two mounts on /data/jts/hot: the device number tells which one is seen.
        assert_eq!(at("/data/jts/hot/postgresql", (7, 1)), "/dev/loop1");
        assert_eq!(at("/data/jts/hot/postgresql", (259, 3)), "/dev/nvme0n1p1");
        assert_eq!(at("/data/jts/hot/with space/x", (7, 0)), "/dev/loop0");
        // A sibling whose name only shares a prefix is not under the mount.
        assert_eq!(at("/data/jts/hotter", (254, 0)), "/dev/vda");
        // No mount of that device: the deepest mount point, the last listed.
        assert_eq!(at("/data/jts/hot/x", (1, 1)), "/dev/loop1");
    }

    #[test]
    fn rejects_relative_mount_points() {
        assert!(parse("27 1 254:0 / . xfs /evlod/o,relati - xfs /x rw\n").is_err());
        assert!(parse("27 1 254:0 / /ok rw - xfs /x rw\n").is_ok());
    }

    #[test]
    fn rejects_garbage() {
        assert!(parse("not a mountinfo line").is_err());
    }

    #[test]
    fn reads_this_machine() {
        let m = mount_of(Path::new("/proc/self")).unwrap();
        assert_eq!(m.fstype, "proc");
    }
}
