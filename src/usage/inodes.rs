//! The set of files already counted, so that a file with several hard links
//! counts once per scan. Only entries with st_nlink > 1 go in, which keeps
//! the set tiny on a normal tree.

use std::collections::HashSet;
use std::sync::Mutex;

#[derive(Default)]
pub struct SeenInodes {
    seen: Mutex<HashSet<(usize, u64, u64)>>,
}

impl SeenInodes {
    /// True the first time (root, dev, ino) is offered within this scan.
    pub fn first_time(&self, root: usize, dev: u64, ino: u64) -> bool {
        self.seen
            .lock()
            .expect("no walker panics while holding the set")
            .insert((root, dev, ino))
    }
}
