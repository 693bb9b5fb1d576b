//! A small libc over [`ThreeI`]: what Lind's glibc does for a program.
//!
//! Each wrapper places its arguments in the caller's own memory, issues the
//! call through the caller's own table (`self = target = me`) with every
//! argcage set to the caller, and returns `-errno` results as [`Errno`].
//! Apps in the host runtime use it for everything; grates use it for their
//! own I/O (an archive being written, a log being kept), which therefore goes
//! down their own table exactly as a Lind grate's libc calls do.

use crate::args::{args_of, Arg, CageId};
use crate::consts::{CLONE_ARGS_SIZE, STAT_SIZE};
use crate::errno::Errno;
use crate::nr;
use crate::stat::Stat;
use crate::threei::{ThreadJoin, ThreeI};

mod files;
mod paths;

/// How often [`Guest::wait_child`] asks whether its child has exited.
const CHILD_POLL: std::time::Duration = std::time::Duration::from_millis(10);

/// `clone_args.exit_signal` glibc's fork sets: SIGCHLD.
const SIGCHLD: u64 = 17;

/// The libc of one cage.
pub struct Guest<'a> {
    rt: &'a dyn ThreeI,
    me: CageId,
}

impl std::fmt::Debug for Guest<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Guest").field("cage", &self.me).finish()
    }
}

/// A buffer in the caller's own memory, freed on drop.
pub struct OwnBuf<'a> {
    rt: &'a dyn ThreeI,
    addr: u64,
    len: usize,
}

impl<'a> OwnBuf<'a> {
    /// Allocates `len` zeroed bytes.
    pub fn zeroed(rt: &'a dyn ThreeI, len: usize) -> OwnBuf<'a> {
        OwnBuf {
            rt,
            addr: rt.alloc(len.max(1)),
            len,
        }
    }

    /// Allocates a copy of `data`.
    pub fn from_bytes(rt: &'a dyn ThreeI, data: &[u8]) -> OwnBuf<'a> {
        let buf = OwnBuf::zeroed(rt, data.len());
        rt.write_own(buf.addr, data);
        buf
    }

    /// Allocates `s` with a trailing NUL.
    pub fn cstr(rt: &'a dyn ThreeI, s: &[u8]) -> OwnBuf<'a> {
        let buf = OwnBuf::zeroed(rt, s.len() + 1);
        rt.write_own(buf.addr, s);
        buf
    }

    /// The guest address.
    pub fn addr(&self) -> u64 {
        self.addr
    }

    /// The length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the buffer is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The argument that passes this buffer to a call.
    pub fn arg(&self) -> Arg {
        Arg::own_ptr(self.addr, self.rt.cage_id())
    }

    /// The buffer's current bytes.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut out = vec![0; self.len];
        self.rt.read_own(self.addr, &mut out);
        out
    }
}

impl Drop for OwnBuf<'_> {
    fn drop(&mut self) {
        self.rt.free(self.addr, self.len.max(1));
    }
}

impl<'a> Guest<'a> {
    /// The libc of the cage `rt` stands for.
    pub fn new(rt: &'a dyn ThreeI) -> Guest<'a> {
        Guest {
            rt,
            me: rt.cage_id(),
        }
    }

    /// The underlying 3i view.
    pub fn rt(&self) -> &'a dyn ThreeI {
        self.rt
    }

    /// This cage's id.
    pub fn cage_id(&self) -> CageId {
        self.me
    }

    /// Issues `nr` through the own table with scalar `values`; pointer
    /// arguments go in as [`Arg`]s through [`Guest::call`].
    pub fn syscall(&self, nr: u32, values: &[u64]) -> i32 {
        self.rt
            .make_call(nr, self.me, self.me, &args_of(self.me, values))
    }

