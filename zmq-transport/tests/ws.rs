//! ws (ZWS 2.0) end to end: two I/O threads over ws with and without a path, all sizes both
//! ways, heartbeats, shared bodies under client masking, reconnect; raw WebSocket peers that
//! refuse, complete the NULL handshake by hand, stall, break the protocol, announce oversized
//! frames, or close (both directions); and any chunking of the byte stream.
#![cfg(feature = "ws")]

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use bytes::Bytes;
use proptest::prelude::*;
use support::{PATIENCE, TestAcceptor, bind, body, connect, opts, read_until_closed};
use tungstenite::client::IntoClientRequest;
use tungstenite::http::HeaderValue;
use tungstenite::protocol::WebSocket;
use tungstenite::{Message as WsMessage, Utf8Bytes};
use zmq_transport::{DisconnectReason, Endpoint, IoThread, Listener, WS_DEFAULT_MAX_MESSAGE};
use zmtp_codec::ws::{WsProtocol, WsTransmit};
use zmtp_codec::{Config, Framing, Message, ProtocolError, Session, SocketType};

/// `host:port` of a resolved ws endpoint.
fn addr_of(endpoint: &str) -> String {
    let rest = endpoint.strip_prefix("ws://").unwrap();
    rest[..rest.find('/').unwrap()].to_owned()
}

const SIZES: [usize; 6] = [0, 1, 255, 256, 65536, 1 << 20];

