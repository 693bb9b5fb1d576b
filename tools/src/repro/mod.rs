//! `tee-log repro`: the log as a standalone C program that issues its
//! calls in order and checks each result against the recording, for a bug
//! report against any grate. Each recorded cage is a function; a fork runs
//! the child's function in a real child; fds are mapped from the recorded
//! results; written bytes are C arrays. It compiles with plain `cc` on
//! Linux and with Lind's `lind_compile`. Calls it cannot express are
//! comments, and counted.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use abi::catalog::lookup;
use formats::{InSeqOrder, Record, RecoveryMode};
use render::describe_call;

use crate::{open, Failure};

mod calls;

use calls::{check_of, statement};

/// A C string literal of `bytes`: octal escapes, so no escape runs on.
fn c_str(bytes: &[u8]) -> String {
    let mut out = String::from("\"");
    for &b in bytes {
        match b {
            b'"' | b'\\' | b'?' => {
                out.push('\\');
                out.push(b as char);
            }
            b' '..=b'~' => out.push(b as char),
            _ => {
                let _ = write!(out, "\\{b:03o}");
            }
        }
    }
    out.push('"');
    out
}

/// The C text of one cage's part of the program.
#[derive(Default)]
struct CageCode {
    body: String,
}

/// The default largest C file `repro` writes (`--max-source`): a log
/// claims any sizes it likes, and the source is held whole until written.
pub const MAX_SOURCE: usize = 64 << 20;

/// The C text one byte of data takes in an array (` 0xNN,`), at most.
const C_PER_BYTE: usize = 6;

/// The program being written.
#[derive(Default)]
struct Program {
    /// Bytes of C so far.
    size: usize,
    /// Byte arrays, written before the functions.
    data: String,
    cages: BTreeMap<u64, CageCode>,
    expressed: u64,
    not_expressed: u64,
    arrays: u64,
}

impl Program {
    /// A named array of `bytes`; its name.
    fn array(&mut self, bytes: &[u8]) -> String {
        self.arrays += 1;
        let name = format!("b{}", self.arrays);
        let before = self.data.len();
        let _ = write!(
            self.data,
            "static const unsigned char {name}[{}] = {{",
            bytes.len().max(1)
        );
        if bytes.is_empty() {
            self.data.push('0');
        }
        for (i, b) in bytes.iter().enumerate() {
            if i % 16 == 0 {
                self.data.push_str("\n   ");
            }
            let _ = write!(self.data, " {b:#04x},");
        }
        self.data.push_str("\n};\n");
        self.size += self.data.len() - before;
        name
    }

    fn line(&mut self, cage: u64, text: &str) {
        self.size += text.len() + 5;
        let code = self.cages.entry(cage).or_default();
        code.body.push_str("    ");
        code.body.push_str(text);
        code.body.push('\n');
    }

    fn comment(&mut self, cage: u64, text: &str) {
        // A comment cannot hold its own end.
        let text = text.replace("*/", "* /");
        self.line(cage, &format!("/* {text} */"));
    }
}

