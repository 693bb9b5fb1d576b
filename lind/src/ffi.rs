//! Every unsafe operation of the adapter, behind safe functions.
//!
//! # Safety
//!
//! This module is the only place the adapter crosses into Lind's glibc or
//! touches memory by address. Its contract:
//!
//! - **Foreign symbols.** The glibc functions come from grate-rs's `ffi`
//!   declarations (`fork`, `execv`, `mmap`, `sem_*`, and `make_threei_call`
//!   behind grate-rs's safe wrapper), `libc::exit`, and the two glibc
//!   globals declared here (`__lind_base`, `__lind_cageid`). Their
//!   signatures are maintained by hand and must match Lind's glibc (Linux
//!   i386 layout). A mismatch is *not* a link error on Lind: the call traps
//!   when it runs. Nothing here uses a libc-crate binding whose WASI
//!   signature differs from glibc's (`lseek`, `off_t`, `O_*` values).
//! - **Handler ABI.** 3i reaches a handler only through grate-rs's exported
//!   `pass_fptr_to_wt`, which casts the registered `fn_ptr` to the
//!   13-argument `extern "C"` handler type and calls it. Every `fn_ptr` this
//!   adapter registers is the address of one of `slots`' trampolines, which
//!   have exactly that type.
//! - **Own memory.** A guest address is an offset into this grate's linear
//!   memory, i.e. a Rust pointer's value. Own allocations are recorded in a
//!   registry, and every read, write and free is checked against it under
//!   its lock, so safe callers reach only live memory they were given.
//! - **Host addresses** (memory base + guest address) are valid only for the
//!   owning cage and only in the current run. This module never
//!   dereferences one: foreign bytes move only through 3i's
//!   `copy_data_between_cages`.
//!
//! No raw pointer leaves this module; addresses leave it as `u64`.
#![allow(unsafe_code)]

use crate::own::OwnAllocs;
use boundary::Errno;
use grate_rs::constants::mman::{MAP_ANON, MAP_FAILED, MAP_SHARED, PROT_READ, PROT_WRITE};
use grate_rs::ffi::sem_t;
use std::alloc::Layout;
use std::ffi::{c_char, c_int, CString};
use std::io::Write;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

// ---- identity and address translation ----

#[cfg(target_arch = "wasm32")]
extern "C" {
    /// glibc's cached base of this instance's linear memory, read once per
    /// instance from the `lind-get-memory-base` import.
    static __lind_base: u64;
    /// glibc's cached cage id, read from the `lind-get-cage-id` import; a
    /// fork child refreshes it inside `fork` before returning.
    static __lind_cageid: u64;
}

/// The host address of guest address 0 in this cage, as glibc's pointer
/// translation adds it. Natively (tests only) guest and host addresses are
/// the same.
pub(crate) fn memory_base() -> u64 {
    #[cfg(target_arch = "wasm32")]
    {
        // SAFETY: `__lind_base` is a plain `uint64_t` global of Lind's glibc
        // (addr_translation.c), set by a priority-101 constructor before any
        // Rust code runs and reset only inside a fork child's `fork` call.
        // A volatile load of it by value cannot violate any Rust invariant.
        unsafe { std::ptr::addr_of!(__lind_base).read_volatile() }
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        0
    }
}

/// This cage's id: glibc's cached `__lind_cageid`, the value its own
/// syscall wrappers use as `self`. Not interposable, unlike `getpid`.
/// Natively (tests only) it is the process id, as grate-rs's `getcageid`.
pub(crate) fn own_cage_id() -> u64 {
    #[cfg(target_arch = "wasm32")]
    {
        // SAFETY: as for `__lind_base` above: a glibc `uint64_t` global set
        // before `main` and refreshed in a fork child before `fork` returns.
        unsafe { std::ptr::addr_of!(__lind_cageid).read_volatile() }
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        grate_rs::getcageid()
    }
}

// ---- own memory ----

/// Own allocations are 8-aligned, enough for every structure we pass.
const OWN_ALIGN: usize = 8;

static OWN: Mutex<OwnAllocs> = Mutex::new(OwnAllocs::new());

fn own() -> MutexGuard<'static, OwnAllocs> {
    OWN.lock().unwrap_or_else(PoisonError::into_inner)
}

fn own_layout(len: usize) -> Layout {
    Layout::from_size_align(len.max(1), OWN_ALIGN).expect("own allocation too large")
}

