//! The process's descriptor limit (RLIMIT_NOFILE): read, and raised from its
//! soft value to its hard one, so that a monitor run started from a shell
//! with the default `ulimit -n 1024` can still walk thousands of services.

use nix::sys::resource::{getrlimit, setrlimit, Resource};

/// (soft, hard) RLIMIT_NOFILE. Under a seccomp filter that forbids
/// prlimit64 (the units' `~@resources`), read from /proc/self/limits;
/// 1024 for both when neither answers.
pub fn nofile() -> (u64, u64) {
    if let Ok(limits) = getrlimit(Resource::RLIMIT_NOFILE) {
        return limits;
    }
    let text = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    text.lines()
        .find_map(|l| {
            let rest = l.strip_prefix("Max open files")?;
            let mut words = rest.split_whitespace();
            let value = |w: Option<&str>| match w? {
                "unlimited" => Some(u64::MAX),
                n => n.parse().ok(),
            };
            Some((value(words.next())?, value(words.next())?))
        })
        .unwrap_or((1024, 1024))
}

/// Raises the soft descriptor limit to the hard one; returns the soft limit
/// in force afterwards. A refusal (a sandbox without setrlimit) leaves it
/// as it was: the unit sets LimitNOFILE= itself.
pub fn raise_nofile() -> u64 {
    let (soft, hard) = nofile();
    if soft < hard && setrlimit(Resource::RLIMIT_NOFILE, hard, hard).is_ok() {
        return hard;
    }
    soft
}
