//! Our `zmtp_codec::Session` against a real libzmq 4.3.5 PEER, driven over plain blocking
//! `std::net::TcpStream` / `std::os::unix::net::UnixStream` (no runtime of ours involved).
//!
//! Covers: handshake and message transfer in both directions and both connection directions
//! (libzmq binding, libzmq `zmq_connect_peer`ing to us), byte-exact greeting and READY, socket
//! type mismatch handling on both sides, and the ipc transport. Every wait is bounded.

mod support;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use interop::ffi::{self, Context, Errno, Msg, Socket};
use interop::{StreamError, Transport, ZmtpStream, accept_within};
use zmtp_codec::greeting::Greeting;
use zmtp_codec::{Config, Event, MechanismName, Message, ProtocolError, Session, SocketType};

use support::{SIZES, assert_payload, bind_tcp, count_accepts, libzmq_peer, payload};

/// Bound on every read from libzmq in these tests.
const TIMEOUT: Duration = Duration::from_secs(10);

/// The 64-octet greeting of a libzmq 4.3.5 PEER with NULL security (PROTOCOL.md §1.1).
const LIBZMQ_PEER_GREETING: [u8; 64] = {
    let mut g = [0_u8; 64];
    g[0] = 0xFF;
    g[8] = 0x01;
    g[9] = 0x7F;
    g[10] = 0x03;
    g[11] = 0x01;
    g[12] = b'N';
    g[13] = b'U';
    g[14] = b'L';
    g[15] = b'L';
    g
};

/// The 28-octet READY of a libzmq 4.3.5 PEER (PROTOCOL.md §3.2).
const LIBZMQ_PEER_READY: [u8; 28] = [
    0x04, 0x1A, 0x05, b'R', b'E', b'A', b'D', b'Y', 0x0B, b'S', b'o', b'c', b'k', b'e', b't', b'-',
    b'T', b'y', b'p', b'e', 0x00, 0x00, 0x00, 0x04, b'P', b'E', b'E', b'R',
];

// ---- a. libzmq binds, we connect --------------------------------------------------------------

#[test]
fn tcp_we_connect_to_libzmq_bind() {
    let ctx = Context::new().unwrap();
    let mut theirs = libzmq_peer(&ctx);
    let addr = bind_tcp(&mut theirs);

    let tcp = TcpStream::connect(addr).unwrap();
    tcp.set_nodelay(true).unwrap();
    let ours = ZmtpStream::new(tcp, Config::new(SocketType::PEER)).unwrap();
    exchange_all_sizes(ours, &mut theirs, &SIZES);
}

// ---- b. libzmq zmq_connect_peer()s to us, sending before the handshake ------------------------

#[test]
fn tcp_libzmq_connect_peer_to_our_listener() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let ctx = Context::new().unwrap();
    let mut theirs = libzmq_peer(&ctx);
    let rid = theirs.connect_peer(&format!("tcp://{addr}")).unwrap();
    assert_ne!(rid, 0);

    // Queued in libzmq's pipe before the TCP connection is even accepted.
    for (seed, &size) in SIZES.iter().enumerate() {
        let data = payload(size, seed);
        assert_eq!(theirs.send_to(rid, &data, ffi::DONTWAIT), Ok(size));
    }

    let tcp = accept_within(&listener, TIMEOUT).unwrap();
    tcp.set_nodelay(true).unwrap();
    let mut ours = ZmtpStream::new(tcp, Config::new(SocketType::PEER)).unwrap();
    let info = ours.handshake().unwrap();
    assert_eq!(info.socket_type, Some(SocketType::PEER));

    for (seed, &size) in SIZES.iter().enumerate() {
        let got = single_frame(ours.recv().unwrap());
        assert_payload(
            &got,
            &payload(size, seed),
            &format!("libzmq -> us, {size} bytes"),
        );
    }
    for (seed, &size) in SIZES.iter().enumerate() {
        ours.send(Message::new(payload(size, 100 + seed))).unwrap();
    }
    for (seed, &size) in SIZES.iter().enumerate() {
        let mut msg = Msg::new().unwrap();
        assert_eq!(
            theirs.recv_msg(&mut msg, 0),
            Ok(size),
            "us -> libzmq, {size} bytes"
        );
        assert_eq!(
            msg.routing_id(),
            rid,
            "reply arrives on the connect_peer routing id"
        );
        assert_payload(msg.data(), &payload(size, 100 + seed), "us -> libzmq");
    }
}

// ---- c. byte-exact greeting and READY ---------------------------------------------------------

#[test]
fn greeting_and_ready_are_byte_identical_libzmq_binds() {
    let ctx = Context::new().unwrap();
    let mut theirs = libzmq_peer(&ctx);
    let addr = bind_tcp(&mut theirs);
    let tcp = TcpStream::connect(addr).unwrap();
    compare_handshake_bytes(tcp, &mut theirs, None);
}

