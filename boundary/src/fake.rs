//! A [`ThreeI`] with no runtime behind it, for unit tests of code written
//! against the boundary (enabled by the `test-support` feature).
//!
//! Every cage's memory is a byte array; a host address is `cage << 32 |
//! offset`, so a test can tell whose memory an argument points into. Calls
//! are translated as glibc does (an own pointer flagged with
//! `GRATE_MEMORY_FLAG` becomes a host address), recorded, and answered by
//! a closure the test gives. `copy_data_between_cages` (1002) is carried
//! out on the byte arrays, so [`ThreeI::read_foreign`] and
//! [`ThreeI::write_foreign`] work as they do on Lind. Forks, execs and
//! threads are refused.

use crate::consts::{ELINDAPIABORTED, GRATE_MEMORY_FLAG};
use crate::{nr, Args, CageId, ChildMain, ChildSetup, Errno, ThreadBody, ThreadJoin, ThreeI};
use abi::sync::lock;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// How big each cage's memory is.
const MEMORY: usize = 1 << 20;

/// Answers a call other than 1002: number, the translated arguments, and
/// the fake (to read or write memory).
pub type Answerer = dyn Fn(&FakeThreeI, u32, &Args) -> i32 + Send + Sync;

/// One call as it reached the fake: number, `self`, `target`, arguments.
pub type Call = (u32, CageId, CageId, Args);

#[derive(Clone)]
pub struct FakeThreeI {
    inner: Arc<Inner>,
}

struct Inner {
    me: CageId,
    memories: Mutex<HashMap<u64, Vec<u8>>>,
    next: Mutex<u64>,
    calls: Mutex<Vec<Call>>,
    answer: Box<Answerer>,
}

impl std::fmt::Debug for FakeThreeI {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeThreeI")
            .field("me", &self.inner.me)
            .finish_non_exhaustive()
    }
}

impl FakeThreeI {
    /// Cage `me`, whose calls `answer` answers.
    pub fn new(
        me: CageId,
        answer: impl Fn(&FakeThreeI, u32, &Args) -> i32 + Send + Sync + 'static,
    ) -> FakeThreeI {
        FakeThreeI {
            inner: Arc::new(Inner {
                me,
                memories: Mutex::new(HashMap::new()),
                next: Mutex::new(0x1000),
                calls: Mutex::new(Vec::new()),
                answer: Box::new(answer),
            }),
        }
    }

    /// The host address of `offset` in `cage`'s memory.
    pub fn host(cage: CageId, offset: u64) -> u64 {
        (cage.0 << 32) | offset
    }

    /// Writes `data` at host address `host`.
    pub fn poke(&self, host: u64, data: &[u8]) {
        let mut memories = self.memories();
        let memory = memories
            .entry(host >> 32)
            .or_insert_with(|| vec![0; MEMORY]);
        let at = (host & 0xffff_ffff) as usize;
        memory[at..at + data.len()].copy_from_slice(data);
    }

    /// `len` bytes at host address `host`.
    pub fn peek(&self, host: u64, len: usize) -> Vec<u8> {
        let at = (host & 0xffff_ffff) as usize;
        match self.memories().get(&(host >> 32)) {
            Some(memory) => memory[at..at + len].to_vec(),
            None => vec![0; len],
        }
    }

    /// Every call so far, 1002 included.
    pub fn calls(&self) -> Vec<Call> {
        lock(&self.inner.calls).clone()
    }

    fn memories(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Vec<u8>>> {
        lock(&self.inner.memories)
    }

    /// 1002 on the byte arrays: raw, or a string up to its NUL.
    fn copy_data(&self, args: &Args) -> i32 {
        let (src, dst, len, kind) = (args[0].value, args[1].value, args[2].value, args[3].value);
        if dst == 0 || args[0].cage == args[1].cage {
            return ELINDAPIABORTED;
        }
        let mut bytes = self.peek(src, len as usize);
        if kind == 1 {
            let Some(nul) = bytes.iter().position(|&b| b == 0) else {
                return ELINDAPIABORTED;
            };
            bytes.truncate(nul + 1);
        }
        self.poke(dst, &bytes);
        dst as i32
    }
}

impl ThreeI for FakeThreeI {
    fn cage_id(&self) -> CageId {
        self.inner.me
    }

    fn make_call(&self, nr: u32, self_cage: CageId, target: CageId, args: &Args) -> i32 {
        let me = self.inner.me;
        let mut translated = *args;
        for arg in &mut translated {
            if arg.cage == me.0 | GRATE_MEMORY_FLAG {
                arg.value = self.host_addr(arg.value);
            }
            arg.cage &= !GRATE_MEMORY_FLAG;
        }
        lock(&self.inner.calls).push((nr, self_cage, target, translated));
        if nr == nr::COPY_DATA_BETWEEN_CAGES {
            return self.copy_data(&translated);
        }
        (self.inner.answer)(self, nr, &translated)
    }

    fn alloc(&self, len: usize) -> u64 {
        let mut next = lock(&self.inner.next);
        let addr = *next;
        *next += (len as u64).div_ceil(8) * 8 + 8;
        // Fresh memory is zeroed, as the trait promises.
        drop(next);
        self.write_own(addr, &vec![0; len]);
        addr
    }

    fn free(&self, _addr: u64, _len: usize) {}

    fn read_own(&self, addr: u64, out: &mut [u8]) {
        out.copy_from_slice(&self.peek(self.host_addr(addr), out.len()));
    }

    fn write_own(&self, addr: u64, data: &[u8]) {
        self.poke(self.host_addr(addr), data);
    }

    fn host_addr(&self, addr: u64) -> u64 {
        FakeThreeI::host(self.inner.me, addr)
    }

    fn detach(&self) -> Arc<dyn ThreeI> {
        Arc::new(self.clone())
    }

    fn fork(&self, _child: ChildMain) -> Result<CageId, Errno> {
        Err(Errno::ENOSYS)
    }

    fn spawn_child(&self, _argv: &[String], _setup: ChildSetup<'_>) -> Result<CageId, Errno> {
        Err(Errno::ENOSYS)
    }

    fn exec(&self, _argv: &[String]) -> Errno {
        Errno::ENOSYS
    }

    fn exit(&self, status: i32) -> ! {
        panic!("the fake cage exited with {status}")
    }

    fn spawn_thread(&self, _body: ThreadBody) -> Result<ThreadJoin, Errno> {
        Err(Errno::ENOSYS)
    }
}
