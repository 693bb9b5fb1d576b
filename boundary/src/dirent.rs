//! `linux_dirent64` records, the layout RawPOSIX's getdents fills (docs/lind-3i.md §9.3).
//!
//! `{ d_ino u64 | d_off i64 | d_reclen u16 | d_type u8 | name.. NUL | pad to 8 }`,
//! little-endian.

/// Bytes before the name.
const HEADER: usize = 19;

/// `d_type` values.
pub const DT_UNKNOWN: u8 = 0;
pub const DT_FIFO: u8 = 1;
pub const DT_CHR: u8 = 2;
pub const DT_DIR: u8 = 4;
pub const DT_BLK: u8 = 6;
pub const DT_REG: u8 = 8;
pub const DT_LNK: u8 = 10;
pub const DT_SOCK: u8 = 12;

/// One directory entry.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DirEntry {
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

/// Decodes records until the bytes end or a record is malformed (a record
/// length too short for its header or running past the end).
pub fn decode_dirents(bytes: &[u8]) -> Vec<DirEntry> {
    let mut out = Vec::new();
    let mut at = 0;
    while at + HEADER <= bytes.len() {
        let rec = &bytes[at..];
        let reclen = usize::from(u16::from_le_bytes([rec[16], rec[17]]));
        if reclen <= HEADER || reclen > rec.len() {
            break;
        }
        let mut ino = [0u8; 8];
        ino.copy_from_slice(&rec[..8]);
        let name_area = &rec[HEADER..reclen];
        let end = name_area
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(name_area.len());
        out.push(DirEntry {
            ino: u64::from_le_bytes(ino),
            kind: rec[18],
            name: name_area[..end].to_vec(),
        });
        at += reclen;
    }
    out
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
    }
}
