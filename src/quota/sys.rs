//! The kernel's project quota interface, and nothing else: the project ID
//! and inherit flag of a directory (FS_IOC_FSGETXATTR / FS_IOC_FSSETXATTR),
//! and a project's usage and limits (quotactl_fd with PRJQUOTA). The same
//! calls serve ext4 and XFS: the VFS translates Q_GETQUOTA / Q_SETQUOTA for
//! XFS. Every call takes a file descriptor, so nothing here resolves a path.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

/// `struct fsxattr` from <linux/fs.h>.
#[repr(C)]
#[derive(Debug, Default, Clone, Copy)]
struct FsXattr {
    xflags: u32,
    extsize: u32,
    nextents: u32,
    projid: u32,
    cowextsize: u32,
    pad: [u8; 8],
}

const FS_IOC_FSGETXATTR: libc::c_ulong = 0x801c_581f; // _IOR('X', 31, struct fsxattr)
const FS_IOC_FSSETXATTR: libc::c_ulong = 0x401c_5820; // _IOW('X', 32, struct fsxattr)
/// New files and directories take the directory's project ID.
const FS_XFLAG_PROJINHERIT: u32 = 0x0000_0200;

const PRJQUOTA: u32 = 2;
const fn qcmd(cmd: u32) -> u32 {
    (cmd << 8) | PRJQUOTA
}
const Q_GETQUOTA: u32 = 0x80_0007;
const Q_SETQUOTA: u32 = 0x80_0008;
/// The XFS-style state query, which the VFS answers for ext4 too.
const Q_XGETQSTATV: u32 = (b'X' as u32) << 8 | 8;

/// `struct if_dqblk` from <linux/quota.h>: limits in 1 KiB blocks, space in bytes.
#[repr(C)]
#[derive(Debug, Default, Clone, Copy)]
struct IfDqblk {
    bhardlimit: u64,
    bsoftlimit: u64,
    curspace: u64,
    ihardlimit: u64,
    isoftlimit: u64,
    curinodes: u64,
    btime: u64,
    itime: u64,
    valid: u32,
}
const QIF_BLIMITS: u32 = 1;
/// The unit of if_dqblk's block limits.
pub const LIMIT_UNIT: u64 = 1024;

#[repr(C)]
#[derive(Debug, Default, Clone, Copy)]
struct FsQfilestatv {
    ino: u64,
    nblks: u64,
    nextents: u32,
    pad: u32,
}

/// `struct fs_quota_statv` from <linux/dqblk_xfs.h>.
#[repr(C)]
#[derive(Debug, Default, Clone, Copy)]
struct FsQuotaStatv {
    version: i8,
    pad1: u8,
    flags: u16,
    incoredqs: u32,
    uquota: FsQfilestatv,
    gquota: FsQfilestatv,
    pquota: FsQfilestatv,
    btimelimit: i32,
    itimelimit: i32,
    rtbtimelimit: i32,
    bwarnlimit: u16,
    iwarnlimit: u16,
    rtbwarnlimit: u16,
    pad3: u16,
    pad4: u32,
    pad2: [u64; 7],
}
const FS_QSTATV_VERSION1: i8 = 1;
const FS_QUOTA_PDQ_ACCT: u16 = 0x10;
const FS_QUOTA_PDQ_ENFD: u16 = 0x20;

/// A directory's project ID and whether new entries inherit it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Project {
    pub id: u32,
    pub inherit: bool,
}

