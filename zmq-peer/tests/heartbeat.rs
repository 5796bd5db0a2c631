//! Heartbeats (PROTOCOL.md §4, §11.1 K): option rounding, PONG answers to a raw peer's PINGs, our
//! PINGs, dropping a silent peer on both the bind and the connect side, honouring a peer's TTL.

mod support;

use std::net::TcpListener;

use zmq_peer::{Context, errno};

use support::{RawPeer, WAIT, accept_within, assert_errno, parse_frames, peer};

#[test]
fn heartbeat_ttl_rounding_and_limits() {
    let ctx = Context::new();
    let socket = peer(&ctx);
    assert_eq!(socket.heartbeat_ttl().expect("TTL"), 0);
    socket.set_heartbeat_ttl(99).expect("TTL 99");
    assert_eq!(
        socket.heartbeat_ttl().expect("TTL"),
        0,
        "99 ms is 0 deciseconds"
    );
    socket.set_heartbeat_ttl(1234).expect("TTL 1234");
    assert_eq!(socket.heartbeat_ttl().expect("TTL"), 1200);
    socket.set_heartbeat_ttl(6_553_599).expect("TTL 6553599");
    assert_eq!(socket.heartbeat_ttl().expect("TTL"), 6_553_500);
    assert_errno(
        socket.set_heartbeat_ttl(6_553_600),
        errno::EINVAL,
        "TTL 6553600",
    );
    assert_errno(socket.set_heartbeat_ttl(-1), errno::EINVAL, "TTL -1");
    assert_eq!(
        socket.heartbeat_ttl().expect("TTL"),
        6_553_500,
        "failed set changes nothing"
    );
}

#[test]
fn heartbeat_option_defaults_and_validation() {
    let ctx = Context::new();
    let socket = peer(&ctx);
    assert_eq!(socket.heartbeat_ivl().expect("IVL"), 0);
    assert_eq!(
        socket.heartbeat_timeout().expect("TIMEOUT"),
        -1,
        "reads back -1 by default"
    );
    socket.set_heartbeat_ivl(100).expect("IVL");
    assert_eq!(socket.heartbeat_ivl().expect("IVL"), 100);
    socket.set_heartbeat_timeout(300).expect("TIMEOUT");
    assert_eq!(socket.heartbeat_timeout().expect("TIMEOUT"), 300);
    assert_errno(socket.set_heartbeat_ivl(-1), errno::EINVAL, "IVL -1");
    assert_errno(
        socket.set_heartbeat_timeout(-2),
        errno::EINVAL,
        "TIMEOUT -2",
    );
}

#[test]
fn silent_peer_is_dropped_by_the_binder() {
    let ctx = Context::new();
    let socket = peer(&ctx);
    socket.set_heartbeat_ivl(100).expect("IVL");
    socket.set_heartbeat_ttl(1234).expect("TTL");
    socket.set_heartbeat_timeout(300).expect("TIMEOUT");
    socket.bind("tcp://127.0.0.1:*").expect("bind");
    let endpoint = socket.last_endpoint().expect("last_endpoint");

    let mut raw = RawPeer::connect(&endpoint);
    raw.handshake("PEER");
    // Stay silent: never answer the PINGs. The binder must close within a bounded time.
    let seen = raw.expect_closed(WAIT);
    let frames = parse_frames(&seen);
    let first = frames.first().expect("at least one PING before the close");
    assert!(first.is_command());
    // TTL 1234 ms is sent as 12 deciseconds; libzmq's PING carries no context.
    assert_eq!(first.body, b"\x04PING\x00\x0C", "PING bytes");
}

#[test]
fn silent_peer_is_dropped_by_the_connecter_which_reconnects() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("raw listener");
    let endpoint = format!("tcp://{}", listener.local_addr().expect("addr"));
    let ctx = Context::new();
    let socket = peer(&ctx);
    socket.set_heartbeat_ivl(100).expect("IVL");
    socket.set_heartbeat_timeout(300).expect("TIMEOUT");
    let _rid = socket.connect_peer(&endpoint).expect("connect_peer");

    let first = accept_within(&listener, WAIT).expect("first connection");
    let mut raw = RawPeer::from_stream(first);
    raw.handshake("PEER");
    let seen = raw.expect_closed(WAIT);
    assert!(
        parse_frames(&seen)
            .iter()
            .any(|f| f.body.starts_with(b"\x04PING")),
        "PINGs were sent before the timeout"
    );
    // A heartbeat timeout is not a protocol error: the connecter comes back.
    let second = accept_within(&listener, WAIT).expect("reconnection after the heartbeat timeout");
    RawPeer::from_stream(second).handshake("PEER");
}

