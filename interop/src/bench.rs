//! The command line and the result lines shared by the benchmark binaries `libzmq-peer` and
//! `raw-pump`, identical to those of `zpeer` so that a harness can swap the binaries.
//!
//! Commands (see `interop/BENCH.md` for the full contract):
//!
//! ```text
//! echo ENDPOINT [--count N]
//! thr-recv ENDPOINT --count N --size S [--timeout SECS]
//! thr-send ENDPOINT --count N --size S
//! lat ENDPOINT --count N --size S [--timeout SECS]
//! thr-inproc --count N --size S
//! lat-inproc --count N --size S
//! ```
//!
//! Result lines: `thr size=S count=N msgs_per_s=X mb_per_s=Y` (megabits per second, timed from
//! the first message, as libzmq's `local_thr`) and
//! `lat size=S count=N avg_us=X p50_us=Y p99_us=Z` (nearest-rank percentiles of the round trips).
//! A binding command prints its resolved endpoint as its first stdout line.

use std::fmt;
use std::io::{self, Write};
use std::time::Duration;

/// Default bound on each wait of `lat` (and of connecting), as in `zpeer`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// One parsed benchmark command line.
#[derive(Clone, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub enum Command {
    /// Bind, print the endpoint, send every message back to its sender; stop after `count`.
    Echo {
        /// Where to bind.
        endpoint: String,
        /// How many messages to echo before exiting (`None` = forever).
        count: Option<u64>,
    },
    /// Bind, print the endpoint, receive `count` messages of `size` octets, print a `thr` line.
    ThrRecv {
        /// Where to bind.
        endpoint: String,
        /// Number of messages.
        count: u64,
        /// Size of each message in octets.
        size: usize,
        /// Bound on each receive (`None` = wait forever).
        timeout: Option<Duration>,
    },
    /// Connect and send `count` messages of `size` octets; exit only once all are delivered.
    ThrSend {
        /// Where to connect.
        endpoint: String,
        /// Number of messages.
        count: u64,
        /// Size of each message in octets.
        size: usize,
    },
    /// Connect and time `count` round trips of `size` octets against `echo`; print a `lat` line.
    Lat {
        /// Where to connect.
        endpoint: String,
        /// Number of round trips (at least 1).
        count: u64,
        /// Size of each message in octets.
        size: usize,
        /// Bound on each wait.
        timeout: Duration,
    },
    /// `thr-recv` and `thr-send` in one process over inproc; prints the `thr` line.
    ThrInproc {
        /// Number of messages.
        count: u64,
        /// Size of each message in octets.
        size: usize,
    },
    /// `lat` against an in-process echo over inproc; prints the `lat` line.
    LatInproc {
        /// Number of round trips (at least 1).
        count: u64,
        /// Size of each message in octets.
        size: usize,
    },
}

impl Command {
    /// Parses the arguments after the program name; `Ok(None)` asks for the usage text.
    ///
    /// # Errors
    /// A message describing the first problem (unknown command, missing or malformed option).
    pub fn parse(args: &[String]) -> Result<Option<Self>, String> {
        let Some((name, rest)) = args.split_first() else {
            return Err("missing command".to_owned());
        };
        if matches!(name.as_str(), "-h" | "--help" | "help") {
            return Ok(None);
        }
        let mut parsed = ParsedArgs::new(rest)?;
        if parsed.help {
            return Ok(None);
        }
        let command = match name.as_str() {
            "echo" => Self::Echo {
                endpoint: parsed.endpoint(name)?,
                count: parsed.take_number("count")?,
            },
            "thr-recv" => Self::ThrRecv {
                endpoint: parsed.endpoint(name)?,
                count: parsed.require_number("count")?,
                size: parsed.require_size()?,
                timeout: parsed.take_timeout()?,
            },
            "thr-send" => Self::ThrSend {
                endpoint: parsed.endpoint(name)?,
                count: parsed.require_number("count")?,
                size: parsed.require_size()?,
            },
            "lat" => Self::Lat {
                endpoint: parsed.endpoint(name)?,
                count: parsed.require_number("count")?,
                size: parsed.require_size()?,
                timeout: parsed.take_timeout()?.unwrap_or(DEFAULT_TIMEOUT),
            },
            "thr-inproc" => Self::ThrInproc {
                count: parsed.require_number("count")?,
                size: parsed.require_size()?,
            },
            "lat-inproc" => Self::LatInproc {
                count: parsed.require_number("count")?,
                size: parsed.require_size()?,
            },
            other => return Err(format!("unknown command `{other}`")),
        };
        parsed.finish(name)?;
        if let Self::Lat { count: 0, .. } | Self::LatInproc { count: 0, .. } = command {
            return Err("--count must be at least 1".to_owned());
        }
        Ok(Some(command))
    }
}