fn fsxattr(fd: BorrowedFd) -> io::Result<FsXattr> {
    let mut x = FsXattr::default();
    // SAFETY: the ioctl writes one struct fsxattr into `x`, which is that size.
    let r = unsafe { libc::ioctl(fd.as_raw_fd(), FS_IOC_FSGETXATTR, &mut x) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(x)
}

pub fn project(fd: BorrowedFd) -> io::Result<Project> {
    let x = fsxattr(fd)?;
    Ok(Project {
        id: x.projid,
        inherit: x.xflags & FS_XFLAG_PROJINHERIT != 0,
    })
}

/// Sets the directory's project ID and the inherit flag, keeping its other
/// flags. The kernel moves the directory's own usage to the new project;
/// what is already inside keeps its ID (never walked here).
pub fn set_project(fd: BorrowedFd, id: u32) -> io::Result<()> {
    let mut x = fsxattr(fd)?;
    x.projid = id;
    x.xflags |= FS_XFLAG_PROJINHERIT;
    // SAFETY: the ioctl reads one struct fsxattr from `x`.
    let r = unsafe { libc::ioctl(fd.as_raw_fd(), FS_IOC_FSSETXATTR, &x) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Sets an entry's project ID, and for a directory the inherit flag too,
/// keeping its other flags (the kernel ignores the inherit flag on files).
/// The kernel moves the entry's blocks and inode to the new project.
pub fn set_entry_project(fd: BorrowedFd, id: u32, directory: bool) -> io::Result<()> {
    let mut x = fsxattr(fd)?;
    x.projid = id;
    if directory {
        x.xflags |= FS_XFLAG_PROJINHERIT;
    }
    // SAFETY: the ioctl reads one struct fsxattr from `x`.
    let r = unsafe { libc::ioctl(fd.as_raw_fd(), FS_IOC_FSSETXATTR, &x) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

fn quotactl_fd(fd: BorrowedFd, cmd: u32, id: u32, addr: *mut libc::c_void) -> io::Result<()> {
    // SAFETY: quotactl_fd(2) reads or writes the struct the command names at `addr`.
    let r = unsafe { libc::syscall(libc::SYS_quotactl_fd, fd.as_raw_fd(), cmd, id, addr) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Project quota state of the filesystem holding `fd`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct State {
    /// Usage is tracked per project.
    pub accounting: bool,
    /// Limits are enforced (ext4: mounted with prjquota).
    pub enforcing: bool,
}

/// ESRCH / ENOSYS / EINVAL (quotas not on, no quotactl_fd) are "off", not errors:
/// a filesystem without project quotas is a normal case.
pub fn state(fd: BorrowedFd) -> io::Result<State> {
    let mut s = FsQuotaStatv {
        version: FS_QSTATV_VERSION1,
        ..Default::default()
    };
    match quotactl_fd(fd, qcmd(Q_XGETQSTATV), 0, &mut s as *mut _ as *mut _) {
        Ok(()) => Ok(State {
            accounting: s.flags & FS_QUOTA_PDQ_ACCT != 0,
            enforcing: s.flags & FS_QUOTA_PDQ_ENFD != 0,
        }),
        Err(e) if off(&e) => Ok(State {
            accounting: false,
            enforcing: false,
        }),
        Err(e) => Err(e),
    }
}

fn off(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::ESRCH | libc::ENOSYS | libc::ENOTTY | libc::EOPNOTSUPP)
    )
}

/// A project's usage and block limits, in bytes (0: no limit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct Quota {
    pub space_bytes: u64,
    pub inodes: u64,
    pub soft_bytes: u64,
    pub hard_bytes: u64,
}

/// Needs CAP_SYS_ADMIN. A project XFS holds no record of yet reads as empty.
pub fn get(fd: BorrowedFd, id: u32) -> io::Result<Quota> {
    let mut d = IfDqblk::default();
    match quotactl_fd(fd, qcmd(Q_GETQUOTA), id, &mut d as *mut _ as *mut _) {
        Ok(()) => Ok(Quota {
            space_bytes: d.curspace,
            inodes: d.curinodes,
            soft_bytes: limit_bytes(d.bsoftlimit)?,
            hard_bytes: limit_bytes(d.bhardlimit)?,
        }),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(Quota::default()),
        Err(e) => Err(e),
    }
}

/// A block limit the kernel holds, in bytes: exact, or an error for one set
/// (by another tool) beyond what 64 bits of bytes can say.
fn limit_bytes(blocks: u64) -> io::Result<u64> {
    blocks.checked_mul(LIMIT_UNIT).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("a project limit of {blocks} KiB, beyond 64 bits of bytes"),
        )
    })
}

/// Bytes as the kernel stores a block limit: whole KiB, rounded up.
fn limit_blocks(bytes: u64) -> u64 {
    bytes.div_ceil(LIMIT_UNIT)
}

/// Sets the project's block limits only (0: none); inode limits are left alone.
pub fn set_limits(fd: BorrowedFd, id: u32, soft_bytes: u64, hard_bytes: u64) -> io::Result<()> {
    let mut d = IfDqblk {
        bsoftlimit: limit_blocks(soft_bytes),
        bhardlimit: limit_blocks(hard_bytes),
        valid: QIF_BLIMITS,
        ..Default::default()
    };
    quotactl_fd(fd, qcmd(Q_SETQUOTA), id, &mut d as *mut _ as *mut _)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn structs_have_the_kernel_sizes() {
        assert_eq!(std::mem::size_of::<FsXattr>(), 28);
        assert_eq!(std::mem::size_of::<IfDqblk>(), 72);
        assert_eq!(std::mem::size_of::<FsQuotaStatv>(), 160);
        assert_eq!(qcmd(Q_GETQUOTA), 0x8000_0702);
        assert_eq!(qcmd(Q_XGETQSTATV), 0x0058_0802);
    }
}