    /// Issues `nr` through the own table with the given arguments (unused
    /// slots filled as glibc fills them).
    pub fn call(&self, nr: u32, given: &[Arg]) -> i32 {
        let mut args = Arg::all_unused(self.me);
        args[..given.len()].copy_from_slice(given);
        self.rt.make_call(nr, self.me, self.me, &args)
    }

    /// A scalar argument from this cage.
    pub fn scalar(&self, value: u64) -> Arg {
        Arg::new(value, self.me)
    }

    /// A pointer argument to `addr` in this cage's own memory.
    pub fn own_arg(&self, addr: u64) -> Arg {
        Arg::own_ptr(addr, self.me)
    }

    /// A C `int` argument, sign-extended as glibc widens it.
    pub fn int(&self, value: i32) -> Arg {
        Arg::new(i64::from(value) as u64, self.me)
    }

    /// Issues `nr` and maps a `-errno` result to `Err`.
    fn checked(&self, nr: u32, given: &[Arg]) -> Result<i32, Errno> {
        check(self.call(nr, given))
    }

    /// Reads a 104-byte stat result out of `buf`.
    fn stat_from(buf: &OwnBuf<'_>) -> Result<Stat, Errno> {
        Stat::decode(&buf.to_vec()).ok_or(Errno::EFAULT)
    }

    /// Issues a stat-like call whose stat buffer is argument `slot` (0-based)
    /// and whose other arguments are `given`.
    fn stat_call(&self, nr: u32, given: &mut [Arg], slot: usize) -> Result<Stat, Errno> {
        let buf = OwnBuf::zeroed(self.rt, STAT_SIZE);
        given[slot] = buf.arg();
        self.checked(nr, given)?;
        Self::stat_from(&buf)
    }

    // ---- process calls ----

    /// `getpid()`: RawPOSIX answers with the cage id.
    pub fn getpid(&self) -> Result<i32, Errno> {
        self.checked(nr::GETPID, &[])
    }

    /// `getppid()`.
    pub fn getppid(&self) -> Result<i32, Errno> {
        self.checked(nr::GETPPID, &[])
    }

    /// Whether cage `cage` no longer exists. 3i refuses a call aimed at a
    /// dead or exiting cage with -ESRCH before routing it, whoever's table
    /// it goes through (docs/lind-3i.md §4.2, §7.6), and getpid has no
    /// effect on a live one: a probe no grate is told of when it fails.
    pub fn is_gone(&self, cage: CageId) -> bool {
        let me = self.cage_id();
        let args = Arg::all_unused(me);
        self.rt.make_call(nr::GETPID, me, cage, &args) == Errno::ESRCH.ret()
    }

    /// `waitpid(pid, &status, options)`: `pid <= 0` waits for any child.
    /// Returns the child and its Linux-encoded status (see [`crate::wait`]);
    /// `(CageId(0), 0)` when `WNOHANG` found no exited child.
    pub fn waitpid(&self, pid: i64, options: i32) -> Result<(CageId, i32), Errno> {
        let status = OwnBuf::zeroed(self.rt, 4);
        let child = self.checked(
            nr::WAIT4,
            &[self.scalar(pid as u64), status.arg(), self.int(options)],
        )?;
        let mut bytes = [0u8; 4];
        self.rt.read_own(status.addr(), &mut bytes);
        Ok((CageId(u64::from(child as u32)), i32::from_le_bytes(bytes)))
    }

    /// Waits for `child` to exit and returns its status, without spinning:
    /// RawPOSIX's blocking waitpid loops on `sched_yield`, a whole core for
    /// as long as it waits (and, for a named child, ignores WNOHANG). So
    /// this asks for any child with WNOHANG and pauses between asks; other
    /// children it reaps on the way are let go.
    pub fn wait_child(&self, child: CageId) -> Result<i32, Errno> {
        loop {
            match self.waitpid(-1, crate::wait::WNOHANG) {
                Ok((pid, status)) if pid == child => return Ok(status),
                Ok((CageId(0), _)) => crate::clock::pause(CHILD_POLL),
                Ok(_) | Err(Errno::EINTR) => {}
                Err(errno) => return Err(errno),
            }
        }
    }

