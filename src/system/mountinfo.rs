//! /proc/self/mountinfo (proc(5)): which mount holds a path, its filesystem
//! type, options and device. Paths in it escape space, tab, newline and
//! backslash as octal (`\040`).

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};

pub const PATH: &str = "/proc/self/mountinfo";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    pub major: u32,
    pub minor: u32,
    pub mount_point: PathBuf,
    /// Per-mount options (noatime, relatime, ro...).
    pub mount_options: Vec<String>,
    pub fstype: String,
    pub source: String,
    /// Per-superblock options (discard, errors=..., ...).
    pub super_options: Vec<String>,
}

impl Mount {
    /// True when `option` is set on the mount or its superblock.
    pub fn has_option(&self, option: &str) -> bool {
        self.mount_options
            .iter()
            .chain(&self.super_options)
            .any(|o| o == option)
    }

    /// All options, mount then superblock, as `findmnt` would show them.
    pub fn options(&self) -> String {
        let mut all: Vec<&str> = self.mount_options.iter().map(String::as_str).collect();
        for o in &self.super_options {
            if !all.contains(&o.as_str()) {
                all.push(o);
            }
        }
        all.join(",")
    }
}

/// Reads and parses the calling process's mount table.
pub fn read() -> Result<Vec<Mount>, String> {
    let bytes = std::fs::read(PATH).map_err(|e| format!("cannot read {PATH}: {e}"))?;
    parse(&bytes)
}

/// Parses mountinfo text; a malformed line is an error naming it.
pub fn parse(bytes: &[u8]) -> Result<Vec<Mount>, String> {
    bytes
        .split(|&b| b == b'\n')
        .enumerate()
        .filter(|(_, line)| !line.is_empty())
        .map(|(i, line)| {
            parse_line(line).ok_or_else(|| {
                format!(
                    "{PATH}:{}: cannot parse {:?}",
                    i + 1,
                    String::from_utf8_lossy(line)
                )
            })
        })
        .collect()
}

/// `36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue`
fn parse_line(line: &[u8]) -> Option<Mount> {
    let fields: Vec<&[u8]> = line.split(|&b| b == b' ').collect();
    let sep = fields.iter().position(|f| *f == b"-")?;
    if sep < 6 || fields.len() < sep + 4 {
        return None;
    }
    let text = |f: &[u8]| String::from_utf8_lossy(&unescape(f)).into_owned();
    let (major, minor) = std::str::from_utf8(fields[2]).ok()?.split_once(':')?;
    let options = |f: &[u8]| text(f).split(',').map(str::to_string).collect();
    Some(Mount {
        major: major.parse().ok()?,
        minor: minor.parse().ok()?,
        mount_point: PathBuf::from(OsString::from_vec(unescape(fields[4]))),
        mount_options: options(fields[5]),
        fstype: text(fields[sep + 1]),
        source: text(fields[sep + 2]),
        super_options: options(fields[sep + 3]),
    })
}

/// Undoes the kernel's `\ooo` octal escapes.
fn unescape(field: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(field.len());
    let mut i = 0;
    while i < field.len() {
        let octal = field.get(i + 1..i + 4).filter(|d| {
            field[i] == b'\\' && d.iter().all(|c| (b'0'..=b'7').contains(c)) && d[0] <= b'3'
        });
        match octal {
            Some(d) => {
                out.push((d[0] - b'0') * 64 + (d[1] - b'0') * 8 + (d[2] - b'0'));
                i += 4;
            }
            None => {
                out.push(field[i]);
                i += 1;
            }
        }
    }
    out
}

/// The mount that holds `path` (which must be absolute and free of symlinks):
/// the one with the longest mount point above it, the last one listed when
/// several are stacked on the same point (the one on top).
pub fn holding<'a>(mounts: &'a [Mount], path: &Path) -> Option<&'a Mount> {
    mounts
        .iter()
        .filter(|m| path.starts_with(&m.mount_point))
        .fold(None, |best: Option<&Mount>, m| match best {
            Some(b) if b.mount_point.as_os_str().len() > m.mount_point.as_os_str().len() => Some(b),
            _ => Some(m),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &[u8] = b"22 27 0:21 / /proc rw,relatime - proc proc rw
27 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw,discard,resv_strict
40 27 7:3 / /data/jts/hot rw,noatime shared:20 master:3 - ext4 /dev/loop3 rw
41 27 7:4 / /srv/my\\040tier\\134x rw,relatime - xfs /dev/loop4 rw,attr2
42 40 7:5 / /data/jts/hot rw,nodev - ext4 /dev/loop5 rw
";

    #[test]
    fn parses_fields_and_escapes() {
        let m = parse(SAMPLE).unwrap();
        assert_eq!(m.len(), 5);
        assert_eq!((m[1].major, m[1].minor), (254, 0));
        assert_eq!(m[1].fstype, "ext4");
        assert_eq!(m[1].source, "/dev/vda");
        assert!(m[1].has_option("discard"));
        assert!(!m[1].has_option("noatime"));
        assert_eq!(m[1].options(), "rw,relatime,discard,resv_strict");
        assert!(m[2].has_option("noatime"));
        assert_eq!(m[3].mount_point, PathBuf::from("/srv/my tier\\x"));
    }

    #[test]
    fn finds_the_mount_on_top() {
        let m = parse(SAMPLE).unwrap();
        let at = |p: &str| holding(&m, Path::new(p)).unwrap().source.clone();
        assert_eq!(at("/"), "/dev/vda");
        assert_eq!(at("/data/jts"), "/dev/vda");
        assert_eq!(at("/data/jts/hotter"), "/dev/vda");
        assert_eq!(at("/data/jts/hot"), "/dev/loop5");
        assert_eq!(at("/data/jts/hot/kafka/data"), "/dev/loop5");
        assert_eq!(at("/srv/my tier\\x/a"), "/dev/loop4");
    }

    #[test]
    fn rejects_garbage() {
        assert!(parse(b"1 2 3\n").is_err());
        assert!(parse(b"1 2 x:y / / rw - ext4 /dev/x rw\n").is_err());
    }

    #[test]
    fn reads_this_system() {
        let mounts = read().unwrap();
        assert!(holding(&mounts, Path::new("/")).is_some());
    }
}
