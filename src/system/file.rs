//! Reading a small file that is expected to be a regular file, when anything
//! else may lie there instead: a FIFO (whose open or read would block
//! forever), a device, a symlink planted by a service user, or a file far
//! larger than it should be. The one way jts-hot reads such a file.

use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::Path;

/// Whether a symlink in the file's place is followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Links {
    /// Followed (a file only root can replace, such as the layout or a unit).
    Follow,
    /// Refused: the file must be the link itself (the state directory).
    Refuse,
}

/// The file's bytes, if it is a regular file of at most `max` bytes.
/// Anything else is an error that names what is there. Never blocks: the
/// type is checked before opening (so no FIFO or device is ever opened),
/// the open is O_NONBLOCK|O_NOCTTY anyway, and the opened file is checked
/// again to be the same regular file (it may have been swapped meanwhile).
pub fn read_regular(path: &Path, max: u64, links: Links) -> io::Result<Vec<u8>> {
    let before = match links {
        Links::Follow => std::fs::metadata(path)?,
        Links::Refuse => std::fs::symlink_metadata(path)?,
    };
    refuse_unless_regular(&before, max)?;
    let mut flags = libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC;
    if links == Links::Refuse {
        flags |= libc::O_NOFOLLOW;
    }
    let file = File::options().read(true).custom_flags(flags).open(path)?;
    let meta = file.metadata()?;
    if (meta.dev(), meta.ino()) != (before.dev(), before.ino()) {
        return Err(io::Error::other("replaced while being opened"));
    }
    read_opened(file, max)
}

/// The bytes of a file already opened (O_NONBLOCK, by whoever resolved its
/// path: [`read_regular`], or `rootfs::Root` inside a --root), if it is a
/// regular file of at most `max` bytes.
pub fn read_opened(file: File, max: u64) -> io::Result<Vec<u8>> {
    let meta = file.metadata()?;
    refuse_unless_regular(&meta, max)?;
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    // One byte more than allowed tells a file that grew past the bound.
    file.take(max + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        return Err(too_large(max));
    }
    Ok(bytes)
}

/// [`read_regular`] as UTF-8 text.
pub fn read_regular_text(path: &Path, max: u64, links: Links) -> io::Result<String> {
    String::from_utf8(read_regular(path, max, links)?)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "not UTF-8 text"))
}

fn refuse_unless_regular(meta: &std::fs::Metadata, max: u64) -> io::Result<()> {
    if !meta.file_type().is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("not a regular file but {}", kind(meta)),
        ));
    }
    if meta.len() > max {
        return Err(too_large(max));
    }
    Ok(())
}

fn too_large(max: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("larger than the {max} bytes such a file may have"),
    )
}

/// What a non-regular file is, for messages.
pub fn kind(meta: &std::fs::Metadata) -> &'static str {
    let t = meta.file_type();
    if t.is_symlink() {
        "a symlink"
    } else if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_file() {
        "a regular file"
    } else {
        "of an unknown type"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_regular_file_within_its_bound() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("f");
        std::fs::write(&f, b"12345").unwrap();
        assert_eq!(read_regular(&f, 5, Links::Refuse).unwrap(), b"12345");
        let e = read_regular(&f, 4, Links::Refuse).unwrap_err();
        assert!(e.to_string().contains("larger than the 4 bytes"), "{e}");
    }

    #[test]
    fn a_fifo_a_device_or_a_refused_symlink_is_an_error_not_a_hang() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
        let e = read_regular(&fifo, 100, Links::Follow).unwrap_err();
        assert!(e.to_string().contains("a FIFO"), "{e}");
        let e = read_regular(Path::new("/dev/zero"), 100, Links::Follow).unwrap_err();
        assert!(e.to_string().contains("a character device"), "{e}");
        let link = dir.path().join("link");
        std::os::unix::fs::symlink("/etc/hostname", &link).unwrap();
        let e = read_regular(&link, 1 << 20, Links::Refuse).unwrap_err();
        assert!(e.to_string().contains("a symlink"), "{e}");
    }
}
