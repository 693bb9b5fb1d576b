//! The ABI table's catalog is the one table of calls (its own test holds
//! it to RawPOSIX's list, which the host kernel uses as it is); what the
//! bundled grates register and print is read from it.

#[test]
fn the_bundled_grates_register_only_calls_the_catalog_has() {
    let missing: Vec<u32> = programs::syscalls::FILE_FD_PROC
        .iter()
        .copied()
        .filter(|&nr| abi::catalog::lookup(nr).is_none())
        .collect();
    assert!(missing.is_empty(), "no catalog row for {missing:?}");
    // The strace grate names a call as the catalog does.
    for &nr in programs::syscalls::FILE_FD_PROC {
        assert_eq!(
            programs::syscalls::name(nr),
            abi::catalog::lookup(nr).unwrap().name
        );
    }
}
