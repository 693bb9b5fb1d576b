//! `linux_dirent64` records, the layout RawPOSIX's getdents fills (docs/lind-3i.md §9.3).
//!
//! `{ d_ino u64 | d_off i64 | d_reclen u16 | d_type u8 | name.. NUL | pad to 8 }`,
//! little-endian.

/// Bytes before the name.
const HEADER: usize = 19;

use crate::flags::dirent_type as t;

/// `d_type` of a directory.
pub const DT_DIR: u8 = t::DT_DIR as u8;
/// `d_type` of a regular file.
pub const DT_REG: u8 = t::DT_REG as u8;
/// `d_type` of a symbolic link.
pub const DT_LNK: u8 = t::DT_LNK as u8;
/// `d_type` when the filesystem does not say.
pub const DT_UNKNOWN: u8 = t::DT_UNKNOWN as u8;

/// One directory entry.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DirEntry {
    /// `d_ino`.
    pub ino: u64,
    /// `d_type`.
    pub kind: u8,
    /// The name without its NUL.
    pub name: Vec<u8>,
}

impl DirEntry {
    /// The record length: header, name, NUL, padded to 8.
    pub fn reclen(&self) -> usize {
        (HEADER + self.name.len() + 1).div_ceil(8) * 8
    }
}

/// Encodes as many whole records as fit in `cap` bytes; `d_off` counts
/// entries from 1. Returns the bytes and how many entries fitted.
pub fn encode_dirents(entries: &[DirEntry], cap: usize) -> (Vec<u8>, usize) {
    encode_dirents_at(entries, cap, 0)
}

/// As [`encode_dirents`], with `d_off` counting on from `first_off`
/// (the number of entries a directory stream already returned).
pub fn encode_dirents_at(entries: &[DirEntry], cap: usize, first_off: i64) -> (Vec<u8>, usize) {
    let mut out = Vec::new();
    let mut fitted = 0;
    for (i, entry) in entries.iter().enumerate() {
        let reclen = entry.reclen();
        if out.len() + reclen > cap || reclen > usize::from(u16::MAX) {
            break;
        }
        let start = out.len();
        out.extend_from_slice(&entry.ino.to_le_bytes());
        out.extend_from_slice(&(first_off + i as i64 + 1).to_le_bytes());
        out.extend_from_slice(&(reclen as u16).to_le_bytes());
        out.push(entry.kind);
        out.extend_from_slice(&entry.name);
        out.resize(start + reclen, 0);
        fitted += 1;
    }
    (out, fitted)
}

/// A decoded record: the entry, and the two fields only a listing shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listed {
    /// The entry.
    pub entry: DirEntry,
    /// `d_off`: where the next entry is, for `lseek`.
    pub off: i64,
    /// `d_reclen`: this record's length.
    pub reclen: u16,
}

/// Decodes records until the bytes end or a record is malformed (a record
/// length too short for its header or running past the end); whether the
/// bytes were records all through.
fn decode(bytes: &[u8]) -> (Vec<Listed>, bool) {
    let mut out = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let rec = &bytes[at..];
        let Some(reclen) = rec.get(16..18).map(|b| u16::from_le_bytes([b[0], b[1]])) else {
            return (out, false);
        };
        let len = usize::from(reclen);
        if len <= HEADER || len > rec.len() {
            return (out, false);
        }
        let field = |at: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&rec[at..at + 8]);
            b
        };
        let name_area = &rec[HEADER..len];
        let end = name_area
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(name_area.len());
        out.push(Listed {
            entry: DirEntry {
                ino: u64::from_le_bytes(field(0)),
                kind: rec[18],
                name: name_area[..end].to_vec(),
            },
            off: i64::from_le_bytes(field(8)),
            reclen,
        });
        at += len;
    }
    (out, true)
}

/// Decodes records until the bytes end or a record is malformed.
pub fn decode_dirents(bytes: &[u8]) -> Vec<DirEntry> {
    decode(bytes).0.into_iter().map(|l| l.entry).collect()
}

/// Every record of a getdents buffer with its offsets, or `None` if the
/// bytes are not records all through.
pub fn listing(bytes: &[u8]) -> Option<Vec<Listed>> {
    match decode(bytes) {
        (listed, true) => Some(listed),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, kind: u8) -> DirEntry {
        DirEntry {
            ino: 7,
            kind,
            name: name.as_bytes().to_vec(),
        }
    }

    #[test]
    fn dirents_round_trip_padded_to_eight() {
        let entries = vec![entry(".", DT_DIR), entry("a-longer-name.txt", DT_REG)];
        let (bytes, fitted) = encode_dirents(&entries, 4096);
        assert_eq!(fitted, 2);
        assert_eq!(bytes.len() % 8, 0);
        assert_eq!(entries[0].reclen(), 24);
        assert_eq!(decode_dirents(&bytes), entries);
    }

    #[test]
    fn dirents_stop_at_the_capacity() {
        let entries = vec![entry("x", DT_REG), entry("y", DT_REG)];
        let (bytes, fitted) = encode_dirents(&entries, 30);
        assert_eq!((bytes.len(), fitted), (24, 1));
        let (none, zero) = encode_dirents(&entries, 10);
        assert!(none.is_empty() && zero == 0);
    }

    #[test]
    fn dirents_offsets_continue_from_first_off() {
        let (bytes, _) = encode_dirents_at(&[entry("z", DT_REG)], 64, 5);
        assert_eq!(i64::from_le_bytes(bytes[8..16].try_into().unwrap()), 6);
    }

    #[test]
    fn malformed_dirents_end_decoding() {
        let (mut bytes, _) = encode_dirents(&[entry("x", DT_REG)], 64);
        bytes[16] = 200;
        assert!(decode_dirents(&bytes).is_empty());
        assert_eq!(listing(&bytes), None);
        assert_eq!(listing(&[0; 18]), None);
        assert_eq!(listing(&[]), Some(vec![]));
    }

    #[test]
    fn a_listing_keeps_offsets_and_lengths() {
        let entries = vec![entry(".", DT_DIR), entry("a.txt", DT_REG)];
        let (bytes, _) = encode_dirents_at(&entries, 4096, 3);
        let listed = listing(&bytes).unwrap();
        assert_eq!(listed.len(), 2);
        assert_eq!((listed[0].off, listed[0].reclen), (4, 24));
        assert_eq!(
            (listed[1].off, &listed[1].entry.name[..]),
            (5, &b"a.txt"[..])
        );
    }
}
