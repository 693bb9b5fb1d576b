//! The tee-replay command line.

use abi::catalog::CallFilter;
use clap::Parser;
use std::path::PathBuf;

const EXAMPLES: &str = "\
Examples (quote the markers: < and > are shell redirections):
  tee-replay trace.log '%<' archive-grate /archive '%>'
      replay the log into archive-grate; answers come from the recording
  tee-replay --keep-going --report r.json trace.log '%<' imfs-grate '%>'
      report every divergence, and write them as JSON
  tee-replay trace.log '%<' imfs-grate '%>' '%<' imfs-grate faulty-grate short-write '%>'
      replay into both stacks side by side and report where they disagree
  tee-replay trace.log --into-dir restored/
      rebuild the app's files in a plain directory, no grate involved

Paths: the native tee-replay takes FILE, --report and --into-dir as host
paths, absolute or relative to the directory it runs in; on Lind, FILE and
--report are lindfs paths. The replayed grates see lindfs paths.

Exit status: 0 no divergence, 1 divergence found, 2 the replayer's own failure,
3 a damaged log (README, \"Exit codes\").";

#[derive(Debug, Parser)]
#[command(
    name = "tee-replay",
    version,
    about = "Replay a tee-grate trace log into a grate stack and report divergences",
    after_help = EXAMPLES
)]
struct Options {
    /// Only issue the calls of these recorded cages (comma-separated ids).
    #[arg(long, value_name = "LIST")]
    cages: Option<String>,
    /// What is replayed: fs, net, proc, mem, signal, time, all, or call names.
    #[arg(long, value_name = "WHAT", default_value = "all", value_parser = CallFilter::parse)]
    calls: CallFilter,
    /// Stop after the record with this index.
    #[arg(long, value_name = "N")]
    until: Option<u64>,
    /// Report every divergence instead of stopping at the first.
    #[arg(long)]
    keep_going: bool,
    /// Also write the report as JSON to FILE (a new file, mode 0600).
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
    /// Replace an existing --report FILE (a symlink there is replaced, not
    /// followed).
    #[arg(long)]
    force: bool,
    /// Let calls the stack sends down reach the real system.
    #[arg(long)]
    passthrough: bool,
    /// Replay the good records of a damaged log.
    #[arg(long)]
    salvage: bool,
    /// How many times the bytes they hold the log's compressed frames may
    /// decompress to (plus 64 MiB); reading stops past it.
    #[arg(long, value_name = "RATIO", default_value_t = formats::MAX_INFLATION)]
    max_inflation: u64,
    /// Replay the log's file effects into DIR instead of a grate stack.
    #[arg(long, value_name = "DIR")]
    into_dir: Option<PathBuf>,
    /// The trace log.
    #[arg(value_name = "FILE")]
    log: PathBuf,
    /// '%<' GRATE [ARGS]... '%>', once per stack: with two or more, the
    /// stacks are compared with the first, not with the recording
    #[arg(
        value_name = "STACK",
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    stack: Vec<String>,
}

/// Where the records go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// One grate stack or more, each as an argv chain. With more than one
    /// the replay is differential: each stack is compared with the first.
    Stacks(Vec<Vec<String>>),
    /// A plain host directory.
    Dir(PathBuf),
}

/// A checked command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplayPlan {
    pub log: PathBuf,
    pub target: Target,
    pub cages: Option<Vec<u64>>,
    pub calls: CallFilter,
    pub until: Option<u64>,
    pub keep_going: bool,
    pub report: Option<PathBuf>,
    /// An existing report file may be replaced.
    pub force: bool,
    pub passthrough: bool,
    pub salvage: bool,
    /// `--max-inflation`.
    pub max_inflation: u64,
}

/// What the command line asks for.
#[derive(Debug)]
pub enum Parsed {
    Run(ReplayPlan),
    /// Help or version text, exit 0.
    Info(String),
}

const QUOTE_HINT: &str =
    "quote the markers as '%<' and '%>' (unquoted, < and > are shell redirections)";

