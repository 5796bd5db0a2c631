//! The progress callbacks a socket monitor builds on: `on_connected` / `on_accepted` with the
//! stream's numeric remote address (also for a connect by host name), `on_handshake`'s
//! `remote`, `on_retry` after a refused attempt, and `on_handshake_failed` / `on_disconnect`
//! for a handshake that fails (incompatible socket types; over wss, an untrusted certificate).

#![cfg(feature = "tcp")]

mod support;

use std::net::TcpListener;

use support::{PATIENCE, TestAcceptor, connect, opts};
use zmq_transport::{ConnOptions, DisconnectReason, Endpoint, IoThread};
use zmtp_codec::{Config, ProtocolError, SocketType};

fn bind_ep(s: &str) -> Endpoint {
    Endpoint::parse_bind(s).unwrap()
}

#[test]
fn connect_by_host_name_reports_the_numeric_remote_on_both_sides() {
    let server_io = IoThread::spawn("server-io").unwrap();
    let client_io = IoThread::spawn("client-io").unwrap();
    let acceptor = TestAcceptor::new(0, 0);
    let listener = server_io
        .handle()
        .bind(&bind_ep("tcp://127.0.0.1:*"), opts(), acceptor.clone())
        .unwrap();
    let port = listener.endpoint().rsplit(':').next().unwrap().to_owned();
    let (client, _connecter) = connect(
        &client_io.handle(),
        &format!("tcp://localhost:{port}"),
        opts(),
        0,
        0,
    );
    client.events.wait_handshakes(1);
    let server = acceptor.peer(0);
    server.events.wait_handshakes(1);

    let want = format!("tcp://127.0.0.1:{port}");
    assert_eq!(*client.events.connected.lock().unwrap(), [want.as_str()]);
    assert_eq!(*client.events.remotes.lock().unwrap(), [want]);
    let accepted = acceptor.accepted.lock().unwrap().clone();
    assert_eq!(accepted.len(), 1);
    assert!(accepted[0].starts_with("tcp://127.0.0.1:"), "{accepted:?}");
    assert_eq!(*acceptor.remotes.lock().unwrap(), accepted);
    assert_eq!(*server.events.remotes.lock().unwrap(), accepted);
    // Nothing failed, nothing retried.
    assert!(acceptor.failed.lock().unwrap().is_empty());
    assert!(client.events.retries.lock().unwrap().is_empty());
}

#[cfg(feature = "ipc")]
#[test]
fn ipc_remote_is_the_endpoint_on_both_sides() {
    let dir = tempfile::tempdir().unwrap();
    let endpoint = format!("ipc://{}/events", dir.path().display());
    let server_io = IoThread::spawn("server-io").unwrap();
    let client_io = IoThread::spawn("client-io").unwrap();
    let acceptor = TestAcceptor::new(0, 0);
    let _listener = server_io
        .handle()
        .bind(&bind_ep(&endpoint), opts(), acceptor.clone())
        .unwrap();
    let (client, _connecter) = connect(&client_io.handle(), &endpoint, opts(), 0, 0);
    client.events.wait_handshakes(1);
    acceptor.peer(0).events.wait_handshakes(1);
    assert_eq!(*client.events.remotes.lock().unwrap(), [endpoint.as_str()]);
    assert_eq!(*acceptor.accepted.lock().unwrap(), [endpoint.as_str()]);
    assert_eq!(*acceptor.remotes.lock().unwrap(), [endpoint]);
}

#[test]
fn a_refused_attempt_is_reported_as_a_retry_only() {
    // A port nobody listens on (bound, then released).
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client_io = IoThread::spawn("client-io").unwrap();
    let (client, _connecter) = connect(
        &client_io.handle(),
        &format!("tcp://127.0.0.1:{port}"),
        opts(),
        0,
        0,
    );
    assert!(
        client
            .events
            .signal
            .wait_for(PATIENCE, || client.events.retries.lock().unwrap().len()
                >= 2),
        "no retries reported"
    );
    for (reason, delay) in client.events.retries.lock().unwrap().iter() {
        assert_eq!(
            *reason,
            DisconnectReason::Io(std::io::ErrorKind::ConnectionRefused)
        );
        // RECONNECT_IVL 100 ms plus a jitter below 100 ms.
        assert!(
            delay.as_millis() >= 100 && delay.as_millis() < 200,
            "{delay:?}"
        );
    }
    assert!(client.events.connected.lock().unwrap().is_empty());
    assert_eq!(client.events.disconnect_count(), 0);
}

