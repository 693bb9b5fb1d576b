//! What each record of a log needs so that a sub-log stays well-formed:
//! the call that made each fd it uses (an open before the write on its fd),
//! the mkdir of each directory its paths go through (the mkdir before a
//! create inside it), and its cage's fork, exec and exit records (a fork
//! before the child's calls, an exec with its argv). A cage's fds are its
//! parent's at the fork, as the kernel's are.

use std::collections::{BTreeSet, HashMap};

use abi::catalog::nr_of;
use abi::catalog::{lookup, ArgKind, Len};
use abi::flags::AT_FDCWD;
use fds::LogFds;
use formats::{Record, SyscallRecord};

/// The needs of every record of a log (records in replay order).
pub struct Needs {
    /// The records each record needs directly.
    of: Vec<Vec<usize>>,
    /// Each record's cage (a fork's is its parent's).
    cage: Vec<Option<u64>>,
    /// Each cage's fork, exec and exit records.
    lifecycle: HashMap<u64, Vec<usize>>,
    /// The cage that forked each cage.
    parent: HashMap<u64, u64>,
}

/// A path argument's bytes, as recorded.
fn path_at(call: &SyscallRecord, pos: usize) -> Option<&[u8]> {
    call.inputs
        .iter()
        .find(|b| usize::from(b.arg) == pos && b.index == 0)
        .map(|b| b.data.as_slice())
}

/// `a`, `a/b` for `a/b/c`: the directories a path goes through, and the
/// path itself.
fn prefixes(path: &[u8]) -> impl Iterator<Item = &[u8]> {
    let cuts = path
        .iter()
        .enumerate()
        .filter(|(_, &b)| b == b'/')
        .map(|(i, _)| i)
        .filter(|&i| i > 0);
    cuts.map(move |i| &path[..i]).chain(std::iter::once(path))
}

/// Lind has no mkdirat: the catalog holds mkdir alone.
const MKDIR: u32 = nr_of("mkdir");

impl Needs {
    pub fn of(records: &[Record]) -> Needs {
        let mut needs = Needs {
            of: vec![Vec::new(); records.len()],
            cage: vec![None; records.len()],
            lifecycle: HashMap::new(),
            parent: HashMap::new(),
        };
        // Each fd's binding remembers the record that made it (its open,
        // dup or pipe): what a call on the fd needs.
        let mut fds: LogFds<()> = LogFds::new();
        let mut dirs: HashMap<Vec<u8>, usize> = HashMap::new();
        for (i, record) in records.iter().enumerate() {
            match record {
                Record::Syscall(call) => {
                    needs.cage[i] = Some(call.cage);
                    needs.call(i, call, &fds, &mut dirs);
                }
                Record::Fork(f) if !f.thread => {
                    needs.cage[i] = Some(f.parent);
                    needs.parent.insert(f.child, f.parent);
                    needs.lifecycle.entry(f.child).or_default().push(i);
                }
                Record::Exec(e) => {
                    needs.cage[i] = Some(e.cage);
                    needs.lifecycle.entry(e.cage).or_default().push(i);
                }
                Record::Exit(e) => {
                    needs.cage[i] = Some(e.cage);
                    needs.lifecycle.entry(e.cage).or_default().push(i);
                }
                // A thread shares its cage; replay does not start threads.
                Record::Fork(_) | Record::Dropped(_) | Record::Trailer(_) | Record::Gap(_) => {}
            }
            fds.note(i, record, |_, _, _| Some(()));
        }
        needs
    }

