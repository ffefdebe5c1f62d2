//! Reading a directory's entries straight from getdents64 into a reusable
//! buffer: no DIR stream, no allocation per entry.

use std::ffi::CStr;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

/// One buffer per walker thread.
pub struct DirentBuf {
    buf: Vec<u8>,
}

/// An entry of a directory, borrowed from the buffer.
pub struct Entry<'a> {
    pub name: &'a CStr,
}

impl DirentBuf {
    pub fn new() -> Self {
        // 32 KiB holds a few hundred entries: few syscalls, little memory.
        DirentBuf {
            buf: vec![0; 32 * 1024],
        }
    }

    /// Calls `each` for every entry of `dir` except "." and "..".
    pub fn for_each(
        &mut self,
        dir: BorrowedFd<'_>,
        mut each: impl FnMut(Entry<'_>),
    ) -> io::Result<()> {
        loop {
            // SAFETY: the buffer is valid for its length; the kernel writes
            // at most that many bytes of linux_dirent64 records into it.
            let n = unsafe {
                libc::syscall(
                    libc::SYS_getdents64,
                    dir.as_raw_fd(),
                    self.buf.as_mut_ptr(),
                    self.buf.len(),
                )
            };
            if n < 0 {
                return Err(io::Error::last_os_error());
            }
            if n == 0 {
                return Ok(());
            }
            let filled = &self.buf[..n as usize];
            let mut off = 0;
            while off < filled.len() {
                // linux_dirent64: d_ino u64, d_off i64, d_reclen u16, d_type u8, d_name[]
                let reclen = u16::from_ne_bytes([filled[off + 16], filled[off + 17]]) as usize;
                let name_bytes = &filled[off + 19..off + reclen];
                let name = CStr::from_bytes_until_nul(name_bytes)
                    .expect("the kernel NUL-terminates d_name");
                off += reclen;
                let b = name.to_bytes();
                if b == b"." || b == b".." {
                    continue;
                }
                each(Entry { name });
            }
        }
    }
}