#[test]
fn incompatible_socket_types_fail_the_handshake_on_both_sides_without_retry() {
    let server_io = IoThread::spawn("server-io").unwrap();
    let client_io = IoThread::spawn("client-io").unwrap();
    let acceptor = TestAcceptor::new(0, 0);
    let listener = server_io
        .handle()
        .bind(
            &bind_ep("tcp://127.0.0.1:*"),
            ConnOptions::new(Config::new(SocketType::SERVER)),
            acceptor.clone(),
        )
        .unwrap();
    let (client, _connecter) = connect(&client_io.handle(), listener.endpoint(), opts(), 0, 0);
    client.events.wait_disconnects(1);
    let (reason, will_reconnect) = client.events.disconnects.lock().unwrap()[0].clone();
    assert!(
        matches!(
            reason,
            DisconnectReason::Protocol(ProtocolError::IncompatibleSocketType { .. })
        ),
        "{reason:?}"
    );
    assert!(!will_reconnect);
    assert_eq!(client.events.handshake_count(), 0);
    assert_eq!(client.events.connected.lock().unwrap().len(), 1);
    assert!(client.events.retries.lock().unwrap().is_empty());
    // The client's end of the link is finished: its outbound pipe is closed.
    assert!(client.outbound.is_closed());

    assert!(
        acceptor
            .signal
            .wait_for(PATIENCE, || !acceptor.failed.lock().unwrap().is_empty()),
        "the server did not report the failed handshake"
    );
    let (remote, reason) = acceptor.failed.lock().unwrap()[0].clone();
    assert!(remote.starts_with("tcp://127.0.0.1:"), "{remote}");
    assert!(
        matches!(
            reason,
            DisconnectReason::Protocol(ProtocolError::IncompatibleSocketType { .. })
        ),
        "{reason:?}"
    );
    assert_eq!(acceptor.count(), 0);
    assert_eq!(acceptor.accepted.lock().unwrap().len(), 1);
}

#[cfg(feature = "wss")]
#[test]
fn untrusted_certificate_fails_the_handshake_and_is_retried() {
    use zmq_transport::TlsOptions;

    let server_cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let other_cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let mut server_opts = opts();
    server_opts.tls = TlsOptions {
        cert_chain_pem: Some(server_cert.cert.pem()),
        key_pem: Some(server_cert.key_pair.serialize_pem()),
        ..TlsOptions::default()
    };
    let mut client_opts = opts();
    client_opts.tls = TlsOptions {
        trust_pem: Some(other_cert.cert.pem()),
        ..TlsOptions::default()
    };
    let server_io = IoThread::spawn("server-io").unwrap();
    let client_io = IoThread::spawn("client-io").unwrap();
    let acceptor = TestAcceptor::new(0, 0);
    let listener = server_io
        .handle()
        .bind(
            &bind_ep("wss://127.0.0.1:*/x"),
            server_opts,
            acceptor.clone(),
        )
        .unwrap();
    let (client, _connecter) = connect(&client_io.handle(), listener.endpoint(), client_opts, 0, 0);
    assert!(
        client
            .events
            .signal
            .wait_for(PATIENCE, || client.events.retries.lock().unwrap().len()
                >= 2),
        "no retries after the TLS failures"
    );
    let disconnects = client.events.disconnects.lock().unwrap().clone();
    assert!(disconnects.len() >= 2, "{disconnects:?}");
    for (reason, will_reconnect) in &disconnects {
        assert!(*will_reconnect);
        assert!(
            matches!(reason, DisconnectReason::Tls(text) if text.starts_with("invalid peer certificate")),
            "{reason:?}"
        );
    }
    assert_eq!(client.events.handshake_count(), 0);
    assert!(
        acceptor
            .signal
            .wait_for(PATIENCE, || !acceptor.failed.lock().unwrap().is_empty()),
        "the server did not report the failed TLS handshake"
    );
    let (_, reason) = acceptor.failed.lock().unwrap()[0].clone();
    assert!(
        matches!(reason, DisconnectReason::Tls(_) | DisconnectReason::Io(_)),
        "{reason:?}"
    );
    assert_eq!(acceptor.count(), 0);
}