#[test]
fn greeting_and_ready_are_byte_identical_libzmq_connects() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let ctx = Context::new().unwrap();
    let mut theirs = libzmq_peer(&ctx);
    let rid = theirs.connect_peer(&format!("tcp://{addr}")).unwrap();
    let tcp = accept_within(&listener, TIMEOUT).unwrap();
    compare_handshake_bytes(tcp, &mut theirs, Some(rid));
}

#[test]
fn our_greeting_encoder_matches_libzmq_constant() {
    let mut ours = BytesMut::new();
    Greeting::new(MechanismName::NULL).encode(&mut ours);
    assert_eq!(ours[..], LIBZMQ_PEER_GREETING[..]);
}

// ---- d. incompatible socket types -------------------------------------------------------------

#[test]
fn our_dealer_against_libzmq_peer_bind_is_refused_by_both() {
    let ctx = Context::new().unwrap();
    let mut theirs = libzmq_peer(&ctx);
    let addr = bind_tcp(&mut theirs);

    let tcp = TcpStream::connect(addr).unwrap();
    let mut ours = ZmtpStream::new(tcp, Config::new(SocketType::DEALER)).unwrap();
    let err = ours.handshake().unwrap_err();
    assert_incompatible(&err);
    // A data frame smuggled after our READY must never reach the libzmq application. The write
    // may fail if libzmq has already closed; either way nothing may be delivered.
    let mut raw = ours.get_ref();
    let _ = raw.write_all(&[0x00, 0x01, b'X']);

    ours.wait_peer_close()
        .expect("libzmq closes the connection");
    theirs.set_int_option(ffi::RCVTIMEO, 100).unwrap();
    assert_eq!(
        theirs.recv(0),
        Err(Errno::EAGAIN),
        "libzmq delivered a message"
    );
}

#[test]
fn libzmq_peer_connecting_to_our_dealer_gives_up_without_reconnecting() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let ctx = Context::new().unwrap();
    let mut theirs = libzmq_peer(&ctx);
    let rid = theirs.connect_peer(&format!("tcp://{addr}")).unwrap();
    assert_eq!(theirs.send_to(rid, b"queued", ffi::DONTWAIT), Ok(6));

    let tcp = accept_within(&listener, TIMEOUT).unwrap();
    let mut ours = ZmtpStream::new(tcp, Config::new(SocketType::DEALER)).unwrap();
    let err = ours.handshake().unwrap_err();
    assert_incompatible(&err);
    ours.wait_peer_close()
        .expect("libzmq closes the connection");

    // A protocol error is final for libzmq's connecter: no second connection (§5.2, §7.5).
    assert_eq!(
        count_accepts(&listener, Duration::from_secs(1)),
        0,
        "libzmq reconnected"
    );
}

#[test]
fn our_peer_rejects_a_libzmq_dealer() {
    let ctx = Context::new().unwrap();
    let mut theirs = support::libzmq_socket(&ctx, ffi::DEALER);
    let addr = bind_tcp(&mut theirs);

    let tcp = TcpStream::connect(addr).unwrap();
    let mut ours = ZmtpStream::new(tcp, Config::new(SocketType::PEER)).unwrap();
    match ours.handshake().unwrap_err() {
        StreamError::Protocol(ProtocolError::IncompatibleSocketType { ours, theirs }) => {
            assert_eq!(ours, SocketType::PEER);
            assert_eq!(theirs, SocketType::DEALER);
        }
        other => panic!("expected IncompatibleSocketType, got {other:?}"),
    }
    ours.wait_peer_close().expect("libzmq's DEALER closes too");
}

// ---- e. ipc -----------------------------------------------------------------------------------

#[test]
fn ipc_we_connect_to_libzmq_bind() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.sock");
    let ctx = Context::new().unwrap();
    let mut theirs = libzmq_peer(&ctx);
    theirs.bind(&format!("ipc://{}", path.display())).unwrap();

    let stream = UnixStream::connect(&path).unwrap();
    let ours = ZmtpStream::new(stream, Config::new(SocketType::PEER)).unwrap();
    exchange_all_sizes(ours, &mut theirs, &SIZES);
}

// ---- helpers ----------------------------------------------------------------------------------

