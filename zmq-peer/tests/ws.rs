//! ws and wss through the facade (PROTOCOL.md §6, §11.1 L, libzmq's `test_ws_transport`):
//! round trips with and without a path, `LAST_ENDPOINT` after a wildcard bind, 255- and
//! 65536-octet messages, 10 ms heartbeats with reconnect disabled, shared and static bodies
//! surviving client-side masking, a server close frame followed by a reconnect under the same
//! routing id; over wss, an untrusted certificate, a wrong host name (set explicitly), a plain ws
//! client against a wss server and a TLS client against a ws server are refused while a good
//! client on the same bound socket keeps working, and without `WSS_HOSTNAME` only the chain is
//! checked (as libzmq).
#![cfg(feature = "ws")]

mod support;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;

use zmq_peer::{Bytes, Context, Message, RoutingId, Socket, errno};

use support::{WAIT, accept_within, assert_errno, msg, peer, tcp_addr, wait_until};

/// The port of a resolved `scheme://127.0.0.1:<port><path>` endpoint; fails the test if the
/// endpoint has another shape.
#[track_caller]
fn resolved_port(resolved: &str, scheme: &str, path: &str) -> u16 {
    let port = resolved
        .strip_prefix(&format!("{scheme}://127.0.0.1:"))
        .and_then(|rest| rest.strip_suffix(path))
        .unwrap_or_else(|| panic!("unexpected LAST_ENDPOINT {resolved} (want {scheme}, {path})"));
    let port: u16 = port
        .parse()
        .unwrap_or_else(|_| panic!("non-numeric port in {resolved}"));
    assert_ne!(port, 0, "the wildcard port was resolved");
    port
}

/// Sends `body` from `connecter` to `to_binder`, checks it at `binder`, sends it back and checks
/// the reply. Returns the binder's routing id for the connecter.
#[track_caller]
fn round_trip(binder: &Socket, connecter: &Socket, to_binder: RoutingId, body: &[u8]) -> RoutingId {
    connecter.send(msg(body, to_binder)).expect("send");
    let got = binder.recv().expect("binder receives");
    assert!(
        got.as_bytes() == body,
        "{} octets altered on the way to the binder",
        body.len()
    );
    let to_connecter = got.routing_id().expect("routing id");
    binder.send(got).expect("send back");
    let reply = connecter.recv().expect("connecter receives");
    assert!(
        reply.as_bytes() == body,
        "{} octets altered on the way back",
        body.len()
    );
    assert_eq!(reply.routing_id(), Some(to_binder));
    to_connecter
}

/// `size` octets whose content depends on `seed`.
fn pattern(size: usize, seed: usize) -> Vec<u8> {
    (0..size)
        .map(|i| u8::try_from((i * 7 + seed * 13) % 251).expect("< 251"))
        .collect()
}

/// Binds `endpoint` with a fresh PEER, connects a second one to the resolved endpoint and
/// checks a round trip. Returns the resolved endpoint.
fn bind_connect_round_trip(endpoint: &str) -> String {
    let ctx = Context::new();
    let binder = peer(&ctx);
    binder.bind(endpoint).expect("bind");
    let resolved = binder.last_endpoint().expect("LAST_ENDPOINT");
    let connecter = peer(&ctx);
    let to_binder = connecter.connect_peer(&resolved).expect("connect_peer");
    round_trip(&binder, &connecter, to_binder, b"roundtrip");
    resolved
}

#[test]
fn roundtrip_with_a_path() {
    let resolved = bind_connect_round_trip("ws://127.0.0.1:*/peer");
    resolved_port(&resolved, "ws", "/peer");
}

#[test]
fn roundtrip_without_a_path() {
    // Without a path, the resolved endpoint ends in `/` (the path the client requests).
    let resolved = bind_connect_round_trip("ws://127.0.0.1:*");
    resolved_port(&resolved, "ws", "/");
}

