//! Benchmark child processes: spawning with a peak-RSS and CPU probe, reading their output,
//! bounded waits.

use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::stats;
use crate::cmd::Result;

/// How often a waiting harness looks at its children (exit status, `VmHWM`, CPU ticks).
const POLL: Duration = Duration::from_millis(5);

/// How the peak resident set and the CPU time of a child are measured.
#[derive(Debug, Clone)]
pub(crate) enum RssProbe {
    /// Run the child under GNU `time -f "%M %U %S" -o FILE` (the kernel's `ru_maxrss`, user and
    /// system CPU seconds at exit).
    Time(PathBuf),
    /// Read `VmHWM` from `/proc/<pid>/status` and `utime + stime` from `/proc/<pid>/stat` while
    /// the child runs (misses the last few ms).
    Proc,
}

impl RssProbe {
    /// `/usr/bin/time` when present, `/proc` polling otherwise.
    pub(crate) fn detect() -> Self {
        let time = PathBuf::from("/usr/bin/time");
        if time.is_file() {
            Self::Time(time)
        } else {
            Self::Proc
        }
    }

    /// A name for reports.
    pub(crate) fn describe(&self) -> &'static str {
        match self {
            Self::Time(_) => "GNU time %M %U %S (ru_maxrss, user+sys CPU)",
            Self::Proc => {
                "VmHWM polled from /proc/<pid>/status, utime+stime polled from /proc/<pid>/stat"
            }
        }
    }
}

/// A running benchmark process.
#[derive(Debug)]
pub(crate) struct Running {
    /// A short name for messages, e.g. `zpeer thr-recv`.
    pub(crate) name: String,
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
    stderr: Option<JoinHandle<String>>,
    rss_file: Option<PathBuf>,
    hwm_kb: Option<u64>,
    /// `utime + stime` in clock ticks last seen under the `/proc` probe.
    cpu_ticks: Option<u64>,
    status: Option<ExitStatus>,
}

/// A process that has exited (or was killed).
#[derive(Debug)]
pub(crate) struct Finished {
    /// A short name for messages.
    pub(crate) name: String,
    /// Every stdout line.
    pub(crate) stdout: Vec<String>,
    /// All of stderr.
    pub(crate) stderr: String,
    /// The exit status.
    pub(crate) status: ExitStatus,
    /// Peak resident set in KiB, when the probe produced one.
    pub(crate) peak_rss_kb: Option<u64>,
    /// User plus system CPU time in seconds, when the probe produced one.
    pub(crate) cpu_s: Option<f64>,
}

