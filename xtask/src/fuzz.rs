//! `cargo xtask fuzz`: runs libFuzzer targets on stable through cargo-fuzz and `RUSTC_BOOTSTRAP`.
//!
//! New inputs that libFuzzer finds go to a scratch directory under `fuzz/target/`, never into
//! the committed corpus: the scratch directory is the first corpus argument (where libFuzzer
//! writes) and `fuzz/corpus/<target>/` the second (read only). Crashes land in
//! `fuzz/artifacts/<target>/`, which is ignored by git.

use std::env;
use std::fs;
use std::path::Path;
use std::process::Command;

use crate::cmd::{self, Result};

/// Returns the default seconds per target: `$XTASK_FUZZ_SECONDS`, else 20.
///
/// # Errors
///
/// Fails if the variable is set but is not a positive integer.
pub(crate) fn default_seconds() -> Result<u64> {
    match env::var("XTASK_FUZZ_SECONDS") {
        Ok(text) => parse_seconds(&text).map_err(|err| format!("XTASK_FUZZ_SECONDS: {err}").into()),
        Err(env::VarError::NotPresent) => Ok(DEFAULT_SECONDS),
        Err(err) => Err(format!("XTASK_FUZZ_SECONDS: {err}").into()),
    }
}

/// Parses a positive number of seconds.
///
/// # Errors
///
/// Fails unless `text` is a positive integer.
pub(crate) fn parse_seconds(text: &str) -> Result<u64> {
    match text.trim().parse::<u64>() {
        Ok(0) | Err(_) => {
            Err(format!("expected a positive number of seconds, got `{text}`").into())
        }
        Ok(seconds) => Ok(seconds),
    }
}

/// Lists the fuzz targets: the file stems in `fuzz/fuzz_targets/`, sorted.
///
/// # Errors
///
/// Fails if the directory cannot be read or holds no target.
pub(crate) fn targets(root: &Path) -> Result<Vec<String>> {
    let dir = root.join("fuzz").join("fuzz_targets");
    let mut names = Vec::new();
    for entry in
        fs::read_dir(&dir).map_err(|err| format!("cannot read {}: {err}", dir.display()))?
    {
        let path = entry?.path();
        if path.extension().is_some_and(|ext| ext == "rs") {
            if let Some(stem) = path.file_stem() {
                names.push(stem.to_string_lossy().into_owned());
            }
        }
    }
    names.sort();
    if names.is_empty() {
        return Err(format!("no fuzz targets in {}", dir.display()).into());
    }
    Ok(names)
}

/// Fuzzes `target` (or every target) for `seconds` each; fails on the first crash.
///
/// # Errors
///
/// Fails if cargo-fuzz cannot be installed, a target does not build, or libFuzzer reports a
/// crash, leak, timeout or out-of-memory.
pub(crate) fn run(root: &Path, target: Option<&str>, seconds: u64) -> Result {
    let all = targets(root)?;
    let selected: Vec<String> = match target {
        Some(name) if all.iter().any(|known| known == name) => vec![name.to_owned()],
        Some(name) => {
            return Err(format!("unknown fuzz target `{name}`; known: {}", all.join(", ")).into());
        }
        None => all,
    };
    ensure_cargo_fuzz(root)?;

    let mut build = fuzz_cargo(root);
    build.args(["fuzz", "build", "--fuzz-dir", "fuzz"]);
    if let Some(name) = target {
        build.arg(name);
    }
    cmd::run(&mut build)?;

    for name in &selected {
        let scratch = root
            .join("fuzz")
            .join("target")
            .join("xtask-corpus")
            .join(name);
        if scratch.exists() {
            fs::remove_dir_all(&scratch)?;
        }
        fs::create_dir_all(&scratch)?;
        let mut command = fuzz_cargo(root);
        command
            .args(["fuzz", "run", "--fuzz-dir", "fuzz", name])
            .arg(&scratch);
        let corpus = root.join("fuzz").join("corpus").join(name);
        if corpus.is_dir() {
            command.arg(&corpus);
        }
        command.args([
            "--".to_owned(),
            format!("-max_total_time={seconds}"),
            // A fixed seed: from the committed corpus, each run mutates the same way (up to how
            // many executions fit in the time), so a CI failure reproduces locally. Longer,
            // randomly seeded runs are `cargo fuzz run` by hand.
            format!("-seed={}", seed()),
            "-timeout=10".to_owned(),
            "-rss_limit_mb=2048".to_owned(),
            "-print_final_stats=1".to_owned(),
        ]);
        cmd::run(&mut command).map_err(|err| {
            format!(
                "{err}\nfuzz target `{name}` failed: the input is in fuzz/artifacts/{name}/; \
                 commit it as fuzz/corpus/{name}/<what>.<hash>.bin with a unit test in the \
                 layer at fault"
            )
        })?;
    }
    Ok(())
}

/// Returns a cargo command for cargo-fuzz: nightly features on stable via `RUSTC_BOOTSTRAP`
/// (as rustls's CI does), and the fuzz workspace's own `fuzz/target` directory even when the
/// caller set `CARGO_TARGET_DIR` for the main workspace.
fn fuzz_cargo(root: &Path) -> Command {
    let mut command = cmd::cargo(root);
    command
        .env("RUSTC_BOOTSTRAP", "1")
        .env_remove("CARGO_TARGET_DIR");
    command
}

/// Installs cargo-fuzz with `cargo install --locked` unless `cargo fuzz --version` works.
fn ensure_cargo_fuzz(root: &Path) -> Result {
    if cmd::read(cmd::cargo(root).args(["fuzz", "--version"])).is_ok() {
        return Ok(());
    }
    println!("cargo-fuzz is missing; installing it");
    cmd::run(cmd::cargo(root).args(["install", "cargo-fuzz", "--locked"]))
}

/// libFuzzer's seed: `$XTASK_FUZZ_SEED` if it is a number, else 1.
fn seed() -> u64 {
    env::var("XTASK_FUZZ_SEED")
        .ok()
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or(1)
}

/// Seconds per target when neither `--seconds` nor `$XTASK_FUZZ_SECONDS` says otherwise.
const DEFAULT_SECONDS: u64 = 20;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_must_be_positive_integers() {
        assert_eq!(parse_seconds("20").unwrap(), 20);
        assert_eq!(parse_seconds(" 5\n").unwrap(), 5);
        assert!(parse_seconds("0").is_err());
        assert!(parse_seconds("-1").is_err());
        assert!(parse_seconds("ten").is_err());
    }

    #[test]
    fn targets_are_listed_from_the_fuzz_directory() {
        let root = cmd::project_root().unwrap();
        let names = targets(&root).unwrap();
        for expected in [
            "codec_command",
            "codec_frame",
            "codec_greeting",
            "codec_roundtrip",
            "codec_session_client",
            "codec_session_server",
        ] {
            assert!(
                names.iter().any(|name| name == expected),
                "{expected} in {names:?}"
            );
        }
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted);
    }
}