fn exchange_all_sizes(bind_ep: &str, path: &str) {
    let server_io = IoThread::spawn("server-io").unwrap();
    let client_io = IoThread::spawn("client-io").unwrap();
    let acceptor = TestAcceptor::new(0, 0);
    let listener = bind(&server_io, bind_ep, opts(), &acceptor);
    let endpoint = listener.endpoint().to_owned();
    assert!(endpoint.starts_with("ws://127.0.0.1:"), "{endpoint}");
    assert!(endpoint.ends_with(path), "{endpoint}");
    assert!(!endpoint.contains(":*"), "{endpoint}");

    let (client, _connecter) = connect(&client_io.handle(), &endpoint, opts(), 0, 0);
    client.send(Message::from(&b"early"[..]));
    client.events.wait_handshakes(1);
    let server = acceptor.peer(0);
    server.events.wait_handshakes(1);
    let peer = client.events.handshakes.lock().unwrap()[0].clone();
    assert_eq!(peer.socket_type, Some(SocketType::PEER));
    assert!(acceptor.remotes.lock().unwrap()[0].starts_with("tcp://127.0.0.1:"));
    assert_eq!(server.recv().unwrap(), Message::from(&b"early"[..]));

    for (i, size) in SIZES.into_iter().enumerate() {
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
    // A burst keeps its order.
    for i in 0..2000u32 {
        client.send(i.to_be_bytes().to_vec());
    }
    for i in 0..2000u32 {
        assert_eq!(
            server.recv().unwrap(),
            Message::from(i.to_be_bytes().to_vec())
        );
    }
    assert_eq!(client.events.disconnect_count(), 0);
    drop(listener);
    server_io.shutdown();
    client_io.shutdown();
}

#[test]
fn messages_both_ways_all_sizes_without_path() {
    exchange_all_sizes("ws://127.0.0.1:*", "/");
}

#[test]
fn messages_both_ways_all_sizes_with_multi_segment_path() {
    exchange_all_sizes("ws://127.0.0.1:*/a/b/c", "/a/b/c");
}

#[test]
fn wildcard_bind_reports_resolved_endpoint() {
    let server_io = IoThread::spawn("server-io").unwrap();
    let client_io = IoThread::spawn("client-io").unwrap();
    let acceptor = TestAcceptor::new(0, 0);
    let listener = bind(&server_io, "ws://*:*/roundtrip", opts(), &acceptor);
    let endpoint = listener.endpoint();
    assert!(endpoint.starts_with("ws://0.0.0.0:"), "{endpoint}");
    assert!(endpoint.ends_with("/roundtrip"), "{endpoint}");
    let port = addr_of(endpoint).rsplit_once(':').unwrap().1.to_owned();
    // The server ignores the request path (as libzmq): any path reaches the listener.
    let (client, _c) = connect(
        &client_io.handle(),
        &format!("ws://127.0.0.1:{port}/other"),
        opts(),
        0,
        0,
    );
    client.send(Message::from(&b"hi"[..]));
    assert_eq!(acceptor.peer(0).recv().unwrap(), Message::from(&b"hi"[..]));
    // Same port, second bind: address in use.
    assert!(matches!(
        server_io.handle().bind(
            &Endpoint::parse_bind(&format!("ws://0.0.0.0:{port}/x")).unwrap(),
            opts(),
            acceptor
        ),
        Err(zmq_transport::TransportError::AddrInUse)
    ));
}

#[test]
fn heartbeats_at_10ms_without_reconnect_still_deliver() {
    let server_io = IoThread::spawn("server-io").unwrap();
    let client_io = IoThread::spawn("client-io").unwrap();
    let mut options = opts();
    options.codec.heartbeat_interval = Some(Duration::from_millis(10));
    options.reconnect_ivl = None;
    let acceptor = TestAcceptor::new(0, 0);
    let listener = bind(&server_io, "ws://127.0.0.1:*", options.clone(), &acceptor);
    let (client, _c) = connect(&client_io.handle(), listener.endpoint(), options, 0, 0);
    client.events.wait_handshakes(1);
    let server = acceptor.peer(0);
    // Many heartbeat intervals pass while messages flow both ways at a slower pace.
    let until = Instant::now() + Duration::from_millis(300);
    let mut i = 0u32;
    while Instant::now() < until {
        client.send(i.to_be_bytes().to_vec());
        assert_eq!(
            server.recv().unwrap(),
            Message::from(i.to_be_bytes().to_vec())
        );
        server.send(i.to_le_bytes().to_vec());
        assert_eq!(
            client.recv().unwrap(),
            Message::from(i.to_le_bytes().to_vec())
        );
        i += 1;
        // Let several pings go out between messages.
        std::thread::sleep(Duration::from_millis(25));
    }
    assert_eq!(client.events.disconnect_count(), 0);
    assert_eq!(server.events.disconnect_count(), 0);
}

#[test]
fn masked_client_messages_leave_shared_bodies_intact() {
    let server_io = IoThread::spawn("server-io").unwrap();
    let client_io = IoThread::spawn("client-io").unwrap();
    let acceptor = TestAcceptor::new(0, 0);
    let listener = bind(&server_io, "ws://127.0.0.1:*", opts(), &acceptor);
    let (client, _c) = connect(&client_io.handle(), listener.endpoint(), opts(), 0, 0);
    let server = acceptor.peer(0);
    for size in [1usize, 100, 70_000] {
        let shared = Bytes::from(body(size, 7));
        let original = shared.to_vec();
        client.send(Message::new(shared.clone()));
        client.send(Message::new(shared.clone()));
        let first = server.recv().unwrap();
        let second = server.recv().unwrap();
        assert_eq!(first.frames()[0], original);
        assert_eq!(second.frames()[0], original);
        assert_eq!(shared, original, "the sender's copy was modified");
    }
}

#[test]
fn connecter_reconnects_across_rebind() {
    let server_io = IoThread::spawn("server-io").unwrap();
    let client_io = IoThread::spawn("client-io").unwrap();
    let first = TestAcceptor::new(0, 0);
    let listener = bind(&server_io, "ws://127.0.0.1:*/p", opts(), &first);
    let endpoint = listener.endpoint().to_owned();
    let (client, _c) = connect(&client_io.handle(), &endpoint, opts(), 0, 0);
    client.send(Message::from(&b"one"[..]));
    assert_eq!(first.peer(0).recv().unwrap(), Message::from(&b"one"[..]));
    // The server socket closes: unbind and end its side of the accepted connection.
    listener.close();
    first.peer(0).close(None);
    client.events.wait_disconnects(1);
    let (reason, will_reconnect) = client.events.disconnects.lock().unwrap()[0].clone();
    assert!(will_reconnect, "{reason:?}");
    client.send(Message::from(&b"two"[..]));
    let second = TestAcceptor::new(0, 0);
    let _listener = bind(&server_io, &endpoint, opts(), &second);
    assert_eq!(second.peer(0).recv().unwrap(), Message::from(&b"two"[..]));
    client.events.wait_handshakes(2);
}

#[test]
fn oversized_message_ends_connection_without_reconnect() {
    let server_io = IoThread::spawn("server-io").unwrap();
    let client_io = IoThread::spawn("client-io").unwrap();
    let mut small = opts();
    small.codec.max_message_size = Some(1000);
    let acceptor = TestAcceptor::new(0, 0);
    let listener = bind(&server_io, "ws://127.0.0.1:*", small.clone(), &acceptor);
    // The client's own limit is on what it receives: the server's reply is refused.
    let (client, _c) = connect(&client_io.handle(), listener.endpoint(), small, 0, 0);
    client.send(body(1000, 1));
    let server = acceptor.peer(0);
    assert_eq!(server.recv().unwrap(), Message::from(body(1000, 1)));
    server.send(body(1001, 2));
    client.events.wait_disconnects(1);
    let (reason, will_reconnect) = client.events.disconnects.lock().unwrap()[0].clone();
    assert!(!will_reconnect);
    assert_eq!(
        reason,
        DisconnectReason::Protocol(ProtocolError::MessageTooLarge { limit: 1000 })
    );
}

// ---- raw WebSocket peers ------------------------------------------------------------------

/// Upgrades a blocking tcp connection offering `protocols`; the handshake result.
fn raw_upgrade(
    addr: &str,
    protocols: &str,
) -> Result<
    (
        WebSocket<TcpStream>,
        tungstenite::handshake::client::Response,
    ),
    String,
> {
    let stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    stream.set_nodelay(true).unwrap();
    let mut request = format!("ws://{addr}/raw").into_client_request().unwrap();
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        HeaderValue::from_str(protocols).unwrap(),
    );
    tungstenite::client::client(request, stream).map_err(|e| e.to_string())
}

