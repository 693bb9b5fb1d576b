//! Translated iovec arrays: glibc hands readv and writev an array of
//! `{u64 host base, u64 len}` (docs/lind-3i.md §9.3), not the guest's own layout.

use crate::consts::IOVEC_SIZE;

/// The most elements an iovec array may have; more is EINVAL, as on Linux.
pub const IOV_MAX: usize = 1024;

/// One element: a host address in the array's own cage, and a length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IoVec {
    pub base: u64,
    pub len: u64,
}

impl IoVec {
    /// Decodes a whole array (a trailing partial element is ignored).
    pub fn decode_all(raw: &[u8]) -> Vec<IoVec> {
        raw.chunks_exact(IOVEC_SIZE)
            .map(|element| {
                let (base, len) = element.split_at(8);
                IoVec {
                    base: u64::from_le_bytes(base.try_into().unwrap_or_default()),
                    len: u64::from_le_bytes(len.try_into().unwrap_or_default()),
                }
            })
            .collect()
    }

    /// Encodes `elements` as an array.
    pub fn encode_all(elements: impl IntoIterator<Item = IoVec>) -> Vec<u8> {
        elements
            .into_iter()
            .flat_map(|v| v.base.to_le_bytes().into_iter().chain(v.len.to_le_bytes()))
            .collect()
    }

    /// The byte size of an array of `count` elements, if it is allowed.
    pub fn array_size(count: u64) -> Option<usize> {
        usize::try_from(count)
            .ok()
            .filter(|&n| n <= IOV_MAX)
            .map(|n| n * IOVEC_SIZE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrays_round_trip() {
        let v = [
            IoVec {
                base: 0x3_0000_1000,
                len: 6,
            },
            IoVec { base: 7, len: 0 },
        ];
        let raw = IoVec::encode_all(v);
        assert_eq!(raw.len(), 32);
        assert_eq!(IoVec::decode_all(&raw), v);
    }

    #[test]
    fn too_many_elements_are_refused() {
        assert_eq!(IoVec::array_size(2), Some(32));
        assert_eq!(IoVec::array_size(IOV_MAX as u64 + 1), None);
    }
}