/// Handshake as PEER, send every size to libzmq (which must see one routing id for all of them),
/// then have libzmq send the same sizes back to that routing id and receive them.
fn exchange_all_sizes<S: Transport>(mut ours: ZmtpStream<S>, theirs: &mut Socket, sizes: &[usize]) {
    let info = ours.handshake().unwrap();
    assert_eq!(info.socket_type, Some(SocketType::PEER));

    for (seed, &size) in sizes.iter().enumerate() {
        ours.send(Message::new(payload(size, seed))).unwrap();
    }
    let mut rid = None;
    for (seed, &size) in sizes.iter().enumerate() {
        let mut msg = Msg::new().unwrap();
        assert_eq!(
            theirs.recv_msg(&mut msg, 0),
            Ok(size),
            "us -> libzmq, {size} bytes"
        );
        assert_payload(msg.data(), &payload(size, seed), "us -> libzmq");
        assert_eq!(msg.gets("Socket-Type").as_deref(), Some("PEER"));
        assert_ne!(msg.routing_id(), 0);
        assert_eq!(
            *rid.get_or_insert_with(|| msg.routing_id()),
            msg.routing_id()
        );
    }
    let rid = rid.expect("at least one message");

    for (seed, &size) in sizes.iter().enumerate() {
        let data = payload(size, 100 + seed);
        assert_eq!(theirs.send_to(rid, &data, 0), Ok(size));
    }
    for (seed, &size) in sizes.iter().enumerate() {
        let got = single_frame(ours.recv().unwrap());
        assert_payload(
            &got,
            &payload(size, 100 + seed),
            &format!("libzmq -> us, {size}"),
        );
    }
}

/// Captures libzmq's greeting (sent 10 / 1 / 53) and READY on `tcp`, compares them with what our
/// encoder and session produce, then finishes the handshake with our session's bytes and checks
/// that one message goes each way.
fn compare_handshake_bytes(mut tcp: TcpStream, theirs: &mut Socket, rid: Option<u32>) {
    tcp.set_read_timeout(Some(TIMEOUT)).unwrap();
    tcp.set_write_timeout(Some(TIMEOUT)).unwrap();
    let mut session = Session::new(Config::new(SocketType::PEER), Instant::now());
    let our_greeting = drain_transmit(&mut session);

    let mut encoded = BytesMut::new();
    Greeting::new(MechanismName::NULL).encode(&mut encoded);
    assert_eq!(
        our_greeting,
        encoded[..],
        "session greeting vs Greeting::encode"
    );

    // libzmq sends only its 10-octet signature until it has seen ours.
    let mut their_greeting = vec![0_u8; 64];
    tcp.read_exact(&mut their_greeting[..10]).unwrap();
    tcp.write_all(&our_greeting).unwrap();
    tcp.read_exact(&mut their_greeting[10..]).unwrap();
    assert_eq!(their_greeting, our_greeting, "libzmq greeting vs ours");
    assert_eq!(their_greeting, LIBZMQ_PEER_GREETING);

    let mut their_ready = vec![0_u8; LIBZMQ_PEER_READY.len()];
    tcp.read_exact(&mut their_ready).unwrap();
    assert_eq!(their_ready, LIBZMQ_PEER_READY);

    let mut input = BytesMut::from(&their_greeting[..]);
    session.handle_input(&mut input, Instant::now()).unwrap();
    let our_ready = drain_transmit(&mut session);
    assert_eq!(our_ready, their_ready, "our READY vs libzmq's");

    // Finish the handshake over the same connection and use it.
    tcp.write_all(&our_ready).unwrap();
    let mut input = BytesMut::from(&their_ready[..]);
    session.handle_input(&mut input, Instant::now()).unwrap();
    match session.poll_event() {
        Some(Event::HandshakeDone(info)) => assert_eq!(info.socket_type, Some(SocketType::PEER)),
        other => panic!("expected HandshakeDone, got {other:?}"),
    }
    session.send(Message::new(&b"ping"[..])).unwrap();
    let out = drain_transmit(&mut session);
    assert_eq!(out, [0x00, 0x04, b'p', b'i', b'n', b'g']);
    tcp.write_all(&out).unwrap();
    let (got_rid, body) = theirs.recv(0).unwrap();
    assert_eq!(body, b"ping");
    if let Some(rid) = rid {
        assert_eq!(got_rid, rid);
    }
    assert_eq!(theirs.send_to(got_rid, b"pong", 0), Ok(4));
    let mut reply = [0_u8; 6];
    tcp.read_exact(&mut reply).unwrap();
    assert_eq!(
        reply,
        [0x00, 0x04, b'p', b'o', b'n', b'g'],
        "libzmq data frame"
    );
}

/// Collects everything `session` has queued for the wire.
fn drain_transmit(session: &mut Session) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(chunk) = session.poll_transmit() {
        out.extend_from_slice(&chunk);
    }
    out
}

/// The body of a single-frame message (PEER never delivers multipart).
fn single_frame(msg: Message) -> Bytes {
    assert_eq!(msg.frame_count(), 1, "PEER messages are single-frame");
    msg.into_single().expect("single frame")
}

/// Asserts that our DEALER session refused libzmq's PEER.
fn assert_incompatible(err: &StreamError) {
    match err {
        StreamError::Protocol(ProtocolError::IncompatibleSocketType { ours, theirs }) => {
            assert_eq!(*ours, SocketType::DEALER);
            assert_eq!(*theirs, SocketType::PEER);
        }
        other => panic!("expected IncompatibleSocketType, got {other:?}"),
    }
}