#[test]
fn last_endpoint_shows_port_and_path() {
    let ctx = Context::new();
    let socket = peer(&ctx);
    socket.bind("ws://127.0.0.1:*/some-path").expect("bind");
    let resolved = socket.last_endpoint().expect("LAST_ENDPOINT");
    let port = resolved_port(&resolved, "ws", "/some-path");
    // The port is really listening.
    TcpStream::connect(("127.0.0.1", port)).expect("the resolved port accepts connections");
}

#[test]
fn messages_of_255_and_65536_octets() {
    let ctx = Context::new();
    let binder = peer(&ctx);
    binder.bind("ws://127.0.0.1:*/sizes").expect("bind");
    let endpoint = binder.last_endpoint().expect("LAST_ENDPOINT");
    let connecter = peer(&ctx);
    let to_binder = connecter.connect_peer(&endpoint).expect("connect_peer");
    for (seed, size) in [255_usize, 65_536].into_iter().enumerate() {
        round_trip(&binder, &connecter, to_binder, &pattern(size, seed));
    }
}

/// A TCP forwarder for one connection that counts the octets going each way.
struct CountingProxy {
    /// `ws://127.0.0.1:<proxy port><path>`.
    endpoint: String,
    /// Connections accepted so far.
    accepted: Arc<AtomicUsize>,
    /// Octets forwarded client → server.
    upstream: Arc<AtomicUsize>,
    /// Octets forwarded server → client.
    downstream: Arc<AtomicUsize>,
}

impl CountingProxy {
    fn start(target: &str, path: &str) -> Self {
        let (listener, endpoint, target) = proxy_listener(target, path);
        let accepted = Arc::new(AtomicUsize::new(0));
        let upstream = Arc::new(AtomicUsize::new(0));
        let downstream = Arc::new(AtomicUsize::new(0));
        let (accepted2, up2, down2) = (accepted.clone(), upstream.clone(), downstream.clone());
        thread::spawn(move || {
            // One connection is all the test makes; a missing one fails the test elsewhere.
            let Some(client) = accept_within(&listener, WAIT) else {
                return;
            };
            accepted2.fetch_add(1, Ordering::SeqCst);
            let server = TcpStream::connect(&target).expect("proxy upstream");
            forward_both_ways(client, server, up2, down2);
        });
        Self {
            endpoint,
            accepted,
            upstream,
            downstream,
        }
    }

    fn octets(&self) -> (usize, usize) {
        (
            self.upstream.load(Ordering::SeqCst),
            self.downstream.load(Ordering::SeqCst),
        )
    }
}

/// A proxy's listener on a free loopback port, the `ws://127.0.0.1:<port><path>` endpoint it
/// offers, and the `host:port` of the `target` endpoint it forwards to.
fn proxy_listener(target: &str, path: &str) -> (TcpListener, String, String) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("proxy listener");
    let endpoint = format!(
        "ws://{}{path}",
        listener.local_addr().expect("proxy address")
    );
    (listener, endpoint, tcp_addr(target).to_owned())
}

/// Forwards `client` to `server` (counted in `upstream`) and back (counted in `downstream`),
/// each way on its own thread.
fn forward_both_ways(
    client: TcpStream,
    server: TcpStream,
    upstream: Arc<AtomicUsize>,
    downstream: Arc<AtomicUsize>,
) {
    forward(
        client.try_clone().expect("clone"),
        server.try_clone().expect("clone"),
        upstream,
    );
    forward(server, client, downstream);
}

/// Copies `from` to `to` on a new thread, adding every forwarded octet to `counter`.
fn forward(mut from: TcpStream, mut to: TcpStream, counter: Arc<AtomicUsize>) {
    thread::spawn(move || {
        let mut buf = [0_u8; 16 * 1024];
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if to.write_all(&buf[..n]).is_err() {
                        break;
                    }
                    counter.fetch_add(n, Ordering::SeqCst);
                }
            }
        }
        let _ = to.shutdown(std::net::Shutdown::Write);
    });
}

