//! A bound PEER against a hand-written ZMTP peer on a raw `TcpStream` (PROTOCOL.md §1.1, §3.2,
//! §4.2, §9.5, §11.1 G): our greeting and READY bytes, multipart dropped whole, tolerated framing
//! variants.

mod support;

use zmq_peer::{Context, Socket, errno};

use support::{GREETING, PEER_READY, RawPeer, assert_errno, msg, peer};

/// A bound PEER on `tcp://127.0.0.1:*` and its resolved endpoint.
fn bound_peer(ctx: &Context) -> (Socket, String) {
    let socket = peer(ctx);
    socket.bind("tcp://127.0.0.1:*").expect("bind");
    let endpoint = socket.last_endpoint().expect("last_endpoint");
    (socket, endpoint)
}

#[test]
fn greeting_and_ready_match_libzmq() {
    let ctx = Context::new();
    let (_socket, endpoint) = bound_peer(&ctx);
    let mut raw = RawPeer::connect(&endpoint);
    let (greeting, ready) = raw.handshake("PEER");
    // Octets 1..8 (padding) may differ; everything from the major version on is fixed.
    assert_eq!(greeting[0], 0xFF);
    assert_eq!(greeting[9], 0x7F);
    assert_eq!(&greeting[10..], &GREETING[10..], "greeting octets 10..64");
    let mut ready_bytes = vec![ready.flags, u8::try_from(ready.body.len()).expect("short")];
    ready_bytes.extend_from_slice(&ready.body);
    assert_eq!(ready_bytes, PEER_READY, "READY of a PEER without metadata");
}

#[test]
fn multipart_is_dropped_whole() {
    let ctx = Context::new();
    let (socket, endpoint) = bound_peer(&ctx);
    let mut raw = RawPeer::connect(&endpoint);
    raw.handshake("PEER");
    // "A" with MORE and "B" (one two-frame message), then the single-frame "C".
    raw.send(&[0x01, 0x01, b'A', 0x00, 0x01, b'B', 0x00, 0x01, b'C']);
    let got = socket.recv().expect("recv");
    assert_eq!(
        got.as_bytes(),
        b"C",
        "only the single-frame message is delivered"
    );
    assert_eq!(got.gets("Socket-Type"), Some("PEER"));
    let rid = got.routing_id().expect("routing id");

    // A three-frame message split over several writes is dropped as well.
    raw.send(&[0x01, 0x01, b'X']);
    raw.send(&[0x01, 0x01, b'Y', 0x00]);
    raw.send(&[0x01, b'Z', 0x00, 0x01, b'D']);
    let got = socket.recv().expect("recv");
    assert_eq!(got.as_bytes(), b"D");
    assert_eq!(got.routing_id(), Some(rid));

    socket.set_rcvtimeo(100).expect("RCVTIMEO");
    assert_errno(socket.recv(), errno::EAGAIN, "nothing else was delivered");

    // The connection is kept: a reply reaches the raw peer.
    socket.send(msg(b"E", rid)).expect("reply");
    let frame = raw.read_frame();
    assert_eq!(frame.flags, 0x00);
    assert_eq!(frame.body, b"E");
}

#[test]
fn tolerated_framing_variants() {
    let ctx = Context::new();
    let (socket, endpoint) = bound_peer(&ctx);
    let mut raw = RawPeer::connect(&endpoint);
    raw.handshake("PEER");
    // A long-form frame with a small size.
    raw.send(&[0x02, 0, 0, 0, 0, 0, 0, 0, 0x01, b'L']);
    // An unknown command after the handshake is ignored.
    raw.send(&[0x04, 0x05, 0x04, b'A', b'B', b'C', b'D']);
    // PONG without a PING of ours is ignored too.
    raw.send(&[0x04, 0x05, 0x04, b'P', b'O', b'N', b'G']);
    // An empty message.
    raw.send(&[0x00, 0x00]);
    raw.send(&[0x00, 0x01, b'S']);
    // Reserved flag bits are ignored, as libzmq's decoder does (PROTOCOL.md §2.3): a short
    // frame with bits 3..7 set, and a long one with bit 7 set.
    raw.send(&[0xF8, 0x01, b'R']);
    raw.send(&[0x82, 0, 0, 0, 0, 0, 0, 0, 0x01, b'Q']);
    assert_eq!(socket.recv().expect("recv").as_bytes(), b"L");
    assert_eq!(socket.recv().expect("recv").as_bytes(), b"");
    assert_eq!(socket.recv().expect("recv").as_bytes(), b"S");
    assert_eq!(socket.recv().expect("recv").as_bytes(), b"R");
    assert_eq!(socket.recv().expect("recv").as_bytes(), b"Q");

    // Our frames: short form up to 255 octets, long form above.
    let rid = probe(&socket, &mut raw);
    socket.send(msg(&[7; 255], rid)).expect("send 255");
    socket.send(msg(&[8; 256], rid)).expect("send 256");
    let short = raw.read_frame();
    assert_eq!((short.flags, short.body.len()), (0x00, 255));
    let long = raw.read_frame();
    assert_eq!((long.flags, long.body.len()), (0x02, 256));
    assert!(long.body.iter().all(|b| *b == 8));
}

/// The routing id of the raw peer, learnt by having it send one message.
fn probe(socket: &Socket, raw: &mut RawPeer) -> zmq_peer::RoutingId {
    raw.send(&[0x00, 0x05, b'p', b'r', b'o', b'b', b'e']);
    let got = socket.recv().expect("probe");
    assert_eq!(got.as_bytes(), b"probe");
    got.routing_id().expect("routing id")
}