/// Why a benchmark command failed; decides the exit status (as `zpeer`).
#[derive(Debug)]
#[non_exhaustive]
pub enum Failure {
    /// An operation on an endpoint (bind, connect) failed: exit status 2.
    Endpoint {
        /// The endpoint as given.
        endpoint: String,
        /// What went wrong, with its errno.
        error: String,
    },
    /// Any other failure (socket error, check, timeout): exit status 1.
    Other(String),
}

impl Failure {
    /// The process exit status for this failure.
    #[must_use]
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Endpoint { .. } => 2,
            Self::Other(_) => 1,
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Endpoint { endpoint, error } => write!(f, "{endpoint}: {error}"),
            Self::Other(message) => f.write_str(message),
        }
    }
}

/// Prints `line` on stdout and flushes, so a parent process reading a pipe sees it at once.
///
/// # Errors
/// [`Failure::Other`] if stdout cannot be written.
pub fn print_flushed(line: &str) -> Result<(), Failure> {
    let mut stdout = io::stdout().lock();
    writeln!(stdout, "{line}")
        .and_then(|()| stdout.flush())
        .map_err(|error| Failure::Other(format!("writing to stdout: {error}")))
}

/// The `thr` result line for `count` messages of `size` octets received in `elapsed` (timed
/// from the first message).
#[must_use]
pub fn thr_line(size: usize, count: u64, elapsed: Duration) -> String {
    let seconds = elapsed.as_secs_f64().max(1e-6);
    let msgs_per_s = to_f64(count) / seconds;
    let mb_per_s = msgs_per_s * to_f64(u64::try_from(size).unwrap_or(u64::MAX)) * 8.0 / 1e6;
    format!("thr size={size} count={count} msgs_per_s={msgs_per_s:.0} mb_per_s={mb_per_s:.3}")
}

/// The `lat` result line for the round-trip `samples` (sorted in place) of `size` octets.
#[must_use]
pub fn lat_line(size: usize, samples: &mut [Duration]) -> String {
    samples.sort_unstable();
    let count = samples.len();
    let total: Duration = samples.iter().sum();
    let avg = total.as_secs_f64() * 1e6 / to_f64(u64::try_from(count).unwrap_or(u64::MAX)).max(1.0);
    format!(
        "lat size={size} count={count} avg_us={avg:.1} p50_us={:.1} p99_us={:.1}",
        percentile_us(samples, 50),
        percentile_us(samples, 99)
    )
}

/// The `pct`-th percentile (nearest rank) of sorted `samples`, in microseconds (0 if empty).
#[must_use]
pub fn percentile_us(samples: &[Duration], pct: usize) -> f64 {
    let rank = (samples.len() * pct).div_ceil(100).max(1);
    samples
        .get(rank - 1)
        .map_or(0.0, |sample| sample.as_secs_f64() * 1e6)
}

/// Milliseconds for a libzmq RCVTIMEO / SNDTIMEO, saturating at `i32::MAX`.
#[must_use]
pub fn millis(duration: Duration) -> i32 {
    i32::try_from(duration.as_millis()).unwrap_or(i32::MAX)
}

/// A unique name for an in-process endpoint of this process, e.g. for `inproc://`.
#[must_use]
pub fn unique_name(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("{prefix}-{}-{nanos}", std::process::id())
}

#[allow(
    clippy::cast_precision_loss,
    reason = "statistics; counts far below 2^52"
)]
fn to_f64(value: u64) -> f64 {
    value as f64
}

/// Positional arguments and `--name value` / `--name=value` options, consumed by the parser.
#[derive(Debug)]
struct ParsedArgs {
    positional: Vec<String>,
    options: Vec<(String, String)>,
    help: bool,
}

impl ParsedArgs {
    fn new(args: &[String]) -> Result<Self, String> {
        let mut positional = Vec::new();
        let mut options = Vec::new();
        let mut help = false;
        let mut iter = args.iter();
        while let Some(arg) = iter.next() {
            if arg == "-h" || arg == "--help" {
                help = true;
            } else if let Some(option) = arg.strip_prefix("--") {
                let (name, value) = match option.split_once('=') {
                    Some((name, value)) => (name.to_owned(), value.to_owned()),
                    None => {
                        let value = iter
                            .next()
                            .ok_or_else(|| format!("--{option} needs a value"))?;
                        (option.to_owned(), value.clone())
                    }
                };
                options.push((name, value));
            } else {
                positional.push(arg.clone());
            }
        }
        Ok(Self {
            positional,
            options,
            help,
        })
    }

