//! wss (ZWS 2.0 over TLS) end to end with certificates made in-test: a trusted server works at
//! every size (by IP address and by DNS name); an untrusted certificate, a wrong host name (set
//! explicitly), a plain ws client against a wss server and a TLS client against a ws server are
//! refused cleanly while good clients on the same listener keep working; without a host name
//! only the chain is checked (as libzmq); a stalled TLS handshake is dropped at the handshake
//! deadline; configuration errors are typed.
#![cfg(feature = "wss")]

mod support;

use std::io::Write;
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
use support::{PATIENCE, Peer, TestAcceptor, bind, body, connect, opts, read_until_closed};
use zmq_transport::{
    ConnOptions, Connecter, DisconnectReason, Endpoint, IoThread, Listener, TlsOptions,
    TransportError,
};
use zmtp_codec::{Message, ProtocolError};

/// A CA and a server certificate it signed.
struct Pki {
    ca_pem: String,
    chain_pem: String,
    key_pem: String,
}

fn pki(names: &[&str]) -> Pki {
    pki_with(names, |_| {})
}

/// As [`pki`], with `adjust` applied to the server certificate's parameters.
fn pki_with(names: &[&str], adjust: impl FnOnce(&mut CertificateParams)) -> Pki {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "zmq-transport test CA");
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let mut leaf_params =
        CertificateParams::new(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>()).unwrap();
    adjust(&mut leaf_params);
    let leaf = leaf_params.signed_by(&leaf_key, &ca, &ca_key).unwrap();
    Pki {
        ca_pem: ca.pem(),
        chain_pem: format!("{}{}", leaf.pem(), ca.pem()),
        key_pem: leaf_key.serialize_pem(),
    }
}

fn server_opts(pki: &Pki) -> ConnOptions {
    let mut o = opts();
    o.tls = TlsOptions {
        cert_chain_pem: Some(pki.chain_pem.clone()),
        key_pem: Some(pki.key_pem.clone()),
        ..TlsOptions::default()
    };
    o
}

fn client_opts(trust: &Pki, hostname: Option<&str>) -> ConnOptions {
    let mut o = opts();
    o.tls = TlsOptions {
        trust_pem: Some(trust.ca_pem.clone()),
        hostname: hostname.map(str::to_owned),
        ..TlsOptions::default()
    };
    o
}

/// The two I/O threads of a test: the server's and the client's.
fn io_threads() -> (IoThread, IoThread) {
    (
        IoThread::spawn("server-io").unwrap(),
        IoThread::spawn("client-io").unwrap(),
    )
}

/// Binds `wss://127.0.0.1:*`, serving `pki`'s chain.
fn bind_wss(io: &IoThread, pki: &Pki, acceptor: &Arc<TestAcceptor>) -> Listener {
    bind(io, "wss://127.0.0.1:*", server_opts(pki), acceptor)
}

/// Connects a client that trusts `trust`'s CA and checks `hostname` (as [`client_opts`]).
fn connect_wss(
    io: &IoThread,
    endpoint: &str,
    trust: &Pki,
    hostname: Option<&str>,
) -> (Arc<Peer>, Connecter) {
    connect(&io.handle(), endpoint, client_opts(trust, hostname), 0, 0)
}

/// `client` sends `text`; the listener's `nth` accepted connection receives it.
#[track_caller]
fn assert_delivered(client: &Peer, acceptor: &TestAcceptor, nth: usize, text: &'static [u8]) {
    client.send(Message::from(text));
    assert_eq!(acceptor.peer(nth).recv().unwrap(), Message::from(text));
}

fn port_of(endpoint: &str) -> String {
    let rest = endpoint.split_once("://").unwrap().1;
    let host_port = &rest[..rest.find('/').unwrap()];
    host_port.rsplit_once(':').unwrap().1.to_owned()
}

/// A good client sends and receives one message on the listener's `nth` accepted connection.
fn good_client_works(
    io: &IoThread,
    endpoint: &str,
    pki: &Pki,
    acceptor: &TestAcceptor,
    nth: usize,
) -> (Arc<Peer>, Connecter) {
    let (client, connecter) = connect_wss(io, endpoint, pki, None);
    client.send(Message::from(&b"good"[..]));
    let server = acceptor.peer(nth);
    assert_eq!(server.recv().unwrap(), Message::from(&b"good"[..]));
    server.send(Message::from(&b"reply"[..]));
    assert_eq!(client.recv().unwrap(), Message::from(&b"reply"[..]));
    (client, connecter)
}

