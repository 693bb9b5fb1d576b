//! The [`ThreeI`] trait: one cage's view of 3i.

use crate::args::{Arg, Args, CageId};
use crate::consts::{ELINDAPIABORTED, GRATE_MEMORY_FLAG, UNUSED_ARG};
use crate::errno::{check, Errno};
use crate::nr;
use crate::registration::Registration;

/// How `copy_data_between_cages` copies (docs/lind-3i.md §5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CopyKind {
    /// Exactly `len` bytes.
    Raw = 0,
    /// A NUL-terminated string of at most `len` bytes, NUL included.
    CStr = 1,
}

/// Runs in the parent between a child's creation and its exec: the place to
/// register handlers on the child, as grate-rs's preexec step does.
pub type ChildSetup<'a> = &'a mut dyn FnMut(CageId) -> Result<(), Errno>;

/// What a forked child runs: its exit status is the return value.
pub type ChildMain = Box<dyn FnOnce(&dyn ThreeI) -> i32 + Send>;

/// What a thread started by [`ThreeI::spawn_thread`] runs.
pub type ThreadBody = Box<dyn FnOnce(&dyn ThreeI) + Send>;

/// Waits for a thread started by [`ThreeI::spawn_thread`].
pub struct ThreadJoin(pub Box<dyn FnOnce() + Send>);

impl ThreadJoin {
    /// Blocks until the thread has ended.
    pub fn join(self) {
        (self.0)()
    }
}

impl std::fmt::Debug for ThreadJoin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ThreadJoin")
    }
}

/// One cage's view of 3i: what Lind's glibc and grate-rs give a grate.
///
/// Implemented by the host runtime for tests and by the Lind adapter for real
/// use. Required methods are the platform's primitives; provided methods
/// build the 3i calls from them exactly as glibc packs them.
pub trait ThreeI: Send + Sync {
    /// This cage's id.
    fn cage_id(&self) -> CageId;

    /// `make_threei_call(nr, 0, self_cage, target, args…, translate_errno=0)`.
    ///
    /// Routing is by `self_cage`'s table alone. An argument whose argcage is
    /// `cage_id() | GRATE_MEMORY_FLAG` is a guest pointer into this cage's
    /// memory and reaches 3i as a host address; every other argument passes
    /// unchanged with bit 63 cleared (docs/lind-3i.md §4.1).
    fn make_call(&self, nr: u32, self_cage: CageId, target: CageId, args: &Args) -> i32;

    /// Allocates `len` zeroed bytes of this cage's memory; never address 0.
    fn alloc(&self, len: usize) -> u64;
    /// Returns memory from [`ThreeI::alloc`].
    fn free(&self, addr: u64, len: usize);
    /// Reads this cage's own memory.
    fn read_own(&self, addr: u64, out: &mut [u8]);
    /// Writes this cage's own memory.
    fn write_own(&self, addr: u64, data: &[u8]);
    /// The own-memory address of the bytes at `ptr`, when this cage's
    /// memory is the running program's own (a Lind grate: its linear
    /// memory), so that a call can read or fill a Rust buffer in place;
    /// `None` where own memory is kept apart (the host runtime), and
    /// callers copy through [`ThreeI::alloc`]. The address is only good
    /// while the buffer is borrowed.
    fn own_addr(&self, ptr: *const u8) -> Option<u64> {
        let _ = ptr;
        None
    }
    /// The host address of an own guest address, as glibc's translation
    /// computes it: what goes inside structures of host addresses (iovec
    /// arrays, argv arrays) that 3i passes on untranslated.
    fn host_addr(&self, addr: u64) -> u64;

    /// An owned handle to this cage's view, for state that outlives one call
    /// (a log file written from every handler).
    fn detach(&self) -> std::sync::Arc<dyn ThreeI>;

    /// The function pointer to register for an engine's handler key.
    fn handler_ptr(&self, key: u64) -> u64 {
        key
    }

    /// Forks this cage; the child runs `child` and exits with its result.
    /// Returns the child's id as the fork result (which a grate may spoof).
    fn fork(&self, child: ChildMain) -> Result<CageId, Errno>;

