//! Which filesystem a mounted device holds: its UUID and label, and its
//! partition's, the names fstab and .mount units use for a disk
//! (`UUID=`, `LABEL=`, `PARTUUID=`, `PARTLABEL=`). Read from udev's record of
//! the device (/run/udev/data/bMAJ:MIN: a plain file, readable in the units'
//! sandbox where /dev is private), else from the filesystem's own superblock
//! (ext4, XFS) through the mount's source device. Reading only.

use std::io::Read;
use std::path::Path;

/// A name a declaration gives its disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Uuid,
    Label,
    PartUuid,
    PartLabel,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Uuid => "UUID",
            Kind::Label => "LABEL",
            Kind::PartUuid => "PARTUUID",
            Kind::PartLabel => "PARTLABEL",
        }
    }

    /// UUIDs compare without case, as blkid and systemd write them either way.
    fn same(self, a: &str, b: &str) -> bool {
        match self {
            Kind::Uuid | Kind::PartUuid => a.eq_ignore_ascii_case(b),
            Kind::Label | Kind::PartLabel => a == b,
        }
    }
}

/// The identity a declared `What=` names: `UUID=...` or
/// `/dev/disk/by-uuid/...` (and the same for the others); `None` for a
/// device path, which names no filesystem.
pub fn named(what: &str) -> Option<(Kind, String)> {
    const FORMS: [(&str, &str, Kind); 4] = [
        ("UUID=", "/dev/disk/by-uuid/", Kind::Uuid),
        ("LABEL=", "/dev/disk/by-label/", Kind::Label),
        ("PARTUUID=", "/dev/disk/by-partuuid/", Kind::PartUuid),
        ("PARTLABEL=", "/dev/disk/by-partlabel/", Kind::PartLabel),
    ];
    FORMS.iter().find_map(|(tag, dir, kind)| {
        let value = what.strip_prefix(tag).or_else(|| what.strip_prefix(dir))?;
        let value = value.trim_matches('"');
        (!value.is_empty()).then(|| (*kind, crate::escape::unescape_octal(value)))
    })
}

/// What is known of one device.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FsId {
    pub uuid: Option<String>,
    pub label: Option<String>,
    pub part_uuid: Option<String>,
    pub part_label: Option<String>,
}

impl FsId {
    fn get(&self, kind: Kind) -> Option<&str> {
        match kind {
            Kind::Uuid => self.uuid.as_deref(),
            Kind::Label => self.label.as_deref(),
            Kind::PartUuid => self.part_uuid.as_deref(),
            Kind::PartLabel => self.part_label.as_deref(),
        }
    }

    /// True, false, or `None` when this name is not known for the device.
    pub fn matches(&self, kind: Kind, value: &str) -> Option<bool> {
        self.get(kind).map(|v| kind.same(v, value))
    }

    /// `UUID=..., LABEL=...` as messages show it; "no UUID or label" when empty.
    pub fn describe(&self) -> String {
        let all: Vec<String> = [Kind::Uuid, Kind::Label, Kind::PartUuid, Kind::PartLabel]
            .into_iter()
            .filter_map(|k| {
                self.get(k)
                    .map(|v| format!("{}={}", k.as_str(), crate::escape::untrusted(v)))
            })
            .collect();
        match all.is_empty() {
            true => "no UUID or label".into(),
            false => all.join(", "),
        }
    }
}

/// The identity of the filesystem on device `dev` (a mount's major:minor),
/// whose mount names `source`; `None` when neither udev nor the superblock
/// can tell (no udev here and a filesystem this does not read).
pub fn of_device(dev: (u32, u32), source: &str) -> Option<FsId> {
    from_udev(dev).or_else(|| from_superblock(dev, Path::new(source)))
}

/// udev's record: `E:ID_FS_UUID=...` lines.
fn from_udev(dev: (u32, u32)) -> Option<FsId> {
    let path = format!("/run/udev/data/b{}:{}", dev.0, dev.1);
    let text =
        super::file::read_regular_text(Path::new(&path), 1 << 16, super::file::Links::Refuse)
            .ok()?;
    let mut id = FsId::default();
    for line in text.lines() {
        let Some((key, value)) = line.strip_prefix("E:").and_then(|l| l.split_once('=')) else {
            continue;
        };
        let value = Some(value.to_string()).filter(|v| !v.is_empty());
        match key {
            "ID_FS_UUID" => id.uuid = value,
            // The label as written (udev's ID_FS_LABEL replaces unsafe bytes).
            "ID_FS_LABEL_ENC" => id.label = value.map(|v| unescape_hex(&v)),
            "ID_PART_ENTRY_UUID" => id.part_uuid = value,
            "ID_PART_ENTRY_NAME" => id.part_label = value.map(|v| unescape_hex(&v)),
            _ => {}
        }
    }
    (id != FsId::default()).then_some(id)
}

