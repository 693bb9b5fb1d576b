//! What the archive grate knows about a cage's fds: which archived path
//! each names and where its offset is. Pure bookkeeping, unit-tested.

use crate::kit::lock;
use crate::paths::has_prefix;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// One open file description the app has: shared by its dups and forks.
#[derive(Debug)]
pub struct Tracked {
    /// The file's path from the sandbox root.
    pub path: Vec<String>,
    /// The real fd's offset, followed through reads, writes and lseeks.
    pub offset: u64,
    pub append: bool,
    /// Opened for writing: only such files are archived.
    pub writable: bool,
    /// Its name was unlinked or replaced: writes no longer reach a name.
    pub detached: bool,
}

impl Tracked {
    pub fn new(path: Vec<String>, writable: bool, append: bool) -> Tracked {
        Tracked {
            path,
            offset: 0,
            append,
            writable,
            detached: false,
        }
    }

    /// Whether writes through it are copied.
    pub fn archived(&self) -> bool {
        self.writable && !self.detached
    }

    /// Follows a rename of `from` to `to` (a file, or a directory above).
    pub fn renamed(&mut self, from: &[String], to: &[String]) {
        if has_prefix(&self.path, from) {
            let rest = self.path.split_off(from.len());
            self.path = to.iter().cloned().chain(rest).collect();
        } else if self.path == to {
            // Its name now belongs to the renamed file.
            self.detached = true;
        }
    }
}

/// A tracked fd: the shared description plus its own close-on-exec flag.
#[derive(Clone, Debug)]
pub struct FdTrack {
    pub file: Arc<Mutex<Tracked>>,
    pub cloexec: bool,
}

/// One cage's cwd and tracked fds. Untracked fds (pipes, stdio) are absent.
#[derive(Clone, Debug, Default)]
pub struct CageFiles {
    pub cwd: Vec<String>,
    fds: HashMap<i32, FdTrack>,
}

impl CageFiles {
    /// Tracks `fd`, forgetting whatever the number tracked before.
    pub fn track(&mut self, fd: i32, tracked: Tracked, cloexec: bool) {
        let file = Arc::new(Mutex::new(tracked));
        self.fds.insert(fd, FdTrack { file, cloexec });
    }

    pub fn get(&self, fd: i32) -> Option<Arc<Mutex<Tracked>>> {
        self.fds.get(&fd).map(|t| Arc::clone(&t.file))
    }

    /// `new` became a dup of `old`: it shares `old`'s tracking, or has none.
    pub fn dup_to(&mut self, old: i32, new: i32, cloexec: bool) {
        match self.fds.get(&old).map(|t| Arc::clone(&t.file)) {
            Some(file) => {
                self.fds.insert(new, FdTrack { file, cloexec });
            }
            None => {
                self.fds.remove(&new);
            }
        }
    }

    pub fn close(&mut self, fd: i32) {
        self.fds.remove(&fd);
    }

    pub fn set_cloexec(&mut self, fd: i32, cloexec: bool) {
        if let Some(t) = self.fds.get_mut(&fd) {
            t.cloexec = cloexec;
        }
    }

    /// Removes the close-on-exec fds and hands them back.
    pub fn take_cloexec(&mut self) -> Vec<(i32, FdTrack)> {
        let doomed: Vec<i32> = self
            .fds
            .iter()
            .filter(|(_, t)| t.cloexec)
            .map(|(&fd, _)| fd)
            .collect();
        doomed
            .into_iter()
            .filter_map(|fd| self.fds.remove(&fd).map(|t| (fd, t)))
            .collect()
    }

    /// Puts back what [`CageFiles::take_cloexec`] took (a failed exec).
    pub fn restore(&mut self, taken: Vec<(i32, FdTrack)>) {
        for (fd, t) in taken {
            self.fds.entry(fd).or_insert(t);
        }
    }

    /// Runs `f` on every tracked description (once per fd naming it).
    pub fn each_file(&self, mut f: impl FnMut(&mut Tracked)) {
        for t in self.fds.values() {
            f(&mut lock(&t.file));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::paths::split;

    #[test]
    fn dups_share_the_offset_and_close_separately() {
        let mut c = CageFiles::default();
        c.track(3, Tracked::new(split("/d/f"), true, false), false);
        c.dup_to(3, 7, true);
        lock(&c.get(3).unwrap()).offset = 12;
        assert_eq!(lock(&c.get(7).unwrap()).offset, 12);
        c.close(3);
        assert!(c.get(3).is_none() && c.get(7).is_some());
        c.dup_to(3, 7, false);
        assert!(c.get(7).is_none(), "a dup of an untracked fd is untracked");
    }

    #[test]
    fn forks_share_descriptions() {
        let mut parent = CageFiles::default();
        parent.track(4, Tracked::new(split("/f"), true, false), false);
        let child = parent.clone();
        lock(&child.get(4).unwrap()).offset = 5;
        assert_eq!(lock(&parent.get(4).unwrap()).offset, 5);
    }

    #[test]
    fn exec_drops_cloexec_and_failure_restores() {
        let mut c = CageFiles::default();
        c.track(3, Tracked::new(split("/a"), true, false), true);
        c.track(4, Tracked::new(split("/b"), true, false), false);
        c.set_cloexec(4, false);
        let taken = c.take_cloexec();
        assert!(c.get(3).is_none() && c.get(4).is_some());
        c.restore(taken);
        assert!(c.get(3).is_some());
    }

    #[test]
    fn renames_move_paths_and_detach_replaced_names() {
        let mut moved = Tracked::new(split("/d/sub/f"), true, false);
        moved.renamed(&split("/d"), &split("/e"));
        assert_eq!(moved.path, split("/e/sub/f"));
        let mut replaced = Tracked::new(split("/x"), true, false);
        replaced.renamed(&split("/y"), &split("/x"));
        assert!(replaced.detached && !replaced.archived());
        let mut other = Tracked::new(split("/dd"), true, false);
        other.renamed(&split("/d"), &split("/e"));
        assert_eq!(other.path, split("/dd"));
    }
}
