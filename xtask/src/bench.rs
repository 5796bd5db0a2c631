//! `cargo xtask bench`: the codec's criterion benches (the libzmq comparison will live here).

use std::path::Path;

use crate::cmd::{self, Result};

/// Runs `cargo bench -p zmtp-codec`.
///
/// # Errors
///
/// Fails if the benches fail to build or run.
pub(crate) fn run(root: &Path) -> Result {
    cmd::run(cmd::cargo(root).args(["bench", "-p", "zmtp-codec"]))
}
