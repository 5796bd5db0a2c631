//! The `zpeer` binary end to end: echo + ping (also over ws and wss), throughput pair, latency,
//! demo, error exits.

mod support;

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use zmq_peer::Context;

use support::{msg, peer};

const ZPEER: &str = env!("CARGO_BIN_EXE_zpeer");
const PROCESS_WAIT: Duration = Duration::from_secs(30);

/// A running `zpeer` whose first stdout line (the resolved endpoint) has been read.
struct Server {
    child: Child,
    endpoint: String,
    rest: mpsc::Receiver<String>,
}

impl Server {
    fn start(args: &[&str]) -> Self {
        let mut child = Command::new(ZPEER)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn zpeer");
        let stdout = child.stdout.take().expect("stdout");
        let lines = spawn_line_reader(stdout);
        let Ok(endpoint) = lines.recv_timeout(PROCESS_WAIT) else {
            let _ = child.kill();
            let output = child.wait_with_output().expect("output");
            panic!(
                "zpeer {args:?} printed no endpoint; stderr: {}",
                stderr_of(&output.stderr)
            );
        };
        Self {
            child,
            endpoint,
            rest: lines,
        }
    }

    /// Waits for the process to exit (killing it after `PROCESS_WAIT`) and returns its status
    /// and the remaining stdout lines.
    fn finish(mut self) -> (ExitStatus, Vec<String>) {
        let status = wait_bounded(&mut self.child);
        let lines = self.rest.iter().collect();
        (status, lines)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn_line_reader(stdout: ChildStdout) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

fn wait_bounded(child: &mut Child) -> ExitStatus {
    let deadline = Instant::now() + PROCESS_WAIT;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let mut stderr = String::new();
            if let Some(mut pipe) = child.stderr.take() {
                let _ = pipe.read_to_string(&mut stderr);
            }
            panic!("zpeer did not exit within {PROCESS_WAIT:?}; stderr: {stderr}");
        }
        thread::sleep(Duration::from_millis(10));
    }
}

/// Runs `zpeer args` to completion (bounded) and returns status, stdout and stderr.
fn run(args: &[&str]) -> (ExitStatus, String, String) {
    let mut child = Command::new(ZPEER)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn zpeer");
    let mut stdout_pipe = child.stdout.take().expect("stdout");
    let mut stderr_pipe = child.stderr.take().expect("stderr");
    let out = thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout_pipe.read_to_string(&mut s);
        s
    });
    let err = thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr_pipe.read_to_string(&mut s);
        s
    });
    let status = wait_bounded(&mut child);
    (
        status,
        out.join().expect("stdout reader"),
        err.join().expect("stderr reader"),
    )
}

