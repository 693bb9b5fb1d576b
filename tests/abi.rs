//! The catalog (`formats::CATALOG`) is the one table of calls; every other
//! list of calls in the workspace must agree with it, so that a call the
//! kernel handles is never sent to the primary only for want of a row.

use std::collections::BTreeSet;

/// Rows the catalog keeps that RawPOSIX's table has not, and why.
const CATALOG_ONLY: &[(u32, &str)] = &[
    (
        34,
        "pause: not in RawPOSIX's table; kept so logs that hold it decode",
    ),
    (
        57,
        "fork: never issued by glibc; kept so old logs still decode",
    ),
    (85, "creat: the bundled imfs and archive grates answer it"),
    (217, "getdents64: the bundled imfs grate answers it"),
    (
        332,
        "statx: glibc defines it, RawPOSIX does not implement it",
    ),
    (1001, "3i register_handler, answered by 3i, not RawPOSIX"),
    (1002, "3i copy_data_between_cages"),
    (1003, "3i copy_handler_table_to_cage"),
];

#[test]
fn the_catalog_has_a_row_for_every_call_the_kernel_handles() {
    let kernel: BTreeSet<u32> = host::KERNEL_NUMBERS.iter().copied().collect();
    let catalog: BTreeSet<u32> = formats::CATALOG.iter().map(|r| r.nr).collect();
    let missing: Vec<u32> = kernel.difference(&catalog).copied().collect();
    assert!(
        missing.is_empty(),
        "the kernel handles calls with no catalog row: {missing:?}"
    );
    let allowed: BTreeSet<u32> = CATALOG_ONLY.iter().map(|(nr, _)| *nr).collect();
    let extra: Vec<u32> = catalog
        .difference(&kernel)
        .filter(|nr| !allowed.contains(nr))
        .copied()
        .collect();
    assert!(
        extra.is_empty(),
        "catalog rows the kernel does not handle: {extra:?}"
    );
    for (nr, why) in CATALOG_ONLY {
        assert!(
            !kernel.contains(nr),
            "{nr} is handled now; drop it from CATALOG_ONLY ({why})"
        );
    }
}

#[test]
fn the_bundled_grates_name_calls_as_the_catalog_does() {
    let mut wrong = Vec::new();
    for row in programs::syscalls::KNOWN {
        let named = formats::by_name(row.name).map(|r| r.nr);
        match formats::lookup(row.nr) {
            None => wrong.push(format!("{} ({}) has no catalog row", row.name, row.nr)),
            Some(known) if known.name != row.name && named != Some(row.nr) => wrong.push(format!(
                "the grates call {} {:?}, the catalog {:?}",
                row.nr, row.name, known.name
            )),
            Some(_) => {}
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("; "));
}
