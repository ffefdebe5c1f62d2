//! `dir.access`: each planned directory's owner, with its groups as the
//! system resolves them, can reach it from `/` and write into it (the
//! setup spec's `sudo -u postgres touch .../test_write`, without writing).
//! One finding per thing that blocks, naming it, however many directories
//! it blocks.

use super::Check;
use crate::system::Root;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::Tally;
use crate::status::Status::{Critical, Unknown};
use crate::system::access::{self, Blocked, Cache, Cause, Who};
use crate::system::accounts::Accounts;
use crate::system::mounts::Mount;
use crate::system::on_disk;

pub struct Access<'a> {
    root: &'a Root,
    mounts: &'a [Mount],
    accounts: &'a Accounts,
    cache: Cache,
    users: HashMap<String, Result<Option<Who>, String>>,
    /// (user, what blocks) → the first directory blocked and how many more.
    blocked: Vec<(String, Blocked, PathBuf, usize)>,
}

impl<'a> Access<'a> {
    pub fn new(root: &'a Root, mounts: &'a [Mount], accounts: &'a Accounts) -> Self {
        Access {
            root,
            mounts,
            accounts,
            cache: Cache::default(),
            users: HashMap::new(),
            blocked: Vec::new(),
        }
    }

    /// `dir` (as the layout names it; `on`: where it lies under the root,
    /// resolved once by the caller) must be usable by `owner`.
    pub fn check(&mut self, dir: &Path, on: &Path, owner: &str, tally: &mut Tally) {
        let accounts = self.accounts;
        let who = self
            .users
            .entry(owner.to_string())
            .or_insert_with(|| accounts.who(owner))
            .clone();
        let on = on.to_path_buf();
        let who = match who {
            Ok(Some(who)) => who,
            // An unknown owner is already a finding (account.user).
            Ok(None) => return,
            Err(e) => {
                tally.fail(
                    Unknown,
                    &on,
                    Check::DirAccess,
                    format!("{owner} can write it"),
                    e,
                );
                return;
            }
        };
        match access::reach_and_write(self.root, dir, &who, self.mounts, &mut self.cache) {
            Ok(Ok(())) => tally.pass(),
            // A read-only mount stops every owner the same way: one
            // finding for the mount, not one per directory or owner.
            Ok(Err(b)) => match self.blocked.iter_mut().find(|(u, known, _, _)| {
                (u == owner && *known == b)
                    || (b.cause == Cause::ReadOnly
                        && known.cause == Cause::ReadOnly
                        && known.because == b.because)
            }) {
                Some((_, _, _, more)) => {
                    *more += 1;
                    tally.checks += 1;
                }
                None => self.blocked.push((owner.to_string(), b, on, 0)),
            },
            Err(e) => {
                tally.fail(
                    Unknown,
                    &on,
                    Check::DirAccess,
                    format!("{owner} can write it"),
                    e,
                );
            }
        }
    }

    /// The blocked ones, one finding each. `planned`: whether a path is one
    /// of the layout's directories (then tmpfiles may be the fix);
    /// `remapped`: whether it lies in a tree dir.owner.remap reports (a
    /// permission there is that finding's, not one of its own).
    pub fn finish(
        self,
        tally: &mut Tally,
        planned: &dyn Fn(&Path) -> bool,
        remapped: &dyn Fn(&Path) -> bool,
    ) {
        let root = self.root;
        for (user, b, first, more) in self.blocked {
            if b.cause == Cause::Permission && remapped(&b.at) {
                tally.checks += 1 + more;
                continue;
            }
            let at = on_disk(root, &b.at);
            let actual = match (b.cause, more) {
                (Cause::ReadOnly, 0) => format!("{}: no write ({})", at.display(), b.because),
                (Cause::ReadOnly, n) => format!(
                    "{} and {n} more planned directories: no write ({})",
                    at.display(),
                    b.because
                ),
                (_, 0) => format!(
                    "{user} is stopped at {}: no {} ({})",
                    at.display(),
                    b.lacks,
                    b.because
                ),
                (_, n) => format!(
                    "{user} is stopped at {}: no {} ({}) (and {n} more of its directories)",
                    at.display(),
                    b.lacks,
                    b.because
                ),
            };
            let hint = match b.cause {
                Cause::ReadOnly => {
                    "fix: find why it is read-only (journalctl -k), then mount -o remount,rw its mount point"
                        .to_string()
                }
                Cause::Permission if planned(&b.at) => format!(
                    "fix: jts-hot setup restores the layout's owner and mode \
                     of {} (where dir.owner.remap names the service: jts-hot setup \
                     --remap-owners); if those stop {user}, change the layout and run \
                     `jts-hot apply`",
                    at.display()
                ),
                Cause::Permission => format!(
                    "fix: chmod o+x {p} (or setfacl -m u:{user}:x {p})",
                    p = at.display()
                ),
            };
            let expected = match b.cause {
                Cause::ReadOnly => "its owners can write it".to_string(),
                Cause::Permission => format!("{user} can reach and write it"),
            };
            tally
                .fail(Critical, &first, Check::DirAccess, expected, actual)
                .hint(hint);
        }
    }
}