impl Running {
    /// Starts `program args` with piped stdout/stderr under `probe`; `scratch` holds probe files.
    ///
    /// # Errors
    ///
    /// Fails if the process cannot be started.
    pub(crate) fn spawn(
        name: &str,
        program: &Path,
        args: &[String],
        probe: &RssProbe,
        scratch: &Path,
    ) -> Result<Self> {
        let (mut command, rss_file) = match probe {
            RssProbe::Time(time) => {
                let file = scratch.join(format!("rss-{}.txt", unique()));
                let mut command = Command::new(time);
                command
                    .args(["-f", "%M %U %S", "-o"])
                    .arg(&file)
                    .arg(program)
                    .args(args);
                (command, Some(file))
            }
            RssProbe::Proc => {
                let mut command = Command::new(program);
                command.args(args);
                (command, None)
            }
        };
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|err| format!("cannot start {}: {err}", program.display()))?;
        let (sender, lines) = mpsc::channel();
        if let Some(stdout) = child.stdout.take() {
            thread::spawn(move || {
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    if sender.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        let stderr = child.stderr.take().map(|mut stderr| {
            thread::spawn(move || {
                let mut text = String::new();
                // A read error only truncates the diagnostics.
                let _ = stderr.read_to_string(&mut text);
                text
            })
        });
        Ok(Self {
            name: name.to_owned(),
            child,
            lines,
            seen: Vec::new(),
            stderr,
            rss_file,
            hwm_kb: None,
            cpu_ticks: None,
            status: None,
        })
    }

    /// Waits up to `timeout` for the first stdout line (a binder's resolved endpoint).
    ///
    /// # Errors
    ///
    /// Fails if the process exits or stays silent for `timeout`.
    pub(crate) fn first_line(&mut self, timeout: Duration) -> Result<String> {
        match self.lines.recv_timeout(timeout) {
            Ok(line) => {
                self.seen.push(line.clone());
                Ok(line)
            }
            Err(RecvTimeoutError::Timeout) => {
                Err(format!("{} printed nothing within {timeout:?}", self.name).into())
            }
            Err(RecvTimeoutError::Disconnected) => {
                Err(format!("{} exited before printing its endpoint", self.name).into())
            }
        }
    }

    /// Checks for exit (and samples `VmHWM` and CPU ticks under the `/proc` probe); `true` once
    /// exited.
    fn poll(&mut self) -> Result<bool> {
        if self.status.is_some() {
            return Ok(true);
        }
        if self.rss_file.is_none() {
            let pid = self.child.id();
            if let Ok(status) = fs::read_to_string(format!("/proc/{pid}/status"))
                && let Some(kb) = stats::status_kb(&status, "VmHWM")
            {
                self.hwm_kb = Some(self.hwm_kb.map_or(kb, |old| old.max(kb)));
            }
            if let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat"))
                && let Some(ticks) = stats::stat_cpu_ticks(&stat)
            {
                self.cpu_ticks = Some(self.cpu_ticks.map_or(ticks, |old| old.max(ticks)));
            }
        }
        let status = self
            .child
            .try_wait()
            .map_err(|err| format!("waiting for {}: {err}", self.name))?;
        self.status = status;
        Ok(status.is_some())
    }

    /// Kills the benchmark process (under `time`, the process `time` started) and reaps it.
    fn kill(&mut self) {
        if self.status.is_some() {
            return;
        }
        if self.rss_file.is_some() {
            let pid = self.child.id();
            let children =
                fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
            for grandchild in children.split_whitespace() {
                // Best effort: the process may have exited meanwhile.
                let _ = Command::new("kill")
                    .args(["-KILL", grandchild])
                    .stderr(Stdio::null())
                    .status();
            }
        }
        // Best effort as well; `wait` below reaps whatever state it is in.
        let _ = self.child.kill();
        self.status = self.child.wait().ok();
    }

    /// Collects output, the peak RSS and the CPU time of an exited process.
    fn finish(mut self) -> Result<Finished> {
        let status = match self.status {
            Some(status) => status,
            None => self
                .child
                .wait()
                .map_err(|err| format!("waiting for {}: {err}", self.name))?,
        };
        // The reader thread ends at EOF, which follows the exit: the iterator then stops.
        self.seen.extend(self.lines.iter());
        let stderr = self
            .stderr
            .take()
            .and_then(|handle| handle.join().ok())
            .unwrap_or_default();
        let (peak_rss_kb, cpu_s) = match &self.rss_file {
            Some(file) => {
                let text = fs::read_to_string(file).unwrap_or_default();
                // Best effort: the scratch directory is removed at the end anyway.
                let _ = fs::remove_file(file);
                let output = stats::time_output(&text);
                (output.rss_kb, output.cpu_s)
            }
            None => (
                self.hwm_kb,
                self.cpu_ticks
                    .map(|ticks| stats::to_f64(ticks) / stats::CLOCK_TICKS_PER_S),
            ),
        };
        self.status = Some(status);
        Ok(Finished {
            name: std::mem::take(&mut self.name),
            stdout: std::mem::take(&mut self.seen),
            stderr,
            status,
            peak_rss_kb,
            cpu_s,
        })
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // A process abandoned on an error path must not outlive the harness.
        self.kill();
    }
}

/// Waits for every process until `deadline`; the first failure or the deadline kills the rest.
///
/// # Errors
///
/// Fails if waiting itself fails. Failed processes are reported in their [`Finished::status`];
/// killed ones as killed, with `timed_out` set when the deadline struck.
pub(crate) fn wait_all(
    mut running: Vec<Running>,
    deadline: Instant,
) -> Result<(Vec<Finished>, bool)> {
    let mut timed_out = false;
    loop {
        let mut all_done = true;
        let mut failed = false;
        for process in &mut running {
            if process.poll()? {
                failed |= process.status.is_some_and(|status| !status.success());
            } else {
                all_done = false;
            }
        }
        if all_done {
            break;
        }
        if failed || Instant::now() >= deadline {
            timed_out = !failed;
            for process in &mut running {
                process.kill();
            }
            break;
        }
        thread::sleep(POLL);
    }
    let finished = running
        .into_iter()
        .map(Running::finish)
        .collect::<Result<Vec<_>>>()?;
    Ok((finished, timed_out))
}

/// A number unique within this process.
fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str, probe: &RssProbe, dir: &Path) -> Running {
        Running::spawn(
            "sh",
            Path::new("/bin/sh"),
            &["-c".to_owned(), script.to_owned()],
            probe,
            dir,
        )
        .unwrap()
    }

