//! Integration tests of the host runtime: one test per rule of issue #3,
//! named after the rule, and kernel tests on real files.

#[macro_use]
mod util;

mod smoke;
