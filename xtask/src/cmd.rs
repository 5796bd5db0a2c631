//! Running cargo and other processes: the project root, `$CARGO`, echoing and exit statuses.

use std::env;
use std::error::Error;
use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The result type of every xtask operation: errors are only ever printed.
pub(crate) type Result<T = ()> = std::result::Result<T, Box<dyn Error>>;

/// Returns the workspace root (the parent of this crate's manifest directory).
///
/// # Errors
///
/// Fails if the directory cannot be resolved.
pub(crate) fn project_root() -> Result<PathBuf> {
    let xtask_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = fs::canonicalize(xtask_dir.join("..")).map_err(|err| {
        format!(
            "cannot resolve the project root from {}: {err}",
            xtask_dir.display()
        )
    })?;
    Ok(root)
}

/// Returns a `cargo` command (through `$CARGO`, falling back to `cargo`) run from `root`.
pub(crate) fn cargo(root: &Path) -> Command {
    let program = env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    let mut command = Command::new(program);
    command.current_dir(root);
    command
}

/// Echoes `command`, runs it with inherited stdio and fails unless it exits successfully.
///
/// # Errors
///
/// Fails if the process cannot be started or exits unsuccessfully.
pub(crate) fn run(command: &mut Command) -> Result {
    let shown = display(command);
    println!("$ {shown}");
    let status = command
        .status()
        .map_err(|err| format!("cannot start `{shown}`: {err}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{shown}` failed ({status})").into())
    }
}

/// Runs `command` with its output captured and returns stdout.
///
/// # Errors
///
/// Fails if the process cannot be started, exits unsuccessfully or prints non-UTF-8.
pub(crate) fn read(command: &mut Command) -> Result<String> {
    let shown = display(command);
    let output = command
        .output()
        .map_err(|err| format!("cannot start `{shown}`: {err}"))?;
    if !output.status.success() {
        return Err(format!(
            "`{shown}` failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        )
        .into());
    }
    String::from_utf8(output.stdout)
        .map_err(|err| format!("`{shown}` printed non-UTF-8: {err}").into())
}

/// Renders a command as a shell-like line, environment overrides first.
fn display(command: &Command) -> String {
    let mut parts = Vec::new();
    for (key, value) in command.get_envs() {
        // Removed variables are not shown: the line stays copy-pasteable.
        if let Some(value) = value {
            parts.push(format!(
                "{}={}",
                key.to_string_lossy(),
                value.to_string_lossy()
            ));
        }
    }
    let program = Path::new(command.get_program());
    let program = program.file_name().unwrap_or(program.as_os_str());
    parts.push(program.to_string_lossy().into_owned());
    parts.extend(
        command
            .get_args()
            .map(|arg| arg.to_string_lossy().into_owned()),
    );
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_shows_env_program_name_and_args() {
        let mut command = Command::new("/usr/bin/cargo");
        command.env("RUSTC_BOOTSTRAP", "1").args(["fuzz", "run"]);
        assert_eq!(display(&command), "RUSTC_BOOTSTRAP=1 cargo fuzz run");
    }

    #[test]
    fn project_root_holds_the_workspace_manifest() {
        let root = project_root().unwrap();
        assert!(root.join("Cargo.toml").is_file());
        assert!(root.join("xtask").is_dir());
    }
}
