//! Kernel fd-table calls: numbering, dup, fcntl, pipes, fork and exit.

use boundary::consts::fcntl_cmd::*;
use boundary::consts::open_flags::*;
use boundary::stat::{S_IFIFO, S_IFMT};
use boundary::{Errno, Guest};

#[test]
fn dup_dup2_and_dup3_share_the_open_file_and_take_the_lowest_free_fd() {
    check!(|rt, _| {
        let g = Guest::new(rt);
        let fd = g.open("/f", O_CREAT | O_RDWR, 0o644).unwrap();
        assert_eq!(g.dup(fd), Ok(4));
        g.write_all(4, b"abc").unwrap();
        assert_eq!(g.lseek(fd, 0, 1), Ok(3), "the offset is shared");
        assert_eq!(g.dup2(fd, 9), Ok(9));
        assert_eq!(g.dup2(fd, fd), Ok(fd));
        assert_eq!(g.dup3(fd, fd, 0), Err(Errno::EINVAL));
        assert_eq!(g.dup3(fd, 10, O_CLOEXEC), Ok(10));
        assert_eq!(g.fcntl(10, F_GETFD, 0), Ok(FD_CLOEXEC));
        g.close(4).unwrap();
        assert_eq!(g.dup(fd), Ok(4));
        assert_eq!(g.dup(55), Err(Errno::EBADF));
        0
    });
}

#[test]
fn fcntl_dups_and_sets_fd_and_status_flags() {
    let ran = check!(|rt, _| {
        let g = Guest::new(rt);
        let fd = g.open("/f", O_CREAT | O_WRONLY, 0o644).unwrap();
        assert_eq!(g.fcntl(fd, F_DUPFD, 20), Ok(20));
        assert_eq!(g.fcntl(fd, F_DUPFD_CLOEXEC, 20), Ok(21));
        assert_eq!(g.fcntl(21, F_GETFD, 0), Ok(FD_CLOEXEC));
        g.fcntl(21, F_SETFD, 0).unwrap();
        assert_eq!(g.fcntl(21, F_GETFD, 0), Ok(0));
        assert_eq!(g.fcntl(fd, F_GETFL, 0), Ok(O_WRONLY));
        g.write_all(fd, b"12345").unwrap();
        g.lseek(fd, 0, 0).unwrap();
        g.fcntl(fd, F_SETFL, i64::from(O_APPEND)).unwrap();
        assert_eq!(g.fcntl(fd, F_GETFL, 0), Ok(O_WRONLY | O_APPEND));
        g.write_all(fd, b"6").unwrap();
        assert_eq!(g.fcntl(fd, 999, 0), Err(Errno::EINVAL));
        0
    });
    assert_eq!(std::fs::read(ran.root.path().join("f")).unwrap(), b"123456");
}

#[test]
fn pipes_block_signal_eof_and_epipe_and_honour_o_nonblock() {
    check!(|rt, _| {
        let g = Guest::new(rt);
        let [r, w] = g.pipe().unwrap();
        assert_eq!((r, w), (3, 4));
        assert_eq!(g.fstat(r).unwrap().mode & S_IFMT, S_IFIFO);
        g.write_all(w, b"ping").unwrap();
        let mut buf = [0u8; 8];
        assert_eq!(g.read(r, &mut buf), Ok(4));
        g.close(w).unwrap();
        assert_eq!(g.read(r, &mut buf), Ok(0), "EOF once writers are gone");
        let [r2, w2] = g.pipe2(O_NONBLOCK | O_CLOEXEC).unwrap();
        assert_eq!(g.read(r2, &mut buf), Err(Errno::EAGAIN));
        assert_eq!(g.fcntl(r2, F_GETFD, 0), Ok(FD_CLOEXEC));
        g.close(r2).unwrap();
        assert_eq!(g.write(w2, b"x"), Err(Errno::EPIPE));
        assert_eq!(g.pipe2(0o1), Err(Errno::EINVAL));
        0
    });
}

#[test]
fn fork_shares_open_files_and_exit_closes_the_childs_fds() {
    let ran = check!(|rt, _| {
        let g = Guest::new(rt);
        let fd = g.open("/f", O_CREAT | O_WRONLY, 0o644).unwrap();
        let [r, w] = g.pipe().unwrap();
        let child = g
            .fork(move |rt| {
                Guest::new(rt).write_all(fd, b"child ").unwrap();
                0
            })
            .unwrap();
        g.waitpid(child.0 as i64, 0).unwrap();
        g.write_all(fd, b"parent").unwrap();
        // The child held the pipe's write end too; its exit closed it.
        g.close(w).unwrap();
        assert_eq!(g.read(r, &mut [0u8; 4]), Ok(0));
        0
    });
    let text = std::fs::read_to_string(ran.root.path().join("f")).unwrap();
    assert_eq!(text, "child parent");
}

#[test]
fn stdio_of_the_first_cage_is_captured() {
    let ran = check!(|rt, _| {
        let g = Guest::new(rt);
        g.print("out");
        g.eprint("err");
        assert_eq!(g.read(0, &mut [0u8; 4]), Ok(0));
        0
    });
    assert_eq!(ran.ok().stdout_text(), "out");
    assert_eq!(ran.ok().stderr_text(), "err");
}

#[test]
fn mkfifo_makes_a_fifo_whose_opens_wait_for_each_other() {
    check!(|rt, _| {
        let g = Guest::new(rt);
        g.mkfifo("/p", 0o600).unwrap();
        assert_eq!(g.stat("/p").unwrap().mode & S_IFMT, S_IFIFO);
        assert_eq!(g.mkfifo("/p", 0o600), Err(Errno::EEXIST));
        // A device is refused, as for an unprivileged process on Linux.
        let device = boundary::stat::S_IFCHR | 0o600;
        assert_eq!(g.mknod("/dev0", device, 0), Err(Errno::EPERM));
        // With no writer yet, a non-blocking open for writing is ENXIO;
        // a reader's open then lets a writer in.
        assert_eq!(g.open("/p", O_WRONLY | O_NONBLOCK, 0), Err(Errno::ENXIO));
        let r = g.open("/p", O_RDONLY | O_NONBLOCK, 0).unwrap();
        let w = g.open("/p", O_WRONLY, 0).unwrap();
        g.write_all(w, b"through").unwrap();
        let mut buf = [0u8; 16];
        assert_eq!(g.read(r, &mut buf), Ok(7));
        assert_eq!(&buf[..7], b"through");
        0
    });
}