    /// Starts a child cage that execs `argv` once `setup` has run for it in
    /// the parent: grate-rs's fork, register, post-semaphore, exec pattern.
    fn spawn_child(&self, argv: &[String], setup: ChildSetup<'_>) -> Result<CageId, Errno>;

    /// Execs `argv[0]` with `argv` in this cage. Returns only on failure.
    fn exec(&self, argv: &[String]) -> Errno;

    /// Ends this cage (exit_group, 231) with `status`.
    fn exit(&self, status: i32) -> !;

    /// Starts a thread in this cage (a clone with CLONE_VM).
    fn spawn_thread(&self, body: ThreadBody) -> Result<ThreadJoin, Errno>;

    /// Registers this grate's handler `key` for `nr` issued by `target`.
    /// Issued as call 1001 through this cage's own table, as glibc does.
    fn register_handler(&self, target: CageId, nr: u32, key: u64) -> Result<(), Errno> {
        let reg = Registration {
            target,
            nr,
            grate: self.cage_id(),
            fn_ptr: self.handler_ptr(key),
        };
        self.register_raw(&reg)
    }

    /// Issues a 1001 request as given, through this cage's own table.
    fn register_raw(&self, reg: &Registration) -> Result<(), Errno> {
        let me = self.cage_id();
        threei_status(self.make_call(nr::REGISTER_HANDLER, me, me, &reg.to_args()))
    }

    /// Replaces `dst`'s handler table with a copy of `src`'s (call 1003,
    /// routed through `src`'s table as glibc routes it).
    fn copy_handler_table(&self, src: CageId, dst: CageId) -> Result<(), Errno> {
        let mut args = Arg::all_unused(self.cage_id());
        args[0] = Arg::new(src.0, dst);
        threei_status(self.make_call(nr::COPY_HANDLER_TABLE_TO_CAGE, src, src, &args))
    }

    /// `copy_data_between_cages` (call 1002) through this cage's table.
    /// Addresses owned by this cage are guest addresses; others are host
    /// addresses. Checks the raw result, which grate-rs gets wrong (docs/lind-3i.md §5).
    fn copy_data(
        &self,
        src: (u64, CageId),
        dst: (u64, CageId),
        len: u64,
        kind: CopyKind,
    ) -> Result<(), Errno> {
        let me = self.cage_id();
        let tag = |(addr, cage): (u64, CageId)| Arg {
            value: addr,
            cage: if cage == me {
                cage.0 | GRATE_MEMORY_FLAG
            } else {
                cage.0
            },
        };
        let args = [
            tag(src),
            tag(dst),
            Arg::new(len, me),
            Arg::new(kind as u64, me),
            Arg::new(UNUSED_ARG, me),
            Arg::new(UNUSED_ARG, me),
        ];
        match self.make_call(nr::COPY_DATA_BETWEEN_CAGES, me, me, &args) {
            ELINDAPIABORTED => Err(Errno::EFAULT),
            _ => Ok(()),
        }
    }

    /// Copies `out.len()` bytes at host address `addr` in `cage` into `out`.
    fn read_foreign(&self, addr: u64, cage: CageId, out: &mut [u8]) -> Result<(), Errno> {
        self.read_foreign_via_copy_data(addr, cage, out)
    }

    /// [`ThreeI::read_foreign`] as a wasm grate must do it: copy_data into
    /// own memory, then read that. Implementations that can copy straight
    /// into `out` override `read_foreign` and fall back to this.
    fn read_foreign_via_copy_data(
        &self,
        addr: u64,
        cage: CageId,
        out: &mut [u8],
    ) -> Result<(), Errno> {
        if out.is_empty() {
            return Ok(());
        }
        let scratch = self.alloc(out.len());
        let copied = self.copy_data(
            (addr, cage),
            (scratch, self.cage_id()),
            out.len() as u64,
            CopyKind::Raw,
        );
        if copied.is_ok() {
            self.read_own(scratch, out);
        }
        self.free(scratch, out.len());
        copied
    }

    /// Copies `data` to host address `addr` in `cage`.
    fn write_foreign(&self, addr: u64, cage: CageId, data: &[u8]) -> Result<(), Errno> {
        self.write_foreign_via_copy_data(addr, cage, data)
    }

    /// [`ThreeI::write_foreign`] through own memory and copy_data.
    fn write_foreign_via_copy_data(
        &self,
        addr: u64,
        cage: CageId,
        data: &[u8],
    ) -> Result<(), Errno> {
        if data.is_empty() {
            return Ok(());
        }
        let scratch = self.alloc(data.len());
        self.write_own(scratch, data);
        let copied = self.copy_data(
            (scratch, self.cage_id()),
            (addr, cage),
            data.len() as u64,
            CopyKind::Raw,
        );
        self.free(scratch, data.len());
        copied
    }

    /// `clock_gettime(clock)` in nanoseconds, through this cage's own table
    /// (Rust std's clocks do not link on Lind; see the `clock` module).
    /// The timespec is read into a buffer of the cage's own memory, in
    /// place when the runtime can address one on the stack (no allocation
    /// on the path of every record).
    fn clock_ns(&self, clock: i32) -> Result<u64, Errno> {
        let me = self.cage_id();
        let mut args = Arg::all_unused(me);
        args[0] = Arg::new(i64::from(clock) as u64, me);
        let mut raw = [0u8; TIMESPEC_SIZE];
        if let Some(addr) = self.own_addr(raw.as_mut_ptr()) {
            args[1] = Arg::own_ptr(addr, me);
            let ret = self.make_call(nr::CLOCK_GETTIME, me, me, &args);
            check(ret)?;
            return Ok(timespec_ns(&raw));
        }
        let ts = self.alloc(TIMESPEC_SIZE);
        args[1] = Arg::own_ptr(ts, me);
        let ret = self.make_call(nr::CLOCK_GETTIME, me, me, &args);
        self.read_own(ts, &mut raw);
        self.free(ts, TIMESPEC_SIZE);
        check(ret)?;
        Ok(timespec_ns(&raw))
    }

    /// Reads a NUL-terminated string of at most `max` bytes (NUL included)
    /// at host address `addr` in `cage`; the result excludes the NUL.
    fn read_foreign_cstr(&self, addr: u64, cage: CageId, max: usize) -> Result<Vec<u8>, Errno> {
        let scratch = self.alloc(max);
        let copied = self.copy_data(
            (addr, cage),
            (scratch, self.cage_id()),
            max as u64,
            CopyKind::CStr,
        );
        let mut bytes = vec![0; max];
        if copied.is_ok() {
            self.read_own(scratch, &mut bytes);
        }
        self.free(scratch, max);
        copied?;
        let end = bytes.iter().position(|&b| b == 0).unwrap_or(max);
        bytes.truncate(end);
        Ok(bytes)
    }
}

/// The outcome of a 3i call that returns 0 on success: its `-errno`, or
/// one of Lind's codes below -256 as the errno that means the same
/// (docs/lind-3i.md §2.4): a cage that is exiting is `ESRCH`, an aborted
/// request `EFAULT`. Any other value is `EINVAL`.
pub fn threei_status(ret: i32) -> Result<(), Errno> {
    match ret {
        0 => Ok(()),
        crate::consts::ELINDESRCH => Err(Errno::ESRCH),
        ELINDAPIABORTED => Err(Errno::EFAULT),
        ret => Err(Errno::from_ret(ret).unwrap_or(Errno::EINVAL)),
    }
}

/// Bytes of the `struct timespec` RawPOSIX fills: two 64-bit fields.
pub const TIMESPEC_SIZE: usize = 16;

/// The nanoseconds a RawPOSIX `struct timespec` (`{i64 sec, i64 nsec}`)
/// holds; a negative time reads as 0.
pub fn timespec_ns(raw: &[u8; TIMESPEC_SIZE]) -> u64 {
    let field = |at: usize| {
        let bytes: [u8; 8] = raw[at..at + 8].try_into().unwrap_or_default();
        i64::from_le_bytes(bytes).max(0) as u64
    };
    field(0)
        .saturating_mul(1_000_000_000)
        .saturating_add(field(8))
}