    fn endpoint(&mut self, command: &str) -> Result<String, String> {
        if self.positional.is_empty() {
            return Err(format!("{command}: missing ENDPOINT"));
        }
        Ok(self.positional.remove(0))
    }

    fn take(&mut self, name: &str) -> Option<String> {
        let index = self.options.iter().position(|(n, _)| n == name)?;
        Some(self.options.remove(index).1)
    }

    fn take_number(&mut self, name: &str) -> Result<Option<u64>, String> {
        self.take(name)
            .map(|value| {
                value
                    .parse::<u64>()
                    .map_err(|_| format!("--{name}: `{value}` is not a number"))
            })
            .transpose()
    }

    fn require_number(&mut self, name: &str) -> Result<u64, String> {
        self.take_number(name)?
            .ok_or_else(|| format!("--{name} is required"))
    }

    fn require_size(&mut self) -> Result<usize, String> {
        let size = self.require_number("size")?;
        usize::try_from(size).map_err(|_| format!("--size {size} is too large"))
    }

    fn take_timeout(&mut self) -> Result<Option<Duration>, String> {
        let Some(value) = self.take("timeout") else {
            return Ok(None);
        };
        let seconds: f64 = value
            .parse()
            .map_err(|_| format!("--timeout: `{value}` is not a number"))?;
        if !seconds.is_finite() || seconds <= 0.0 || seconds > 1.0e6 {
            return Err(format!("--timeout: `{value}` is out of range"));
        }
        Ok(Some(Duration::from_secs_f64(seconds)))
    }

    fn finish(self, command: &str) -> Result<(), String> {
        if let Some(extra) = self.positional.first() {
            return Err(format!("{command}: unexpected argument `{extra}`"));
        }
        if let Some((name, _)) = self.options.first() {
            return Err(format!("{command}: unknown option --{name}"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn parses_the_zpeer_grammar() {
        assert_eq!(
            Command::parse(&args("thr-recv tcp://127.0.0.1:* --count 10 --size=64")),
            Ok(Some(Command::ThrRecv {
                endpoint: "tcp://127.0.0.1:*".to_owned(),
                count: 10,
                size: 64,
                timeout: None,
            }))
        );
        assert_eq!(
            Command::parse(&args("lat ipc:///tmp/x --size 1 --count 3 --timeout 0.5")),
            Ok(Some(Command::Lat {
                endpoint: "ipc:///tmp/x".to_owned(),
                count: 3,
                size: 1,
                timeout: Duration::from_millis(500),
            }))
        );
        assert_eq!(
            Command::parse(&args("echo tcp://127.0.0.1:5555")),
            Ok(Some(Command::Echo {
                endpoint: "tcp://127.0.0.1:5555".to_owned(),
                count: None,
            }))
        );
        assert_eq!(
            Command::parse(&args("lat-inproc --count 2 --size 8")),
            Ok(Some(Command::LatInproc { count: 2, size: 8 }))
        );
        assert_eq!(Command::parse(&args("--help")), Ok(None));
    }

    #[test]
    fn rejects_bad_command_lines() {
        assert!(Command::parse(&[]).is_err());
        assert!(Command::parse(&args("thr-send tcp://x:1 --count 1")).is_err());
        assert!(Command::parse(&args("thr-send --count 1 --size 1")).is_err());
        assert!(Command::parse(&args("lat tcp://x:1 --count 0 --size 1")).is_err());
        assert!(Command::parse(&args("thr-inproc --count 1 --size 1 extra")).is_err());
        assert!(Command::parse(&args("echo tcp://x:1 --bogus 1")).is_err());
        assert!(Command::parse(&args("lat tcp://x:1 --count 1 --size 1 --timeout -1")).is_err());
        assert!(Command::parse(&args("frobnicate")).is_err());
    }

    #[test]
    fn result_lines_have_the_zpeer_shape() {
        assert_eq!(
            thr_line(100, 1000, Duration::from_millis(500)),
            "thr size=100 count=1000 msgs_per_s=2000 mb_per_s=1.600"
        );
        let mut samples: Vec<Duration> = (1..=100).rev().map(Duration::from_micros).collect();
        assert_eq!(
            lat_line(8, &mut samples),
            "lat size=8 count=100 avg_us=50.5 p50_us=50.0 p99_us=99.0"
        );
    }
}
