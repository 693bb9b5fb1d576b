//! RawPOSIX's `StatData`: the 104-byte stat layout apps see (docs/lind-3i.md §9.3).
//!
//! `{ dev u64 | ino u64 | mode u32 | nlink u32 | uid u32 | gid u32 | rdev u64 |
//!    size u64 | blksize i32 | blocks u32 | atim (u64 sec, u64 nsec) |
//!    mtim (..) | ctim (..) }`, little-endian. This is not Linux x86_64's
//! 144-byte `struct stat`.

/// The size of RawPOSIX's `StatData`.
pub const STAT_SIZE: usize = 104;

/// File type mask of `mode`.
pub const S_IFMT: u32 = 0o170000;
/// Regular file.
pub const S_IFREG: u32 = 0o100000;
/// Directory.
pub const S_IFDIR: u32 = 0o040000;
/// Symbolic link.
pub const S_IFLNK: u32 = 0o120000;
/// FIFO (pipe).
pub const S_IFIFO: u32 = 0o010000;
/// Character device.
pub const S_IFCHR: u32 = 0o020000;
/// Block device.
pub const S_IFBLK: u32 = 0o060000;
/// Socket.
pub const S_IFSOCK: u32 = 0o140000;

/// A mode as strace prints it: the file type by name, then the
/// permission bits in octal (`S_IFREG|0644`).
pub fn mode_string(mode: u32) -> String {
    let kind = match mode & S_IFMT {
        S_IFREG => "S_IFREG",
        S_IFDIR => "S_IFDIR",
        S_IFLNK => "S_IFLNK",
        S_IFIFO => "S_IFIFO",
        S_IFCHR => "S_IFCHR",
        S_IFBLK => "S_IFBLK",
        S_IFSOCK => "S_IFSOCK",
        _ => return format!("0{mode:o}"),
    };
    format!("{kind}|{:04o}", mode & 0o7777)
}

/// A timestamp as StatData holds it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Timespec {
    /// Seconds.
    pub sec: u64,
    /// Nanoseconds.
    pub nsec: u64,
}

/// One decoded `StatData`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Stat {
    /// Device.
    pub dev: u64,
    /// Inode number.
    pub ino: u64,
    /// Type and permission bits.
    pub mode: u32,
    /// Hard links.
    pub nlink: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Device, for a device file.
    pub rdev: u64,
    /// Size in bytes.
    pub size: u64,
    /// Preferred I/O block size.
    pub blksize: i32,
    /// 512-byte blocks allocated.
    pub blocks: u32,
    /// Last access.
    pub atime: Timespec,
    /// Last modification.
    pub mtime: Timespec,
    /// Last status change.
    pub ctime: Timespec,
}

impl Stat {
    /// The 104 bytes RawPOSIX writes.
    pub fn encode(&self) -> [u8; STAT_SIZE] {
        let mut out = [0u8; STAT_SIZE];
        let mut at = 0;
        let mut put = |bytes: &[u8]| {
            out[at..at + bytes.len()].copy_from_slice(bytes);
            at += bytes.len();
        };
        put(&self.dev.to_le_bytes());
        put(&self.ino.to_le_bytes());
        put(&self.mode.to_le_bytes());
        put(&self.nlink.to_le_bytes());
        put(&self.uid.to_le_bytes());
        put(&self.gid.to_le_bytes());
        put(&self.rdev.to_le_bytes());
        put(&self.size.to_le_bytes());
        put(&self.blksize.to_le_bytes());
        put(&self.blocks.to_le_bytes());
        for t in [self.atime, self.mtime, self.ctime] {
            put(&t.sec.to_le_bytes());
            put(&t.nsec.to_le_bytes());
        }
        out
    }

    /// Reads the first 104 bytes of `bytes`; `None` when there are fewer.
    pub fn decode(bytes: &[u8]) -> Option<Stat> {
        let b = bytes.get(..STAT_SIZE)?;
        let u64_at = |at: usize| u64::from_le_bytes(b[at..at + 8].try_into().unwrap_or([0; 8]));
        let u32_at = |at: usize| u32::from_le_bytes(b[at..at + 4].try_into().unwrap_or([0; 4]));
        let ts = |at: usize| Timespec {
            sec: u64_at(at),
            nsec: u64_at(at + 8),
        };
        Some(Stat {
            dev: u64_at(0),
            ino: u64_at(8),
            mode: u32_at(16),
            nlink: u32_at(20),
            uid: u32_at(24),
            gid: u32_at(28),
            rdev: u64_at(32),
            size: u64_at(40),
            blksize: u32_at(48) as i32,
            blocks: u32_at(52),
            atime: ts(56),
            mtime: ts(72),
            ctime: ts(88),
        })
    }

    /// Whether this is a directory.
    pub fn is_dir(&self) -> bool {
        self.mode & S_IFMT == S_IFDIR
    }

    /// Whether this is a regular file.
    pub fn is_file(&self) -> bool {
        self.mode & S_IFMT == S_IFREG
    }

    /// The permission bits.
    pub fn perm(&self) -> u32 {
        self.mode & 0o7777
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_round_trips_through_104_bytes() {
        let st = Stat {
            dev: 1,
            ino: 2,
            mode: S_IFREG | 0o644,
            nlink: 3,
            uid: 4,
            gid: 5,
            rdev: 6,
            size: 7,
            blksize: 4096,
            blocks: 8,
            atime: Timespec { sec: 9, nsec: 10 },
            mtime: Timespec { sec: 11, nsec: 12 },
            ctime: Timespec { sec: 13, nsec: 14 },
        };
        let bytes = st.encode();
        assert_eq!(Stat::decode(&bytes), Some(st));
        assert!(st.is_file() && !st.is_dir());
        assert_eq!(st.perm(), 0o644);
    }

    #[test]
    fn stat_fields_sit_at_lind_offsets() {
        let st = Stat {
            size: 0x0102,
            blksize: -1,
            ctime: Timespec { sec: 0, nsec: 0xAA },
            ..Stat::default()
        };
        let b = st.encode();
        assert_eq!(&b[40..42], &[0x02, 0x01]);
        assert_eq!(&b[48..52], &[0xFF; 4]);
        assert_eq!(b[96], 0xAA);
        assert_eq!(Stat::decode(&b[..103]), None);
    }
}