/// Allocates `len` zeroed bytes of own memory; returns the guest address,
/// never 0.
pub(crate) fn alloc_zeroed(len: usize) -> u64 {
    let layout = own_layout(len);
    // SAFETY: `layout` has a non-zero size (`own_layout` rounds 0 up to 1).
    let ptr = unsafe { std::alloc::alloc_zeroed(layout) };
    if ptr.is_null() {
        std::alloc::handle_alloc_error(layout);
    }
    let addr = ptr as usize as u64;
    own().insert(addr, layout.size());
    addr
}

/// Frees an allocation made by [`alloc_zeroed`].
///
/// # Panics
/// If `addr` is not the start of a live own allocation.
pub(crate) fn free(addr: u64) {
    let mut own = own();
    let Some(size) = own.remove(addr) else {
        panic!("free of {addr:#x}: not a live own allocation");
    };
    // SAFETY: `addr` came from `alloc_zeroed` with the layout for `size`
    // (recorded then), and it was removed from the registry under the lock,
    // so it is deallocated exactly once.
    unsafe { std::alloc::dealloc(addr as usize as *mut u8, own_layout(size)) }
}

/// Copies own memory at `addr` into `out`.
///
/// # Panics
/// If the range is not inside one live own allocation.
pub(crate) fn read_own(addr: u64, out: &mut [u8]) {
    if out.is_empty() {
        return;
    }
    let own = own();
    assert!(
        own.covers(addr, out.len()),
        "read_own {addr:#x}+{}: not inside a live own allocation",
        out.len()
    );
    // SAFETY: the registry says `[addr, addr + len)` lies in a live
    // allocation, which cannot be freed while we hold its lock. `out` is a
    // Rust buffer; `copy` tolerates overlap should it be the same memory.
    unsafe { std::ptr::copy(addr as usize as *const u8, out.as_mut_ptr(), out.len()) }
}

/// Copies `data` into own memory at `addr`.
///
/// # Panics
/// If the range is not inside one live own allocation.
pub(crate) fn write_own(addr: u64, data: &[u8]) {
    if data.is_empty() {
        return;
    }
    let own = own();
    assert!(
        own.covers(addr, data.len()),
        "write_own {addr:#x}+{}: not inside a live own allocation",
        data.len()
    );
    // SAFETY: as in `read_own`: a live, registered range that cannot be
    // freed while the lock is held; `copy` tolerates overlap.
    unsafe { std::ptr::copy(data.as_ptr(), addr as usize as *mut u8, data.len()) }
}

/// Runs `f` with the guest address of `buf`, so that a 3i call made inside
/// `f` (copy_data_between_cages) can fill `buf` directly. The address is
/// valid only during `f`, while `buf` is borrowed mutably.
pub(crate) fn with_guest_addr_mut<R>(buf: &mut [u8], f: impl FnOnce(u64) -> R) -> R {
    f(buf.as_mut_ptr() as usize as u64)
}

/// Runs `f` with the guest address of `buf`, for a 3i call that reads it.
pub(crate) fn with_guest_addr<R>(buf: &[u8], f: impl FnOnce(u64) -> R) -> R {
    f(buf.as_ptr() as usize as u64)
}

// ---- processes ----

/// The errno glibc left for the last failed libc call.
fn last_errno() -> Errno {
    Errno::from_io(&std::io::Error::last_os_error())
}

/// glibc `fork()`: `Ok(0)` in the child, `Ok(child id)` in the parent.
pub(crate) fn fork() -> Result<u64, Errno> {
    // SAFETY: glibc `fork(void) -> pid_t`. On Lind the child is a new cage
    // holding a copy of this memory; it resumes here with 0 (after glibc has
    // refreshed its cage id and memory base).
    let ret = unsafe { grate_rs::ffi::fork() };
    match u64::try_from(ret) {
        Ok(id) => Ok(id),
        Err(_) => Err(last_errno()),
    }
}

/// glibc `execv(argv[0], argv)`. Returns only on failure.
pub(crate) fn execv(argv: &[CString]) -> Errno {
    let Some(path) = argv.first() else {
        return Errno::EFAULT;
    };
    let mut ptrs: Vec<*const c_char> = argv.iter().map(|s| s.as_ptr()).collect();
    ptrs.push(std::ptr::null());
    // SAFETY: `path` and every element of `ptrs` point at NUL-terminated
    // strings owned by `argv`, which outlives the call; `ptrs` ends with
    // NULL, as execv requires.
    unsafe { grate_rs::ffi::execv(path.as_ptr(), ptrs.as_ptr()) };
    last_errno()
}

