//! The ABI table's catalog is the one table of calls (its own test holds
//! it to RawPOSIX's list, which the host kernel uses as it is); the bundled
//! grates' table of names and argument shapes must agree with it.

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