/// `HEARTBEAT_IVL=10` on both sides and `RECONNECT_IVL=-1` on the connecter: heartbeats (WebSocket
/// pings and pongs) flow while the connection is idle, and the connection survives them: a
/// message sent afterwards is delivered over the same connection, both ways.
///
/// `HEARTBEAT_TIMEOUT` is set well above the interval: left unset it equals the interval (as in
/// libzmq), and on a loaded CI machine a pong may legitimately take longer than 10 ms, which
/// would close the connection for good (no reconnect) and fail the test for the wrong reason.
#[test]
fn heartbeat_at_10ms_with_reconnect_disabled_still_delivers() {
    let ctx = Context::new();
    let binder = peer(&ctx);
    binder.set_heartbeat_ivl(10).expect("HEARTBEAT_IVL");
    binder
        .set_heartbeat_timeout(2_000)
        .expect("HEARTBEAT_TIMEOUT");
    binder.bind("ws://127.0.0.1:*/heartbeat").expect("bind");
    let endpoint = binder.last_endpoint().expect("LAST_ENDPOINT");
    let proxy = CountingProxy::start(&endpoint, "/heartbeat");

    let connecter = peer(&ctx);
    connecter.set_heartbeat_ivl(10).expect("HEARTBEAT_IVL");
    connecter
        .set_heartbeat_timeout(2_000)
        .expect("HEARTBEAT_TIMEOUT");
    connecter.set_reconnect_ivl(-1).expect("RECONNECT_IVL");
    let to_binder = connecter
        .connect_peer(&proxy.endpoint)
        .expect("connect_peer");
    let to_connecter = round_trip(&binder, &connecter, to_binder, b"Hello");

    // Idle: only heartbeats move now. A ping is at least 2 octets from the server and 6 (masked)
    // from the client; wait for at least five each way.
    let (up, down) = proxy.octets();
    wait_until(WAIT, "heartbeats flowing both ways", || {
        let (up_now, down_now) = proxy.octets();
        up_now >= up + 5 * 6 && down_now >= down + 5 * 2
    });

    let again = round_trip(&binder, &connecter, to_binder, b"Hello again");
    assert_eq!(
        again, to_connecter,
        "same connection: the heartbeats did not break it"
    );
    assert_eq!(
        proxy.accepted.load(Ordering::SeqCst),
        1,
        "exactly one TCP connection was made"
    );
}

/// One `Bytes` body sent twice (two messages sharing the buffer): client-side masking must not
/// touch the shared buffer, so both arrive intact and the local copy is unchanged.
#[test]
fn shared_body_is_not_corrupted_by_masking() {
    let ctx = Context::new();
    let binder = peer(&ctx);
    binder.bind("ws://127.0.0.1:*/shared").expect("bind");
    let endpoint = binder.last_endpoint().expect("LAST_ENDPOINT");
    let connecter = peer(&ctx);
    let to_binder = connecter.connect_peer(&endpoint).expect("connect_peer");

    let original = pattern(300, 5);
    let shared = Bytes::from(original.clone());
    for _ in 0..2 {
        let mut message = Message::from(shared.clone());
        message.set_routing_id(to_binder);
        connecter.send(message).expect("send the shared body");
    }
    for copy in 0..2 {
        let got = binder.recv().expect("recv");
        assert!(
            got.as_bytes() == original.as_slice(),
            "copy {copy} corrupted"
        );
    }
    assert!(
        shared.as_ref() == original.as_slice(),
        "the sender's buffer was changed by masking"
    );
}

/// The counterpart of libzmq's `zmq_send_const`: a body borrowed from static data goes out
/// masked without being written to, and arrives intact (twice).
#[test]
fn static_body_survives_masking() {
    static BODY: &[u8] = b"constant data that must not be masked in place";
    let ctx = Context::new();
    let binder = peer(&ctx);
    binder.bind("ws://127.0.0.1:*/const").expect("bind");
    let endpoint = binder.last_endpoint().expect("LAST_ENDPOINT");
    let connecter = peer(&ctx);
    let to_binder = connecter.connect_peer(&endpoint).expect("connect_peer");
    for _ in 0..2 {
        connecter
            .send(Message::with_routing_id(
                Bytes::from_static(BODY),
                to_binder,
            ))
            .expect("send");
    }
    for _ in 0..2 {
        assert_eq!(binder.recv().expect("recv").as_bytes(), BODY);
    }
}

