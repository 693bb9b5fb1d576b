//! Syscall records shown the way strace shows calls: [`describe_call`]
//! and [`describe_result`], with fds named through [`FdNames`] where the
//! caller follows them. tee-log's dump, stats, timeline and repro print
//! with it; the tee names a stalled call with it; replay names the calls
//! it reports. The log format itself (`formats`) knows nothing of it.

mod describe;

pub use describe::{
    describe_call, describe_call_with, describe_result, errno_name, is_error, quote, seconds,
    FdNames,
};
