//! `demo-files [DIR]`: the file workload every grate is tried on.
//!
//! Leaves exactly these files in DIR (see [`final_files`]): notes.txt,
//! data.bin, dup.txt, child-done.txt, sub/vec.txt, sub/final.txt.

use super::demo_child::CHILD_DONE;
use super::{ensure, expect_content, mkdir_ok, read_file, run_child, OrFail, Outcome};
use boundary::consts::fcntl_cmd::{FD_CLOEXEC, F_DUPFD, F_GETFD};
use boundary::consts::open_flags::{
    O_APPEND, O_CLOEXEC, O_CREAT, O_DIRECTORY, O_RDONLY, O_RDWR, O_TRUNC, O_WRONLY,
};
use boundary::consts::AT_FDCWD;
use boundary::{Errno, Guest};

const SEEK_SET: i32 = 0;
const SEEK_END: i32 = 2;
/// access(2)'s existence test.
const F_OK: i32 = 0;

const NOTES: &[u8] = b"alpha\nbeta\ngamma\n";
const VEC: &[u8] = b"one two three\n";
const DRAFT: &[u8] = b"draft\n";
const DUPS: &[u8] = b"dup\ndup2\ndup3\ndupfd\n";
const PIPE_MSG: &[u8] = b"through the pipe";
const DATA_LEN: usize = 64;

/// Every file the run leaves, relative to DIR, with its final content.
pub fn final_files() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("child-done.txt", CHILD_DONE.to_vec()),
        ("data.bin", data_bin()),
        ("dup.txt", DUPS.to_vec()),
        ("notes.txt", NOTES.to_vec()),
        ("sub/final.txt", DRAFT.to_vec()),
        ("sub/vec.txt", VEC.to_vec()),
    ]
}

/// data.bin: a pattern, overwritten at 10 by lseek+write and at 40 by pwrite.
fn data_bin() -> Vec<u8> {
    let mut data: Vec<u8> = (0..DATA_LEN).map(|i| (i * 7 + 3) as u8).collect();
    data[10..13].copy_from_slice(b"XYZ");
    data[40..42].copy_from_slice(b"PW");
    data
}

pub(super) fn run(guest: &Guest<'_>, argv: &[String]) -> Outcome {
    let dir = argv.get(1).map_or("demo-out", String::as_str);
    mkdir_ok(guest, dir)?;
    mkdir_ok(guest, &format!("{dir}/sub"))?;
    notes(guest, dir)?;
    data(guest, dir)?;
    vectored(guest, dir)?;
    rename_unlink_rmdir(guest, dir)?;
    duplicates(guest, dir)?;
    pipe_round_trip(guest)?;
    run_child(guest, vec!["demo-child".into(), dir.into()])?;
    for (name, content) in final_files() {
        expect_content(guest, &format!("{dir}/{name}"), &content)?;
    }
    summary(guest, dir)
}

