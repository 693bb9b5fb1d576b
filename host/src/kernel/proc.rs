//! Process calls: clone, execve, exit, exit_group, wait4, kill, ids,
//! time, and a minimal memory-mapping story.

use super::Call;
use crate::cage::{lock, Cage, ExitStatus, PendingExec};
use crate::process::mark_dead;
use crate::runtime::POLL;
use crate::unwind::{with_top_slot, Pending, Started};
use boundary::consts::CLONE_VM;
use boundary::wait::WNOHANG;
use boundary::Errno;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// RawPOSIX's DEFAULT_UID and DEFAULT_GID.
pub(crate) const DEFAULT_ID: u32 = 1000;
/// Most arguments an exec takes.
const ARG_MAX: usize = 1024;
const MAP_ANONYMOUS: i32 = 0x20;
/// Linux's ENODEV ("no such device"), what mmap of an unmappable file gives.
const ENODEV: Errno = Errno::ENODEV;

pub(super) fn call(c: &Call<'_>) -> Option<Result<i32, Errno>> {
    let t = &c.target;
    Some(match c.nr {
        9 => mmap(c),
        // munmap: the address is host-translated; freeing an anonymous
        // region is all this runtime models.
        11 => {
            t.memory().free(c.val(0) & 0xFFFF_FFFF, c.val(1) as usize);
            Ok(0)
        }
        12 => Err(Errno::ENOMEM),
        // Signals are not delivered: handlers and masks are accepted and
        // ignored.
        13 | 14 | 24 => Ok(0),
        35 => nanosleep(c),
        39 | 121 => Ok(t.id as i32),
        56 => clone(c),
        59 => execve(c),
        // Thread exit: the thread ends once the call returns.
        60 => Ok(0),
        61 => wait4(c),
        62 => kill(c),
        102 | 104 | 107 | 108 => Ok(DEFAULT_ID as i32),
        110 => Ok(t.parent as i32),
        228 => clock_gettime(c),
        231 => {
            // Only the first exit_group acts (RawPOSIX's CAS).
            if !t.exit_initiated.swap(true, Ordering::AcqRel) {
                mark_dead(c.inner, t, ExitStatus::Exited(c.int(0)));
            }
            Ok(0)
        }
        _ => return None,
    })
}

/// CLONE (56). A fork creates the child cage now: a copy of the target's
/// memory, fd table (sharing open files), cwd and handler table, all before
/// CLONE returns to whoever forwarded it. The child's code starts only when
/// the forking call chain has returned (docs/lind-3i.md §7.4).
fn clone(c: &Call<'_>) -> Result<i32, Errno> {
    let raw = c.read_arg(0, 8)?;
    let mut flags = [0u8; 8];
    flags.copy_from_slice(&raw);
    let t = &c.target;
    if u64::from_le_bytes(flags) & CLONE_VM != 0 {
        let started = with_top_slot(t.id, |slot| match &mut slot.pending {
            Pending::Thread(body) => body.take().map(|body| {
                slot.started = Some(Started::Thread(t.alloc_tid(), body));
            }),
            Pending::Fork(_) => None,
        })
        .flatten();
        if started.is_none() {
            c.inner.stop(format!(
                "CLONE (thread) for cage {} with no thread start in progress on this thread \
                 (a CLONE forwarded twice?)",
                t.id
            ));
        }
        return Ok(0);
    }
    let body = with_top_slot(t.id, |slot| match &mut slot.pending {
        Pending::Fork(body) => body.take(),
        Pending::Thread(_) => None,
    })
    .flatten();
    let Some(body) = body else {
        c.inner.stop(format!(
            "CLONE for cage {} with no fork in progress on this thread: a grate forwarded one \
             fork's CLONE twice (Lind would start two unwinds of one instance)",
            t.id
        ));
    };
    let id = c.inner.alloc_cage_id();
    let fds = lock(&t.fds).clone();
    let child = Arc::new(Cage::new(id, t.id, t.memory().fork_copy(), fds, t.cwd()));
    // Until it execs, the child runs the parent's program (on Lind, a copy
    // of its instance; here the same object).
    if let Some(program) = t.program() {
        child.set_program(program);
    }
    t.child_num.fetch_add(1, Ordering::AcqRel);
    c.inner.add_cage(child.clone());
    c.inner.tables.copy(t.id, id);
    with_top_slot(t.id, |slot| {
        slot.started = Some(Started::Child(child, body))
    });
    Ok(id as i32)
}

/// execve (59): path, argv (u64 host pointers, NULL-terminated), envp.
/// The program is found by the path, as Lind loads the path it is given.
fn execve(c: &Call<'_>) -> Result<i32, Errno> {
    let path = String::from_utf8_lossy(&c.cstr_at(c.val(0), c.args[0].cage)?).into_owned();
    let mut argv = Vec::new();
    let (table, owner) = (c.val(1), c.args[1].cage);
    if table != 0 {
        for i in 0..ARG_MAX {
            let raw = c.read_mem(table + 8 * i as u64, owner, 8)?;
            let mut ptr = [0u8; 8];
            ptr.copy_from_slice(&raw);
            match u64::from_le_bytes(ptr) {
                0 => break,
                ptr => argv.push(String::from_utf8_lossy(&c.cstr_at(ptr, owner)?).into_owned()),
            }
        }
    }
    let program = c.inner.program(&path).ok_or(Errno::ENOENT)?;
    let t = &c.target;
    lock(&t.fds).drop_cloexec();
    t.reset_memory();
    *lock(&t.pending_exec) = Some(PendingExec { program, argv });
    Ok(0)
}