fn stderr_of(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn echo_and_ping_over_tcp() {
    let server = Server::start(&["echo", "tcp://127.0.0.1:*", "--count", "5"]);
    assert!(
        server.endpoint.starts_with("tcp://127.0.0.1:"),
        "endpoint {}",
        server.endpoint
    );
    let (status, stdout, stderr) =
        run(&["ping", &server.endpoint, "--count", "5", "--size", "1000"]);
    assert!(status.success(), "ping failed: {stderr}");
    assert_eq!(stdout.trim(), "ok 5");
    let (status, _) = server.finish();
    assert!(status.success(), "echo exits after --count messages");
}

#[test]
fn echo_and_ping_over_ipc() {
    let dir = support::tempdir();
    let endpoint = support::ipc_endpoint(dir.path(), "echo");
    let server = Server::start(&["echo", &endpoint, "--count", "3"]);
    assert_eq!(server.endpoint, endpoint);
    let (status, stdout, stderr) = run(&["ping", &endpoint, "--count", "3", "--size", "0"]);
    assert!(status.success(), "ping failed: {stderr}");
    assert_eq!(stdout.trim(), "ok 3");
    assert!(server.finish().0.success());
}

#[cfg(feature = "ws")]
#[test]
fn echo_and_ping_over_ws() {
    let server = Server::start(&["echo", "ws://127.0.0.1:*/zpeer", "--count", "2"]);
    assert!(
        server.endpoint.starts_with("ws://127.0.0.1:") && server.endpoint.ends_with("/zpeer"),
        "endpoint {}",
        server.endpoint
    );
    let (status, stdout, stderr) =
        run(&["ping", &server.endpoint, "--count", "2", "--size", "70000"]);
    assert!(status.success(), "ping failed: {stderr}");
    assert_eq!(stdout.trim(), "ok 2");
    assert!(server.finish().0.success());
}

/// A self-signed certificate for 127.0.0.1 and localhost, written to `cert.pem` and `key.pem`
/// in a new temp dir; returns the dir and the two paths.
#[cfg(feature = "wss")]
fn cert_files() -> (tempfile::TempDir, String, String) {
    let dir = support::tempdir();
    let cert = support::self_signed(&["127.0.0.1", "localhost"]);
    let cert_path = dir.path().join("cert.pem");
    let key_path = dir.path().join("key.pem");
    std::fs::write(&cert_path, &cert.cert_pem).expect("write cert.pem");
    std::fs::write(&key_path, &cert.key_pem).expect("write key.pem");
    let cert_path = cert_path.to_str().expect("utf-8 path").to_owned();
    let key_path = key_path.to_str().expect("utf-8 path").to_owned();
    (dir, cert_path, key_path)
}

/// Starts `zpeer echo` on the wss `endpoint`, serving `cert` with `key`, for `count` messages.
#[cfg(feature = "wss")]
fn wss_echo_server(endpoint: &str, cert: &str, key: &str, count: &str) -> Server {
    Server::start(&[
        "echo", endpoint, "--cert", cert, "--key", key, "--count", count,
    ])
}

#[cfg(feature = "wss")]
#[test]
fn echo_and_ping_over_wss() {
    let (_dir, cert, key) = cert_files();
    let server = wss_echo_server("wss://127.0.0.1:*", &cert, &key, "1");
    assert!(
        server.endpoint.starts_with("wss://127.0.0.1:"),
        "endpoint {}",
        server.endpoint
    );
    let (status, stdout, stderr) = run(&["ping", &server.endpoint, "--trust", &cert]);
    assert!(status.success(), "ping failed: {stderr}");
    assert_eq!(stdout.trim(), "ok 1");
    assert!(server.finish().0.success());
}

#[cfg(feature = "wss")]
#[test]
fn wss_hostname_latency_and_refusal() {
    let (_dir, cert, key) = cert_files();
    let server = wss_echo_server("wss://127.0.0.1:*/tls", &cert, &key, "6");
    // A certificate the client does not trust: no echo, a timeout failure (status 1).
    let (_other_dir, other_cert, _) = cert_files();
    let (status, stdout, stderr) = run(&[
        "ping",
        &server.endpoint,
        "--trust",
        &other_cert,
        "--timeout",
        "0.5",
    ]);
    assert_eq!(status.code(), Some(1), "untrusted: {stdout:?} {stderr:?}");
    // The name checked against the certificate can be set.
    let (status, stdout, stderr) = run(&[
        "ping",
        &server.endpoint,
        "--trust",
        &cert,
        "--hostname",
        "localhost",
    ]);
    assert!(
        status.success(),
        "ping --hostname localhost failed: {stderr}"
    );
    assert_eq!(stdout.trim(), "ok 1");
    let (status, stdout, stderr) = run(&[
        "lat",
        &server.endpoint,
        "--trust",
        &cert,
        "--count",
        "5",
        "--size",
        "16",
    ]);
    assert!(status.success(), "lat over wss failed: {stderr}");
    assert!(stdout.starts_with("lat size=16 count=5 "), "{stdout:?}");
    assert!(server.finish().0.success());
}

#[cfg(feature = "wss")]
#[test]
fn wss_throughput_and_peers() {
    let (_dir, cert, key) = cert_files();
    let server = Server::start(&[
        "thr-recv",
        "wss://127.0.0.1:*",
        "--count",
        "1000",
        "--size",
        "100",
        "--cert",
        &cert,
        "--key",
        &key,
    ]);
    let (status, _, stderr) = run(&[
        "thr-send",
        &server.endpoint,
        "--count",
        "1000",
        "--size",
        "100",
        "--trust",
        &cert,
    ]);
    assert!(status.success(), "thr-send over wss failed: {stderr}");
    let (status, lines) = server.finish();
    assert!(status.success(), "thr-recv over wss failed");
    assert!(
        lines
            .first()
            .is_some_and(|line| line.starts_with("thr size=100 count=1000 ")),
        "{lines:?}"
    );

    let server = Server::start(&[
        "peers-bind",
        "wss://127.0.0.1:*",
        "--count",
        "3",
        "--timeout",
        "20",
        "--cert",
        &cert,
        "--key",
        &key,
    ]);
    let (status, _, stderr) = run(&[
        "peers-connect",
        &server.endpoint,
        "--count",
        "3",
        "--trust",
        &cert,
    ]);
    assert!(status.success(), "peers-connect over wss failed: {stderr}");
    assert!(!stderr.contains("no ack"), "{stderr}");
    let (status, lines) = server.finish();
    assert!(status.success(), "peers-bind over wss failed");
    assert!(
        lines
            .first()
            .is_some_and(|line| line.starts_with("rss_kb=")),
        "{lines:?}"
    );
}

#[cfg(feature = "wss")]
#[test]
fn wss_option_errors() {
    let (_dir, cert, key) = cert_files();
    // --cert and --key go together; --hostname needs --trust: usage errors.
    for args in [
        vec!["echo", "wss://127.0.0.1:*", "--cert", cert.as_str()],
        vec!["echo", "wss://127.0.0.1:*", "--key", key.as_str()],
        vec!["ping", "wss://127.0.0.1:1", "--hostname", "localhost"],
        vec![
            "thr-send",
            "wss://127.0.0.1:1",
            "--count",
            "1",
            "--size",
            "1",
            "--cert",
            cert.as_str(),
            "--key",
            key.as_str(),
        ],
    ] {
        let (status, _, stderr) = run(&args);
        assert_eq!(status.code(), Some(2), "{args:?}: {stderr:?}");
    }
    // A wss endpoint without the options it needs is refused up front, naming them.
    for (args, needle) in [
        (vec!["echo", "wss://127.0.0.1:*"], "--cert"),
        (
            vec!["peers-connect", "wss://127.0.0.1:1", "--count", "1"],
            "--trust",
        ),
    ] {
        let (status, _, stderr) = run(&args);
        assert_eq!(status.code(), Some(2), "{args:?}: {stderr:?}");
        assert!(stderr.contains(needle), "{args:?}: {stderr:?}");
    }
    // An unreadable PEM file is reported.
    let (status, _, stderr) = run(&[
        "ping",
        "wss://127.0.0.1:1",
        "--trust",
        "/nonexistent/zpeer-trust.pem",
    ]);
    assert_eq!(status.code(), Some(1), "{stderr:?}");
    assert!(
        stderr.contains("/nonexistent/zpeer-trust.pem"),
        "{stderr:?}"
    );
}

#[test]
fn ping_defaults_to_one_message() {
    let server = Server::start(&["echo", "tcp://127.0.0.1:*", "--count", "1"]);
    let (status, stdout, stderr) = run(&["ping", &server.endpoint]);
    assert!(status.success(), "ping failed: {stderr}");
    assert_eq!(stdout.trim(), "ok 1");
    assert!(server.finish().0.success());
}

#[test]
fn ping_echo_is_checked_byte_for_byte() {
    // A fake echo that flips one octet: ping must notice and fail with status 1.
    let ctx = Context::new();
    let fake = peer(&ctx);
    fake.bind("tcp://127.0.0.1:*").expect("bind");
    let endpoint = fake.last_endpoint().expect("last_endpoint");
    let responder = thread::spawn(move || {
        let got = fake.recv().expect("recv");
        let mut body = got.as_bytes().to_vec();
        body[10] ^= 0xFF;
        fake.send(msg(&body, got.routing_id().expect("id")))
            .expect("send altered echo");
        fake
    });
    let (status, stdout, stderr) = run(&["ping", &endpoint, "--size", "64", "--timeout", "10"]);
    assert_eq!(
        status.code(),
        Some(1),
        "stdout {stdout:?} stderr {stderr:?}"
    );
    assert!(stderr.starts_with("zpeer: "), "stderr {stderr:?}");
    assert!(!stdout.contains("ok"));
    drop(responder.join().expect("responder"));
}

#[test]
fn ping_times_out_without_echo() {
    let endpoint = support::unused_tcp_endpoint();
    let started = Instant::now();
    let (status, _, stderr) = run(&["ping", &endpoint, "--timeout", "0.3"]);
    assert_eq!(status.code(), Some(1), "stderr {stderr:?}");
    assert!(stderr.starts_with("zpeer: "), "stderr {stderr:?}");
    assert!(started.elapsed() >= Duration::from_millis(250));
}

#[test]
fn bad_endpoints_exit_with_status_2() {
    for (args, errno) in [
        (vec!["ping", "foo://x"], zmq_peer::errno::EPROTONOSUPPORT),
        (vec!["ping", "tcp://127.0.0.1"], zmq_peer::errno::EINVAL),
        (
            vec!["echo", "udp://127.0.0.1:5555"],
            zmq_peer::errno::ENOCOMPATPROTO,
        ),
        (
            vec!["thr-send", "tcp://*:5555", "--count", "1", "--size", "1"],
            zmq_peer::errno::EINVAL,
        ),
    ] {
        let (status, stdout, stderr) = run(&args);
        assert_eq!(status.code(), Some(2), "{args:?}: stderr {stderr:?}");
        let endpoint = args[1];
        let line = stderr.lines().next().unwrap_or_default();
        assert!(
            line.starts_with(&format!("zpeer: {endpoint}: ")),
            "{args:?}: stderr {stderr:?}"
        );
        assert!(
            line.ends_with(&format!(" (errno {errno})")),
            "{args:?}: stderr {stderr:?}"
        );
        assert!(stdout.is_empty(), "{args:?}: stdout {stdout:?}");
    }
}

#[test]
fn address_in_use_is_an_endpoint_error() {
    let ctx = Context::new();
    let holder = peer(&ctx);
    holder.bind("tcp://127.0.0.1:*").expect("bind");
    let endpoint = holder.last_endpoint().expect("last_endpoint");
    let (status, _, stderr) = run(&["echo", &endpoint]);
    assert_eq!(status.code(), Some(2), "stderr {stderr:?}");
    assert!(
        stderr.contains(&format!("(errno {})", zmq_peer::errno::EADDRINUSE)),
        "{stderr:?}"
    );
}

#[test]
fn usage_errors() {
    let (status, _, stderr) = run(&[]);
    assert_eq!(status.code(), Some(2), "{stderr:?}");
    let (status, _, _) = run(&["frobnicate"]);
    assert_eq!(status.code(), Some(2));
    let (status, _, _) = run(&["ping"]);
    assert_eq!(status.code(), Some(2));
    let (status, _, _) = run(&["ping", "tcp://127.0.0.1:1", "--count", "many"]);
    assert_eq!(status.code(), Some(2));
    let (status, _, _) = run(&["thr-recv", "tcp://127.0.0.1:*", "--size", "8"]);
    assert_eq!(status.code(), Some(2), "--count is required");
    let (status, stdout, _) = run(&["--help"]);
    assert!(status.success());
    assert!(stdout.contains("thr-recv"));
}

#[test]
fn throughput_pair() {
    let server = Server::start(&[
        "thr-recv",
        "tcp://127.0.0.1:*",
        "--count",
        "20000",
        "--size",
        "100",
    ]);
    let (status, _, stderr) = run(&[
        "thr-send",
        &server.endpoint,
        "--count",
        "20000",
        "--size",
        "100",
    ]);
    assert!(status.success(), "thr-send failed: {stderr}");
    let (status, lines) = server.finish();
    assert!(status.success(), "thr-recv failed");
    let line = lines.first().expect("thr-recv result line");
    let fields = fields(line, "thr");
    assert_eq!(fields[0], ("size".to_owned(), "100".to_owned()));
    assert_eq!(fields[1], ("count".to_owned(), "20000".to_owned()));
    assert_eq!(fields[2].0, "msgs_per_s");
    assert!(fields[2].1.parse::<f64>().expect("number") > 0.0);
    assert_eq!(fields[3].0, "mb_per_s");
    assert!(fields[3].1.parse::<f64>().expect("number") > 0.0);
}

#[test]
fn thr_send_before_the_receiver_exists_still_delivers() {
    // thr-send must not lose queued messages when it exits: it waits for the receiver's ack
    // (and has LINGER -1) before closing.
    let endpoint = support::unused_tcp_endpoint();
    let sender = thread::spawn({
        let endpoint = endpoint.clone();
        move || run(&["thr-send", &endpoint, "--count", "500", "--size", "10"])
    });
    let ctx = Context::new();
    let receiver = peer(&ctx);
    receiver.bind(&endpoint).expect("bind");
    let mut last = None;
    for i in 0..500 {
        let got = receiver
            .recv()
            .unwrap_or_else(|e| panic!("message {i}: {e:?}"));
        assert_eq!(got.len(), 10);
        assert!(
            got.as_bytes().iter().all(|b| *b == 0x5A),
            "thr-send payload"
        );
        last = got.routing_id();
    }
    // The delivery ack, as `zpeer thr-recv` sends it.
    let ack = zmq_peer::Message::with_routing_id(Vec::new(), last.expect("routing id"));
    receiver.send(ack).expect("send the ack");
    let (status, _, stderr) = sender.join().expect("sender");
    assert!(status.success(), "thr-send failed: {stderr}");
    assert!(
        !stderr.contains("no delivery ack"),
        "the ack was not seen: {stderr}"
    );
}

#[test]
fn thr_recv_acknowledges_the_last_message() {
    let server = Server::start(&[
        "thr-recv",
        "tcp://127.0.0.1:*",
        "--count",
        "100",
        "--size",
        "8",
    ]);
    let ctx = Context::new();
    let sender = peer(&ctx);
    let rid = sender.connect_peer(&server.endpoint).expect("connect_peer");
    for i in 0_u64..100 {
        sender.send(msg(&i.to_be_bytes(), rid)).expect("send");
    }
    let ack = sender
        .recv()
        .expect("thr-recv sends an ack after the last message");
    assert!(ack.is_empty(), "the ack is an empty message");
    assert_eq!(ack.routing_id(), Some(rid));
    let (status, lines) = server.finish();
    assert!(status.success());
    let fields = fields(lines.first().expect("thr line"), "thr");
    assert_eq!(fields[1], ("count".to_owned(), "100".to_owned()));
}

#[test]
fn thr_inproc_and_lat_inproc() {
    let (status, stdout, stderr) = run(&["thr-inproc", "--count", "10000", "--size", "64"]);
    assert!(status.success(), "thr-inproc failed: {stderr}");
    let fields_thr = fields(stdout.trim(), "thr");
    assert_eq!(fields_thr[0], ("size".to_owned(), "64".to_owned()));
    assert_eq!(fields_thr[1], ("count".to_owned(), "10000".to_owned()));
    assert!(fields_thr[2].1.parse::<f64>().expect("number") > 0.0);

    let (status, stdout, stderr) = run(&["lat-inproc", "--count", "200", "--size", "32"]);
    assert!(status.success(), "lat-inproc failed: {stderr}");
    let fields_lat = fields(stdout.trim(), "lat");
    let names: Vec<&str> = fields_lat.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, ["size", "count", "avg_us", "p50_us", "p99_us"]);
    assert_eq!(fields_lat[1].1, "200");
}

