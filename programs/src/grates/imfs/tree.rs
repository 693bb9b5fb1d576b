//! The in-memory file tree: inodes, directories by name, file bytes.
//!
//! Pure data, no syscalls, so it is unit-tested directly. Inodes of removed
//! files and directories stay until the grate exits, so an fd still open on
//! one keeps working, as on a real filesystem.

use boundary::dirent::{DT_DIR, DT_REG};
use boundary::stat::{Stat, S_IFDIR, S_IFREG};
use boundary::{DirEntry, Errno};
use std::collections::{BTreeMap, HashMap};

pub type Ino = u64;
/// The root directory's inode.
pub const ROOT: Ino = 1;
/// `st_dev` of every imfs node, so tools can tell imfs files apart.
const IMFS_DEV: u64 = 0x1f5;
/// Largest file imfs holds: a write past it is EFBIG, not an allocation
/// the size of a stray offset.
pub const MAX_FILE: u64 = 1 << 30;

/// A file or a directory.
#[derive(Clone, Debug)]
pub enum Node {
    File {
        data: Vec<u8>,
        mode: u32,
    },
    Dir {
        entries: BTreeMap<String, Ino>,
        parent: Ino,
        mode: u32,
    },
}

/// The whole filesystem.
#[derive(Debug)]
pub struct Tree {
    nodes: HashMap<Ino, Node>,
    next: Ino,
}

impl Default for Tree {
    fn default() -> Tree {
        let root = Node::Dir {
            entries: BTreeMap::new(),
            parent: ROOT,
            mode: 0o755,
        };
        Tree {
            nodes: HashMap::from([(ROOT, root)]),
            next: ROOT + 1,
        }
    }
}

impl Tree {
    /// The inode at `path` (components from the root).
    pub fn lookup(&self, path: &[String]) -> Result<Ino, Errno> {
        let mut at = ROOT;
        for name in path {
            match self.nodes.get(&at) {
                Some(Node::Dir { entries, .. }) => {
                    at = *entries.get(name).ok_or(Errno::ENOENT)?;
                }
                Some(Node::File { .. }) => return Err(Errno::ENOTDIR),
                None => return Err(Errno::ENOENT),
            }
        }
        Ok(at)
    }

    /// Whether `ino` is a directory.
    pub fn is_dir(&self, ino: Ino) -> bool {
        matches!(self.nodes.get(&ino), Some(Node::Dir { .. }))
    }