/// A TCP forwarder for any number of connections that keeps the client side of each, so a test
/// can write to the client as if it were the server.
struct InjectingProxy {
    /// `ws://127.0.0.1:<proxy port><path>`.
    endpoint: String,
    /// The client side of each accepted connection, in order.
    clients: Arc<Mutex<Vec<TcpStream>>>,
}

impl InjectingProxy {
    fn start(target: &str, path: &str) -> Self {
        let (listener, endpoint, target) = proxy_listener(target, path);
        let clients = Arc::new(Mutex::new(Vec::new()));
        let clients2 = clients.clone();
        thread::spawn(move || {
            // Ends once no connection came for `WAIT` (the test is over by then).
            while let Some(client) = accept_within(&listener, WAIT) {
                client.set_nonblocking(false).expect("blocking");
                let server = TcpStream::connect(&target).expect("proxy upstream");
                clients2
                    .lock()
                    .expect("lock")
                    .push(client.try_clone().expect("clone"));
                forward_both_ways(client, server, Arc::default(), Arc::default());
            }
        });
        Self { endpoint, clients }
    }

    fn accepted(&self) -> usize {
        self.clients.lock().expect("lock").len()
    }

    /// Writes `bytes` to the client of the `n`-th connection.
    fn inject(&self, n: usize, bytes: &[u8]) {
        let clients = self.clients.lock().expect("lock");
        let mut client = clients[n].try_clone().expect("clone");
        drop(clients);
        client.write_all(bytes).expect("inject");
    }
}

/// PROTOCOL.md §6.5: a close frame from the server ends the connection as a connection error,
/// so the connecting side reconnects per `RECONNECT_IVL`; the routing id `connect_peer` returned
/// still addresses the binder afterwards (which sees a new id for the new connection).
#[test]
fn server_close_frame_reconnects_under_the_same_routing_id() {
    let ctx = Context::new();
    let binder = peer(&ctx);
    binder.bind("ws://127.0.0.1:*/close").expect("bind");
    let endpoint = binder.last_endpoint().expect("LAST_ENDPOINT");
    let proxy = InjectingProxy::start(&endpoint, "/close");
    let connecter = peer(&ctx);
    connecter.set_reconnect_ivl(10).expect("RECONNECT_IVL");
    let to_binder = connecter
        .connect_peer(&proxy.endpoint)
        .expect("connect_peer");
    let first = round_trip(&binder, &connecter, to_binder, b"before the close");
    assert_eq!(proxy.accepted(), 1);

    // The connection is idle (no heartbeats): a close frame (unmasked, from the "server"),
    // status 1000 and reason "bye", lands on a frame boundary.
    proxy.inject(0, b"\x88\x05\x03\xe8bye");
    wait_until(WAIT, "a reconnect after the close frame", || {
        proxy.accepted() >= 2
    });
    let second = round_trip(&binder, &connecter, to_binder, b"after the close");
    assert_ne!(
        first, second,
        "the binder sees the new connection under a new id"
    );
    round_trip(&binder, &connecter, to_binder, b"and again");
}

// ---------------------------------------------------------------------------------------------
// wss refusals.

/// How long a refused client is given to (wrongly) get a message through.
#[cfg(feature = "wss")]
const REFUSAL_WAIT_MS: i32 = 500;

/// A PEER bound to `wss://127.0.0.1:*/peer` with the process's test certificate; returns it and
/// its resolved endpoint.
#[cfg(feature = "wss")]
fn wss_binder(ctx: &Context) -> (Socket, String) {
    wss_binder_with(ctx, support::test_cert())
}