    /// Notes what call `i` needs: the records that made the fds it uses
    /// and the directories its paths go through; and the directory it
    /// makes, if it is a mkdir.
    fn call(
        &mut self,
        i: usize,
        call: &SyscallRecord,
        fds: &LogFds<()>,
        dirs: &mut HashMap<Vec<u8>, usize>,
    ) {
        let Some(info) = lookup(call.nr) else { return };
        let args = call.full_args();
        for (pos, kind) in info.args.iter().enumerate() {
            match kind {
                ArgKind::Fd | ArgKind::DirFd => {
                    let fd = args[pos].0 as i32;
                    if fd != AT_FDCWD {
                        self.of[i].extend(fds.get(call.cage, fd).map(|b| b.bound_by));
                    }
                }
                ArgKind::In(Len::CStr) => {
                    if let Some(path) = path_at(call, pos) {
                        let made = prefixes(path).filter_map(|p| dirs.get(p).copied());
                        self.of[i].extend(made);
                    }
                }
                _ => {}
            }
        }
        if call.nr == MKDIR && call.result >= 0 {
            if let Some(path) = path_at(call, 0) {
                dirs.insert(path.to_vec(), i);
            }
        }
    }

    /// `wanted` and everything it needs, transitively, in log order.
    pub fn closure(&self, wanted: impl IntoIterator<Item = usize>) -> BTreeSet<usize> {
        let mut kept = BTreeSet::new();
        let mut todo: Vec<usize> = wanted.into_iter().collect();
        let mut cages = BTreeSet::new();
        while let Some(i) = todo.pop() {
            if !kept.insert(i) {
                continue;
            }
            todo.extend(self.of[i].iter().copied());
            // A cage's records need the cage: its fork, exec and exit, and
            // the same of every cage up to the first.
            let mut cage = self.cage[i];
            while let Some(c) = cage {
                if !cages.insert(c) {
                    break;
                }
                todo.extend(self.lifecycle.get(&c).into_iter().flatten().copied());
                cage = self.parent.get(&c).copied();
            }
        }
        kept
    }

    /// The records that are calls (what a reduction chooses among).
    pub fn calls(records: &[Record]) -> Vec<usize> {
        (0..records.len())
            .filter(|&i| matches!(records[i], Record::Syscall(_)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use formats::build;

    /// Call `name` of `cage`, with a path if it takes one.
    fn call(
        seq: u64,
        cage: u64,
        name: &str,
        values: &[u64],
        path: Option<&[u8]>,
        result: i64,
    ) -> Record {
        let made = build::call(seq, cage, name, values, result);
        match path {
            Some(path) => made.path(path).record(),
            None => made.record(),
        }
    }

    #[test]
    fn a_write_needs_its_open_the_directory_and_its_cages_fork() {
        let records = vec![
            build::fork(0, 1, 2),
            call(1, 2, "mkdir", &[0x10, 0o755], Some(b"out"), 0),
            call(2, 2, "open", &[0x20, 0x41, 0o644], Some(b"out/a"), 3),
            call(3, 2, "write", &[1, 0x30, 5], None, 5),
            call(4, 2, "open", &[0x20, 0x41, 0o644], Some(b"other"), 4),
            call(5, 2, "write", &[3, 0x30, 5], None, 5),
            call(6, 2, "close", &[3], None, 0),
            build::exit(7, 2, 0),
        ];
        let needs = Needs::of(&records);
        let kept: Vec<usize> = needs.closure([5]).into_iter().collect();
        // fork, mkdir, the open of fd 3, the write, the exit; not the
        // write to stdout, the other open or the close.
        assert_eq!(kept, [0, 1, 2, 5, 7]);
        assert_eq!(Needs::calls(&records), [1, 2, 3, 4, 5, 6]);
    }

    #[test]
    fn a_child_inherits_its_parents_fds_and_needs_its_forks() {
        let records = vec![
            build::fork(0, 1, 2),
            call(1, 2, "open", &[0x20, 0x41, 0o644], Some(b"a"), 3),
            build::fork(2, 2, 3),
            call(3, 3, "write", &[3, 0x30, 5], None, 5),
            call(4, 2, "close", &[3], None, 0),
        ];
        let needs = Needs::of(&records);
        let kept: Vec<usize> = needs.closure([3]).into_iter().collect();
        assert_eq!(kept, [0, 1, 2, 3]);
    }
}
