//! `cargo xtask ci` and the cargo-only steps it runs (fmt, lint, test, doc, interop).

use std::path::Path;
use std::time::{Duration, Instant};

use crate::cmd::{self, Result};
use crate::{fuzz, seeds, tidy};

/// Manifest of the fuzz workspace, relative to the project root.
const FUZZ_MANIFEST: &str = "fuzz/Cargo.toml";

/// Runs every CI step in order, stopping at the first failure, and prints a timed summary.
///
/// # Errors
///
/// Fails with the first failing step.
pub(crate) fn run(root: &Path, fuzz_seconds: u64) -> Result {
    let steps: [(&str, Step<'_>); 8] = [
        ("fmt", Box::new(|| fmt(root, false))),
        ("lint", Box::new(|| lint(root))),
        ("test", Box::new(|| test(root))),
        ("doc", Box::new(|| doc(root))),
        ("tidy", Box::new(|| tidy::run(root))),
        ("fuzz-seeds --check", Box::new(|| seeds::run(root, true))),
        (
            "fuzz smoke",
            Box::new(|| fuzz::run(root, None, fuzz_seconds)),
        ),
        ("interop", Box::new(|| interop(root))),
    ];
    run_steps(&steps)
}

/// Runs `steps` in order, fail-fast, printing each step's time and a final summary.
fn run_steps(steps: &[(&str, Step<'_>)]) -> Result {
    let total = steps.len();
    let started = Instant::now();
    let mut done: Vec<(&str, Duration)> = Vec::new();
    for (index, (name, step)) in steps.iter().enumerate() {
        println!("\n==> [{}/{total}] {name}", index + 1);
        let step_started = Instant::now();
        let outcome = step();
        let elapsed = step_started.elapsed();
        if let Err(err) = outcome {
            println!("<== {name} FAILED after {}", seconds(elapsed));
            print_summary(&done, Some((name, elapsed)), started.elapsed());
            return Err(format!("ci step `{name}` failed: {err}").into());
        }
        println!("<== {name} ok in {}", seconds(elapsed));
        done.push((name, elapsed));
    }
    print_summary(&done, None, started.elapsed());
    Ok(())
}

/// Checks formatting of the workspace and of the fuzz workspace (`fix` rewrites instead).
///
/// # Errors
///
/// Fails if a file is not formatted (or rustfmt fails).
pub(crate) fn fmt(root: &Path, fix: bool) -> Result {
    let check: &[&str] = if fix { &[] } else { &["--", "--check"] };
    cmd::run(cmd::cargo(root).args(["fmt", "--all"]).args(check))?;
    // No `--all` here: it would also format the path dependency zmtp-codec a second time.
    cmd::run(
        cmd::cargo(root)
            .args(["fmt", "--manifest-path", FUZZ_MANIFEST])
            .args(check),
    )
}

/// Reduced feature sets linted on their own (`-p CRATE --no-default-features --features SET`):
/// each transport of zmq-transport alone, and the crates above it with a subset, so code behind
/// a `cfg(feature = ...)` cannot rot unnoticed while the default build enables everything.
const FEATURE_BUILDS: &[(&str, &str)] = &[
    ("zmq-transport", "tcp"),
    ("zmq-transport", "ipc"),
    ("zmq-transport", "inproc"),
    ("zmq-transport", "ws"),
    ("zmq-transport", "wss"),
    ("zmq-sockets", "inproc"),
    ("zmq-peer", "tcp"),
    ("zmq-peer", "ws"),
];

/// Runs clippy with `-D warnings` on every target of the workspace and of the fuzz workspace,
/// then on the library and binaries of each of [`FEATURE_BUILDS`] (these share the dependency
/// builds of the first run, so they only re-check our own crates).
///
/// # Errors
///
/// Fails on any warning or build error.
pub(crate) fn lint(root: &Path) -> Result {
    cmd::run(cmd::cargo(root).args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    cmd::run(cmd::cargo(root).args([
        "clippy",
        "--manifest-path",
        FUZZ_MANIFEST,
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    for (package, features) in FEATURE_BUILDS {
        cmd::run(cmd::cargo(root).args([
            "clippy",
            "--package",
            package,
            "--no-default-features",
            "--features",
            features,
            "--",
            "-D",
            "warnings",
        ]))?;
    }
    Ok(())
}

/// Runs the tests and doctests of every crate but interop, then the fuzz corpus replay.
///
/// # Errors
///
/// Fails if any test fails.
pub(crate) fn test(root: &Path) -> Result {
    cmd::run(cmd::cargo(root).args(["test", "--workspace", "--exclude", "interop"]))?;
    cmd::run(cmd::cargo(root).args(["test", "--manifest-path", FUZZ_MANIFEST]))
}

/// Builds the API docs of every crate but interop with rustdoc warnings denied.
///
/// # Errors
///
/// Fails on any rustdoc warning.
pub(crate) fn doc(root: &Path) -> Result {
    cmd::run(cmd::cargo(root).env("RUSTDOCFLAGS", "-D warnings").args([
        "doc",
        "--workspace",
        "--no-deps",
        "--exclude",
        "interop",
    ]))
}

/// Runs the interop suite against a real libzmq (built by `zeromq-src`).
///
/// # Errors
///
/// Fails if any interop test fails.
pub(crate) fn interop(root: &Path) -> Result {
    cmd::run(cmd::cargo(root).args(["test", "-p", "interop", "--release"]))
}

/// One CI step, run once.
type Step<'a> = Box<dyn Fn() -> Result + 'a>;

/// Prints one line per finished step, the failed step if any, and the total time.
fn print_summary(done: &[(&str, Duration)], failed: Option<(&str, Duration)>, total: Duration) {
    println!("\nci summary:");
    for (name, elapsed) in done {
        println!("  ok      {name:<20} {:>9}", seconds(*elapsed));
    }
    if let Some((name, elapsed)) = failed {
        println!("  FAILED  {name:<20} {:>9}", seconds(elapsed));
    }
    println!("  total   {:<20} {:>9}", "", seconds(total));
}

/// Formats a duration as seconds with one decimal.
fn seconds(duration: Duration) -> String {
    format!("{:.1}s", duration.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::*;

    #[test]
    fn steps_run_in_order_and_stop_at_the_first_failure() {
        let ran = RefCell::new(Vec::new());
        let step = |name: &'static str, ok: bool| -> Step<'_> {
            let ran = &ran;
            Box::new(move || {
                ran.borrow_mut().push(name);
                if ok {
                    Ok(())
                } else {
                    Err(format!("{name} broke").into())
                }
            })
        };
        let steps = [
            ("a", step("a", true)),
            ("b", step("b", false)),
            ("c", step("c", true)),
        ];
        let err = run_steps(&steps).unwrap_err().to_string();
        assert!(err.contains("`b`") && err.contains("b broke"), "{err}");
        assert_eq!(*ran.borrow(), vec!["a", "b"]);

        ran.borrow_mut().clear();
        let steps = [("a", step("a", true)), ("c", step("c", true))];
        run_steps(&steps).unwrap();
        assert_eq!(*ran.borrow(), vec!["a", "c"]);
    }

    #[test]
    fn every_transport_is_linted_alone() {
        for transport in ["tcp", "ipc", "inproc", "ws", "wss"] {
            assert!(
                FEATURE_BUILDS.contains(&("zmq-transport", transport)),
                "{transport}"
            );
        }
        for package in ["zmq-sockets", "zmq-peer"] {
            assert!(
                FEATURE_BUILDS.iter().any(|(p, _)| *p == package),
                "{package}"
            );
        }
    }

    #[test]
    fn seconds_have_one_decimal() {
        assert_eq!(seconds(Duration::from_millis(12_345)), "12.3s");
    }
}