/// As [`wss_binder`], presenting `cert`.
#[cfg(feature = "wss")]
fn wss_binder_with(ctx: &Context, cert: &support::TestCert) -> (Socket, String) {
    let binder = peer(ctx);
    binder
        .set_wss_certificate(&cert.cert_pem, &cert.key_pem)
        .expect("WSS_CERT_PEM / WSS_KEY_PEM");
    binder.bind("wss://127.0.0.1:*/peer").expect("bind wss");
    let endpoint = binder.last_endpoint().expect("LAST_ENDPOINT");
    resolved_port(&endpoint, "wss", "/peer");
    (binder, endpoint)
}

/// A PEER that trusts the process's test certificate.
#[cfg(feature = "wss")]
fn trusting_peer(ctx: &Context) -> Socket {
    let socket = peer(ctx);
    socket
        .set_wss_trust_pem(&support::test_cert().cert_pem)
        .expect("WSS_TRUST_PEM");
    socket
}

/// `bad` (already connected to `binder`, the connection being refused) queues a message; a good
/// client (`good`, connecting to `good_endpoint`) then makes a round trip through the same bound
/// socket, and within a bounded wait nothing from `bad` reaches `binder` nor anything reaches
/// `bad`.
#[cfg(feature = "wss")]
fn assert_refused_while_good_client_works(
    binder: &Socket,
    bad: &Socket,
    to_binder_bad: RoutingId,
    good: &Socket,
    good_endpoint: &str,
) {
    // The refusal may already have torn the connection down (a refused upgrade is not retried),
    // in which case the id is gone; otherwise the message is queued and must never arrive.
    match bad.try_send(msg(b"must not arrive", to_binder_bad)) {
        Ok(()) => {}
        Err(e) => assert_eq!(
            e.errno(),
            errno::EHOSTUNREACH,
            "send to a refused connection: {e}"
        ),
    }
    let to_binder = good.connect_peer(good_endpoint).expect("good connect_peer");
    round_trip(binder, good, to_binder, b"good client");
    binder.set_rcvtimeo(REFUSAL_WAIT_MS).expect("RCVTIMEO");
    assert_errno(binder.recv(), errno::EAGAIN, "the refused client's message");
    assert_errno(bad.try_recv(), errno::EAGAIN, "the refused client's inbox");
    // And the good client still works after the refusals.
    binder.set_rcvtimeo(support::WAIT_MS).expect("RCVTIMEO");
    round_trip(binder, good, to_binder, b"still good");
}

#[cfg(feature = "wss")]
#[test]
fn wss_roundtrip_by_ip_and_by_name() {
    let ctx = Context::new();
    let (binder, endpoint) = wss_binder(&ctx);
    let by_ip = trusting_peer(&ctx);
    let to_binder = by_ip.connect_peer(&endpoint).expect("connect_peer by IP");
    for (seed, size) in [1_usize, 255, 65_536].into_iter().enumerate() {
        round_trip(&binder, &by_ip, to_binder, &pattern(size, seed));
    }
    let by_name = trusting_peer(&ctx);
    by_name.set_wss_hostname("localhost").expect("WSS_HOSTNAME");
    let to_binder = by_name
        .connect_peer(&endpoint)
        .expect("connect_peer with WSS_HOSTNAME=localhost");
    round_trip(&binder, &by_name, to_binder, b"by name");
}

#[cfg(feature = "wss")]
#[test]
fn wss_untrusted_certificate_is_refused() {
    let ctx = Context::new();
    let (binder, endpoint) = wss_binder(&ctx);
    let stranger = support::self_signed(&["127.0.0.1", "localhost"]);
    let bad = peer(&ctx);
    bad.set_wss_trust_pem(&stranger.cert_pem)
        .expect("WSS_TRUST_PEM");
    let to_binder_bad = bad.connect_peer(&endpoint).expect("connect_peer");
    let good = trusting_peer(&ctx);
    assert_refused_while_good_client_works(&binder, &bad, to_binder_bad, &good, &endpoint);
}

#[cfg(feature = "wss")]
#[test]
fn wss_wrong_hostname_is_refused() {
    let ctx = Context::new();
    let (binder, endpoint) = wss_binder(&ctx);
    let bad = trusting_peer(&ctx);
    bad.set_wss_hostname("wrong.example").expect("WSS_HOSTNAME");
    let to_binder_bad = bad.connect_peer(&endpoint).expect("connect_peer");
    let good = trusting_peer(&ctx);
    good.set_wss_hostname("localhost").expect("WSS_HOSTNAME");
    assert_refused_while_good_client_works(&binder, &bad, to_binder_bad, &good, &endpoint);
}