/// What a thread started by [`spawn_thread`] runs.
type Body = Box<dyn FnOnce() + Send>;

#[cfg(target_arch = "wasm32")]
extern "C" {
    /// glibc's, as Lind's sysroot declares it: `pthread_t` is an
    /// `unsigned long` (32 bits here), the attributes are NULL.
    fn pthread_create(
        thread: *mut std::ffi::c_ulong,
        attr: *const std::ffi::c_void,
        start: extern "C" fn(*mut std::ffi::c_void) -> *mut std::ffi::c_void,
        arg: *mut std::ffi::c_void,
    ) -> c_int;
    fn pthread_join(thread: std::ffi::c_ulong, ret: *mut *mut std::ffi::c_void) -> c_int;
}

extern "C" fn thread_start(arg: *mut std::ffi::c_void) -> *mut std::ffi::c_void {
    // SAFETY: `arg` is the `Box<Body>` leaked by `spawn_thread` for this
    // thread alone, taken back exactly once here.
    let body = unsafe { Box::from_raw(arg.cast::<Body>()) };
    body();
    std::ptr::null_mut()
}

/// Starts `body` on a new thread with glibc's `pthread_create`, not Rust
/// std's `thread::spawn`: on Lind a grate's new thread starts with its
/// parent's Rust thread-locals, and std's spawn aborts when it finds the
/// thread's handle already set. The body must not rely on thread-locals
/// of its own. Returns a join function.
pub(crate) fn spawn_thread(body: Body) -> Result<Box<dyn FnOnce() + Send>, Errno> {
    let arg = Box::into_raw(Box::new(body)).cast::<std::ffi::c_void>();
    #[cfg(target_arch = "wasm32")]
    {
        let mut thread: std::ffi::c_ulong = 0;
        // SAFETY: `thread` is a valid out-pointer, NULL attributes are
        // glibc's defaults, and `thread_start` takes ownership of `arg`.
        let ret = unsafe { pthread_create(&mut thread, std::ptr::null(), thread_start, arg) };
        if ret != 0 {
            // SAFETY: no thread was started, so `arg` is still ours.
            drop(unsafe { Box::from_raw(arg.cast::<Body>()) });
            return Err(Errno::new(ret).unwrap_or(Errno::EAGAIN));
        }
        Ok(Box::new(move || {
            // SAFETY: `thread` came from a successful pthread_create and
            // is joined once; the result pointer is not wanted.
            unsafe { pthread_join(thread, std::ptr::null_mut()) };
        }))
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        // Natively (unit tests only) a std thread stands in.
        let arg = arg as usize;
        let handle = std::thread::spawn(move || {
            thread_start(arg as *mut std::ffi::c_void);
        });
        Ok(Box::new(move || {
            let _ = handle.join();
        }))
    }
}

/// Flushes Rust's stdio and calls glibc `exit(status)`, which runs atexit
/// handlers and issues exit_group (231).
pub(crate) fn exit(status: i32) -> ! {
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    // SAFETY: glibc `exit(int)`, the same shape as the libc crate's
    // declaration; it does not return.
    unsafe { libc::exit(status) }
}

/// The state a parent and its child share between fork and exec: the
/// MAP_SHARED semaphore of grate-rs's launch pattern, and an abort flag
/// the parent sets when it could not prepare the child.
#[repr(C)]
struct LaunchShared {
    /// First, so the mapping's start is the semaphore.
    sem: sem_t,
    abort: AtomicI32,
}

/// One page: room for `LaunchShared` with glibc's `sem_t` of any target.
const LAUNCH_MAP_LEN: usize = 4096;

/// A launch gate between a parent grate and a child that must not exec
/// before the parent has registered its handlers.
///
/// The mapping is never unmapped: the child may still be inside `sem_wait`
/// when the parent returns, and one page per started child is cheap.
pub(crate) struct Launch {
    shared: *mut LaunchShared,
}