#[test]
fn idle_peers_report_rss() {
    let server = Server::start(&[
        "peers-bind",
        "tcp://127.0.0.1:*",
        "--count",
        "50",
        "--timeout",
        "20",
    ]);
    let (status, _, stderr) = run(&["peers-connect", &server.endpoint, "--count", "50"]);
    assert!(status.success(), "peers-connect failed: {stderr}");
    assert!(
        !stderr.contains("no ack"),
        "peers-connect saw no ack: {stderr}"
    );
    let (status, lines) = server.finish();
    assert!(status.success(), "peers-bind failed");
    let line = lines.first().expect("rss line");
    let kb: u64 = line
        .strip_prefix("rss_kb=")
        .unwrap_or_else(|| panic!("unexpected line {line:?}"))
        .parse()
        .expect("number");
    assert!(kb > 0);
}

#[test]
fn latency_against_echo() {
    let server = Server::start(&["echo", "tcp://127.0.0.1:*", "--count", "50"]);
    let (status, stdout, stderr) = run(&["lat", &server.endpoint, "--count", "50", "--size", "32"]);
    assert!(status.success(), "lat failed: {stderr}");
    let fields = fields(stdout.trim(), "lat");
    let names: Vec<&str> = fields.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, ["size", "count", "avg_us", "p50_us", "p99_us"]);
    assert_eq!(fields[0].1, "32");
    assert_eq!(fields[1].1, "50");
    let p50: f64 = fields[3].1.parse().expect("p50");
    let p99: f64 = fields[4].1.parse().expect("p99");
    assert!(p50 > 0.0 && p50 <= p99);
    assert!(server.finish().0.success());
}

