//! Runs the benchmark binaries `libzmq-peer` and `raw-pump` end to end (tcp, ipc, inproc) and
//! checks the shape of their output lines (the same as `zpeer`'s). Every wait is bounded.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

const LIBZMQ_PEER: &str = env!("CARGO_BIN_EXE_libzmq-peer");
const RAW_PUMP: &str = env!("CARGO_BIN_EXE_raw-pump");

/// Bound on each child process.
const DEADLINE: Duration = Duration::from_secs(60);

/// A running binder: its process and its stdout lines (the first is the endpoint).
struct Binder {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Binder {
    fn spawn(binary: &str, args: &[&str]) -> (Self, String) {
        let mut child = Command::new(binary)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn binder");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, lines) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut binder = Self { child, lines };
        let endpoint = binder.line();
        (binder, endpoint)
    }

    fn line(&mut self) -> String {
        match self.lines.recv_timeout(DEADLINE) {
            Ok(line) => line,
            Err(e) => {
                let _ = self.child.kill();
                panic!("binder printed no line: {e}");
            }
        }
    }

    /// Waits for a successful exit and returns the next stdout line (if `want_line`).
    fn finish(mut self, want_line: bool) -> Option<String> {
        let line = want_line.then(|| self.line());
        let status = wait_bounded(&mut self.child);
        assert!(status.success(), "binder failed: {status}");
        line
    }
}

fn wait_bounded(child: &mut Child) -> std::process::ExitStatus {
    let deadline = Instant::now() + DEADLINE;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            panic!("child did not exit within {DEADLINE:?}");
        }
        thread::sleep(Duration::from_millis(5));
    }
}

/// Runs `binary args` to completion (bounded) and returns its output.
fn run(binary: &str, args: &[&str]) -> Output {
    let mut child = Command::new(binary)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    wait_bounded(&mut child);
    child.wait_with_output().expect("collect output")
}