/// Create, write, then append with O_APPEND: the lseek before the last
/// write must not matter, since O_APPEND writes always go to the end.
fn notes(guest: &Guest<'_>, dir: &str) -> Outcome {
    let path = format!("{dir}/notes.txt");
    let fd = guest
        .open(&path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        .or_fail("create notes.txt")?;
    guest.write_all(fd, b"alpha\n").or_fail("write notes.txt")?;
    guest.close(fd).or_fail("close notes.txt")?;

    let fd = guest
        .open(&path, O_WRONLY | O_APPEND, 0)
        .or_fail("open notes.txt for append")?;
    guest.write_all(fd, b"beta\n").or_fail("append notes.txt")?;
    guest.lseek(fd, 0, SEEK_SET).or_fail("lseek notes.txt")?;
    guest
        .write_all(fd, b"gamma\n")
        .or_fail("append notes.txt")?;
    guest.close(fd).or_fail("close notes.txt")?;

    // Read back relative to a directory fd.
    let dirfd = guest
        .open(dir, O_RDONLY | O_DIRECTORY, 0)
        .or_fail("open DIR")?;
    let fd = guest
        .openat(dirfd, "notes.txt", O_RDONLY, 0)
        .or_fail("openat notes.txt")?;
    let read = guest.read_to_end(fd).or_fail("read notes.txt")?;
    guest.close(fd).or_fail("close notes.txt")?;
    guest.close(dirfd).or_fail("close DIR")?;
    ensure(read == NOTES, || format!("notes.txt holds {read:?}"))?;
    guest.access(&path, F_OK).or_fail("access notes.txt")
}

/// Overwrite after lseek, pwrite/pread, fstat, and read the whole back.
fn data(guest: &Guest<'_>, dir: &str) -> Outcome {
    let path = format!("{dir}/data.bin");
    let pattern: Vec<u8> = (0..DATA_LEN).map(|i| (i * 7 + 3) as u8).collect();
    let fd = guest
        .open(&path, O_RDWR | O_CREAT | O_TRUNC, 0o644)
        .or_fail("create data.bin")?;
    guest.write_all(fd, &pattern).or_fail("write data.bin")?;
    let at = guest.lseek(fd, 10, SEEK_SET).or_fail("lseek data.bin")?;
    ensure(at == 10, || format!("lseek returned {at}"))?;
    guest.write_all(fd, b"XYZ").or_fail("overwrite data.bin")?;
    let n = guest.pwrite(fd, b"PW", 40).or_fail("pwrite data.bin")?;
    ensure(n == 2, || format!("pwrite wrote {n}"))?;

    let expected = data_bin();
    let mut window = [0u8; 8];
    let n = guest.pread(fd, &mut window, 8).or_fail("pread data.bin")?;
    ensure(n == 8 && window[..] == expected[8..16], || {
        format!("pread got {:?}", &window[..n])
    })?;
    let end = guest.lseek(fd, 0, SEEK_END).or_fail("lseek end")?;
    ensure(end == DATA_LEN as i64, || format!("end at {end}"))?;
    let size = guest.fstat(fd).or_fail("fstat data.bin")?.size;
    ensure(size == DATA_LEN as u64, || format!("fstat size {size}"))?;
    guest.lseek(fd, 0, SEEK_SET).or_fail("rewind data.bin")?;
    let all = guest.read_to_end(fd).or_fail("read data.bin")?;
    guest.close(fd).or_fail("close data.bin")?;
    ensure(all == expected, || "data.bin content differs".into())
}

/// writev then readv across buffer boundaries.
fn vectored(guest: &Guest<'_>, dir: &str) -> Outcome {
    let path = format!("{dir}/sub/vec.txt");
    let fd = guest
        .open(&path, O_RDWR | O_CREAT | O_TRUNC, 0o644)
        .or_fail("create vec.txt")?;
    let n = guest
        .writev(fd, &[b"one ", b"two ", b"three\n"])
        .or_fail("writev vec.txt")?;
    ensure(n == VEC.len(), || format!("writev wrote {n}"))?;
    guest.lseek(fd, 0, SEEK_SET).or_fail("rewind vec.txt")?;
    let (mut a, mut b, mut c) = ([0u8; 3], [0u8; 5], [0u8; 16]);
    let n = guest
        .readv(fd, &mut [&mut a, &mut b, &mut c])
        .or_fail("readv vec.txt")?;
    guest.close(fd).or_fail("close vec.txt")?;
    let joined = [&a[..], &b[..], &c[..n.saturating_sub(8)]].concat();
    ensure(n == VEC.len() && joined == VEC, || {
        format!("readv read {n}: {joined:?}")
    })
}

/// A file renamed into sub/, one unlinked, one directory removed.
fn rename_unlink_rmdir(guest: &Guest<'_>, dir: &str) -> Outcome {
    let draft = format!("{dir}/draft.txt");
    let fd = guest.creat(&draft, 0o644).or_fail("creat draft.txt")?;
    guest.write_all(fd, DRAFT).or_fail("write draft.txt")?;
    guest.close(fd).or_fail("close draft.txt")?;
    guest
        .rename(&draft, &format!("{dir}/sub/final.txt"))
        .or_fail("rename draft.txt")?;
    let gone = guest.stat(&draft).map(drop);
    ensure(gone == Err(Errno::ENOENT), || {
        format!("draft.txt after rename: {gone:?}")
    })?;

    let tmp = format!("{dir}/tmp.txt");
    let fd = guest
        .open(&tmp, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        .or_fail("create tmp.txt")?;
    guest
        .write_all(fd, b"temporary\n")
        .or_fail("write tmp.txt")?;
    guest.close(fd).or_fail("close tmp.txt")?;
    guest.unlink(&tmp).or_fail("unlink tmp.txt")?;
    let gone = guest.stat(&tmp).map(drop);
    ensure(gone == Err(Errno::ENOENT), || {
        format!("tmp.txt after unlink: {gone:?}")
    })?;

    let empty = format!("{dir}/empty");
    mkdir_ok(guest, &empty)?;
    guest.rmdir(&empty).or_fail("rmdir empty")?;
    let gone = guest.stat(&empty).map(drop);
    ensure(gone == Err(Errno::ENOENT), || {
        format!("empty/ after rmdir: {gone:?}")
    })
}

/// dup, dup2, dup3 and F_DUPFD all share the file offset.
fn duplicates(guest: &Guest<'_>, dir: &str) -> Outcome {
    let path = format!("{dir}/dup.txt");
    let fd = guest
        .openat(AT_FDCWD, &path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        .or_fail("create dup.txt")?;
    let d1 = guest.dup(fd).or_fail("dup")?;
    guest.write_all(d1, b"dup\n").or_fail("write dup")?;
    let d2 = guest.dup2(fd, 20).or_fail("dup2")?;
    ensure(d2 == 20, || format!("dup2 returned {d2}"))?;
    guest.write_all(d2, b"dup2\n").or_fail("write dup2")?;
    let d3 = guest.dup3(fd, 21, O_CLOEXEC).or_fail("dup3")?;
    ensure(d3 == 21, || format!("dup3 returned {d3}"))?;
    let fd_flags = guest.fcntl(d3, F_GETFD, 0).or_fail("F_GETFD dup3")?;
    ensure(fd_flags & FD_CLOEXEC != 0, || "dup3 lost O_CLOEXEC".into())?;
    guest.write_all(d3, b"dup3\n").or_fail("write dup3")?;
    let d4 = guest.fcntl(fd, F_DUPFD, 30).or_fail("F_DUPFD")?;
    ensure(d4 >= 30, || format!("F_DUPFD returned {d4}"))?;
    guest.write_all(d4, b"dupfd\n").or_fail("write F_DUPFD")?;
    let fd_flags = guest.fcntl(fd, F_GETFD, 0).or_fail("F_GETFD")?;
    ensure(fd_flags & FD_CLOEXEC == 0, || {
        "plain fd is close-on-exec".into()
    })?;
    for d in [fd, d1, d2, d3, d4] {
        guest.close(d).or_fail("close dup")?;
    }
    let size = guest.stat(&path).or_fail("stat dup.txt")?.size;
    ensure(size == DUPS.len() as u64, || format!("dup.txt size {size}"))
}

/// Bytes written into a pipe come out of it; EOF once the writer closes.
fn pipe_round_trip(guest: &Guest<'_>) -> Outcome {
    let [rd, wr] = guest.pipe().or_fail("pipe")?;
    guest.write_all(wr, PIPE_MSG).or_fail("write pipe")?;
    let mut buf = [0u8; 64];
    let n = guest.read(rd, &mut buf).or_fail("read pipe")?;
    ensure(buf[..n] == *PIPE_MSG, || {
        format!("pipe gave {:?}", &buf[..n])
    })?;
    guest.close(wr).or_fail("close pipe writer")?;
    let n = guest.read(rd, &mut buf).or_fail("read pipe at EOF")?;
    ensure(n == 0, || format!("pipe read {n} bytes after EOF"))?;
    guest.close(rd).or_fail("close pipe reader")
}

/// Lists DIR and DIR/sub (getdents, sorted, without . and ..) with sizes.
fn summary(guest: &Guest<'_>, dir: &str) -> Outcome {
    let mut out = format!("demo-files: {dir}\n");
    for sub in ["", "sub/"] {
        for name in list(guest, &format!("{dir}/{sub}"))? {
            let path = format!("{dir}/{sub}{name}");
            let st = guest.stat(&path).or_fail(&format!("stat {path}"))?;
            if st.is_dir() {
                out.push_str(&format!("  {sub}{name}/\n"));
            } else {
                let content = read_file(guest, &path)?;
                ensure(content.len() as u64 == st.size, || {
                    format!("{path}: stat size")
                })?;
                out.push_str(&format!("  {sub}{name} {}\n", st.size));
            }
        }
    }
    guest.print(&out);
    Ok(())
}

/// The sorted names in a directory, read with getdents.
fn list(guest: &Guest<'_>, dir: &str) -> Result<Vec<String>, super::Failure> {
    let fd = guest
        .open(dir, O_RDONLY | O_DIRECTORY, 0)
        .or_fail(&format!("open {dir}"))?;
    let mut names = Vec::new();
    loop {
        let batch = guest
            .getdents(fd, 512)
            .or_fail(&format!("getdents {dir}"))?;
        if batch.is_empty() {
            break;
        }
        names.extend(
            batch
                .into_iter()
                .map(|e| String::from_utf8_lossy(&e.name).into_owned())
                .filter(|n| n != "." && n != ".."),
        );
    }
    guest.close(fd).or_fail(&format!("close {dir}"))?;
    names.sort();
    Ok(names)
}
