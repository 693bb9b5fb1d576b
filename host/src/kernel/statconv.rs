//! Host metadata to Lind's 104-byte StatData.

use boundary::stat::{Stat, Timespec};
use std::fs::Metadata;
use std::os::unix::fs::MetadataExt;

fn ts(sec: i64, nsec: i64) -> Timespec {
    Timespec {
        sec: sec as u64,
        nsec: nsec as u64,
    }
}

/// StatData of a host file, as RawPOSIX's conversion fills it.
pub(crate) fn stat_of(meta: &Metadata) -> Stat {
    Stat {
        dev: meta.dev(),
        ino: meta.ino(),
        mode: meta.mode(),
        nlink: meta.nlink() as u32,
        uid: meta.uid(),
        gid: meta.gid(),
        rdev: meta.rdev(),
        size: meta.size(),
        blksize: meta.blksize() as i32,
        blocks: meta.blocks() as u32,
        atime: ts(meta.atime(), meta.atime_nsec()),
        mtime: ts(meta.mtime(), meta.mtime_nsec()),
        ctime: ts(meta.ctime(), meta.ctime_nsec()),
    }
}

/// StatData of something that is not a host file (pipes, captured stdio).
pub(crate) fn synthetic(mode: u32) -> Stat {
    Stat {
        mode,
        nlink: 1,
        uid: super::proc::DEFAULT_ID,
        gid: super::proc::DEFAULT_ID,
        blksize: 4096,
        ..Stat::default()
    }
}