/// Writes the C source for the records of `file`.
pub fn run(
    file: &Path,
    output: &Path,
    force: bool,
    max_source: usize,
    out: &mut impl Write,
) -> Result<ExitCode, Failure> {
    let reader = open(file, RecoveryMode::Strict)?;
    let mut p = Program::default();
    let mut root: Option<u64> = None;
    for entry in InSeqOrder::new(reader) {
        let entry = entry.map_err(|e| Failure::log(file, e))?;
        // Checked before the record's arrays are made, so memory stays
        // within the budget whatever sizes the log claims.
        let data: usize = match &entry.record {
            Record::Syscall(call) => call
                .inputs
                .iter()
                .chain(&call.outputs)
                .map(|b| b.data.len())
                .sum(),
            _ => 0,
        };
        if p.size + data * C_PER_BYTE + 4096 > max_source {
            return Err(Failure::other(
                file,
                format!(
                    "record {}: the reproducer would pass {max_source} bytes of C \
                     (--max-source); shorten the log first (tee-log reduce)",
                    entry.index
                ),
            ));
        }
        match &entry.record {
            Record::Fork(f) if !f.thread => {
                if root.is_none() {
                    // The tee's own start: its child is the app.
                    continue;
                }
                p.comment(
                    f.parent,
                    &format!("record {}: fork() = {}", entry.index, f.child),
                );
                p.line(f.parent, &format!("spawn({}, cage_{});", f.child, f.child));
                p.cages.entry(f.child).or_default();
                p.expressed += 1;
            }
            Record::Fork(f) => {
                p.comment(
                    f.parent,
                    &format!(
                        "record {}: a thread ({}) started: its calls run here, in order",
                        entry.index, f.child
                    ),
                );
            }
            Record::Exec(e) => {
                root.get_or_insert(e.cage);
                let argv: Vec<String> = e.argv.iter().map(|a| formats::escape_bytes(a)).collect();
                p.comment(
                    e.cage,
                    &format!(
                        "record {}: execve(\"{}\", [{}]): the calls after it run on in this process",
                        entry.index,
                        formats::escape_bytes(&e.path),
                        argv.join(", ")
                    ),
                );
            }
            Record::Exit(e) if e.process => {
                p.line(e.cage, &format!("return {};", e.status));
            }
            Record::Exit(e) => {
                p.comment(e.cage, &format!("record {}: a thread exited", entry.index))
            }
            Record::Syscall(call) => {
                root.get_or_insert(call.cage);
                let line = describe_call(call, 32);
                match statement(&mut p, call) {
                    Some((expr, check, after)) => {
                        p.expressed += 1;
                        let want = call.result;
                        p.line(
                            call.cage,
                            &format!(
                                "r = {expr}; CHECK({}, {}, {}, {}, '{}', {want}, r);",
                                entry.index,
                                call.seq,
                                call.cage,
                                c_str(line.as_bytes()),
                                check_of(call, check)
                            ),
                        );
                        if matches!(lookup(call.nr).map(|i| i.name), Some("read" | "pread64"))
                            && call.result > 0
                        {
                            // Only what the read into scratch can hold is
                            // compared.
                            if let Some(b) = call.outputs.iter().find(|b| {
                                b.arg == 1
                                    && b.truncated_from.is_none()
                                    && b.data.len() as i64 <= calls::SCRATCH
                            }) {
                                let name = p.array(&b.data);
                                p.line(
                                    call.cage,
                                    &format!(
                                        "SAME({}, {}, {}, {}, {name}, {});",
                                        entry.index,
                                        call.seq,
                                        call.cage,
                                        c_str(line.as_bytes()),
                                        b.data.len()
                                    ),
                                );
                            }
                        }
                        if !after.is_empty() {
                            p.line(call.cage, &after);
                        }
                    }
                    None => {
                        p.not_expressed += 1;
                        p.comment(
                            call.cage,
                            &format!("record {}: not expressed: {line}", entry.index),
                        );
                    }
                }
            }
            Record::Dropped(d) => {
                if let Some(cage) = root {
                    p.comment(
                        cage,
                        &format!("{} records dropped when recorded: {}", d.count, d.detail),
                    );
                }
            }
            Record::Gap(g) => {
                if let Some(cage) = root {
                    p.comment(
                        cage,
                        &format!("{} calls not recorded here (queue full)", g.calls),
                    );
                }
            }
            Record::Trailer(_) => {}
        }
    }
    let Some(root) = root else {
        return Err(Failure::other(file, "no calls to reproduce"));
    };
    let mut c = String::new();
    let _ = write!(
        c,
        "{}",
        PRELUDE
            .replace(
                "@LOG@",
                // Inside a comment: it must not end it.
                &formats::escape_bytes(file.display().to_string().as_bytes()).replace("*/", "* /"),
            )
            .replace("@SCRATCH@", &calls::SCRATCH.to_string())
    );
    c.push_str(&p.data);
    for cage in p.cages.keys() {
        let _ = writeln!(c, "static int cage_{cage}(void);");
    }
    for (cage, code) in &p.cages {
        let _ = write!(
            c,
            "\n/* Cage {cage}. */\nstatic int cage_{cage}(void)\n{{\n    long r;\n    (void)r;\n{}    return 0;\n}}\n",
            code.body
        );
    }
    let _ = write!(
        c,
        "\nint main(void)\n{{\n    setvbuf(stdout, NULL, _IONBF, 0);\n    for (int i = 0; i < MAX_FD; i++)\n        fdmap[i] = i;\n    int status = cage_{root}();\n    while (wait(NULL) > 0)\n        ;\n    fprintf(stderr, \"repro: %d calls checked, no mismatch; {} calls not expressed\\n\", checked);\n    return status;\n}}\n",
        p.not_expressed
    );
    let mut made = boundary::tool_file::create_host_output(output, force)
        .map_err(|e| Failure::output(output, e))?;
    made.write_all(c.as_bytes())
        .map_err(|error| Failure::File {
            file: output.to_owned(),
            error,
        })?;
    writeln!(
        out,
        "{}: {} calls expressed, {} not (comments in the source); build with cc or lind_compile",
        output.display(),
        p.expressed,
        p.not_expressed
    )?;
    Ok(ExitCode::SUCCESS)
}

/// What every reproducer starts with: the fd map and the checks (`@LOG@`
/// is the log's name).
const PRELUDE: &str = include_str!("prelude.c");

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Reads a C string literal as a C compiler would (the escapes c_str
    /// writes: octal and the three quoted characters).
    fn unquote(lit: &str) -> Vec<u8> {
        let inner = &lit.as_bytes()[1..lit.len() - 1];
        let mut out = Vec::new();
        let mut i = 0;
        while i < inner.len() {
            if inner[i] == b'\\' {
                let next = inner[i + 1];
                if next.is_ascii_digit() {
                    let digits = std::str::from_utf8(&inner[i + 1..i + 4]).unwrap();
                    out.push(u8::from_str_radix(digits, 8).unwrap());
                    i += 4;
                } else {
                    out.push(next);
                    i += 2;
                }
            } else {
                out.push(inner[i]);
                i += 1;
            }
        }
        out
    }

    proptest! {
        #[test]
        fn any_bytes_make_a_c_literal_that_reads_back(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let lit = c_str(&bytes);
            prop_assert!(lit.starts_with('"') && lit.ends_with('"'));
            // Only printable ASCII in the source, no bare quote or
            // trigraph inside.
            let inner = &lit[1..lit.len() - 1];
            prop_assert!(inner.bytes().all(|b| (b' '..=b'~').contains(&b)));
            prop_assert!(!inner.contains("??"));
            prop_assert_eq!(unquote(&lit), bytes);
        }
    }

    #[test]
    fn a_comment_cannot_be_ended_by_the_log() {
        let mut p = Program::default();
        p.comment(2, "a */ b");
        assert_eq!(p.cages[&2].body.trim(), "/* a * / b */");
    }
}
