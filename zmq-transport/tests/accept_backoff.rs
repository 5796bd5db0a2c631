//! Running out of file descriptors: `accept` fails with EMFILE, the listener backs off instead of
//! spinning, existing peers keep being served, and the pending connection is accepted once
//! descriptors are free again. Alone in its own test binary (process) because it exhausts the
//! process's descriptor table.

#![cfg(feature = "tcp")]

mod support;

use std::fs::File;
use std::io::Read;
use std::net::TcpStream;
use std::process::Command;

use support::{PATIENCE, TestAcceptor, connect, opts};
use zmq_transport::{Endpoint, IoThread};
use zmtp_codec::Message;

/// The soft limit on open files, from /proc/self/limits.
fn nofile_limit() -> u64 {
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap();
    line.split_whitespace().nth(3).unwrap().parse().unwrap()
}

#[test]
fn emfile_backs_off_and_recovers() {
    // Lower our own limit so exhausting it is quick (prlimit(1) on our pid: no unsafe here).
    let _ = Command::new("prlimit")
        .args(["--pid", &std::process::id().to_string(), "--nofile=512:512"])
        .status();
    let limit = nofile_limit();
    assert!(
        limit <= 100_000,
        "cannot lower RLIMIT_NOFILE ({limit}); is prlimit installed?"
    );

    let server_io = IoThread::spawn("server-io").unwrap();
    let client_io = IoThread::spawn("client-io").unwrap();
    let acceptor = TestAcceptor::new(0, 0);
    let listener = server_io
        .handle()
        .bind(
            &Endpoint::parse_bind("tcp://127.0.0.1:*").unwrap(),
            opts(),
            acceptor.clone(),
        )
        .unwrap();
    let addr = listener
        .endpoint()
        .strip_prefix("tcp://")
        .unwrap()
        .to_owned();
    let (client, _connecter) = connect(&client_io.handle(), listener.endpoint(), opts(), 0, 0);
    client.send(Message::from(&b"before"[..]));
    let server = acceptor.peer(0);
    assert_eq!(server.recv().unwrap(), Message::from(&b"before"[..]));

    // Exhaust the descriptor table, then free exactly one slot for the raw client.
    let mut hog = Vec::new();
    while let Ok(f) = File::open("/dev/null") {
        hog.push(f);
    }
    hog.pop();
    let mut raw = TcpStream::connect(&addr).unwrap();

    // A round trip on the existing connection: the listener's readiness (which came first) has
    // been handled by now, so accept() has failed with EMFILE at least once.
    client.send(Message::from(&b"during"[..]));
    assert_eq!(server.recv().unwrap(), Message::from(&b"during"[..]));
    server.send(Message::from(&b"reply"[..]));
    assert_eq!(client.recv().unwrap(), Message::from(&b"reply"[..]));
    assert_eq!(acceptor.count(), 1);

    drop(hog);
    // The back-off timer retries accept: the raw client gets the server's greeting.
    raw.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut greeting = [0u8; 10];
    raw.read_exact(&mut greeting).unwrap();
    assert_eq!(greeting[0], 0xFF);
    assert_eq!(greeting[9] & 1, 1);
}