/// The READY a PEER sends (PROTOCOL.md §6.4), as a ZWS payload.
const PEER_READY: &[u8] = b"\x02\x05READY\x0bSocket-Type\x00\x00\x00\x04PEER";

/// Reads the next binary message (skipping pings).
fn next_binary(ws: &mut WebSocket<TcpStream>) -> Bytes {
    loop {
        match ws.read().unwrap() {
            WsMessage::Binary(b) => return b,
            WsMessage::Ping(_) | WsMessage::Pong(_) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
}

#[test]
fn raw_client_completes_null_handshake_by_hand() {
    let server_io = IoThread::spawn("server-io").unwrap();
    let acceptor = TestAcceptor::new(0, 0);
    let listener = bind(&server_io, "ws://127.0.0.1:*", opts(), &acceptor);
    let (mut ws, response) =
        raw_upgrade(&addr_of(listener.endpoint()), "ZWS2.0/NULL,ZWS2.0").unwrap();
    assert_eq!(
        response.headers().get("Sec-WebSocket-Protocol").unwrap(),
        "ZWS2.0/NULL"
    );
    // The server's READY comes first, byte for byte as libzmq's.
    assert_eq!(next_binary(&mut ws), PEER_READY);
    ws.send(WsMessage::Binary(Bytes::from_static(PEER_READY)))
        .unwrap();
    ws.send(WsMessage::Binary(Bytes::from_static(b"\x00hello")))
        .unwrap();
    let server = acceptor.peer(0);
    assert_eq!(server.recv().unwrap(), Message::from(&b"hello"[..]));
    server.send(Message::from(&b"back"[..]));
    assert_eq!(next_binary(&mut ws), &b"\x00back"[..]);
    // A ping is answered (by the engine) and counts as traffic.
    ws.send(WsMessage::Ping(Bytes::from_static(b"p"))).unwrap();
    loop {
        match ws.read().unwrap() {
            WsMessage::Pong(_) => break,
            WsMessage::Ping(_) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    // A close frame ends the connection; the accepted link is finished.
    ws.close(None).unwrap();
    server.events.wait_disconnects(1);
    assert_eq!(server.recv(), None);
}

#[test]
fn raw_client_on_bare_zws20_exchanges_routing_ids() {
    let server_io = IoThread::spawn("server-io").unwrap();
    let acceptor = TestAcceptor::new(0, 0);
    let listener = bind(&server_io, "ws://127.0.0.1:*", opts(), &acceptor);
    let (mut ws, response) = raw_upgrade(&addr_of(listener.endpoint()), "ZWS2.0").unwrap();
    assert_eq!(
        response.headers().get("Sec-WebSocket-Protocol").unwrap(),
        "ZWS2.0"
    );
    // Bare ZWS2.0: the routing id (empty) is the first message each way.
    assert_eq!(next_binary(&mut ws), &b"\x00"[..]);
    ws.send(WsMessage::Binary(Bytes::from_static(b"\x00")))
        .unwrap();
    ws.send(WsMessage::Binary(Bytes::from_static(b"\x00data")))
        .unwrap();
    assert_eq!(
        acceptor.peer(0).recv().unwrap(),
        Message::from(&b"data"[..])
    );
}

#[test]
fn raw_client_offering_only_plain_to_null_server_is_refused() {
    let server_io = IoThread::spawn("server-io").unwrap();
    let client_io = IoThread::spawn("client-io").unwrap();
    let acceptor = TestAcceptor::new(0, 0);
    let listener = bind(&server_io, "ws://127.0.0.1:*", opts(), &acceptor);
    let addr = addr_of(listener.endpoint());
    // As libzmq: the connection is closed without any HTTP reply.
    let mut raw = TcpStream::connect(&addr).unwrap();
    raw.set_read_timeout(Some(PATIENCE)).unwrap();
    write!(
        raw,
        "GET / HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: ZWS2.0/PLAIN\r\n\
         Sec-WebSocket-Version: 13\r\n\r\n"
    )
    .unwrap();
    assert_eq!(read_until_closed(&mut raw), b"");
    // Through tungstenite: the upgrade fails.
    assert!(raw_upgrade(&addr, "ZWS2.0/PLAIN").is_err());
    assert_eq!(acceptor.count(), 0);
    // The listener keeps serving.
    let (client, _c) = connect(&client_io.handle(), listener.endpoint(), opts(), 0, 0);
    client.send(Message::from(&b"fine"[..]));
    assert_eq!(
        acceptor.peer(0).recv().unwrap(),
        Message::from(&b"fine"[..])
    );
}

#[test]
fn stalled_upgrade_is_dropped_at_handshake_deadline() {
    let server_io = IoThread::spawn("server-io").unwrap();
    let mut options = opts();
    options.codec.handshake_timeout = Some(Duration::from_millis(200));
    let acceptor = TestAcceptor::new(0, 0);
    let listener = bind(&server_io, "ws://127.0.0.1:*", options, &acceptor);
    let addr = addr_of(listener.endpoint());
    // Connects and never sends the request.
    let mut silent = TcpStream::connect(&addr).unwrap();
    // Sends half a request.
    let mut half = TcpStream::connect(&addr).unwrap();
    half.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").unwrap();
    let started = Instant::now();
    assert_eq!(read_until_closed(&mut silent), b"");
    assert_eq!(read_until_closed(&mut half), b"");
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(150), "{waited:?}");
    assert_eq!(acceptor.count(), 0);
}

#[test]
fn client_upgrade_that_never_completes_times_out_and_reconnects() {
    // A tcp listener that accepts and never answers the upgrade request.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let client_io = IoThread::spawn("client-io").unwrap();
    let mut options = opts();
    options.codec.handshake_timeout = Some(Duration::from_millis(100));
    let (client, _c) = connect(
        &client_io.handle(),
        &format!("ws://127.0.0.1:{port}/"),
        options,
        0,
        0,
    );
    let (mut first, _) = silent.accept().unwrap();
    first.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut request = [0u8; 1024];
    let n = first.read(&mut request).unwrap();
    let text = String::from_utf8_lossy(&request[..n]).into_owned();
    assert!(text.starts_with("GET / HTTP/1.1\r\n"), "{text}");
    assert!(
        text.contains(&format!("Host: 127.0.0.1:{port}\r\n")),
        "{text}"
    );
    assert!(
        text.contains("Sec-WebSocket-Protocol: ZWS2.0/NULL,ZWS2.0\r\n"),
        "{text}"
    );
    client.events.wait_disconnects(1);
    let (reason, will_reconnect) = client.events.disconnects.lock().unwrap()[0].clone();
    assert_eq!(
        reason,
        DisconnectReason::Protocol(ProtocolError::HandshakeTimeout)
    );
    assert!(will_reconnect);
    // And it tries again.
    let (_second, _) = silent.accept().unwrap();
}

#[test]
fn text_message_ends_the_connection() {
    let server_io = IoThread::spawn("server-io").unwrap();
    let acceptor = TestAcceptor::new(0, 0);
    let listener = bind(&server_io, "ws://127.0.0.1:*", opts(), &acceptor);
    let (mut ws, _) = raw_upgrade(&addr_of(listener.endpoint()), "ZWS2.0/NULL").unwrap();
    assert_eq!(next_binary(&mut ws), PEER_READY);
    ws.send(WsMessage::Binary(Bytes::from_static(PEER_READY)))
        .unwrap();
    let server = acceptor.peer(0);
    ws.send(WsMessage::Text(Utf8Bytes::from_static("no")))
        .unwrap();
    server.events.wait_disconnects(1);
    let (reason, _) = server.events.disconnects.lock().unwrap()[0].clone();
    assert!(
        matches!(reason, DisconnectReason::WebSocket(_)),
        "{reason:?}"
    );
}

#[test]
fn server_heartbeat_is_an_empty_websocket_ping() {
    let server_io = IoThread::spawn("server-io").unwrap();
    let mut options = opts();
    options.codec.heartbeat_interval = Some(Duration::from_millis(10));
    let acceptor = TestAcceptor::new(0, 0);
    let listener = bind(&server_io, "ws://127.0.0.1:*", options, &acceptor);
    let (mut ws, _) = raw_upgrade(&addr_of(listener.endpoint()), "ZWS2.0/NULL").unwrap();
    assert_eq!(next_binary(&mut ws), PEER_READY);
    ws.send(WsMessage::Binary(Bytes::from_static(PEER_READY)))
        .unwrap();
    loop {
        match ws.read().unwrap() {
            WsMessage::Ping(payload) => {
                assert!(payload.is_empty());
                break;
            }
            WsMessage::Pong(_) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
}

// ---- chunking -----------------------------------------------------------------------------

/// Encodes one masked (client) binary frame.
fn client_frame(payload: &[u8], mask: [u8; 4], out: &mut Vec<u8>) {
    out.push(0x82);
    match payload.len() {
        n @ 0..=125 => out.push(0x80 | u8::try_from(n).unwrap()),
        n @ 126..=0xFFFF => {
            out.push(0x80 | 126);
            out.extend_from_slice(&u16::try_from(n).unwrap().to_be_bytes());
        }
        n => {
            out.push(0x80 | 127);
            out.extend_from_slice(&u64::try_from(n).unwrap().to_be_bytes());
        }
    }
    out.extend_from_slice(&mask);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
}

/// A client session in ZWS mode that completed the NULL handshake over `ws`.
fn handshake(ws: &mut WebSocket<TcpStream>) -> Session {
    let mut config = Config::new(SocketType::PEER);
    config.framing = Framing::WebSocket(WsProtocol::Zws20Null);
    let mut session = Session::new(config, Instant::now());
    while !session.is_ready() {
        while let Some(unit) = session.poll_ws_transmit() {
            if let WsTransmit::Binary(payload) = unit {
                ws.send(WsMessage::Binary(payload)).unwrap();
            }
        }
        let payload = next_binary(ws);
        session.handle_ws_message(payload, Instant::now()).unwrap();
    }
    session
}

fn check_chunking(
    listener: &Listener,
    acceptor: &TestAcceptor,
    messages: &[Vec<Vec<u8>>],
    pieces: &[usize],
    masks: &[[u8; 4]],
) {
    let (mut ws, _) = raw_upgrade(&addr_of(listener.endpoint()), "ZWS2.0/NULL").unwrap();
    let mut session = handshake(&mut ws);
    for frames in messages {
        session
            .send(Message::from_frames(
                frames.iter().cloned().map(Bytes::from).collect(),
            ))
            .unwrap();
    }
    let mut wire = Vec::new();
    let mut n = 0;
    while let Some(unit) = session.poll_ws_transmit() {
        if let WsTransmit::Binary(payload) = unit {
            client_frame(&payload, masks[n % masks.len()], &mut wire);
            n += 1;
        }
    }
    let stream = ws.get_mut();
    let mut at = 0;
    for &piece in pieces.iter().cycle() {
        if at == wire.len() {
            break;
        }
        let end = (at + piece).min(wire.len());
        stream.write_all(&wire[at..end]).unwrap();
        stream.flush().unwrap();
        at = end;
    }
    let server = acceptor.peer(0);
    for frames in messages {
        let expected = Message::from_frames(frames.iter().cloned().map(Bytes::from).collect());
        assert_eq!(server.recv().unwrap(), expected);
    }
    assert_eq!(server.events.disconnect_count(), 0);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn any_chunking_delivers_the_same_messages(
        messages in proptest::collection::vec(
            proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..3000), 1..3),
            1..16,
        ),
        pieces in proptest::collection::vec(1usize..300, 1..10),
        masks in proptest::collection::vec(any::<[u8; 4]>(), 1..4),
    ) {
        let io = IoThread::spawn("server-io").unwrap();
        let acceptor = TestAcceptor::new(0, 0);
        let listener = bind(&io, "ws://127.0.0.1:*", opts(), &acceptor);
        check_chunking(&listener, &acceptor, &messages, &pieces, &masks);
    }
}

// ---- our client against a libzmq-shaped raw server ----------------------------------------

/// Accepts one connection, answers the upgrade exactly as libzmq does (with `chosen`), and
/// sends `first` in the same segment as the 101 reply. Returns the stream and the request.
fn raw_server_upgrade(
    listener: &std::net::TcpListener,
    chosen: &str,
    first: &[u8],
) -> (TcpStream, String) {
    let (mut stream, _) = listener.accept().unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut request = Vec::new();
    let mut byte = [0u8; 1];
    while !request.ends_with(b"\r\n\r\n") {
        assert_eq!(stream.read(&mut byte).unwrap(), 1, "request cut short");
        request.push(byte[0]);
    }
    let request = String::from_utf8(request).unwrap();
    let key = request
        .lines()
        .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
        .unwrap()
        .trim();
    let accept = tungstenite::handshake::derive_accept_key(key.as_bytes());
    let mut reply = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {accept}\r\nSec-WebSocket-Protocol: {chosen}\r\n\r\n"
    )
    .into_bytes();
    reply.extend_from_slice(first);
    stream.write_all(&reply).unwrap();
    (stream, request)
}

#[test]
fn client_against_libzmq_shaped_server() {
    let raw = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = raw.local_addr().unwrap().port();
    let client_io = IoThread::spawn("client-io").unwrap();
    let (client, _c) = connect(
        &client_io.handle(),
        &format!("ws://127.0.0.1:{port}/a/b"),
        opts(),
        0,
        0,
    );
    // The server's READY, as captured from libzmq, right behind the 101 reply.
    let mut ready_frame = vec![0x82, 0x1B];
    ready_frame.extend_from_slice(PEER_READY);
    let (stream, request) = raw_server_upgrade(&raw, "ZWS2.0/NULL", &ready_frame);
    assert!(request.starts_with("GET /a/b HTTP/1.1\r\n"), "{request}");
    assert!(
        request.contains("Sec-WebSocket-Protocol: ZWS2.0/NULL,ZWS2.0\r\n"),
        "{request}"
    );
    let mut ws = WebSocket::from_raw_socket(stream, tungstenite::protocol::Role::Server, None);
    // Our READY arrives masked (tungstenite as server insists on it) with the same payload.
    assert_eq!(next_binary(&mut ws), PEER_READY);
    client.events.wait_handshakes(1);
    client.send(Message::from(&b"hello"[..]));
    assert_eq!(next_binary(&mut ws), &b"\x00hello"[..]);
    // Unmasked server frame "82 02 00 01".
    ws.get_mut().write_all(&[0x82, 0x02, 0x00, 0x01]).unwrap();
    assert_eq!(client.recv().unwrap(), Message::from(&[1u8][..]));
}

#[test]
fn client_refuses_a_sub_protocol_it_cannot_run() {
    let raw = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = raw.local_addr().unwrap().port();
    let client_io = IoThread::spawn("client-io").unwrap();
    let (client, _c) = connect(
        &client_io.handle(),
        &format!("ws://127.0.0.1:{port}"),
        opts(),
        0,
        0,
    );
    let (_stream, request) = raw_server_upgrade(&raw, "ZWS2.0/PLAIN", b"");
    assert!(request.starts_with("GET / HTTP/1.1\r\n"), "{request}");
    client.events.wait_disconnects(1);
    let (reason, will_reconnect) = client.events.disconnects.lock().unwrap()[0].clone();
    assert!(
        matches!(reason, DisconnectReason::WebSocket(_)),
        "{reason:?}"
    );
    assert!(!will_reconnect);
}

#[test]
fn plain_mechanism_over_ws() {
    let server_io = IoThread::spawn("server-io").unwrap();
    let client_io = IoThread::spawn("client-io").unwrap();
    let mut server_opts = opts();
    server_opts.codec.mechanism = zmtp_codec::Mechanism::PlainServer;
    let mut client_opts = opts();
    client_opts.codec.mechanism = zmtp_codec::Mechanism::PlainClient {
        username: Bytes::from_static(b"user"),
        password: Bytes::from_static(b"secret"),
    };
    let acceptor = TestAcceptor::new(0, 0);
    let listener = bind(&server_io, "ws://127.0.0.1:*", server_opts, &acceptor);
    let (client, _c) = connect(&client_io.handle(), listener.endpoint(), client_opts, 0, 0);
    client.send(Message::from(&b"authenticated"[..]));
    let server = acceptor.peer(0);
    assert_eq!(server.recv().unwrap(), Message::from(&b"authenticated"[..]));
    let peer = server.events.handshakes.lock().unwrap()[0].clone();
    assert_eq!(peer.user_id.as_deref(), Some(&b"user"[..]));
    // A NULL client offers nothing a PLAIN server accepts: refused, not retried.
    let (null, _c2) = connect(&client_io.handle(), listener.endpoint(), opts(), 0, 0);
    null.events.wait_disconnects(1);
    assert_eq!(null.events.handshake_count(), 0);
    assert_eq!(acceptor.count(), 1);
}

#[test]
fn oversized_upgrade_request_is_dropped() {
    let server_io = IoThread::spawn("server-io").unwrap();
    let acceptor = TestAcceptor::new(0, 0);
    let listener = bind(&server_io, "ws://127.0.0.1:*", opts(), &acceptor);
    let mut raw = TcpStream::connect(addr_of(listener.endpoint())).unwrap();
    raw.write_all(b"GET / HTTP/1.1\r\nX-Filler: ").unwrap();
    let filler = vec![b'a'; 4096];
    let mut sent = 0;
    // The server gives up after 64 KiB of header; writes may fail once it has closed.
    while sent < 128 * 1024 {
        if raw.write_all(&filler).is_err() {
            break;
        }
        sent += filler.len();
    }
    assert_eq!(read_until_closed(&mut raw), b"");
    assert_eq!(acceptor.count(), 0);
}

// ---- limits and closing handshakes --------------------------------------------------------

/// A raw client that completed the upgrade and the NULL handshake sends only the header of a
/// masked binary frame announcing `announced` (> 125) payload octets, and never the
/// payload. The server must refuse it from the header alone: it closes the connection and
/// reports `MessageTooLarge { limit }`. Had it waited for (or reserved) the payload, the
/// connection would stay open and the bounded read below would fail.
fn oversized_header_is_refused(max_message_size: Option<u64>, announced: u64, limit: u64) {
    let server_io = IoThread::spawn("server-io").unwrap();
    let mut options = opts();
    options.codec.max_message_size = max_message_size;
    let acceptor = TestAcceptor::new(0, 0);
    let listener = bind(&server_io, "ws://127.0.0.1:*", options, &acceptor);
    let (mut ws, _) = raw_upgrade(&addr_of(listener.endpoint()), "ZWS2.0/NULL").unwrap();
    let _session = handshake(&mut ws);
    let server = acceptor.peer(0);
    let mut header = vec![0x82];
    match u16::try_from(announced) {
        Ok(short) if short > 125 => {
            header.push(0x80 | 126);
            header.extend_from_slice(&short.to_be_bytes());
        }
        _ => {
            header.push(0x80 | 127);
            header.extend_from_slice(&announced.to_be_bytes());
        }
    }
    header.extend_from_slice(&[0x11, 0x22, 0x33, 0x44]);
    let stream = ws.get_mut();
    stream.write_all(&header).unwrap();
    stream.flush().unwrap();
    read_until_closed(stream);
    server.events.wait_disconnects(1);
    let (reason, _) = server.events.disconnects.lock().unwrap()[0].clone();
    assert_eq!(
        reason,
        DisconnectReason::Protocol(ProtocolError::MessageTooLarge { limit })
    );
    assert_eq!(server.recv(), None, "nothing was delivered");
    // The listener keeps serving.
    let (mut again, _) = raw_upgrade(&addr_of(listener.endpoint()), "ZWS2.0/NULL").unwrap();
    let _ = handshake(&mut again);
    acceptor.peer(1);
}

#[test]
fn frame_header_announcing_2_pow_40_octets_is_refused_before_the_payload() {
    oversized_header_is_refused(Some(1000), 1 << 40, 1000);
}

#[test]
fn frame_header_one_octet_above_the_limit_is_refused() {
    // Payload = flag octet + body, so 1002 announces a 1001-octet body.
    oversized_header_is_refused(Some(1000), 1002, 1000);
}

#[test]
fn without_maxmsgsize_the_default_ws_limit_refuses_huge_headers() {
    // One octet above what the engine is configured to take (default body limit + flag octet).
    oversized_header_is_refused(None, WS_DEFAULT_MAX_MESSAGE + 2, WS_DEFAULT_MAX_MESSAGE);
    oversized_header_is_refused(None, 1 << 40, WS_DEFAULT_MAX_MESSAGE);
}

#[test]
fn client_close_frame_is_answered_with_a_close_frame_and_the_connection_ends() {
    let server_io = IoThread::spawn("server-io").unwrap();
    let acceptor = TestAcceptor::new(0, 0);
    let listener = bind(&server_io, "ws://127.0.0.1:*", opts(), &acceptor);
    let (mut ws, _) = raw_upgrade(&addr_of(listener.endpoint()), "ZWS2.0/NULL").unwrap();
    let _session = handshake(&mut ws);
    let server = acceptor.peer(0);
    // Close, status 1000, reason "bye", masked (PROTOCOL.md §6.5).
    let mut close = Vec::new();
    client_frame(b"\x03\xe8bye", [0xA1, 0xB2, 0xC3, 0xD4], &mut close);
    close[0] = 0x88;
    let stream = ws.get_mut();
    stream.write_all(&close).unwrap();
    stream.flush().unwrap();
    // The reply carries the same payload, unmasked (as libzmq: `88 05 03 E8 62 79 65`), and
    // then the server closes the tcp connection.
    assert_eq!(read_until_closed(stream), b"\x88\x05\x03\xe8bye");
    server.events.wait_disconnects(1);
    let (reason, _) = server.events.disconnects.lock().unwrap()[0].clone();
    assert_eq!(
        reason,
        DisconnectReason::Io(std::io::ErrorKind::ConnectionAborted)
    );
    assert_eq!(server.recv(), None);
}

#[test]
fn server_close_frame_makes_the_client_answer_and_reconnect() {
    let raw = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = raw.local_addr().unwrap().port();
    let client_io = IoThread::spawn("client-io").unwrap();
    let mut options = opts();
    options.reconnect_ivl = Some(Duration::from_millis(10));
    let (client, _c) = connect(
        &client_io.handle(),
        &format!("ws://127.0.0.1:{port}/"),
        options,
        0,
        0,
    );
    let mut ready_frame = vec![0x82, 0x1B];
    ready_frame.extend_from_slice(PEER_READY);
    let (stream, _) = raw_server_upgrade(&raw, "ZWS2.0/NULL", &ready_frame);
    let mut ws = WebSocket::from_raw_socket(stream, tungstenite::protocol::Role::Server, None);
    assert_eq!(next_binary(&mut ws), PEER_READY);
    client.events.wait_handshakes(1);
    client.send(Message::from(&b"first"[..]));
    assert_eq!(next_binary(&mut ws), &b"\x00first"[..]);

    // The server starts the closing handshake; the client answers with the same close frame.
    ws.close(Some(tungstenite::protocol::CloseFrame {
        code: tungstenite::protocol::frame::coding::CloseCode::Normal,
        reason: Utf8Bytes::from_static("bye"),
    }))
    .unwrap();
    match ws.read() {
        Ok(WsMessage::Close(Some(reply))) => {
            assert_eq!(u16::from(reply.code), 1000);
            assert_eq!(reply.reason.as_str(), "bye");
        }
        other => panic!("expected the close reply, got {other:?}"),
    }
    client.events.wait_disconnects(1);
    let (reason, will_reconnect) = client.events.disconnects.lock().unwrap()[0].clone();
    assert_eq!(
        reason,
        DisconnectReason::Io(std::io::ErrorKind::ConnectionAborted)
    );
    assert!(will_reconnect, "a close frame is reconnectable (as libzmq)");

    // The reconnect policy brings a second connection with a new upgrade request, and traffic
    // flows on it.
    let (stream, request) = raw_server_upgrade(&raw, "ZWS2.0/NULL", &ready_frame);
    assert!(request.starts_with("GET / HTTP/1.1\r\n"), "{request}");
    let mut ws = WebSocket::from_raw_socket(stream, tungstenite::protocol::Role::Server, None);
    assert_eq!(next_binary(&mut ws), PEER_READY);
    client.events.wait_handshakes(2);
    client.send(Message::from(&b"second"[..]));
    assert_eq!(next_binary(&mut ws), &b"\x00second"[..]);
    ws.get_mut()
        .write_all(&[0x82, 0x03, 0x00, b'o', b'k'])
        .unwrap();
    assert_eq!(client.recv().unwrap(), Message::from(&b"ok"[..]));
}
