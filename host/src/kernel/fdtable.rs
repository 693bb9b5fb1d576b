//! Per-cage virtual fd tables.
//!
//! As RawPOSIX's fdtables: Linux lowest-free numbering up to 1024 fds, a
//! per-fd close-on-exec flag, and fork copying the table so both cages
//! share each open file description (and its offset).

pub(crate) use super::openfile::OpenFile;
use boundary::Errno;
use std::sync::Arc;

/// RawPOSIX's MAXFD.
const MAXFD: usize = 1024;

/// One fd slot.
#[derive(Clone)]
pub(crate) struct FdEntry {
    pub file: Arc<OpenFile>,
    pub cloexec: bool,
}

/// One cage's fd table.
#[derive(Clone, Default)]
pub(crate) struct KernelFdTable {
    slots: Vec<Option<FdEntry>>,
}

impl KernelFdTable {
    /// A table with fds 0, 1 and 2.
    pub(crate) fn with_stdio(files: [OpenFile; 3]) -> KernelFdTable {
        KernelFdTable {
            slots: files
                .into_iter()
                .map(|f| {
                    Some(FdEntry {
                        file: Arc::new(f),
                        cloexec: false,
                    })
                })
                .collect(),
        }
    }

    fn slot(&self, fd: i32) -> Option<&FdEntry> {
        usize::try_from(fd)
            .ok()
            .and_then(|i| self.slots.get(i))
            .and_then(Option::as_ref)
    }

    pub(crate) fn get(&self, fd: i32) -> Result<Arc<OpenFile>, Errno> {
        self.slot(fd).map(|e| e.file.clone()).ok_or(Errno::EBADF)
    }

    pub(crate) fn cloexec(&self, fd: i32) -> Result<bool, Errno> {
        self.slot(fd).map(|e| e.cloexec).ok_or(Errno::EBADF)
    }

    pub(crate) fn set_cloexec(&mut self, fd: i32, on: bool) -> Result<(), Errno> {
        let slot = usize::try_from(fd).ok().and_then(|i| self.slots.get_mut(i));
        match slot {
            Some(Some(entry)) => {
                entry.cloexec = on;
                Ok(())
            }
            _ => Err(Errno::EBADF),
        }
    }

    /// Installs at the lowest free fd >= `min`.
    pub(crate) fn install(
        &mut self,
        file: Arc<OpenFile>,
        cloexec: bool,
        min: usize,
    ) -> Result<i32, Errno> {
        if min >= MAXFD {
            return Err(Errno::EINVAL);
        }
        let free = (min..MAXFD).find(|&i| self.slots.get(i).is_none_or(Option::is_none));
        let fd = free.ok_or(Errno::EMFILE)?;
        self.put(fd, FdEntry { file, cloexec });
        Ok(fd as i32)
    }

    /// Installs at `fd`, closing what was there.
    pub(crate) fn install_at(
        &mut self,
        fd: i32,
        file: Arc<OpenFile>,
        cloexec: bool,
    ) -> Result<(), Errno> {
        let fd = usize::try_from(fd)
            .ok()
            .filter(|&i| i < MAXFD)
            .ok_or(Errno::EBADF)?;
        self.put(fd, FdEntry { file, cloexec });
        Ok(())
    }

    fn put(&mut self, fd: usize, entry: FdEntry) {
        if self.slots.len() <= fd {
            self.slots.resize(fd + 1, None);
        }
        self.slots[fd] = Some(entry);
    }

    pub(crate) fn remove(&mut self, fd: i32) -> Result<FdEntry, Errno> {
        usize::try_from(fd)
            .ok()
            .and_then(|i| self.slots.get_mut(i))
            .and_then(Option::take)
            .ok_or(Errno::EBADF)
    }

    /// exec: close every close-on-exec fd.
    pub(crate) fn drop_cloexec(&mut self) {
        for slot in &mut self.slots {
            if slot.as_ref().is_some_and(|e| e.cloexec) {
                *slot = None;
            }
        }
    }

    /// exit: close everything.
    pub(crate) fn clear(&mut self) {
        self.slots.clear();
    }

    /// Open fds, ascending.
    pub(crate) fn open_fds(&self) -> Vec<i32> {
        (0..self.slots.len())
            .filter(|&i| self.slots[i].is_some())
            .map(|i| i as i32)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> KernelFdTable {
        KernelFdTable::with_stdio([
            OpenFile::empty_input(),
            OpenFile::empty_input(),
            OpenFile::empty_input(),
        ])
    }

    #[test]
    fn new_fds_take_the_lowest_free_number() {
        let mut t = table();
        let f = Arc::new(OpenFile::empty_input());
        assert_eq!(t.install(f.clone(), false, 0), Ok(3));
        t.remove(1).unwrap();
        assert_eq!(t.install(f.clone(), false, 0), Ok(1));
        assert_eq!(t.install(f, false, 10), Ok(10));
    }

    #[test]
    fn exec_drops_only_cloexec_fds() {
        let mut t = table();
        let f = Arc::new(OpenFile::empty_input());
        t.install(f.clone(), true, 0).unwrap();
        t.install(f, false, 0).unwrap();
        t.drop_cloexec();
        assert_eq!(t.open_fds(), vec![0, 1, 2, 4]);
    }

    #[test]
    fn fds_stop_at_1024() {
        let mut t = table();
        let f = Arc::new(OpenFile::empty_input());
        assert_eq!(t.install_at(1024, f.clone(), false), Err(Errno::EBADF));
        assert_eq!(t.install(f, false, 1024), Err(Errno::EINVAL));
    }
}