#[test]
fn demo_runs_every_transport() {
    let (status, stdout, stderr) = run(&["demo"]);
    assert!(status.success(), "demo failed: {stderr}");
    let mut transports = vec!["inproc", "ipc", "tcp"];
    if cfg!(feature = "ws") {
        transports.push("ws");
    }
    if cfg!(feature = "demo-tls") {
        transports.push("wss");
    } else {
        assert!(
            stdout.contains("wss: skipped"),
            "the demo says why wss is skipped: {stdout}"
        );
    }
    for transport in transports {
        assert!(
            stdout
                .lines()
                .any(|l| l.starts_with(&format!("{transport}: endpoint {transport}://"))),
            "no endpoint line for {transport}: {stdout}"
        );
        assert!(
            stdout
                .lines()
                .any(|l| l.starts_with(&format!("{transport}: round trips (us): "))),
            "no round trips for {transport}: {stdout}"
        );
        // `{transport}: connecter knows the binder as routing id N, binder knows the connecter
        // as M`: both ids are valid (non-zero u32) routing ids.
        let ids = demo_routing_ids(&stdout, transport);
        assert!(
            ids.0 != 0 && ids.1 != 0,
            "{transport}: routing ids must be non-zero: {stdout}"
        );
    }
    assert!(
        stdout.contains("tcp: endpoint tcp://127.0.0.1:"),
        "resolved tcp port: {stdout}"
    );
}

