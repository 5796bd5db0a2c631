//! Socket-type compatibility (PROTOCOL.md §5, §11.1 J): PEER talks only to PEER over ZMTP; a
//! mismatch closes the connection and the connecter does not retry (its routing id dies);
//! inproc does no type check at all. The socket-to-socket cases run over every transport that
//! carries ZMTP (tcp, ipc, ws, wss); the raw-peer cases write bytes by hand over tcp and ws.

mod support;

use std::net::TcpListener;
use std::time::{Duration, Instant};

use zmq_peer::{Context, Message, MonitorEvent, SocketType, errno};

use support::{
    RawPeer, Transport, WAIT, WS_BINARY, accept_within, assert_errno, msg, peer,
    wait_host_unreachable, ws_client_frame, zws_ready,
};

/// A PEER connecting to a SERVER: the handshake fails on the socket-type check, the routing id
/// dies, nothing reaches the SERVER, and the PEER never connects again (its monitor shows no
/// new attempt for 20 reconnect intervals).
fn peer_connecting_to_a_server_gets_nothing_through(transport: Transport) {
    let ctx = Context::new();
    let bound = transport.endpoint();
    let server = transport.socket(&ctx, SocketType::Server);
    server.bind(&bound.bind).expect("bind SERVER");
    let endpoint = server.last_endpoint().expect("last_endpoint");

    let client = transport.peer(&ctx);
    client.set_reconnect_ivl(10).expect("RECONNECT_IVL");
    let events = client.monitor().expect("monitor");
    let rid = client.connect_peer(&endpoint).expect("connect_peer");
    // Queued before the handshake, unless it failed already (ipc is that fast).
    match client.try_send(msg(b"never delivered", rid)) {
        Ok(()) => {}
        Err(error) if error.errno() == errno::EHOSTUNREACH => {}
        Err(error) => panic!("try_send before the handshake: {error:?}"),
    }

    // The handshake fails on the socket-type check; the id dies and is not revived.
    wait_host_unreachable(&client, rid, WAIT);
    let deadline = Instant::now() + WAIT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match events.recv_timeout(left) {
            Some(MonitorEvent::HandshakeFailed {
                reason,
                will_reconnect,
                ..
            }) => {
                assert!(reason.contains("not compatible"), "{reason}");
                assert!(!will_reconnect, "an incompatible peer is not retried");
                break;
            }
            Some(MonitorEvent::Connected { .. }) => {}
            other => panic!("expected Connected, then HandshakeFailed; got {other:?}"),
        }
    }
    // A protocol error is final: no new attempt within 20 reconnect intervals (RECONNECT_IVL is
    // 10 ms), the time the SERVER waits for a message that must not come.
    server.set_rcvtimeo(200).expect("RCVTIMEO");
    assert_errno(server.recv(), errno::EAGAIN, "SERVER received nothing");
    if let Some(event) = events.try_recv() {
        panic!("the PEER tried again after a socket-type mismatch: {event:?}");
    }
    assert_errno(
        client.try_send(msg(b"x", rid)),
        errno::EHOSTUNREACH,
        "id stays dead",
    );
}

mod peer_to_server {
    crate::support::wire_suite!(super::peer_connecting_to_a_server_gets_nothing_through);
}

/// A CLIENT connecting to a bound PEER: the PEER refuses it in the handshake (its monitor says
/// why) and delivers nothing the CLIENT sent.
fn bound_peer_drops_a_client(transport: Transport) {
    let ctx = Context::new();
    let bound = transport.endpoint();
    let binder = transport.peer(&ctx);
    let events = binder.monitor().expect("monitor");
    binder.bind(&bound.bind).expect("bind");
    let endpoint = binder.last_endpoint().expect("last_endpoint");

    let client = transport.socket(&ctx, SocketType::Client);
    client.connect(&endpoint).expect("CLIENT connect");
    match client.try_send(Message::from(&b"never delivered"[..])) {
        Ok(()) => {}
        Err(error) if error.errno() == errno::EAGAIN => {}
        Err(error) => panic!("CLIENT try_send: {error:?}"),
    }

    let deadline = Instant::now() + WAIT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match events.recv_timeout(left) {
            Some(MonitorEvent::HandshakeFailed { reason, .. }) => {
                assert!(reason.contains("not compatible"), "{reason}");
                break;
            }
            Some(
                MonitorEvent::Listening { .. }
                | MonitorEvent::Accepted { .. }
                | MonitorEvent::Disconnected { .. },
            ) => {}
            other => panic!("expected the CLIENT's handshake to fail, got {other:?}"),
        }
    }
    binder.set_rcvtimeo(100).expect("RCVTIMEO");
    assert_errno(
        binder.recv(),
        errno::EAGAIN,
        "nothing from the CLIENT was delivered",
    );
}

mod client_to_peer {
    crate::support::wire_suite!(super::bound_peer_drops_a_client);
}

#[test]
fn bound_peer_drops_a_dealer() {
    let ctx = Context::new();
    let socket = peer(&ctx);
    socket.bind("tcp://127.0.0.1:*").expect("bind");
    let endpoint = socket.last_endpoint().expect("last_endpoint");

    let mut raw = RawPeer::connect(&endpoint);
    // Data the DEALER sends right after its READY must not be delivered.
    let mut bytes = support::GREETING.to_vec();
    bytes.extend_from_slice(&support::ready_command("DEALER"));
    bytes.extend_from_slice(&[0x00, 0x01, b'X']);
    raw.send_lossy(&bytes);
    let seen = raw.expect_closed(WAIT);
    assert!(
        seen.is_empty() || seen[0] == 0xFF,
        "only a greeting (and READY) may come back"
    );
    socket.set_rcvtimeo(100).expect("RCVTIMEO");
    assert_errno(
        socket.recv(),
        errno::EAGAIN,
        "nothing from the DEALER was delivered",
    );
}