    /// `fork()`: the child runs `child` and exits with its result. Returns
    /// the fork result the handler chain gave the parent (a grate may spoof it).
    pub fn fork(
        &self,
        child: impl FnOnce(&dyn ThreeI) -> i32 + Send + 'static,
    ) -> Result<CageId, Errno> {
        self.rt.fork(Box::new(child))
    }

    /// `execv(argv[0], argv)`. Returns only on failure.
    pub fn exec(&self, argv: &[String]) -> Errno {
        self.rt.exec(argv)
    }

    /// `exit(status)`: exit_group (231) through the own table.
    pub fn exit(&self, status: i32) -> ! {
        self.rt.exit(status)
    }

    /// `pthread_create`: a clone with CLONE_VM running `body` in this cage.
    pub fn spawn_thread(
        &self,
        body: impl FnOnce(&dyn ThreeI) + Send + 'static,
    ) -> Result<ThreadJoin, Errno> {
        self.rt.spawn_thread(Box::new(body))
    }

    /// `kill(pid, sig)`.
    pub fn kill(&self, pid: i32, sig: i32) -> Result<(), Errno> {
        self.checked(nr::KILL, &[self.int(pid), self.int(sig)])
            .map(drop)
    }

    /// Writes `text` to fd 1, ignoring errors (as `printf` callers do).
    pub fn print(&self, text: &str) {
        let _ = self.write_all(1, text.as_bytes());
    }

    /// Writes `text` to fd 2, ignoring errors.
    pub fn eprint(&self, text: &str) {
        let _ = self.write_all(2, text.as_bytes());
    }

    /// What a started child says when its exec failed, before it exits
    /// with 127: one line naming the program (the parent only sees 127).
    pub fn report_exec_failure(&self, program: &str, err: Errno) {
        self.eprint(&format!("cannot start {program}: {err}\n"));
    }

    // ---- raw process primitives, for runtimes implementing ThreeI ----

    /// Issues CLONE (56) as glibc's `__clone3` does: a 88-byte `clone_args`
    /// in own memory (`flags`, exit_signal SIGCHLD unless a thread) as arg1
    /// and the calling thread's id as arg2. Returns the raw result.
    pub fn clone_call(&self, flags: u64, tid: u64) -> i32 {
        let mut clone_args = [0u8; CLONE_ARGS_SIZE];
        clone_args[..8].copy_from_slice(&flags.to_le_bytes());
        let exit_signal = if flags & crate::consts::CLONE_VM == 0 {
            SIGCHLD
        } else {
            0
        };
        clone_args[32..40].copy_from_slice(&exit_signal.to_le_bytes());
        let buf = OwnBuf::from_bytes(self.rt, &clone_args);
        self.call(nr::CLONE, &[buf.arg(), self.scalar(tid)])
    }