/// wait4 (61): the target's zombies, first in first out for pid <= 0.
///
/// As RawPOSIX's waitpid, WNOHANG is honoured only for pid <= 0: waiting
/// for one named child blocks until that child exits, whatever the
/// options (LW `src/rawposix/src/sys_calls.rs` `waitpid_syscall`).
fn wait4(c: &Call<'_>) -> Result<i32, Errno> {
    let (pid, status_ptr, options) = (c.int(0), c.val(1), c.int(2));
    let t = &c.target;
    if status_ptr != 0 {
        c.check_mem(status_ptr, c.args[1].cage, 4)?;
    }
    let mut zombies = lock(&t.zombies);
    if zombies.is_empty() && t.child_num.load(Ordering::Acquire) == 0 {
        return Err(Errno::ECHILD);
    }
    if pid > 0 {
        let known = zombies.iter().any(|z| z.0 == pid as u64)
            || c.inner.cage(pid as u64).is_some_and(|k| k.parent == t.id);
        if !known {
            return Err(Errno::ECHILD);
        }
    }
    let (child, status) = loop {
        let found = if pid <= 0 {
            zombies.pop_front()
        } else {
            let at = zombies.iter().position(|z| z.0 == pid as u64);
            at.and_then(|i| zombies.remove(i))
        };
        if let Some(z) = found {
            break z;
        }
        if pid <= 0 && options & WNOHANG != 0 {
            return Ok(0);
        }
        c.inner.check_stop();
        zombies = t
            .zombie_cv
            .wait_timeout(zombies, POLL)
            .map(|(g, _)| g)
            .unwrap_or_else(|e| e.into_inner().0);
    };
    drop(zombies);
    if status_ptr != 0 {
        c.write_arg(1, &status.to_le_bytes())?;
    }
    Ok(child as i32)
}

/// kill (62), minimally: signal 0 probes; stop/continue/child/urgent/
/// winch signals are ignored; every other signal kills the cage silently
/// (its default action), as a signal death is on Lind (§7.5).
fn kill(c: &Call<'_>) -> Result<i32, Errno> {
    let (pid, sig) = (c.int(0), c.int(1));
    if !(0..=64).contains(&sig) {
        return Err(Errno::EINVAL);
    }
    let victim = u64::try_from(pid)
        .ok()
        .and_then(|id| c.inner.cage(id))
        .filter(|v| !v.is_dead())
        .ok_or(Errno::ESRCH)?;
    if !matches!(sig, 0 | 17..=23 | 28) {
        mark_dead(c.inner, &victim, ExitStatus::Signaled(sig));
    }
    Ok(0)
}

/// nanosleep (35): a time64 timespec; the remainder is never written.
fn nanosleep(c: &Call<'_>) -> Result<i32, Errno> {
    let raw = c.read_arg(0, 16)?;
    let sec = i64::from_le_bytes(raw[..8].try_into().unwrap_or([0; 8]));
    let nsec = u32::from_le_bytes(raw[8..12].try_into().unwrap_or([0; 4]));
    if sec < 0 || nsec >= 1_000_000_000 {
        return Err(Errno::EINVAL);
    }
    let mut left = Duration::new(sec as u64, nsec);
    while !left.is_zero() {
        c.inner.check_stop();
        let step = left.min(POLL);
        std::thread::sleep(step);
        left -= step;
    }
    Ok(0)
}

/// clock_gettime (228): realtime from the host clock, anything else as
/// monotonic time since the runtime started.
fn clock_gettime(c: &Call<'_>) -> Result<i32, Errno> {
    let now = if c.int(0) == 0 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
    } else {
        c.inner.started.elapsed()
    };
    let mut out = [0u8; 16];
    out[..8].copy_from_slice(&(now.as_secs() as i64).to_le_bytes());
    out[8..].copy_from_slice(&i64::from(now.subsec_nanos()).to_le_bytes());
    c.write_arg(1, &out)?;
    Ok(0)
}

/// mmap (9): anonymous mappings come from the target's allocator and are
/// returned as guest addresses (which may read as negative i32, as on
/// Lind); file mappings are not modelled (ENODEV).
fn mmap(c: &Call<'_>) -> Result<i32, Errno> {
    let (len, flags) = (c.val(1) as usize, c.int(3));
    if len == 0 {
        return Err(Errno::EINVAL);
    }
    if flags & MAP_ANONYMOUS == 0 {
        return Err(ENODEV);
    }
    let addr = c.target.memory().alloc(len).ok_or(Errno::ENOMEM)?;
    Ok(addr as u32 as i32)
}