#[test]
fn ping_is_answered_with_pong() {
    let ctx = Context::new();
    let socket = peer(&ctx);
    socket.bind("tcp://127.0.0.1:*").expect("bind");
    let endpoint = socket.last_endpoint().expect("last_endpoint");
    let mut raw = RawPeer::connect(&endpoint);
    raw.handshake("PEER");

    // PING, TTL 0, context "LOL" -> PONG "LOL" (test_heartbeats).
    raw.send(&[
        0x04, 0x0A, 0x04, b'P', b'I', b'N', b'G', 0x00, 0x00, b'L', b'O', b'L',
    ]);
    let pong = raw.read_exact(10);
    assert_eq!(
        pong,
        [0x04, 0x08, 0x04, b'P', b'O', b'N', b'G', b'L', b'O', b'L']
    );

    // PING without context -> bare PONG.
    raw.send(&[0x04, 0x07, 0x04, b'P', b'I', b'N', b'G', 0x00, 0x00]);
    assert_eq!(
        raw.read_exact(7),
        [0x04, 0x05, 0x04, b'P', b'O', b'N', b'G']
    );

    // A 58-octet context is truncated to 16 in the PONG.
    let context: Vec<u8> = (0..58_u8).map(|i| b'a' + i % 26).collect();
    let mut ping = vec![0x04, 7 + 58, 0x04, b'P', b'I', b'N', b'G', 0x00, 0x00];
    ping.extend_from_slice(&context);
    raw.send(&ping);
    let pong = raw.read_frame();
    assert_eq!(pong.flags, 0x04);
    assert_eq!(pong.body.len(), 21);
    assert_eq!(&pong.body[..5], b"\x04PONG");
    assert_eq!(&pong.body[5..], &context[..16]);
}

#[test]
fn peer_ping_ttl_is_honoured() {
    let ctx = Context::new();
    let socket = peer(&ctx);
    socket.bind("tcp://127.0.0.1:*").expect("bind");
    let endpoint = socket.last_endpoint().expect("last_endpoint");

    let mut raw = RawPeer::connect(&endpoint);
    raw.handshake("PEER");
    // PING with TTL 1 decisecond (100 ms), then silence: we must drop the connection.
    raw.send(&[0x04, 0x07, 0x04, b'P', b'I', b'N', b'G', 0x00, 0x01]);
    assert_eq!(
        raw.read_exact(7),
        [0x04, 0x05, 0x04, b'P', b'O', b'N', b'G']
    );
    raw.expect_closed(WAIT);
}

#[test]
fn heartbeats_keep_a_live_connection() {
    let ctx = Context::new();
    let binder = peer(&ctx);
    let connecter = peer(&ctx);
    for socket in [&binder, &connecter] {
        socket.set_heartbeat_ivl(20).expect("IVL");
        // Well above the interval, so scheduling delays on a loaded machine are no timeout.
        socket.set_heartbeat_timeout(500).expect("TIMEOUT");
    }
    binder.bind("tcp://127.0.0.1:*").expect("bind");
    let rid = connecter
        .connect_peer(&binder.last_endpoint().expect("ep"))
        .expect("connect_peer");
    connecter.send(support::msg(b"1", rid)).expect("send");
    let got = binder.recv().expect("recv");
    let back = got.routing_id().expect("routing id");
    // Idle for longer than several timeouts; PING/PONG keep the connection (and the bind-side
    // routing id) alive.
    binder.set_rcvtimeo(1500).expect("RCVTIMEO");
    assert_errno(binder.recv(), errno::EAGAIN, "idle period");
    binder
        .send(support::msg(b"2", back))
        .expect("same bind-side routing id still valid");
    assert_eq!(connecter.recv().expect("recv").as_bytes(), b"2");
}