#[cfg(feature = "wss")]
#[test]
fn plain_ws_client_against_wss_server_is_refused() {
    let ctx = Context::new();
    let (binder, endpoint) = wss_binder(&ctx);
    let plain = format!(
        "ws://{}",
        endpoint.strip_prefix("wss://").expect("wss endpoint")
    );
    let bad = peer(&ctx);
    let to_binder_bad = bad.connect_peer(&plain).expect("connect_peer ws://");
    let good = trusting_peer(&ctx);
    assert_refused_while_good_client_works(&binder, &bad, to_binder_bad, &good, &endpoint);
}

#[cfg(feature = "wss")]
#[test]
fn tls_client_against_ws_server_is_refused() {
    let ctx = Context::new();
    let binder = peer(&ctx);
    binder.bind("ws://127.0.0.1:*/peer").expect("bind ws");
    let endpoint = binder.last_endpoint().expect("LAST_ENDPOINT");
    let tls = format!(
        "wss://{}",
        endpoint.strip_prefix("ws://").expect("ws endpoint")
    );
    let bad = trusting_peer(&ctx);
    let to_binder_bad = bad.connect_peer(&tls).expect("connect_peer wss://");
    let good = peer(&ctx);
    assert_refused_while_good_client_works(&binder, &bad, to_binder_bad, &good, &endpoint);
}

/// libzmq (PROTOCOL.md §6.7): with `WSS_HOSTNAME` empty no host name check is made, but the
/// chain must still verify. A certificate for "localhost" only, reached as
/// `wss://127.0.0.1:PORT`, works; a certificate nobody trusts does not.
#[cfg(feature = "wss")]
#[test]
fn wss_without_hostname_checks_the_chain_but_not_the_name() {
    let ctx = Context::new();
    let named_only = support::self_signed(&["localhost"]);
    let (binder, endpoint) = wss_binder_with(&ctx, &named_only);
    let by_ip = peer(&ctx);
    by_ip
        .set_wss_trust_pem(&named_only.cert_pem)
        .expect("WSS_TRUST_PEM");
    let to_binder = by_ip.connect_peer(&endpoint).expect("connect_peer by IP");
    round_trip(&binder, &by_ip, to_binder, b"no name check");
    // An explicit name is checked: the address is not in the certificate.
    let explicit = peer(&ctx);
    explicit
        .set_wss_trust_pem(&named_only.cert_pem)
        .expect("WSS_TRUST_PEM");
    explicit
        .set_wss_hostname("127.0.0.1")
        .expect("WSS_HOSTNAME");
    let to_binder_explicit = explicit.connect_peer(&endpoint).expect("connect_peer");
    // Untrusted, no host name: refused.
    let stranger = support::self_signed(&["localhost"]);
    let untrusted = peer(&ctx);
    untrusted
        .set_wss_trust_pem(&stranger.cert_pem)
        .expect("WSS_TRUST_PEM");
    let to_binder_untrusted = untrusted.connect_peer(&endpoint).expect("connect_peer");
    let good = peer(&ctx);
    good.set_wss_trust_pem(&named_only.cert_pem)
        .expect("WSS_TRUST_PEM");
    assert_refused_while_good_client_works(
        &binder,
        &untrusted,
        to_binder_untrusted,
        &good,
        &endpoint,
    );
    match explicit.try_send(msg(b"must not arrive", to_binder_explicit)) {
        Ok(()) => {}
        Err(e) => assert_eq!(e.errno(), errno::EHOSTUNREACH, "{e}"),
    }
    binder.set_rcvtimeo(REFUSAL_WAIT_MS).expect("RCVTIMEO");
    assert_errno(
        binder.recv(),
        errno::EAGAIN,
        "the explicit-name client's message",
    );
}
