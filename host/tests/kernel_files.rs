//! Kernel file calls on real files under a temporary lindfs root.

use boundary::consts::open_flags::*;
use boundary::stat::{S_IFLNK, S_IFMT};
use boundary::{nr, Errno, Guest};

#[test]
fn open_write_read_seek_and_positional_io_round_trip() {
    let ran = check!(|rt, _| {
        let g = Guest::new(rt);
        let fd = g.open("/data.txt", O_CREAT | O_RDWR, 0o640).unwrap();
        assert_eq!(fd, 3);
        assert_eq!(g.write(fd, b"hello world"), Ok(11));
        assert_eq!(g.lseek(fd, 0, 0), Ok(0));
        let mut buf = [0u8; 32];
        assert_eq!(g.read(fd, &mut buf), Ok(11));
        assert_eq!(&buf[..11], b"hello world");
        assert_eq!(g.pwrite(fd, b"WORLD", 6), Ok(5));
        assert_eq!(g.pread(fd, &mut buf[..11], 0), Ok(11));
        assert_eq!(&buf[..11], b"hello WORLD");
        assert_eq!(g.lseek(fd, 0, 2), Ok(11));
        assert_eq!(g.lseek(fd, -1, 0), Err(Errno::EINVAL));
        let st = g.fstat(fd).unwrap();
        assert!(st.is_file());
        assert_eq!((st.size, st.perm()), (11, 0o640));
        assert_eq!(g.stat("/data.txt").unwrap().ino, st.ino);
        g.fsync(fd).unwrap();
        g.fdatasync(fd).unwrap();
        g.close(fd).unwrap();
        assert_eq!(g.close(fd), Err(Errno::EBADF));
        0
    });
    let on_host = std::fs::read(ran.root.path().join("data.txt")).unwrap();
    assert_eq!(on_host, b"hello WORLD");
}

#[test]
fn readv_and_writev_use_lind_iovecs() {
    check!(|rt, _| {
        let g = Guest::new(rt);
        let fd = g.open("/v", O_CREAT | O_RDWR, 0o644).unwrap();
        assert_eq!(g.writev(fd, &[b"ab", b"", b"cde"]), Ok(5));
        g.lseek(fd, 0, 0).unwrap();
        let (mut x, mut y) = ([0u8; 3], [0u8; 4]);
        assert_eq!(g.readv(fd, &mut [&mut x, &mut y]), Ok(5));
        assert_eq!((&x, &y[..2]), (b"abc", &b"de"[..]));
        0
    });
}

#[test]
fn open_errors_are_negative_errnos() {
    check!(
        |rt, _| {
            let g = Guest::new(rt);
            assert_eq!(g.open("/missing", O_RDONLY, 0), Err(Errno::ENOENT));
            assert_eq!(
                g.open("/exists", O_CREAT | O_EXCL | O_WRONLY, 0o644),
                Err(Errno::EEXIST)
            );
            let ro = g.open("/exists", O_RDONLY, 0).unwrap();
            assert_eq!(g.write(ro, b"x"), Err(Errno::EBADF));
            let wo = g.open("/exists", O_WRONLY, 0).unwrap();
            assert_eq!(g.read(wo, &mut [0; 1]), Err(Errno::EBADF));
            let dir = g.open("/", O_RDONLY | O_DIRECTORY, 0).unwrap();
            assert_eq!(g.read(dir, &mut [0; 1]), Err(Errno::EISDIR));
            assert_eq!(
                g.open("/exists", O_RDONLY | O_DIRECTORY, 0),
                Err(Errno::ENOTDIR)
            );
            assert_eq!(g.read(99, &mut [0; 1]), Err(Errno::EBADF));
            0
        },
        |root| std::fs::write(root.join("exists"), "x").unwrap()
    );
}

#[test]
fn creat_truncate_and_ftruncate_change_sizes() {
    check!(|rt, _| {
        let g = Guest::new(rt);
        let fd = g.creat("/t", 0o600).unwrap();
        g.write_all(fd, b"0123456789").unwrap();
        g.ftruncate(fd, 4).unwrap();
        assert_eq!(g.fstat(fd).unwrap().size, 4);
        g.truncate("/t", 2).unwrap();
        assert_eq!(g.stat("/t").unwrap().size, 2);
        assert_eq!(g.truncate("/nope", 0), Err(Errno::ENOENT));
        0
    });
}

#[test]
fn stat_follows_links_and_lstat_does_not() {
    check!(
        |rt, _| {
            let g = Guest::new(rt);
            let target = g.stat("/target").unwrap();
            let via_link = g.stat("/link").unwrap();
            assert_eq!(target.ino, via_link.ino);
            let link = g.lstat("/link").unwrap();
            assert_eq!(link.mode & S_IFMT, S_IFLNK);
            assert_eq!(g.readlink("/link").unwrap(), b"target");
            assert_eq!(g.stat("/nope"), Err(Errno::ENOENT));
            0
        },
        |root| {
            std::fs::write(root.join("target"), "t").unwrap();
            std::os::unix::fs::symlink("target", root.join("link")).unwrap();
        }
    );
}

#[test]
fn access_and_chmod_follow_permission_bits() {
    check!(
        |rt, _| {
            let g = Guest::new(rt);
            g.access("/f", 0).unwrap();
            g.access("/f", 4).unwrap();
            assert_eq!(g.access("/missing", 0), Err(Errno::ENOENT));
            g.chmod("/f", 0o600).unwrap();
            assert_eq!(g.stat("/f").unwrap().perm(), 0o600);
            0
        },
        |root| std::fs::write(root.join("f"), "x").unwrap()
    );
}

#[test]
fn identity_and_time_calls_answer() {
    check!(|rt, _| {
        let g = Guest::new(rt);
        assert_eq!(g.getpid(), Ok(1));
        assert_eq!(g.syscall(102, &[]), 1000, "getuid is RawPOSIX's default");
        let ts = boundary::guest::OwnBuf::zeroed(rt, 16);
        assert_eq!(g.call(228, &[g.int(0), ts.arg()]), 0);
        let secs = i64::from_le_bytes(ts.to_vec()[..8].try_into().unwrap());
        assert!(secs > 1_600_000_000);
        let req = boundary::guest::OwnBuf::from_bytes(rt, &[0u8; 16]);
        assert_eq!(g.call(35, &[req.arg(), g.int(0)]), 0);
        // mmap: an anonymous region in this cage's memory.
        let addr = g.syscall(nr::MMAP, &[0, 4096, 3, 0x22, u64::MAX, 0]);
        assert!(addr > 0);
        rt.write_own(addr as u64, b"mapped");
        assert_eq!(g.syscall(nr::MMAP, &[0, 4096, 3, 0x02, 3, 0]), -19);
        0
    });
}