    /// The directory holding the last component of `path`, and that name.
    /// The root has no parent: `EBUSY`, the error Linux gives for it.
    fn parent_of<'p>(&self, path: &'p [String]) -> Result<(Ino, &'p str), Errno> {
        let (name, dir) = path.split_last().ok_or(Errno::EBUSY)?;
        let dir = self.lookup(dir)?;
        if !self.is_dir(dir) {
            return Err(Errno::ENOTDIR);
        }
        Ok((dir, name))
    }

    fn entries_mut(&mut self, dir: Ino) -> Result<&mut BTreeMap<String, Ino>, Errno> {
        match self.nodes.get_mut(&dir) {
            Some(Node::Dir { entries, .. }) => Ok(entries),
            _ => Err(Errno::ENOTDIR),
        }
    }

    fn add(&mut self, dir: Ino, name: &str, node: Node) -> Result<Ino, Errno> {
        let ino = self.next;
        let entries = self.entries_mut(dir)?;
        if entries.contains_key(name) {
            return Err(Errno::EEXIST);
        }
        entries.insert(name.to_string(), ino);
        self.nodes.insert(ino, node);
        self.next += 1;
        Ok(ino)
    }

    /// Creates an empty file; EEXIST if the name is taken.
    pub fn create_file(&mut self, path: &[String], mode: u32) -> Result<Ino, Errno> {
        let (dir, name) = self.parent_of(path)?;
        let node = Node::File {
            data: Vec::new(),
            mode: mode & 0o7777,
        };
        self.add(dir, name, node)
    }

    /// Creates a directory; EEXIST if the name is taken (or is the root).
    pub fn mkdir(&mut self, path: &[String], mode: u32) -> Result<Ino, Errno> {
        let (dir, name) = self.parent_of(path).map_err(|e| match e {
            Errno::EBUSY => Errno::EEXIST,
            other => other,
        })?;
        let node = Node::Dir {
            entries: BTreeMap::new(),
            parent: dir,
            mode: mode & 0o7777,
        };
        self.add(dir, name, node)
    }

    /// Removes a file's name.
    pub fn unlink(&mut self, path: &[String]) -> Result<(), Errno> {
        let ino = self.lookup(path)?;
        if self.is_dir(ino) {
            return Err(Errno::EISDIR);
        }
        let (dir, name) = self.parent_of(path)?;
        self.entries_mut(dir)?.remove(name);
        Ok(())
    }

    /// Removes an empty directory.
    pub fn rmdir(&mut self, path: &[String]) -> Result<(), Errno> {
        if path.is_empty() {
            return Err(Errno::EBUSY);
        }
        let ino = self.lookup(path)?;
        match self.nodes.get(&ino) {
            Some(Node::Dir { entries, .. }) if !entries.is_empty() => return Err(Errno::ENOTEMPTY),
            Some(Node::Dir { .. }) => {}
            _ => return Err(Errno::ENOTDIR),
        }
        let (dir, name) = self.parent_of(path)?;
        self.entries_mut(dir)?.remove(name);
        Ok(())
    }

    /// Moves `from` to `to`, replacing a file or an empty directory there.
    pub fn rename(&mut self, from: &[String], to: &[String]) -> Result<(), Errno> {
        let src = self.lookup(from)?;
        let (from_dir, from_name) = self.parent_of(from)?;
        let (to_dir, to_name) = self.parent_of(to)?;
        if from == to {
            return Ok(());
        }
        if to.len() > from.len() && to[..from.len()] == *from {
            return Err(Errno::EINVAL);
        }
        let existing = self.entries_mut(to_dir)?.get(to_name).copied();
        if let Some(dst) = existing {
            match (self.is_dir(src), self.nodes.get(&dst)) {
                (true, Some(Node::File { .. })) => return Err(Errno::ENOTDIR),
                (false, Some(Node::Dir { .. })) => return Err(Errno::EISDIR),
                (true, Some(Node::Dir { entries, .. })) if !entries.is_empty() => {
                    return Err(Errno::ENOTEMPTY)
                }
                _ => {}
            }
        }
        self.entries_mut(from_dir)?.remove(from_name);
        self.entries_mut(to_dir)?.insert(to_name.to_string(), src);
        if let Some(Node::Dir { parent, .. }) = self.nodes.get_mut(&src) {
            *parent = to_dir;
        }
        Ok(())
    }

    /// Up to `len` bytes of a file from `off`.
    pub fn read_at(&self, ino: Ino, off: u64, len: usize) -> Result<Vec<u8>, Errno> {
        match self.nodes.get(&ino) {
            Some(Node::File { data, .. }) => {
                let start = usize::try_from(off).unwrap_or(usize::MAX).min(data.len());
                let end = start.saturating_add(len).min(data.len());
                Ok(data[start..end].to_vec())
            }
            Some(Node::Dir { .. }) => Err(Errno::EISDIR),
            None => Err(Errno::EBADF),
        }
    }

    /// Writes `bytes` at `off`, zero-filling a gap. Returns the end offset.
    pub fn write_at(&mut self, ino: Ino, off: u64, bytes: &[u8]) -> Result<u64, Errno> {
        let end = off
            .checked_add(bytes.len() as u64)
            .filter(|&end| end <= MAX_FILE)
            .ok_or(Errno::EFBIG)?;
        let data = self.file_mut(ino)?;
        let (start, end_at) = (off as usize, end as usize);
        if data.len() < end_at {
            data.resize(end_at, 0);
        }
        data[start..end_at].copy_from_slice(bytes);
        Ok(end)
    }

    /// Sets a file's length, zero-filling when it grows.
    pub fn truncate(&mut self, ino: Ino, len: u64) -> Result<(), Errno> {
        if len > MAX_FILE {
            return Err(Errno::EFBIG);
        }
        self.file_mut(ino)?.resize(len as usize, 0);
        Ok(())
    }

    fn file_mut(&mut self, ino: Ino) -> Result<&mut Vec<u8>, Errno> {
        match self.nodes.get_mut(&ino) {
            Some(Node::File { data, .. }) => Ok(data),
            Some(Node::Dir { .. }) => Err(Errno::EISDIR),
            None => Err(Errno::EBADF),
        }
    }

    /// A file's length (0 for a directory).
    pub fn size(&self, ino: Ino) -> u64 {
        match self.nodes.get(&ino) {
            Some(Node::File { data, .. }) => data.len() as u64,
            _ => 0,
        }
    }

    /// The node's stat, in RawPOSIX's layout; times are 0 so runs compare.
    pub fn stat(&self, ino: Ino) -> Result<Stat, Errno> {
        let (mode, nlink, size) = match self.nodes.get(&ino).ok_or(Errno::EBADF)? {
            Node::File { data, mode } => (S_IFREG | mode, 1, data.len() as u64),
            Node::Dir { entries, mode, .. } => {
                let subdirs = entries.values().filter(|&&i| self.is_dir(i)).count();
                (S_IFDIR | mode, 2 + subdirs as u32, 4096)
            }
        };
        Ok(Stat {
            dev: IMFS_DEV,
            ino,
            mode,
            nlink,
            size,
            blksize: 4096,
            blocks: u32::try_from(size.div_ceil(512)).unwrap_or(u32::MAX),
            ..Stat::default()
        })
    }

    /// A directory's entries: `.`, `..`, then names in sorted order.
    pub fn list(&self, ino: Ino) -> Result<Vec<DirEntry>, Errno> {
        let Some(Node::Dir {
            entries, parent, ..
        }) = self.nodes.get(&ino)
        else {
            return Err(Errno::ENOTDIR);
        };
        let dot = |name: &str, ino| DirEntry {
            ino,
            kind: DT_DIR,
            name: name.as_bytes().to_vec(),
        };
        let mut out = vec![dot(".", ino), dot("..", *parent)];
        out.extend(entries.iter().map(|(name, &child)| DirEntry {
            ino: child,
            kind: if self.is_dir(child) { DT_DIR } else { DT_REG },
            name: name.as_bytes().to_vec(),
        }));
        Ok(out)
    }

    /// Every reachable node below the root, parents before children:
    /// `(path, Some(bytes))` for a file, `(path, None)` for a directory.
    pub fn walk(&self) -> Vec<(Vec<String>, Option<&[u8]>)> {
        let mut out = Vec::new();
        let mut todo = vec![(Vec::new(), ROOT)];
        while let Some((path, ino)) = todo.pop() {
            match self.nodes.get(&ino) {
                Some(Node::File { data, .. }) => out.push((path, Some(data.as_slice()))),
                Some(Node::Dir { entries, .. }) => {
                    if !path.is_empty() {
                        out.push((path.clone(), None));
                    }
                    for (name, &child) in entries.iter().rev() {
                        let mut child_path = path.clone();
                        child_path.push(name.clone());
                        todo.push((child_path, child));
                    }
                }
                None => {}
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::paths::split;

    #[test]
    fn files_are_created_written_and_read() {
        let mut t = Tree::default();
        t.mkdir(&split("/d"), 0o755).unwrap();
        let f = t.create_file(&split("/d/f"), 0o644).unwrap();
        assert_eq!(t.write_at(f, 2, b"xy"), Ok(4));
        assert_eq!(t.read_at(f, 0, 10).unwrap(), b"\0\0xy");
        assert_eq!(t.read_at(f, 9, 10).unwrap(), b"");
        assert_eq!(t.stat(f).unwrap().size, 4);
        assert_eq!(t.create_file(&split("/d/f"), 0), Err(Errno::EEXIST));
        assert_eq!(t.create_file(&split("/nope/f"), 0), Err(Errno::ENOENT));
        assert_eq!(t.create_file(&split("/d/f/g"), 0), Err(Errno::ENOTDIR));
        assert_eq!(t.write_at(f, MAX_FILE, b"z"), Err(Errno::EFBIG));
    }

    #[test]
    fn directories_refuse_the_wrong_removal() {
        let mut t = Tree::default();
        t.mkdir(&split("/d"), 0o755).unwrap();
        t.create_file(&split("/d/f"), 0o644).unwrap();
        assert_eq!(t.rmdir(&split("/d")), Err(Errno::ENOTEMPTY));
        assert_eq!(t.unlink(&split("/d")), Err(Errno::EISDIR));
        assert_eq!(t.rmdir(&split("/d/f")), Err(Errno::ENOTDIR));
        assert_eq!(t.rmdir(&[]), Err(Errno::EBUSY));
        assert_eq!(t.mkdir(&[], 0), Err(Errno::EEXIST));
        t.unlink(&split("/d/f")).unwrap();
        t.rmdir(&split("/d")).unwrap();
        assert_eq!(t.lookup(&split("/d")), Err(Errno::ENOENT));
    }

    #[test]
    fn rename_moves_and_replaces_like_posix() {
        let mut t = Tree::default();
        t.mkdir(&split("/a"), 0o755).unwrap();
        t.mkdir(&split("/b"), 0o755).unwrap();
        let f = t.create_file(&split("/a/f"), 0o644).unwrap();
        t.create_file(&split("/b/g"), 0o644).unwrap();
        t.rename(&split("/a/f"), &split("/b/g")).unwrap();
        assert_eq!(t.lookup(&split("/b/g")), Ok(f));
        assert_eq!(t.lookup(&split("/a/f")), Err(Errno::ENOENT));
        assert_eq!(t.rename(&split("/a"), &split("/a/x")), Err(Errno::EINVAL));
        assert_eq!(t.rename(&split("/a"), &split("/b/g")), Err(Errno::ENOTDIR));
        assert_eq!(t.rename(&split("/b/g"), &split("/a")), Err(Errno::EISDIR));
        assert_eq!(t.rename(&split("/a"), &split("/b")), Err(Errno::ENOTEMPTY));
        t.rename(&split("/a"), &split("/c")).unwrap();
        let listing = t.list(t.lookup(&[]).unwrap()).unwrap();
        let names: Vec<&[u8]> = listing.iter().map(|e| e.name.as_slice()).collect();
        assert_eq!(names, [&b"."[..], b"..", b"b", b"c"]);
    }

    #[test]
    fn walk_lists_parents_first_in_name_order() {
        let mut t = Tree::default();
        t.mkdir(&split("/d"), 0o755).unwrap();
        let f = t.create_file(&split("/d/f"), 0o644).unwrap();
        t.write_at(f, 0, b"hi").unwrap();
        t.create_file(&split("/a"), 0o644).unwrap();
        let walked: Vec<(String, Option<&[u8]>)> = t
            .walk()
            .into_iter()
            .map(|(p, d)| (p.join("/"), d))
            .collect();
        assert_eq!(
            walked,
            vec![
                ("a".to_string(), Some(&b""[..])),
                ("d".to_string(), None),
                ("d/f".to_string(), Some(&b"hi"[..])),
            ]
        );
    }

    #[test]
    fn truncate_grows_and_shrinks() {
        let mut t = Tree::default();
        let f = t.create_file(&split("/f"), 0o644).unwrap();
        t.truncate(f, 3).unwrap();
        assert_eq!(t.read_at(f, 0, 9).unwrap(), b"\0\0\0");
        t.truncate(f, 1).unwrap();
        assert_eq!(t.size(f), 1);
        assert_eq!(t.truncate(t.lookup(&[]).unwrap(), 0), Err(Errno::EISDIR));
    }
}
