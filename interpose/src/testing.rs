//! What the unit tests of this crate share: a fake 3i with an engine cage
//! and an app cage, and arguments as an app's glibc would pass them.

use boundary::fake::FakeThreeI;
use boundary::{args_of, Arg, Args, CageId};

/// The cage the engine runs in.
pub const ME: CageId = CageId(3);
/// The app cage whose calls are caught.
pub const APP: CageId = CageId(7);

/// A fake whose every call other than 1002 returns 0.
pub fn fake() -> FakeThreeI {
    FakeThreeI::new(ME, |_, _, _| 0)
}

/// Puts `data` at `offset` in the app's memory; its host address.
pub fn app_bytes(fake: &FakeThreeI, offset: u64, data: &[u8]) -> u64 {
    let host = FakeThreeI::host(APP, offset);
    fake.poke(host, data);
    host
}

/// An app's call arguments: `values`, every slot owned by the app.
pub fn app_args(values: &[u64]) -> Args {
    let mut args = args_of(APP, values);
    for (slot, v) in args.iter_mut().zip(values) {
        *slot = Arg::new(*v, APP);
    }
    args
}

/// An iovec array of `(host base, len)` in the app's memory at `offset`.
pub fn app_iovecs(fake: &FakeThreeI, offset: u64, iovs: &[(u64, u64)]) -> u64 {
    let bytes: Vec<u8> = iovs
        .iter()
        .flat_map(|(base, len)| base.to_le_bytes().into_iter().chain(len.to_le_bytes()))
        .collect();
    app_bytes(fake, offset, &bytes)
}
