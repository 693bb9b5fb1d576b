//! Directory entries as `getdents` fills them on Lind: the host's
//! `linux_dirent64` records (docs/lind-3i.md §9.3): `u64 d_ino`,
//! `i64 d_off`, `u16 d_reclen`, `u8 d_type`, then the NUL-ended name.

/// One directory entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dirent {
    /// `d_ino`.
    pub ino: u64,
    /// `d_off`: where the next entry is, for `lseek`.
    pub off: i64,
    /// `d_reclen`: this record's length.
    pub reclen: u16,
    /// `d_type` (`dirent_type` in [`crate::flags`]).
    pub kind: u8,
    /// `d_name`, without its NUL.
    pub name: Vec<u8>,
}

/// Bytes before the name.
const HEAD: usize = 19;

/// The entries in `data`, in order; `None` if a record's length runs past
/// the bytes or is shorter than its head (not a list of entries).
pub fn entries(data: &[u8]) -> Option<Vec<Dirent>> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < data.len() {
        let rec = data.get(at..)?;
        let reclen = u16::from_le_bytes(rec.get(16..18)?.try_into().ok()?);
        let len = usize::from(reclen);
        if len < HEAD || len > rec.len() {
            return None;
        }
        let name = &rec[HEAD..len];
        let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
        out.push(Dirent {
            ino: u64::from_le_bytes(rec[0..8].try_into().ok()?),
            off: i64::from_le_bytes(rec[8..16].try_into().ok()?),
            reclen,
            kind: rec[18],
            name: name[..end].to_vec(),
        });
        at += len;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(ino: u64, off: i64, kind: u8, name: &[u8]) -> Vec<u8> {
        let len = (HEAD + name.len() + 1).div_ceil(8) * 8;
        let mut r = Vec::new();
        r.extend_from_slice(&ino.to_le_bytes());
        r.extend_from_slice(&off.to_le_bytes());
        r.extend_from_slice(&(len as u16).to_le_bytes());
        r.push(kind);
        r.extend_from_slice(name);
        r.resize(len, 0);
        r
    }

    #[test]
    fn a_list_of_records_decodes_in_order() {
        let mut data = record(7, 1, 4, b".");
        data.extend(record(8, 2, 8, b"a.txt"));
        let got = entries(&data).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(
            (got[0].ino, got[0].reclen, &got[0].name[..]),
            (7, 24, &b"."[..])
        );
        assert_eq!((got[1].kind, &got[1].name[..]), (8, &b"a.txt"[..]));
    }

    #[test]
    fn a_length_past_the_bytes_is_not_a_list() {
        let mut data = record(7, 1, 4, b".");
        data.truncate(20);
        assert_eq!(entries(&data), None);
        assert_eq!(entries(&[0; 18]), None);
        assert_eq!(entries(&[]), Some(vec![]));
    }
}