    /// Issues execve (59) as glibc does: the path, a NULL-terminated array of
    /// u64 host pointers for argv, and an empty envp, all in own memory.
    /// Returns the raw result (on success a runtime does not return here).
    pub fn execve_call(&self, argv: &[String]) -> i32 {
        let Some(path) = argv.first() else {
            return Errno::EFAULT.ret();
        };
        let path = OwnBuf::cstr(self.rt, path.as_bytes());
        let strings: Vec<OwnBuf<'_>> = argv
            .iter()
            .map(|a| OwnBuf::cstr(self.rt, a.as_bytes()))
            .collect();
        let mut table = Vec::with_capacity((strings.len() + 1) * 8);
        for s in &strings {
            table.extend_from_slice(&self.rt.host_addr(s.addr()).to_le_bytes());
        }
        table.extend_from_slice(&0u64.to_le_bytes());
        let argv_buf = OwnBuf::from_bytes(self.rt, &table);
        let envp_buf = OwnBuf::zeroed(self.rt, 8);
        self.call(nr::EXECVE, &[path.arg(), argv_buf.arg(), envp_buf.arg()])
    }
}

pub use crate::errno::check;

impl Guest<'_> {
    /// `clock_gettime(clock)` in nanoseconds.
    pub fn clock_ns(&self, clock: i32) -> Result<u64, Errno> {
        self.rt().clock_ns(clock)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake::FakeThreeI;

    const ME: CageId = CageId(5);

    /// A cage whose "kernel" answers a few calls against its own memory.
    fn fake() -> FakeThreeI {
        FakeThreeI::new(ME, |fake, nr, a| match nr {
            nr::READ => {
                fake.poke(a[1].value, b"hello");
                5
            }
            nr::PIPE => {
                fake.poke(a[0].value, &[3, 0, 0, 0, 4, 0, 0, 0]);
                0
            }
            nr::WAIT4 => {
                fake.poke(a[1].value, &crate::wait::exited(7).to_le_bytes());
                9
            }
            nr::READV => {
                let iov = fake.peek(a[1].value, 32);
                let base0 = u64::from_le_bytes(iov[..8].try_into().unwrap());
                fake.poke(base0, b"abcdef");
                6
            }
            nr::WRITE => a[2].value as i32,
            nr::OPEN => Errno::ENOENT.ret(),
            _ => 0,
        })
    }

    #[test]
    fn read_copies_back_only_what_the_kernel_returned() {
        let fake = fake();
        let g = Guest::new(&fake);
        let mut buf = [0u8; 8];
        assert_eq!(g.read(0, &mut buf), Ok(5));
        assert_eq!(&buf, b"hello\0\0\0");
        let (nr, _, _, args) = fake.calls()[0];
        assert_eq!(nr, nr::READ);
        assert_eq!(
            args[1].value >> 32,
            ME.0,
            "buffer reaches 3i as a host address"
        );
        assert!(args.iter().all(|a| a.cage == ME.0));
    }

    #[test]
    fn errors_come_back_as_errno() {
        let fake = fake();
        assert_eq!(Guest::new(&fake).open("/x", 0, 0), Err(Errno::ENOENT));
    }

    #[test]
    fn pipe_and_waitpid_decode_their_out_buffers() {
        let fake = fake();
        let g = Guest::new(&fake);
        assert_eq!(g.pipe(), Ok([3, 4]));
        let (child, status) = g.waitpid(-1, 0).unwrap();
        assert_eq!((child, crate::wait::wexitstatus(status)), (CageId(9), 7));
    }

    #[test]
    fn readv_scatters_into_buffers_in_order() {
        let fake = fake();
        let g = Guest::new(&fake);
        let (mut a, mut b) = ([0u8; 4], [0u8; 4]);
        assert_eq!(g.readv(0, &mut [&mut a, &mut b]), Ok(6));
        assert_eq!((&a, &b[..2]), (b"abcd", &b"ef"[..]));
    }

    #[test]
    fn execve_builds_a_null_terminated_host_pointer_argv() {
        let fake = fake();
        let g = Guest::new(&fake);
        g.execve_call(&["prog".into(), "arg".into()]);
        let (nr, _, _, args) = fake.calls()[0];
        assert_eq!(nr, nr::EXECVE);
        let table = fake.peek(args[1].value, 24);
        let p0 = u64::from_le_bytes(table[..8].try_into().unwrap());
        let p1 = u64::from_le_bytes(table[8..16].try_into().unwrap());
        assert_eq!(fake.peek(p0, 5), b"prog\0");
        assert_eq!(fake.peek(p1, 4), b"arg\0");
        assert_eq!(&table[16..], &[0; 8]);
        assert_eq!(fake.peek(args[0].value, 5), b"prog\0");
    }

    #[test]
    fn write_all_writes_everything() {
        let fake = fake();
        assert_eq!(Guest::new(&fake).write_all(1, b"abc"), Ok(()));
    }
}