/// The two routing ids on the demo's line for `transport` (exactly one such line).
fn demo_routing_ids(stdout: &str, transport: &str) -> (u32, u32) {
    let prefix = format!("{transport}: connecter knows the binder as routing id ");
    let lines: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix(&prefix))
        .collect();
    let [rest] = lines[..] else {
        panic!("expected one routing id line for {transport}: {stdout}");
    };
    let (to_binder, to_connecter) = rest
        .split_once(", binder knows the connecter as ")
        .unwrap_or_else(|| panic!("malformed routing id line for {transport}: {rest}"));
    let parse = |id: &str| {
        id.parse::<u32>()
            .unwrap_or_else(|e| panic!("{transport}: routing id {id:?}: {e}"))
    };
    (parse(to_binder), parse(to_connecter))
}

/// Splits `prefix k=v k=v ...` into its key/value pairs.
fn fields(line: &str, prefix: &str) -> Vec<(String, String)> {
    let mut words = line.split_whitespace();
    assert_eq!(words.next(), Some(prefix), "line {line:?}");
    words
        .map(|word| {
            let (k, v) = word
                .split_once('=')
                .unwrap_or_else(|| panic!("{word:?} in {line:?}"));
            (k.to_owned(), v.to_owned())
        })
        .collect()
}