    fn scratch() -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "xtask-child-test-{}-{}",
            std::process::id(),
            unique()
        ));
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn collects_lines_status_and_rss() {
        let dir = scratch();
        for probe in [RssProbe::detect(), RssProbe::Proc] {
            let mut process = sh("echo first; echo second; echo oops >&2", &probe, &dir);
            assert_eq!(
                process.first_line(Duration::from_secs(10)).unwrap(),
                "first"
            );
            let deadline = Instant::now() + Duration::from_secs(10);
            let (finished, timed_out) = wait_all(vec![process], deadline).unwrap();
            assert!(!timed_out);
            assert!(finished[0].status.success());
            assert_eq!(finished[0].stdout, ["first", "second"]);
            assert_eq!(finished[0].stderr, "oops\n");
            if matches!(probe, RssProbe::Time(_)) {
                assert!(finished[0].peak_rss_kb.is_some_and(|kb| kb > 0));
                assert!(finished[0].cpu_s.is_some_and(|cpu| cpu >= 0.0));
            }
        }
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn measures_the_cpu_time_of_a_busy_failing_child() {
        let dir = scratch();
        // Some 0.1 to 1 s of CPU in the shell, then a failure: GNU time then writes a
        // "Command exited with non-zero status 1" line before the figures.
        let busy = "i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done; exit 1";
        for probe in [RssProbe::detect(), RssProbe::Proc] {
            let process = sh(busy, &probe, &dir);
            let deadline = Instant::now() + Duration::from_secs(50);
            let (finished, timed_out) = wait_all(vec![process], deadline).unwrap();
            assert!(!timed_out);
            assert_eq!(finished[0].status.code(), Some(1));
            let cpu = finished[0].cpu_s;
            assert!(
                cpu.is_some_and(|cpu| (0.03..30.0).contains(&cpu)),
                "{probe:?}: {cpu:?}"
            );
            if matches!(probe, RssProbe::Time(_)) {
                assert!(finished[0].peak_rss_kb.is_some_and(|kb| kb > 0));
            }
        }
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_failure_kills_the_others() {
        let dir = scratch();
        let probe = RssProbe::detect();
        let sleeper = sh("exec sleep 60", &probe, &dir);
        let failing = sh("exit 3", &probe, &dir);
        let deadline = Instant::now() + Duration::from_secs(50);
        let (finished, timed_out) = wait_all(vec![sleeper, failing], deadline).unwrap();
        // Not timed out: the failure, not the deadline, ended the sleeper.
        assert!(!timed_out);
        assert!(!finished[0].status.success());
        assert_eq!(finished[1].status.code(), Some(3));
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn the_deadline_kills_and_says_so() {
        let dir = scratch();
        let sleeper = sh("exec sleep 60", &RssProbe::detect(), &dir);
        let (finished, timed_out) =
            wait_all(vec![sleeper], Instant::now() + Duration::from_millis(200)).unwrap();
        assert!(timed_out);
        assert!(!finished[0].status.success());
        fs::remove_dir_all(dir).unwrap();
    }
}