#[test]
fn trusted_server_all_sizes_by_ip_and_by_name() {
    let pki = pki(&["localhost", "127.0.0.1"]);
    let (server_io, client_io) = io_threads();
    let acceptor = TestAcceptor::new(0, 0);
    let listener = bind(
        &server_io,
        "wss://127.0.0.1:*/secure/path",
        server_opts(&pki),
        &acceptor,
    );
    let endpoint = listener.endpoint().to_owned();
    assert!(endpoint.starts_with("wss://127.0.0.1:"), "{endpoint}");
    assert!(endpoint.ends_with("/secure/path"), "{endpoint}");

    let (client, _c) = connect_wss(&client_io, &endpoint, &pki, None);
    client.events.wait_handshakes(1);
    let server = acceptor.peer(0);
    for (i, size) in [0usize, 1, 255, 256, 65536, 1 << 20]
        .into_iter()
        .enumerate()
    {
        let seed = u8::try_from(i).unwrap();
        client.send(body(size, seed));
        server.send(body(size, seed + 100));
        assert_eq!(
            server.recv().unwrap(),
            Message::from(body(size, seed)),
            "{size}"
        );
        assert_eq!(
            client.recv().unwrap(),
            Message::from(body(size, seed + 100)),
            "{size}"
        );
    }
    for i in 0..1000u32 {
        client.send(i.to_be_bytes().to_vec());
    }
    for i in 0..1000u32 {
        assert_eq!(
            server.recv().unwrap(),
            Message::from(i.to_be_bytes().to_vec())
        );
    }

    // By DNS name (the certificate's other subject alternative name).
    let by_name = format!("wss://localhost:{}/", port_of(&endpoint));
    let (named, _c2) = connect_wss(&client_io, &by_name, &pki, None);
    assert_delivered(&named, &acceptor, 1, b"by name");
    assert_eq!(client.events.disconnect_count(), 0);
    assert_eq!(named.events.disconnect_count(), 0);
}

/// Waits for `n` disconnects of a client that never completes a handshake; all must be TLS
/// failures that will be retried.
fn assert_tls_refusals(client: &Peer, n: usize, needle: &str) {
    client.events.wait_disconnects(n);
    for (reason, will_reconnect) in client.events.disconnects.lock().unwrap().iter() {
        let DisconnectReason::Tls(text) = reason else {
            panic!("expected a TLS failure, got {reason:?}");
        };
        assert!(text.contains(needle), "{text}");
        assert!(*will_reconnect, "TLS failures are retried");
    }
    assert_eq!(client.events.handshake_count(), 0);
}

#[test]
fn untrusted_certificate_is_refused_and_retried() {
    let pki_a = pki(&["localhost", "127.0.0.1"]);
    let pki_b = pki(&["localhost", "127.0.0.1"]);
    let (server_io, client_io) = io_threads();
    let acceptor = TestAcceptor::new(0, 0);
    let listener = bind_wss(&server_io, &pki_a, &acceptor);
    // Trusts another CA.
    let (bad, _bad_c) = connect_wss(&client_io, listener.endpoint(), &pki_b, None);
    bad.send(Message::from(&b"never"[..]));
    // Two refusals: the connecter keeps retrying per its reconnect policy.
    assert_tls_refusals(&bad, 2, "certificate");
    let _good = good_client_works(&client_io, listener.endpoint(), &pki_a, &acceptor, 0);
    assert_eq!(acceptor.count(), 1);
}

#[test]
fn wrong_hostname_is_refused() {
    let pki = pki(&["localhost", "127.0.0.1"]);
    let (server_io, client_io) = io_threads();
    let acceptor = TestAcceptor::new(0, 0);
    let listener = bind_wss(&server_io, &pki, &acceptor);
    let (bad, _bad_c) = connect_wss(&client_io, listener.endpoint(), &pki, Some("wrong.example"));
    assert_tls_refusals(&bad, 1, "certificate");
    // A certificate without the IP address: naming the address explicitly fails the check.
    let named_only = self::pki(&["localhost"]);
    let acceptor2 = TestAcceptor::new(0, 0);
    let listener2 = bind_wss(&server_io, &named_only, &acceptor2);
    let (by_ip, _c) = connect_wss(
        &client_io,
        listener2.endpoint(),
        &named_only,
        Some("127.0.0.1"),
    );
    assert_tls_refusals(&by_ip, 1, "certificate");
    // ... while the right name passes.
    let (fixed, _c2) = connect_wss(
        &client_io,
        listener2.endpoint(),
        &named_only,
        Some("localhost"),
    );
    assert_delivered(&fixed, &acceptor2, 0, b"named");
    let _good = good_client_works(&client_io, listener.endpoint(), &pki, &acceptor, 0);
}

