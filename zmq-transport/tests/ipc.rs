//! ipc end to end: file paths, Linux abstract names, `ipc://*`, stale and live socket files.

#![cfg(feature = "ipc")]

mod support;

use std::path::PathBuf;

use support::{TestAcceptor, connect, opts};
use zmq_transport::{Endpoint, IoThread, TransportError};
use zmtp_codec::Message;

fn round_trip(bind: &str) -> String {
    let server_io = IoThread::spawn("server-io").unwrap();
    let client_io = IoThread::spawn("client-io").unwrap();
    let acceptor = TestAcceptor::new(0, 0);
    let listener = server_io
        .handle()
        .bind(
            &Endpoint::parse_bind(bind).unwrap(),
            opts(),
            acceptor.clone(),
        )
        .unwrap();
    let endpoint = listener.endpoint().to_owned();
    let (client, _connecter) = connect(&client_io.handle(), &endpoint, opts(), 0, 0);
    client.send(Message::from(&b"ping"[..]));
    let server = acceptor.peer(0);
    assert_eq!(server.recv().unwrap(), Message::from(&b"ping"[..]));
    assert_eq!(acceptor.remotes.lock().unwrap()[0], endpoint);
    server.send(Message::from(vec![7u8; 100 * 1024]));
    assert_eq!(client.recv().unwrap(), Message::from(vec![7u8; 100 * 1024]));
    listener.close();
    endpoint
}

#[test]
fn path_endpoint() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sock");
    let bind = format!("ipc://{}", path.display());
    let endpoint = round_trip(&bind);
    assert_eq!(endpoint, bind);
    assert!(!path.exists(), "socket file removed on close");
}

#[test]
fn abstract_endpoint() {
    let bind = format!("ipc://@zmq-transport-test-{}", std::process::id());
    assert_eq!(round_trip(&bind), bind);
}

#[test]
fn wildcard_endpoint_creates_and_removes_its_directory() {
    let endpoint = round_trip("ipc://*");
    let path = PathBuf::from(endpoint.strip_prefix("ipc://").unwrap());
    assert!(path.ends_with("socket"), "{endpoint}");
    assert!(path.parent().unwrap().starts_with(std::env::temp_dir()));
    assert!(!path.exists());
    assert!(!path.parent().unwrap().exists());
}

#[test]
fn live_listener_is_not_stolen_but_stale_file_is_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sock");
    let ep = Endpoint::parse_bind(&format!("ipc://{}", path.display())).unwrap();
    let io = IoThread::spawn("io").unwrap();
    let acceptor = TestAcceptor::new(0, 0);
    let listener = io.handle().bind(&ep, opts(), acceptor.clone()).unwrap();
    assert!(matches!(
        io.handle().bind(&ep, opts(), acceptor.clone()),
        Err(TransportError::AddrInUse)
    ));
    drop(listener);

    // A stale socket file (nobody listening) from a crashed process.
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    assert!(path.exists());
    let _listener = io.handle().bind(&ep, opts(), acceptor).unwrap();
}

#[test]
fn abstract_names_collide() {
    let ep =
        Endpoint::parse_bind(&format!("ipc://@zmq-transport-dup-{}", std::process::id())).unwrap();
    let io = IoThread::spawn("io").unwrap();
    let acceptor = TestAcceptor::new(0, 0);
    let _first = io.handle().bind(&ep, opts(), acceptor.clone()).unwrap();
    assert!(matches!(
        io.handle().bind(&ep, opts(), acceptor),
        Err(TransportError::AddrInUse)
    ));
}