/// `--trust-system` (`ZMQ_WSS_TRUST_SYSTEM`) is a flag of the connecting commands: it stands in
/// for `--trust` (no "needs --trust" usage error), and the system roots do not include our
/// private test certificate, so a ping trusting only them is refused: a non-zero exit with a
/// clear message, within its bounded --timeout. Together with `--trust` it works.
#[cfg(feature = "wss")]
#[test]
fn wss_trust_system_flag() {
    let (_dir, cert, key) = cert_files();
    let server = wss_echo_server("wss://127.0.0.1:*", &cert, &key, "1");
    for extra in [&[][..], &["--hostname", "localhost"][..]] {
        let mut args = vec!["ping", server.endpoint.as_str(), "--trust-system"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["--timeout", "0.5"]);
        let (status, stdout, stderr) = run(&args);
        assert!(!status.success(), "{args:?}: {stdout:?} {stderr:?}");
        assert!(!stderr.contains("usage:"), "{args:?}: parsed, {stderr:?}");
        // The system store either lacks our CA (no echo in time) or is empty on this machine
        // (the connect is refused up front); both say so.
        assert!(
            (status.code() == Some(1) && stderr.contains("no echo of message 0 within 0.5s"))
                || (status.code() == Some(2) && stderr.contains("system trust store")),
            "{args:?}: {status:?} {stderr:?}"
        );
        assert!(stdout.is_empty(), "{stdout:?}");
    }
    // With --trust as well, the private certificate is trusted.
    let (status, stdout, stderr) =
        run(&["ping", &server.endpoint, "--trust-system", "--trust", &cert]);
    assert!(status.success(), "--trust-system --trust: {stderr}");
    assert_eq!(stdout.trim(), "ok 1");
    assert!(server.finish().0.success());
    // A flag takes no value; --hostname alone still needs some trust.
    for args in [
        vec!["ping", "wss://127.0.0.1:1", "--trust-system=yes"],
        vec!["ping", "wss://127.0.0.1:1", "--hostname", "localhost"],
    ] {
        let (status, _, stderr) = run(&args);
        assert_eq!(status.code(), Some(2), "{args:?}: {stderr:?}");
        assert!(stderr.contains("usage:"), "{args:?}: {stderr:?}");
    }
}
