//! `cargo xtask`: project automation in Rust, following matklad's cargo-xtask convention.
//!
//! `cargo xtask ci` is exactly what `.ci/run` runs. Every step is also a subcommand of its own;
//! `cargo xtask help` lists them. Cargo is always called through `$CARGO`, so the toolchain that
//! runs xtask is the one that builds and tests the workspace.
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "xtask is a command-line tool: reporting to the terminal is its job"
)]

mod bench;
mod ci;
mod cmd;
mod fuzz;
mod seeds;
mod tidy;

use std::process::ExitCode;

use crate::cmd::Result;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("xtask: error: {err}");
            ExitCode::FAILURE
        }
    }
}

/// Parses the command line and runs one subcommand.
fn run(args: &[String]) -> Result {
    let root = cmd::project_root()?;
    let (name, rest) = match args.split_first() {
        Some((name, rest)) => (name.as_str(), rest),
        None => ("help", &[][..]),
    };
    let mut flags = Flags::new(rest);
    match name {
        "ci" => {
            let seconds = fuzz::default_seconds()?;
            flags.finish()?;
            ci::run(&root, seconds)
        }
        "fmt" => {
            let fix = flags.switch("--fix");
            flags.finish()?;
            ci::fmt(&root, fix)
        }
        "lint" => flags.finish().and_then(|()| ci::lint(&root)),
        "test" => flags.finish().and_then(|()| ci::test(&root)),
        "doc" => flags.finish().and_then(|()| ci::doc(&root)),
        "tidy" => flags.finish().and_then(|()| tidy::run(&root)),
        "fuzz" => {
            let seconds = match flags.value("--seconds")? {
                Some(text) => fuzz::parse_seconds(&text)?,
                None => fuzz::default_seconds()?,
            };
            let target = flags.positional();
            flags.finish()?;
            fuzz::run(&root, target.as_deref(), seconds)
        }
        "fuzz-seeds" => {
            let check = flags.switch("--check");
            flags.finish()?;
            seeds::run(&root, check)
        }
        "interop" => flags.finish().and_then(|()| ci::interop(&root)),
        "bench" => bench::run(&root, flags),
        "help" | "--help" | "-h" => {
            print!("{HELP}");
            Ok(())
        }
        other => Err(format!("unknown subcommand `{other}`; try `cargo xtask help`").into()),
    }
}

/// A tiny argument parser: switches, `--name value` pairs and at most one positional.
#[derive(Debug)]
struct Flags {
    args: Vec<String>,
}

impl Flags {
    fn new(args: &[String]) -> Self {
        Self {
            args: args.to_vec(),
        }
    }

    /// Removes `name` if present and says whether it was.
    fn switch(&mut self, name: &str) -> bool {
        let before = self.args.len();
        self.args.retain(|arg| arg != name);
        self.args.len() != before
    }

    /// Removes `name VALUE` or `name=VALUE` and returns the value.
    fn value(&mut self, name: &str) -> Result<Option<String>> {
        let prefix = format!("{name}=");
        if let Some(index) = self.args.iter().position(|arg| arg.starts_with(&prefix)) {
            let arg = self.args.remove(index);
            return Ok(Some(arg[prefix.len()..].to_owned()));
        }
        let Some(index) = self.args.iter().position(|arg| arg == name) else {
            return Ok(None);
        };
        self.args.remove(index);
        if index < self.args.len() {
            Ok(Some(self.args.remove(index)))
        } else {
            Err(format!("`{name}` needs a value").into())
        }
    }

    /// Removes and returns the first argument that is not a flag.
    fn positional(&mut self) -> Option<String> {
        let index = self.args.iter().position(|arg| !arg.starts_with('-'))?;
        Some(self.args.remove(index))
    }

    /// Fails if any argument was not consumed.
    fn finish(self) -> Result {
        if self.args.is_empty() {
            Ok(())
        } else {
            Err(format!("unexpected arguments: {}", self.args.join(" ")).into())
        }
    }
}

const HELP: &str = "\
cargo xtask <subcommand>

  ci                       every step below in order, fail-fast (what .ci/run runs)
  fmt [--fix]              check formatting of the workspace and fuzz/ (--fix rewrites)
  lint                     clippy -D warnings on the workspace, single-transport feature
                           builds of zmq-transport, zmq-sockets and zmq-peer, and fuzz/
  test                     tests and doctests (interop excluded) plus the fuzz corpus replay
  doc                      cargo doc with RUSTDOCFLAGS=-D warnings
  tidy                     layering, headers, unsafe, leftovers, lints tables, banned codec APIs
  fuzz-seeds [--check]     write (or verify) the seed corpus in fuzz/corpus/
  fuzz [TARGET] [--seconds N]
                           run one or every fuzz target for N seconds each (default 20,
                           or $XTASK_FUZZ_SECONDS), libFuzzer seed 1 (or $XTASK_FUZZ_SEED)
  interop                  cargo test -p interop --release (against a real libzmq)
  bench [--runs N] [--quick] [--only A,B] [--no-build]
                           zpeer vs libzmq 4.3.5 vs a raw pump (throughput, latency, idle-peer
                           RSS), alternating, median of N runs (default 7; --quick: 1 run, small
                           counts); writes target/bench/ and the sockets section of BENCHMARKS.md
  bench codec              cargo bench -p zmtp-codec (criterion)
";

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(args: &[&str]) -> Flags {
        Flags::new(&args.iter().map(|arg| (*arg).to_owned()).collect::<Vec<_>>())
    }

    #[test]
    fn flags_parse_values_switches_and_positionals() {
        let mut parsed = flags(&["codec_frame", "--seconds", "7", "--check"]);
        assert_eq!(parsed.value("--seconds").unwrap().as_deref(), Some("7"));
        assert!(parsed.switch("--check"));
        assert!(!parsed.switch("--check"));
        assert_eq!(parsed.positional().as_deref(), Some("codec_frame"));
        parsed.finish().unwrap();

        let mut parsed = flags(&["--seconds=3"]);
        assert_eq!(parsed.value("--seconds").unwrap().as_deref(), Some("3"));
        assert!(parsed.finish().is_ok());
    }

    #[test]
    fn flags_reject_leftovers_and_missing_values() {
        assert!(flags(&["--bogus"]).finish().is_err());
        assert!(flags(&["--seconds"]).value("--seconds").is_err());
    }
}