impl Launch {
    /// Maps the shared page and initialises the semaphore to 0.
    pub(crate) fn new() -> Result<Launch, Errno> {
        // SAFETY: an anonymous shared mapping; no memory of ours is passed.
        let page = unsafe {
            grate_rs::ffi::mmap(
                std::ptr::null_mut(),
                LAUNCH_MAP_LEN,
                PROT_READ | PROT_WRITE,
                MAP_SHARED | MAP_ANON,
                -1,
                0,
            )
        };
        if page == MAP_FAILED || page.is_null() {
            return Err(last_errno());
        }
        let launch = Launch {
            shared: page.cast(),
        };
        // SAFETY: `sem()` points at the start of a fresh, zeroed, writable,
        // page-aligned mapping larger than any `sem_t`; pshared = 1 because
        // parent and child both use it after fork.
        if unsafe { grate_rs::ffi::sem_init(launch.sem(), 1, 0) } < 0 {
            return Err(last_errno());
        }
        Ok(launch)
    }

    fn sem(&self) -> *mut sem_t {
        // `sem` is the first field of a `repr(C)` struct.
        self.shared.cast()
    }

    fn abort_flag(&self) -> &AtomicI32 {
        // SAFETY: `shared` points at a live, zero-initialised mapping that
        // is never unmapped and is large enough for `LaunchShared`; an
        // `AtomicI32` is valid for any bit pattern and only accessed
        // atomically.
        unsafe { &(*self.shared).abort }
    }

    /// Child side: blocks until the parent calls [`Launch::go`] or
    /// [`Launch::abort`]; `Ok(true)` means exec now.
    pub(crate) fn wait_in_child(&self) -> Result<bool, Errno> {
        loop {
            // SAFETY: the semaphore was initialised by `new` in the parent
            // before fork and lives in the never-unmapped shared page.
            if unsafe { grate_rs::ffi::sem_wait(self.sem()) } == 0 {
                break;
            }
            let err = last_errno();
            if err != Errno::EINTR {
                return Err(err);
            }
        }
        Ok(self.abort_flag().load(Ordering::SeqCst) == 0)
    }

    /// Parent side: lets the child exec.
    pub(crate) fn go(&self) -> Result<(), Errno> {
        self.post()
    }

    /// Parent side: makes the child exit without exec.
    pub(crate) fn abort(&self) {
        self.abort_flag().store(1, Ordering::SeqCst);
        let _ = self.post();
    }

    fn post(&self) -> Result<(), Errno> {
        // SAFETY: as in `wait_in_child`: an initialised semaphore in the
        // shared page, which outlives both processes' use of it.
        match unsafe { grate_rs::ffi::sem_post(self.sem()) } {
            0 => Ok(()),
            _ => Err(last_errno()),
        }
    }
}

/// The dispatch export every handler call enters through. Naming it here
/// keeps it in the link; the build exports it (`--export=pass_fptr_to_wt`).
#[used]
static PASS_FPTR_TO_WT: unsafe extern "C" fn(
    u64,
    u64,
    u64,
    u64,
    u64,
    u64,
    u64,
    u64,
    u64,
    u64,
    u64,
    u64,
    u64,
    u64,
) -> c_int = grate_rs::pass_fptr_to_wt;

/// A native stand-in for glibc's `make_threei_call`, for unit tests only:
/// it records each call on the calling thread, copies bytes for a raw 1002
/// unless told to fail (natively the memory base is 0, so guest and host
/// addresses coincide) and returns a preset value.
#[cfg(all(test, not(target_arch = "wasm32")))]
pub(crate) mod double {
    use boundary::consts::ELINDAPIABORTED;
    use std::cell::{Cell, RefCell};
    use std::ffi::{c_int, c_uint};

