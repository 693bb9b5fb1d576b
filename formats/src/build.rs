//! Records built by hand, for tests, benches and fuzz targets: one builder
//! in place of a `SyscallRecord { .. }` literal in each file that needs a
//! record. Names are looked up in the catalog (an unknown one panics: it is
//! a mistake in the test).

use crate::record::{Buffer, ExecRecord, ExitRecord, ForkRecord, Record, SyscallRecord};
use crate::UNUSED_ARG;
use abi::catalog::{by_name, ArgKind, Len};

/// A syscall record under construction.
#[derive(Clone, Debug)]
pub struct Call(SyscallRecord);

/// Call `name` of `cage` with these leading argument values (the rest
/// unused), answered `result`, numbered `seq`.
pub fn call(seq: u64, cage: u64, name: &str, args: &[u64], result: i64) -> Call {
    let info = by_name(name).unwrap_or_else(|| panic!("no syscall named {name}"));
    call_nr(seq, cage, info.nr, args, result)
}

/// [`call`] by number, for numbers the catalog may not have.
pub fn call_nr(seq: u64, cage: u64, nr: u32, args: &[u64], result: i64) -> Call {
    let mut full = [(UNUSED_ARG, cage); 6];
    for (slot, value) in full.iter_mut().zip(args) {
        slot.0 = *value;
    }
    Call(SyscallRecord {
        seq,
        cage,
        nr,
        args: SyscallRecord::args_from_full(cage, &full),
        inputs: Vec::new(),
        outputs: Vec::new(),
        result,
        secondary: None,
        time_us: 0,
        duration_ns: None,
    })
}

fn buffer(arg: u8, data: &[u8]) -> Buffer {
    Buffer {
        arg,
        index: 0,
        data: data.to_vec(),
        truncated_from: None,
    }
}

impl Call {
    /// The call's path: its first C-string argument's bytes.
    pub fn path(self, path: &[u8]) -> Call {
        let info = by_name_nr(self.0.nr);
        let pos = info
            .args
            .iter()
            .position(|k| *k == ArgKind::In(Len::CStr))
            .unwrap_or_else(|| panic!("{} takes no path", info.name));
        self.input(pos as u8, path)
    }

    /// Bytes read from argument `arg`.
    pub fn input(mut self, arg: u8, data: &[u8]) -> Call {
        self.0.inputs.push(buffer(arg, data));
        self
    }

    /// Bytes written to argument `arg`.
    pub fn output(mut self, arg: u8, data: &[u8]) -> Call {
        self.0.outputs.push(buffer(arg, data));
        self
    }

    /// When it was answered, in microseconds since the log began.
    pub fn at(mut self, time_us: u64) -> Call {
        self.0.time_us = time_us;
        self
    }

    /// How long it took.
    pub fn took(mut self, duration_ns: u64) -> Call {
        self.0.duration_ns = Some(duration_ns);
        self
    }

    /// Every argument as (value, argcage), for argcages other than the
    /// caller's.
    pub fn full_args(mut self, full: &[(u64, u64); 6]) -> Call {
        self.0.args = SyscallRecord::args_from_full(self.0.cage, full);
        self
    }

    /// These buffers read from the caller.
    pub fn inputs(mut self, inputs: Vec<Buffer>) -> Call {
        self.0.inputs = inputs;
        self
    }

    /// These buffers written to the caller.
    pub fn outputs(mut self, outputs: Vec<Buffer>) -> Call {
        self.0.outputs = outputs;
        self
    }

    /// The record.
    pub fn syscall(self) -> SyscallRecord {
        self.0
    }

    /// The record, as a log holds it.
    pub fn record(self) -> Record {
        Record::Syscall(self.0)
    }
}

fn by_name_nr(nr: u32) -> &'static abi::catalog::SyscallInfo {
    abi::catalog::lookup(nr).unwrap_or_else(|| panic!("no syscall numbered {nr}"))
}

/// `record`, stamped `time_us` microseconds into the log (records that
/// carry no time are left as they are).
pub fn at(mut record: Record, time_us: u64) -> Record {
    record.set_time_us(time_us);
    record
}

/// `parent` forked `child` (a process, not a thread).
pub fn fork(seq: u64, parent: u64, child: u64) -> Record {
    Record::Fork(ForkRecord {
        seq,
        parent,
        child,
        thread: false,
        time_us: 0,
    })
}

/// `cage` exec'd `path` successfully.
pub fn exec(seq: u64, cage: u64, path: &[u8]) -> Record {
    Record::Exec(ExecRecord {
        seq,
        cage,
        path: path.to_vec(),
        argv: vec![path.to_vec()],
        result: 0,
        time_us: 0,
    })
}

/// `cage` called exit_group(`status`).
pub fn exit(seq: u64, cage: u64, status: i32) -> Record {
    Record::Exit(ExitRecord {
        seq,
        cage,
        status,
        process: true,
        time_us: 0,
        ending: crate::Ending::Called,
    })
}