/// udev's `\x20` escapes.
fn unescape_hex(s: &str) -> String {
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && b.get(i + 1) == Some(&b'x') {
            if let Some(v) = s
                .get(i + 2..i + 4)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                out.push(v);
                i += 4;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The superblock of an ext4 or XFS filesystem, read through the mount's
/// source when it is the block device of that number (never another file).
fn from_superblock(dev: (u32, u32), source: &Path) -> Option<FsId> {
    use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
    let meta = std::fs::metadata(source).ok()?;
    let rdev = meta.rdev();
    let is_it = (
        nix::sys::stat::major(rdev) as u32,
        nix::sys::stat::minor(rdev) as u32,
    ) == dev;
    if !meta.file_type().is_block_device() || !is_it {
        return None;
    }
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC)
        .open(source)
        .ok()?;
    let mut head = vec![0u8; 2048];
    f.read_exact(&mut head).ok()?;
    parse_superblock(&head)
}

/// ext4 (magic 0xEF53 at 1080; UUID at 1128, label at 1144) or XFS
/// ("XFSB" at 0; UUID at 32, label at 108), from the first 2 KiB.
fn parse_superblock(head: &[u8]) -> Option<FsId> {
    let uuid = |b: &[u8]| {
        let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
        format!(
            "{}-{}-{}-{}-{}",
            &h[0..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..32]
        )
    };
    let label = |b: &[u8]| {
        let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
        Some(String::from_utf8_lossy(&b[..end]).into_owned()).filter(|l| !l.is_empty())
    };
    if head.len() >= 2048 && head[1080..1082] == [0x53, 0xEF] {
        return Some(FsId {
            uuid: Some(uuid(&head[1128..1144])),
            label: label(&head[1144..1160]),
            ..FsId::default()
        });
    }
    if head.len() >= 120 && &head[0..4] == b"XFSB" {
        return Some(FsId {
            uuid: Some(uuid(&head[32..48])),
            label: label(&head[108..120]),
            ..FsId::default()
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_in_both_forms() {
        assert_eq!(named("UUID=ab-CD"), Some((Kind::Uuid, "ab-CD".into())));
        assert_eq!(
            named("/dev/disk/by-label/hot\\040tier"),
            Some((Kind::Label, "hot tier".into()))
        );
        assert_eq!(
            named("PARTLABEL=kafka"),
            Some((Kind::PartLabel, "kafka".into()))
        );
        assert_eq!(named("/dev/nvme0n1p1"), None);
        assert_eq!(named("UUID="), None);
    }

    #[test]
    fn matches_uuids_without_case_and_labels_exactly() {
        let id = FsId {
            uuid: Some("4a7e0000-0000-4000-8000-00000000d15c".into()),
            label: Some("Hot".into()),
            ..FsId::default()
        };
        assert_eq!(
            id.matches(Kind::Uuid, "4A7E0000-0000-4000-8000-00000000D15C"),
            Some(true)
        );
        assert_eq!(id.matches(Kind::Label, "hot"), Some(false));
        assert_eq!(id.matches(Kind::PartUuid, "x"), None);
        assert_eq!(
            id.describe(),
            "UUID=4a7e0000-0000-4000-8000-00000000d15c, LABEL=Hot"
        );
    }

    #[test]
    fn superblocks_of_ext4_and_xfs_and_nothing_else() {
        let mut ext4 = vec![0u8; 2048];
        ext4[1080..1082].copy_from_slice(&[0x53, 0xEF]);
        ext4[1128..1144].copy_from_slice(&[
            0x4a, 0x7e, 0, 0, 0, 0, 0x40, 0, 0x80, 0, 0, 0, 0, 0, 0xd1, 0x5c,
        ]);
        ext4[1144..1147].copy_from_slice(b"hot");
        let id = parse_superblock(&ext4).unwrap();
        assert_eq!(
            id.uuid.as_deref(),
            Some("4a7e0000-0000-4000-8000-00000000d15c")
        );
        assert_eq!(id.label.as_deref(), Some("hot"));
        let mut xfs = vec![0u8; 2048];
        xfs[0..4].copy_from_slice(b"XFSB");
        xfs[32] = 0xab;
        let id = parse_superblock(&xfs).unwrap();
        assert!(id.uuid.unwrap().starts_with("ab000000-"));
        assert_eq!(id.label, None);
        assert_eq!(parse_superblock(&[0u8; 2048]), None);
    }

    #[test]
    fn udev_escapes() {
        assert_eq!(unescape_hex("hot\\x20tier"), "hot tier");
        assert_eq!(unescape_hex("a\\x2"), "a\\x2");
    }
}