    /// One recorded call: number, self, target, the six pairs as received
    /// (before glibc's translation), translate_errno.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub(crate) struct Call {
        pub(crate) nr: u32,
        pub(crate) self_cage: u64,
        pub(crate) target: u64,
        pub(crate) args: [(u64, u64); 6],
        pub(crate) translate_errno: i32,
    }

    thread_local! {
        static CALLS: RefCell<Vec<Call>> = const { RefCell::new(Vec::new()) };
        static RET: Cell<i32> = const { Cell::new(0) };
    }

    /// Sets what the next calls on this thread return.
    pub(crate) fn set_ret(ret: i32) {
        RET.with(|r| r.set(ret));
    }

    /// Takes the calls recorded on this thread.
    pub(crate) fn take_calls() -> Vec<Call> {
        CALLS.with(|c| std::mem::take(&mut *c.borrow_mut()))
    }

    #[no_mangle]
    #[allow(clippy::too_many_arguments)]
    extern "C" fn make_threei_call(
        nr: c_uint,
        _callname: u64,
        self_cage: u64,
        target: u64,
        a1: u64,
        c1: u64,
        a2: u64,
        c2: u64,
        a3: u64,
        c3: u64,
        a4: u64,
        c4: u64,
        a5: u64,
        c5: u64,
        a6: u64,
        c6: u64,
        translate_errno: c_int,
    ) -> c_int {
        let args = [(a1, c1), (a2, c2), (a3, c3), (a4, c4), (a5, c5), (a6, c6)];
        CALLS.with(|c| {
            c.borrow_mut().push(Call {
                nr,
                self_cage,
                target,
                args,
                translate_errno,
            })
        });
        let ret = RET.with(Cell::get);
        if nr == boundary::nr::COPY_DATA_BETWEEN_CAGES && ret != ELINDAPIABORTED && a4 == 0 {
            // SAFETY: tests pass addresses of live Rust buffers of at least
            // `a3` bytes as both the source and the destination.
            unsafe {
                std::ptr::copy(
                    a1 as usize as *const u8,
                    a2 as usize as *mut u8,
                    a3 as usize,
                )
            }
        }
        ret
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rt::RT;
    use boundary::{Args, CageId, Program, ThreeI};
    use std::sync::{Arc, Mutex};

    #[test]
    fn own_memory_round_trips_and_is_zeroed() {
        let addr = alloc_zeroed(8);
        assert_ne!(addr, 0);
        let mut out = [0xffu8; 8];
        read_own(addr, &mut out);
        assert_eq!(out, [0; 8]);
        write_own(addr + 2, b"abc");
        read_own(addr, &mut out);
        assert_eq!(&out, b"\0\0abc\0\0\0");
        free(addr);
    }

    #[test]
    fn zero_length_allocation_is_real() {
        let a = alloc_zeroed(0);
        let b = alloc_zeroed(0);
        assert_ne!(a, b);
        free(a);
        free(b);
    }

    #[test]
    #[should_panic(expected = "not inside a live own allocation")]
    fn read_past_an_allocation_panics() {
        let addr = alloc_zeroed(4);
        let mut out = [0u8; 5];
        read_own(addr, &mut out);
    }

    #[test]
    #[should_panic(expected = "not a live own allocation")]
    fn double_free_panics() {
        let addr = alloc_zeroed(4);
        free(addr);
        free(addr);
    }

    /// Records every handler call it gets.
    struct Recorder(Mutex<Vec<(u64, CageId, Args)>>);

    impl Program for Recorder {
        fn main(&self, _rt: &dyn ThreeI, _argv: &[String]) -> i32 {
            0
        }
        fn handle(&self, _rt: &dyn ThreeI, handler: u64, cageid: CageId, args: &Args) -> i32 {
            self.0.lock().unwrap().push((handler, cageid, *args));
            42
        }
    }

    #[test]
    fn pass_fptr_to_wt_reaches_the_program_with_key_and_pairs() {
        let recorder = Arc::new(Recorder(Mutex::new(Vec::new())));
        assert!(
            crate::run::install_for_test(recorder.clone()).is_ok(),
            "only this test installs a program"
        );
        let key = 0x7E00_0005;
        let fn_ptr = RT.handler_ptr(key);
        assert_eq!(RT.handler_ptr(key), fn_ptr, "a key keeps its slot");
        // SAFETY: `fn_ptr` is a slot trampoline's address, of the handler
        // type `pass_fptr_to_wt` casts it to; this is how Lind calls it.
        let ret = unsafe { PASS_FPTR_TO_WT(fn_ptr, 9, 1, 11, 2, 12, 3, 13, 4, 14, 5, 15, 6, 16) };
        assert_eq!(ret, 42);
        let calls = recorder.0.lock().unwrap();
        let (got_key, cage, args) = calls[0];
        assert_eq!((got_key, cage), (key, CageId(9)));
        let pairs: Vec<(u64, u64)> = args.iter().map(|a| (a.value, a.cage)).collect();
        assert_eq!(
            pairs,
            [(1, 11), (2, 12), (3, 13), (4, 14), (5, 15), (6, 16)]
        );
        drop(calls);
        // Key 0 is read's bare call number, as the bundled grates register it.
        let read_ptr = RT.handler_ptr(0);
        // SAFETY: as above.
        let ret = unsafe { PASS_FPTR_TO_WT(read_ptr, 9, 1, 11, 2, 12, 3, 13, 4, 14, 5, 15, 6, 16) };
        assert_eq!(ret, 42, "a handler registered under key 0 is served");
        assert_eq!(recorder.0.lock().unwrap()[1].0, 0);
    }
}
