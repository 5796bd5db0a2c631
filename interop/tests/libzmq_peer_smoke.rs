//! Sanity checks of the FFI wrapper itself: libzmq PEER talking to libzmq PEER (the upstream
//! `tests/test_peer.cpp` sequence, PROTOCOL.md §11), so a failure in the codec interop tests can
//! be told apart from a broken harness.

use interop::ffi::{self, Context, Errno, Msg};

/// Bounded wait for every blocking libzmq receive in these tests.
const TIMEOUT_MS: i32 = 10_000;

#[test]
fn test_peer_sequence_over_tcp() {
    let ctx = Context::new().unwrap();
    let mut peer1 = ctx.socket(ffi::PEER).unwrap();
    peer1.set_int_option(ffi::RCVTIMEO, TIMEOUT_MS).unwrap();
    peer1.bind("tcp://127.0.0.1:*").unwrap();
    let endpoint = peer1.last_endpoint().unwrap();
    assert!(endpoint.starts_with("tcp://127.0.0.1:"), "{endpoint}");

    let mut peer2 = ctx.socket(ffi::PEER).unwrap();
    peer2.set_int_option(ffi::RCVTIMEO, TIMEOUT_MS).unwrap();
    let rid1 = peer2.connect_peer(&endpoint).unwrap();
    assert_ne!(rid1, 0);
    assert_eq!(peer2.send_to(rid1, &[0x01], 0), Ok(1));

    let mut msg = Msg::new().unwrap();
    assert_eq!(peer1.recv_msg(&mut msg, 0), Ok(1));
    assert_eq!(msg.data(), [0x01]);
    assert_eq!(msg.gets("Socket-Type").as_deref(), Some("PEER"));
    let rid2 = msg.routing_id();
    assert_ne!(rid2, 0);

    assert_eq!(peer1.send_to(rid2, &[0x02], 0), Ok(1));
    assert_eq!(peer2.recv(0), Ok((rid1, vec![0x02])));
}

#[test]
fn options_and_errors_round_trip() {
    let ctx = Context::new().unwrap();
    let mut peer = ctx.socket(ffi::PEER).unwrap();
    assert_eq!(peer.int_option(ffi::TYPE), Ok(ffi::PEER));
    assert_eq!(peer.int_option(ffi::THREAD_SAFE), Ok(1));
    assert_eq!(peer.int_option(ffi::LINGER), Ok(0), "ZMQ_BLOCKY=0 context");
    peer.set_int_option(ffi::SNDHWM, 5).unwrap();
    assert_eq!(peer.int_option(ffi::SNDHWM), Ok(5));
    peer.set_int_option(ffi::RCVTIMEO, 0).unwrap();
    assert_eq!(peer.recv(0), Err(Errno::EAGAIN));
    assert_eq!(
        peer.send_to(0, b"x", ffi::DONTWAIT),
        Err(Errno::EHOSTUNREACH)
    );
    assert_eq!(peer.send_to(7, b"x", ffi::SNDMORE), Err(Errno::EINVAL));
    assert_eq!(peer.connect_peer("foo://x"), Err(Errno::EPROTONOSUPPORT));
    assert_eq!(
        peer.connect_peer("udp://127.0.0.1:5555"),
        Err(Errno::ENOCOMPATPROTO)
    );
    let mut msg = Msg::new().unwrap();
    assert_eq!(msg.set_routing_id(0), Err(Errno::EINVAL));

    let mut dealer = ctx.socket(ffi::DEALER).unwrap();
    assert_eq!(
        dealer.connect_peer("tcp://127.0.0.1:1"),
        Err(Errno::ENOTSUP)
    );
    assert!(!Errno::ENOTSUP.message().is_empty());

    ctx.shutdown().unwrap();
    assert_eq!(peer.connect_peer("tcp://127.0.0.1:1"), Err(Errno::ETERM));
}

#[test]
fn ws_transport_is_compiled_in() {
    let ctx = Context::new().unwrap();
    let mut peer1 = ctx.socket(ffi::PEER).unwrap();
    peer1.set_int_option(ffi::RCVTIMEO, TIMEOUT_MS).unwrap();
    peer1.bind("ws://127.0.0.1:*/peer").unwrap();
    let endpoint = peer1.last_endpoint().unwrap();
    assert!(endpoint.starts_with("ws://127.0.0.1:"), "{endpoint}");

    let mut peer2 = ctx.socket(ffi::PEER).unwrap();
    peer2.set_int_option(ffi::RCVTIMEO, TIMEOUT_MS).unwrap();
    let rid1 = peer2.connect_peer(&endpoint).unwrap();
    let payload = vec![0xA5; 65_536];
    assert_eq!(peer2.send_to(rid1, &payload, 0), Ok(payload.len()));
    let (rid2, got) = peer1.recv(0).unwrap();
    assert_ne!(rid2, 0);
    assert_eq!(got, payload);
}
