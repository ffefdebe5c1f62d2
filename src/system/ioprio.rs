//! The calling thread's I/O scheduling class (ioprio_set(2)): work that
//! must yield to the services on the same disk runs in the idle class, which
//! BFQ serves only when no other class has I/O queued and mq-deadline
//! serves last (the `none` scheduler, usual for NVMe, ignores classes).

use std::io;

const IOPRIO_WHO_PROCESS: libc::c_int = 1;
const IOPRIO_CLASS_SHIFT: libc::c_int = 13;
const IOPRIO_CLASS_IDLE: libc::c_int = 3;

/// While held, the thread's I/O runs in the idle class; dropping it puts
/// back the class it had (the monitor unit's IOSchedulingClass=idle already
/// gives it; `jts-hot monitor` run by hand does not).
#[derive(Debug)]
pub struct Idle {
    /// None: it was idle already, nothing to put back.
    previous: Option<libc::c_int>,
}

/// Puts the calling thread in the idle I/O class until the guard is dropped.
/// Already idle (the unit's IOSchedulingClass=idle, whose seccomp filter
/// denies ioprio_set as one of @resources), nothing is set.
pub fn idle() -> io::Result<Idle> {
    let previous = get()?;
    if previous >> IOPRIO_CLASS_SHIFT == IOPRIO_CLASS_IDLE {
        return Ok(Idle { previous: None });
    }
    set(IOPRIO_CLASS_IDLE << IOPRIO_CLASS_SHIFT)?;
    Ok(Idle {
        previous: Some(previous),
    })
}

/// The calling thread's I/O class: 0 none (follows the CPU nice level),
/// 1 realtime, 2 best-effort, 3 idle.
pub fn class() -> io::Result<libc::c_int> {
    get().map(|p| p >> IOPRIO_CLASS_SHIFT)
}

impl Drop for Idle {
    fn drop(&mut self) {
        // Best effort: the class only ever goes back up to what it was.
        if let Some(p) = self.previous {
            let _ = set(p);
        }
    }
}

fn get() -> io::Result<libc::c_int> {
    // SAFETY: ioprio_get takes two integers; who = 0 is the calling thread.
    let p = unsafe { libc::syscall(libc::SYS_ioprio_get, IOPRIO_WHO_PROCESS, 0) };
    if p < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(p as libc::c_int)
}

fn set(prio: libc::c_int) -> io::Result<()> {
    // SAFETY: ioprio_set takes three integers; who = 0 is the calling thread.
    let r = unsafe { libc::syscall(libc::SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, prio) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn idle_while_held_then_back() {
        let before = super::class().unwrap();
        {
            let _idle = super::idle().unwrap();
            assert_eq!(super::class().unwrap(), 3);
        }
        assert_eq!(super::class().unwrap(), before);
        // Idle already: held and dropped without a change.
        let outer = super::idle().unwrap();
        drop(super::idle().unwrap());
        assert_eq!(super::class().unwrap(), 3);
        drop(outer);
        assert_eq!(super::class().unwrap(), before);
    }
}