/// libzmq (PROTOCOL.md §6.7): with `ZMQ_WSS_HOSTNAME` empty no host name check is made. A
/// certificate for "localhost" only, reached as `wss://127.0.0.1:PORT`, is accepted.
#[test]
fn without_hostname_the_name_is_not_checked() {
    let named_only = pki(&["localhost"]);
    let (server_io, client_io) = io_threads();
    let acceptor = TestAcceptor::new(0, 0);
    let listener = bind_wss(&server_io, &named_only, &acceptor);
    assert!(listener.endpoint().starts_with("wss://127.0.0.1:"));
    let (client, _c) =
        good_client_works(&client_io, listener.endpoint(), &named_only, &acceptor, 0);
    // An empty host name is the same as none.
    let (empty, _c2) = connect_wss(&client_io, listener.endpoint(), &named_only, Some(""));
    assert_delivered(&empty, &acceptor, 1, b"empty name");
    // By a DNS name the certificate does not carry either.
    let other_name = pki(&["not-this-host.example"]);
    let acceptor2 = TestAcceptor::new(0, 0);
    let listener2 = bind_wss(&server_io, &other_name, &acceptor2);
    let by_name = format!("wss://localhost:{}/", port_of(listener2.endpoint()));
    let _named = good_client_works(&client_io, &by_name, &other_name, &acceptor2, 0);
    assert_eq!(client.events.disconnect_count(), 0);
    assert_eq!(empty.events.disconnect_count(), 0);
}

/// Without a host name the chain is still verified: only the name error is waived.
#[test]
fn without_hostname_the_chain_is_still_verified() {
    let (server_io, client_io) = io_threads();
    // A chain from a CA the client does not trust, for a name the client does not use.
    let served = pki(&["elsewhere.example"]);
    let trusted = pki(&["elsewhere.example"]);
    let acceptor = TestAcceptor::new(0, 0);
    let listener = bind_wss(&server_io, &served, &acceptor);
    let (untrusted, _c) = connect_wss(&client_io, listener.endpoint(), &trusted, None);
    // (Both test CAs carry the same name, so rustls reports the signature, not the issuer.)
    assert_tls_refusals(&untrusted, 1, "invalid peer certificate");
    assert_not_a_name_error(&untrusted);
    // A trusted CA but an expired certificate (also for another name).
    let expired = pki_with(&["elsewhere.example"], |params| {
        params.not_before = rcgen::date_time_ymd(2000, 1, 1);
        params.not_after = rcgen::date_time_ymd(2001, 1, 1);
    });
    let acceptor2 = TestAcceptor::new(0, 0);
    let listener2 = bind_wss(&server_io, &expired, &acceptor2);
    let (stale, _c2) = connect_wss(&client_io, listener2.endpoint(), &expired, None);
    assert_tls_refusals(&stale, 1, "expired");
    assert_not_a_name_error(&stale);
    assert_eq!(acceptor.count() + acceptor2.count(), 0);
    // The served chain itself is fine for a client that trusts its CA.
    let _good = good_client_works(&client_io, listener.endpoint(), &served, &acceptor, 0);
}

/// None of `client`'s TLS refusals is about the certificate's name.
fn assert_not_a_name_error(client: &Peer) {
    for (reason, _) in client.events.disconnects.lock().unwrap().iter() {
        let text = format!("{reason:?}");
        assert!(!text.to_lowercase().contains("name"), "{text}");
    }
}

#[test]
fn plain_ws_client_against_wss_server_is_refused() {
    let pki = pki(&["127.0.0.1"]);
    let (server_io, client_io) = io_threads();
    let acceptor = TestAcceptor::new(0, 0);
    let listener = bind_wss(&server_io, &pki, &acceptor);
    let plain = format!("ws://127.0.0.1:{}/", port_of(listener.endpoint()));
    let (bad, _bad_c) = connect(&client_io.handle(), &plain, opts(), 0, 0);
    bad.events.wait_disconnects(1);
    assert_eq!(bad.events.handshake_count(), 0);
    let (reason, _) = bad.events.disconnects.lock().unwrap()[0].clone();
    assert!(
        matches!(
            reason,
            DisconnectReason::WebSocket(_) | DisconnectReason::Io(_)
        ),
        "{reason:?}"
    );
    let _good = good_client_works(&client_io, listener.endpoint(), &pki, &acceptor, 0);
    assert_eq!(acceptor.count(), 1);
}

