//! Kernel directory and path calls: lindfs root, cwd, getdents.

use boundary::consts::open_flags::*;
use boundary::consts::{AT_FDCWD, AT_REMOVEDIR};
use boundary::dirent::{DT_DIR, DT_REG};
use boundary::{Errno, Guest};

#[test]
fn mkdir_rmdir_unlink_unlinkat_and_rename_change_the_host_tree() {
    let ran = check!(|rt, _| {
        let g = Guest::new(rt);
        g.mkdir("/d", 0o755).unwrap();
        assert_eq!(g.mkdir("/d", 0o755), Err(Errno::EEXIST));
        let fd = g.open("/d/f", O_CREAT | O_WRONLY, 0o644).unwrap();
        g.close(fd).unwrap();
        assert_eq!(g.rmdir("/d"), Err(Errno::ENOTEMPTY));
        g.rename("/d/f", "/d/g").unwrap();
        g.unlink("/d/g").unwrap();
        assert_eq!(g.unlink("/d/g"), Err(Errno::ENOENT));
        g.mkdir("/e", 0o755).unwrap();
        g.unlinkat(AT_FDCWD, "/e", AT_REMOVEDIR).unwrap();
        let fd = g.open("/d/h", O_CREAT | O_WRONLY, 0o644).unwrap();
        g.close(fd).unwrap();
        let dir = g.open("/d", O_RDONLY | O_DIRECTORY, 0).unwrap();
        g.unlinkat(dir, "h", 0).unwrap();
        g.rmdir("/d").unwrap();
        g.mkdir("/kept", 0o700).unwrap();
        0
    });
    let names: Vec<_> = std::fs::read_dir(ran.root.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["kept"]);
}

#[test]
fn relative_paths_resolve_against_the_cwd_and_never_leave_the_root() {
    check!(
        |rt, _| {
            let g = Guest::new(rt);
            assert_eq!(g.getcwd().unwrap(), "/");
            g.chdir("sub").unwrap();
            assert_eq!(g.getcwd().unwrap(), "/sub");
            let fd = g.open("inner", O_RDONLY, 0).unwrap();
            assert_eq!(g.read_to_end(fd).unwrap(), b"in sub");
            // `..` stops at the lindfs root.
            g.chdir("../../..").unwrap();
            assert_eq!(g.getcwd().unwrap(), "/");
            let fd = g.open("../../top", O_RDONLY, 0).unwrap();
            assert_eq!(g.read_to_end(fd).unwrap(), b"at root");
            assert_eq!(g.chdir("/top"), Err(Errno::ENOTDIR));
            // openat and fchdir work from a directory fd.
            let dir = g.open("/sub", O_RDONLY | O_DIRECTORY, 0).unwrap();
            let fd = g.openat(dir, "inner", O_RDONLY, 0).unwrap();
            assert_eq!(g.read_to_end(fd).unwrap(), b"in sub");
            g.fchdir(dir).unwrap();
            assert_eq!(g.getcwd().unwrap(), "/sub");
            0
        },
        |root| {
            std::fs::create_dir(root.join("sub")).unwrap();
            std::fs::write(root.join("sub/inner"), "in sub").unwrap();
            std::fs::write(root.join("top"), "at root").unwrap();
        }
    );
}

#[test]
fn getdents_fills_dirent64_records_and_returns_minus_one_on_errors() {
    check!(
        |rt, _| {
            let g = Guest::new(rt);
            let dir = g.open("/d", O_RDONLY | O_DIRECTORY, 0).unwrap();
            let entries = g.getdents(dir, 4096).unwrap();
            let names: Vec<&[u8]> = entries.iter().map(|e| &e.name[..]).collect();
            assert_eq!(names, [&b"."[..], b"..", b"a", b"b", b"sub"]);
            assert_eq!(entries[2].kind, DT_REG);
            assert_eq!(entries[4].kind, DT_DIR);
            assert!(g.getdents(dir, 4096).unwrap().is_empty());
            g.lseek(dir, 0, 0).unwrap();
            assert_eq!(g.getdents(dir, 4096).unwrap().len(), 5);
            // Too small for one record, or not a directory: RawPOSIX's -1.
            g.lseek(dir, 0, 0).unwrap();
            assert_eq!(g.getdents(dir, 8), Err(Errno::EPERM));
            let file = g.open("/d/a", O_RDONLY, 0).unwrap();
            assert_eq!(g.getdents(file, 4096), Err(Errno::EPERM));
            assert_eq!(g.getdents(77, 4096), Err(Errno::EBADF));
            0
        },
        |root| {
            std::fs::create_dir_all(root.join("d/sub")).unwrap();
            std::fs::write(root.join("d/b"), "").unwrap();
            std::fs::write(root.join("d/a"), "").unwrap();
        }
    );
}
