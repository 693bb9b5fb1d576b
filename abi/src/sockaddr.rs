//! Socket addresses as the app passes them (`struct sockaddr_in`,
//! `sockaddr_in6`, `sockaddr_un`): Linux layouts, which Lind's glibc uses.

use crate::flags::family;

/// A decoded socket address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SockAddr {
    /// `AF_INET`.
    Inet {
        /// The port, in host order.
        port: u16,
        /// The address, in network order.
        addr: [u8; 4],
    },
    /// `AF_INET6`.
    Inet6 {
        /// The port, in host order.
        port: u16,
        /// The flow label, in host order.
        flowinfo: u32,
        /// The address, in network order.
        addr: [u8; 16],
        /// The scope id.
        scope_id: u32,
    },
    /// `AF_UNIX`.
    Unix {
        /// The path up to its NUL (an abstract name starts with one and is
        /// kept whole).
        path: Vec<u8>,
    },
}

impl SockAddr {
    /// The address in `data`, or `None` for a family this does not know or
    /// bytes too short for it.
    pub fn decode(data: &[u8]) -> Option<SockAddr> {
        let family = i32::from(u16::from_le_bytes(data.get(..2)?.try_into().ok()?));
        let port = || Some(u16::from_be_bytes(data.get(2..4)?.try_into().ok()?));
        match family {
            family::AF_INET => Some(SockAddr::Inet {
                port: port()?,
                addr: data.get(4..8)?.try_into().ok()?,
            }),
            family::AF_INET6 => Some(SockAddr::Inet6 {
                port: port()?,
                flowinfo: u32::from_be_bytes(data.get(4..8)?.try_into().ok()?),
                addr: data.get(8..24)?.try_into().ok()?,
                scope_id: u32::from_le_bytes(data.get(24..28)?.try_into().ok()?),
            }),
            family::AF_UNIX => {
                let name = data.get(2..)?;
                let end = match name.first() {
                    Some(0) => name.len(),
                    _ => name.iter().position(|&b| b == 0).unwrap_or(name.len()),
                };
                Some(SockAddr::Unix {
                    path: name[..end].to_vec(),
                })
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inet_unix_and_inet6_addresses_decode() {
        let inet = [2, 0, 0, 80, 127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(
            SockAddr::decode(&inet),
            Some(SockAddr::Inet {
                port: 80,
                addr: [127, 0, 0, 1]
            })
        );
        let mut unix = vec![1, 0];
        unix.extend_from_slice(b"/tmp/sock\0\0\0");
        assert_eq!(
            SockAddr::decode(&unix),
            Some(SockAddr::Unix {
                path: b"/tmp/sock".to_vec()
            })
        );
        let mut inet6 = vec![10, 0, 0x1f, 0x90, 0, 0, 0, 0];
        inet6.extend_from_slice(&[0; 15]);
        inet6.extend_from_slice(&[1, 0, 0, 0, 0]);
        let Some(SockAddr::Inet6 { port, addr, .. }) = SockAddr::decode(&inet6) else {
            panic!("not inet6");
        };
        assert_eq!((port, addr[15]), (8080, 1));
    }

    #[test]
    fn unknown_families_and_short_bytes_are_none() {
        assert_eq!(SockAddr::decode(&[16, 0, 1, 2]), None);
        assert_eq!(SockAddr::decode(&[2, 0, 0]), None);
        assert_eq!(SockAddr::decode(&[]), None);
    }
}