#[test]
fn tls_client_against_ws_server_is_refused() {
    let pki = pki(&["127.0.0.1"]);
    let (server_io, client_io) = io_threads();
    let acceptor = TestAcceptor::new(0, 0);
    let listener = bind(&server_io, "ws://127.0.0.1:*", opts(), &acceptor);
    let secure = format!("wss://127.0.0.1:{}/", port_of(listener.endpoint()));
    let (bad, _bad_c) = connect_wss(&client_io, &secure, &pki, None);
    bad.events.wait_disconnects(2);
    assert_eq!(bad.events.handshake_count(), 0);
    for (reason, will_reconnect) in bad.events.disconnects.lock().unwrap().iter() {
        assert!(
            matches!(reason, DisconnectReason::Tls(text) if text.contains("TLS handshake"))
                || *reason == DisconnectReason::Io(std::io::ErrorKind::ConnectionReset),
            "{reason:?}"
        );
        assert!(will_reconnect);
    }
    // A ws client on the same listener works.
    let (good, _c) = connect(&client_io.handle(), listener.endpoint(), opts(), 0, 0);
    assert_delivered(&good, &acceptor, 0, b"plain");
    assert_eq!(acceptor.count(), 1);
}

#[test]
fn configuration_errors_are_typed() {
    let io = IoThread::spawn("io").unwrap();
    let acceptor = TestAcceptor::new(0, 0);
    // Bind without certificate and key: an error, nothing bound.
    let err = io
        .handle()
        .bind(
            &Endpoint::parse_bind("wss://127.0.0.1:*").unwrap(),
            opts(),
            acceptor.clone(),
        )
        .unwrap_err();
    assert!(matches!(err, TransportError::Tls(_)), "{err:?}");
    // A key that does not belong to the certificate.
    let a = pki(&["127.0.0.1"]);
    let b = pki(&["127.0.0.1"]);
    let mut mismatched = server_opts(&a);
    mismatched.tls.key_pem = Some(b.key_pem);
    let err = io
        .handle()
        .bind(
            &Endpoint::parse_bind("wss://127.0.0.1:*").unwrap(),
            mismatched,
            acceptor,
        )
        .unwrap_err();
    assert!(matches!(err, TransportError::Tls(_)), "{err:?}");
    // Connect without any trust.
    let (peer, link) = Peer::new(0, 0);
    let err = io
        .handle()
        .connect(
            &Endpoint::parse_connect("wss://127.0.0.1:1/").unwrap(),
            opts(),
            link,
            peer.events,
        )
        .unwrap_err();
    assert!(matches!(err, TransportError::Tls(_)), "{err:?}");
}

/// The first 16 octets of a TLS 1.2+ `ClientHello` record announcing 200 octets: a TLS handshake
/// record header, then the start of the handshake message, cut short.
const HALF_CLIENT_HELLO: [u8; 16] = [
    0x16, 0x03, 0x01, 0x00, 0xC8, // record: handshake, TLS 1.0 (as in hellos), 200 octets
    0x01, 0x00, 0x00, 0xC4, // ClientHello, 196 octets
    0x03, 0x03, // legacy version TLS 1.2
    0x5A, 0x5A, 0x5A, 0x5A, 0x5A, // the start of the random
];

#[test]
fn stalled_tls_handshake_is_dropped_at_the_deadline() {
    let pki = pki(&["127.0.0.1"]);
    let (server_io, client_io) = io_threads();
    let mut options = server_opts(&pki);
    options.codec.handshake_timeout = Some(Duration::from_millis(200));
    let acceptor = TestAcceptor::new(0, 0);
    let listener = bind(&server_io, "wss://127.0.0.1:*", options, &acceptor);
    let addr = format!("127.0.0.1:{}", port_of(listener.endpoint()));
    let started = Instant::now();
    // Connects and sends nothing.
    let mut silent = TcpStream::connect(&addr).unwrap();
    // Sends half a ClientHello.
    let mut half = TcpStream::connect(&addr).unwrap();
    half.write_all(&HALF_CLIENT_HELLO).unwrap();
    // A good client on the same listener meanwhile.
    let (client, _c) = good_client_works(&client_io, listener.endpoint(), &pki, &acceptor, 0);
    assert_eq!(
        read_until_closed(&mut silent),
        b"",
        "no TLS bytes for a silent client"
    );
    read_until_closed(&mut half);
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(150), "{waited:?}");
    assert!(
        acceptor
            .signal
            .wait_for(PATIENCE, || { acceptor.failed.lock().unwrap().len() >= 2 }),
        "both stalled connections reported"
    );
    for (_, reason) in acceptor.failed.lock().unwrap().iter() {
        assert_eq!(
            *reason,
            DisconnectReason::Protocol(ProtocolError::HandshakeTimeout)
        );
    }
    assert_eq!(acceptor.count(), 1);
    // The good connection outlives the deadline.
    assert_delivered(&client, &acceptor, 0, b"after the deadline");
}