/// A raw ws client upgrades, then announces a DEALER and sends data: the PEER closes the
/// connection and delivers nothing (PROTOCOL.md §6.3: ZWS2.0/NULL checks the socket type). wss
/// would need a TLS client here; `client_to_peer::wss` covers the type check over wss.
#[cfg(feature = "ws")]
#[test]
fn bound_peer_drops_a_dealer_over_ws() {
    let ctx = Context::new();
    let socket = peer(&ctx);
    socket.bind("ws://127.0.0.1:*/peer").expect("bind");
    let endpoint = socket.last_endpoint().expect("last_endpoint");

    // The upgrade succeeds: the type check happens on the READY that follows.
    let mut raw = RawPeer::connect_ws(&endpoint);
    let mut bytes = ws_client_frame(WS_BINARY, &zws_ready("DEALER"));
    bytes.extend_from_slice(&ws_client_frame(WS_BINARY, b"\x00X"));
    raw.send_lossy(&bytes);
    let seen = raw.expect_closed(WAIT);
    assert!(
        seen.is_empty() || seen[0] == 0x82,
        "only binary messages (the READY) may come back: {seen:02x?}"
    );
    socket.set_rcvtimeo(100).expect("RCVTIMEO");
    assert_errno(
        socket.recv(),
        errno::EAGAIN,
        "nothing from the DEALER was delivered",
    );
}

/// The raw-listener form of `peer_to_server` (byte-exact DEALER READY, counting accepted
/// connections): tcp only, since a raw ws listener would need the HTTP upgrade written by hand
/// too. `peer_to_server` checks "no retry" over every ZMTP transport through the monitor.
#[test]
fn connecting_peer_does_not_retry_after_a_type_mismatch() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("raw listener");
    let endpoint = format!("tcp://{}", listener.local_addr().expect("addr"));
    let ctx = Context::new();
    let socket = peer(&ctx);
    socket.set_reconnect_ivl(10).expect("RECONNECT_IVL");
    let rid = socket.connect_peer(&endpoint).expect("connect_peer");

    let stream = accept_within(&listener, WAIT).expect("the PEER connects");
    let mut raw = RawPeer::from_stream(stream);
    let mut bytes = support::GREETING.to_vec();
    bytes.extend_from_slice(&support::ready_command("DEALER"));
    raw.send_lossy(&bytes);
    raw.expect_closed(WAIT);
    wait_host_unreachable(&socket, rid, WAIT);
    // A protocol error is final: no new connection (RECONNECT_IVL is 10 ms, so 20 intervals).
    assert!(
        accept_within(&listener, Duration::from_millis(200)).is_none(),
        "the PEER reconnected after a socket-type mismatch"
    );
}

#[test]
fn lower_case_socket_type_name_is_not_checked() {
    // libzmq compares "Socket-Type" case-sensitively; another name is an ordinary property.
    let ctx = Context::new();
    let socket = peer(&ctx);
    socket.bind("tcp://127.0.0.1:*").expect("bind");
    let endpoint = socket.last_endpoint().expect("last_endpoint");
    let mut raw = RawPeer::connect(&endpoint);
    raw.send(&support::GREETING);
    let mut ready = vec![0x04, 0x00, 0x05];
    ready.extend_from_slice(b"READY");
    ready.push(0x0B);
    ready.extend_from_slice(b"socket-type");
    ready.extend_from_slice(&[0, 0, 0, 6]);
    ready.extend_from_slice(b"DEALER");
    ready[1] = u8::try_from(ready.len() - 2).expect("short frame");
    raw.send(&ready);
    raw.send(&[0x00, 0x01, b'Y']);
    raw.read_greeting();
    let got = socket.recv().expect("accepted like libzmq");
    assert_eq!(got.as_bytes(), b"Y");
    assert_eq!(got.gets("Socket-Type"), None);
    assert_eq!(got.gets("socket-type"), Some("DEALER"));
}

#[test]
fn inproc_has_no_type_check() {
    let ctx = Context::new();
    let server = ctx.socket(SocketType::Server).expect("create SERVER");
    server.set_rcvtimeo(support::WAIT_MS).expect("RCVTIMEO");
    server.bind("inproc://server-for-peer").expect("bind");
    let client = peer(&ctx);
    let rid = client
        .connect_peer("inproc://server-for-peer")
        .expect("connect_peer");
    client.send(msg(b"hi", rid)).expect("send");
    let got = server.recv().expect("SERVER receives over inproc");
    assert_eq!(got.as_bytes(), b"hi");
    let back = got.routing_id().expect("routing id");
    server.send(msg(b"ho", back)).expect("reply");
    let reply = client.recv().expect("recv");
    assert_eq!(reply.as_bytes(), b"ho");
    assert_eq!(reply.routing_id(), Some(rid));
}

#[test]
fn socket_types() {
    let ctx = Context::new();
    let socket = peer(&ctx);
    assert_eq!(socket.socket_type(), SocketType::Peer);
    assert_eq!(socket.option_int(16).expect("ZMQ_TYPE"), 19);
    let server = ctx.socket(SocketType::Server).expect("SERVER");
    assert_eq!(server.socket_type(), SocketType::Server);
    assert_eq!(server.option_int(16).expect("ZMQ_TYPE"), 12);
}