fn stdout_of(output: &Output) -> String {
    assert!(
        output.status.success(),
        "failed: {}; stderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).expect("utf-8 stdout")
}

/// Checks `line` is `<kind> size=S count=N` followed by exactly `fields` with numeric values
/// with `decimals` digits after the point.
fn check_line(line: &str, kind: &str, size: usize, count: u64, fields: &[(&str, usize)]) {
    let mut words = line.split(' ');
    assert_eq!(words.next(), Some(kind), "{line}");
    assert_eq!(
        words.next(),
        Some(format!("size={size}").as_str()),
        "{line}"
    );
    assert_eq!(
        words.next(),
        Some(format!("count={count}").as_str()),
        "{line}"
    );
    for &(name, decimals) in fields {
        let word = words.next().unwrap_or_else(|| panic!("{line}: no {name}"));
        let value = word
            .strip_prefix(name)
            .and_then(|v| v.strip_prefix('='))
            .unwrap_or_else(|| panic!("{line}: expected {name}=..."));
        let number: f64 = value.parse().unwrap_or_else(|_| panic!("{line}: {value}"));
        assert!(number.is_finite() && number >= 0.0, "{line}");
        let got = value.split_once('.').map_or(0, |(_, frac)| frac.len());
        assert_eq!(got, decimals, "{line}: decimals of {name}");
    }
    assert_eq!(words.next(), None, "{line}");
}

fn check_thr(line: &str, size: usize, count: u64) {
    check_line(
        line,
        "thr",
        size,
        count,
        &[("msgs_per_s", 0), ("mb_per_s", 3)],
    );
}

fn check_lat(line: &str, size: usize, count: u64) {
    check_line(
        line,
        "lat",
        size,
        count,
        &[("avg_us", 1), ("p50_us", 1), ("p99_us", 1)],
    );
}

fn thr_pair(binary: &str, endpoint: &str, count: u64, size: usize) {
    let (count_s, size_s) = (count.to_string(), size.to_string());
    let (receiver, resolved) = Binder::spawn(
        binary,
        &[
            "thr-recv",
            endpoint,
            "--count",
            &count_s,
            "--size",
            &size_s,
            "--timeout",
            "30",
        ],
    );
    assert!(
        resolved.starts_with(&endpoint[..6]) && !resolved.contains('*'),
        "{resolved}: the resolved endpoint is printed"
    );
    let sent = run(
        binary,
        &[
            "thr-send", &resolved, "--count", &count_s, "--size", &size_s,
        ],
    );
    assert_eq!(stdout_of(&sent), "", "thr-send prints nothing");
    let line = receiver.finish(true).expect("thr line");
    check_thr(&line, size, count);
}

fn lat_pair(binary: &str, endpoint: &str, count: u64, size: usize) {
    let (count_s, size_s) = (count.to_string(), size.to_string());
    let (echo, resolved) = Binder::spawn(binary, &["echo", endpoint, "--count", &count_s]);
    let out = run(
        binary,
        &[
            "lat",
            &resolved,
            "--count",
            &count_s,
            "--size",
            &size_s,
            "--timeout",
            "30",
        ],
    );
    let stdout = stdout_of(&out);
    check_lat(stdout.trim_end(), size, count);
    assert_eq!(echo.finish(false), None);
}

fn endpoints(dir: &tempfile::TempDir) -> [String; 2] {
    [
        "tcp://127.0.0.1:*".to_owned(),
        format!("ipc://{}/bench.sock", dir.path().display()),
    ]
}

#[test]
fn libzmq_peer_thr_and_lat_over_tcp_and_ipc() {
    let dir = tempfile::tempdir().unwrap();
    for endpoint in endpoints(&dir) {
        thr_pair(LIBZMQ_PEER, &endpoint, 10_000, 64);
        thr_pair(LIBZMQ_PEER, &endpoint, 20, 1_048_576);
        lat_pair(LIBZMQ_PEER, &endpoint, 200, 64);
        lat_pair(LIBZMQ_PEER, &endpoint, 5, 1_048_576);
    }
}

#[test]
fn raw_pump_thr_and_lat_over_tcp_and_ipc() {
    let dir = tempfile::tempdir().unwrap();
    for endpoint in endpoints(&dir) {
        thr_pair(RAW_PUMP, &endpoint, 10_000, 64);
        thr_pair(RAW_PUMP, &endpoint, 20, 1_048_576);
        thr_pair(RAW_PUMP, &endpoint, 3, 0);
        lat_pair(RAW_PUMP, &endpoint, 200, 64);
        lat_pair(RAW_PUMP, &endpoint, 5, 1_048_576);
    }
    let stale = dir.path().join("bench.sock");
    assert!(!stale.exists(), "the ipc binder removes its socket file");
}

#[test]
fn raw_pump_ipc_star_resolves_to_a_path() {
    let (receiver, resolved) = Binder::spawn(
        RAW_PUMP,
        &[
            "thr-recv",
            "ipc://*",
            "--count",
            "1",
            "--size",
            "1",
            "--timeout",
            "30",
        ],
    );
    assert!(resolved.starts_with("ipc:///"), "{resolved}");
    let sent = run(
        RAW_PUMP,
        &["thr-send", &resolved, "--count", "1", "--size", "1"],
    );
    stdout_of(&sent);
    check_thr(&receiver.finish(true).expect("thr line"), 1, 1);
}

#[test]
fn libzmq_peer_inproc_commands() {
    let out = run(
        LIBZMQ_PEER,
        &["thr-inproc", "--count", "10000", "--size", "64"],
    );
    check_thr(stdout_of(&out).trim_end(), 64, 10_000);
    let out = run(
        LIBZMQ_PEER,
        &["lat-inproc", "--count", "100", "--size", "64"],
    );
    check_lat(stdout_of(&out).trim_end(), 64, 100);
}

#[test]
fn usage_and_endpoint_errors_exit_with_status_2() {
    for binary in [LIBZMQ_PEER, RAW_PUMP] {
        let out = run(
            binary,
            &["thr-send", "bogus://x", "--count", "1", "--size", "1"],
        );
        assert_eq!(out.status.code(), Some(2), "{binary}");
        assert!(!out.stderr.is_empty());
        let out = run(binary, &["lat", "tcp://127.0.0.1:1", "--size", "1"]);
        assert_eq!(out.status.code(), Some(2), "{binary}: missing --count");
        let out = run(binary, &["--help"]);
        assert!(out.status.success());
        assert!(String::from_utf8_lossy(&out.stdout).contains("thr-recv"));
    }
    let out = run(RAW_PUMP, &["thr-inproc", "--count", "1", "--size", "1"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn lat_against_a_silent_listener_fails_within_its_timeout() {
    // A listener that never accepts: the connection is made by the kernel but nobody answers,
    // so neither binary can complete a round trip and both must give up after --timeout.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("tcp://{}", silent.local_addr().unwrap());
    for binary in [LIBZMQ_PEER, RAW_PUMP] {
        let out = run(
            binary,
            &[
                "lat",
                &endpoint,
                "--count",
                "1",
                "--size",
                "1",
                "--timeout",
                "0.3",
            ],
        );
        assert_eq!(out.status.code(), Some(1), "{binary}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("timed out"), "{binary}: {stderr}");
    }
}