/// Parses `argv` (program name first). The error is one line.
pub fn parse(argv: &[String]) -> Result<Parsed, String> {
    let options = match Options::try_parse_from(argv) {
        Ok(options) => options,
        Err(err) => {
            use clap::error::ErrorKind;
            let text = err.render().to_string();
            return match err.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => Ok(Parsed::Info(text)),
                _ => Err(text
                    .lines()
                    .next()
                    .unwrap_or("invalid command line")
                    .trim_start_matches("error: ")
                    .to_string()),
            };
        }
    };
    let target = match (options.into_dir, options.stack.is_empty()) {
        (Some(_), false) => {
            return Err("give either '%<' GRATE... '%>' or --into-dir DIR, not both".into())
        }
        (Some(dir), true) => Target::Dir(dir),
        (None, true) => {
            return Err(format!(
                "nothing to replay into: give '%<' GRATE... '%>' or --into-dir DIR; {QUOTE_HINT}"
            ))
        }
        (None, false) => Target::Stacks(stack_chains(&options.stack)?),
    };
    let cages = options
        .cages
        .map(|list| {
            list.split(',')
                .map(|c| {
                    c.trim()
                        .parse::<u64>()
                        .map_err(|_| format!("--cages: `{c}` is not a cage id"))
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?;
    Ok(Parsed::Run(ReplayPlan {
        log: options.log,
        target,
        cages,
        calls: options.calls,
        until: options.until,
        keep_going: options.keep_going,
        report: options.report,
        force: options.force,
        passthrough: options.passthrough,
        salvage: options.salvage,
        max_inflation: options.max_inflation,
    }))
}

/// The argv chains between each `%<` and its `%>`.
pub fn stack_chains(words: &[String]) -> Result<Vec<Vec<String>>, String> {
    if let Some(at) = words.iter().position(|w| w == "%") {
        return Err(format!("a bare `%` (stack word {}): the shell took a marker's < or > as a redirection; {QUOTE_HINT}", at + 1));
    }
    if let Some(option) = words.first().filter(|w| w.starts_with("--")) {
        return Err(format!(
            "unknown option `{option}` (options go before the log)"
        ));
    }
    let mut chains = Vec::new();
    let mut rest = words;
    while let Some(first) = rest.first() {
        if first != "%<" {
            let what = if chains.is_empty() {
                "the stack"
            } else {
                "each further stack"
            };
            return Err(format!(
                "{what} must start with '%<', not `{first}`; {QUOTE_HINT}"
            ));
        }
        let Some(close) = rest.iter().position(|w| w == "%>") else {
            return Err(format!(
                "stack {} has no closing '%>'; {QUOTE_HINT}",
                chains.len() + 1
            ));
        };
        let chain = rest[1..close].to_vec();
        if chain.is_empty() {
            return Err(format!(
                "empty stack {}: name at least one grate between '%<' and '%>'",
                chains.len() + 1
            ));
        }
        if chain.iter().any(|w| w == "%<") {
            return Err(format!(
                "'%<' inside stack {}: close each stack with '%>' before the next",
                chains.len() + 1
            ));
        }
        chains.push(chain);
        rest = &rest[close + 1..];
    }
    Ok(chains)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_line(line: &str) -> Result<Parsed, String> {
        let argv: Vec<String> = std::iter::once("tee-replay")
            .chain(line.split_whitespace())
            .map(str::to_string)
            .collect();
        parse(&argv)
    }

    fn error(line: &str) -> String {
        match parse_line(line) {
            Err(message) => message,
            other => panic!("{line}: expected an error, got {other:?}"),
        }
    }

    #[test]
    fn stack_between_markers() {
        let Ok(Parsed::Run(plan)) = parse_line("--keep-going t.log %< archive-grate /a %>") else {
            panic!("did not parse")
        };
        assert_eq!(
            plan.target,
            Target::Stacks(vec![vec!["archive-grate".into(), "/a".into()]])
        );
        assert!(plan.keep_going);
    }

    #[test]
    fn several_stacks_one_after_another() {
        let Ok(Parsed::Run(plan)) = parse_line("t.log %< a %> %< b x %> %< c %>") else {
            panic!("did not parse")
        };
        let chain = |w: &[&str]| w.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            plan.target,
            Target::Stacks(vec![chain(&["a"]), chain(&["b", "x"]), chain(&["c"])])
        );
        assert!(error("t.log %< a %> %< b").contains("stack 2 has no closing"));
        assert!(error("t.log %< a %> b").contains("each further stack must start"));
        assert!(error("t.log %< a %> %< %>").contains("empty stack 2"));
        assert!(error("t.log %< a %< b %>").contains("inside stack 1"));
    }

    #[test]
    fn into_dir_needs_no_stack() {
        let Ok(Parsed::Run(plan)) = parse_line("--cages 3,4 t.log --into-dir out") else {
            panic!("did not parse")
        };
        assert_eq!(plan.target, Target::Dir("out".into()));
        assert_eq!(plan.cages, Some(vec![3, 4]));
    }

    #[test]
    fn lost_markers_are_explained() {
        assert!(error("t.log %< imfs-grate").contains("no closing '%>'"));
        assert!(error("t.log %< a %> junk").contains("must start with '%<'"));
        assert!(error("t.log % imfs-grate %").contains("redirection"));
        assert!(error("t.log imfs-grate").contains("must start with '%<'"));
        assert!(error("t.log").contains("nothing to replay into"));
        assert!(error("t.log %< %>").contains("empty stack"));
        assert!(error("t.log --into-dir d %< a %>").contains("not both"));
        assert!(error("--cages x t.log --into-dir d").contains("--cages"));
    }
}
