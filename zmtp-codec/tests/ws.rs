//! Integration tests: ZWS 2.0 framing (PROTOCOL.md §6): sub-protocol negotiation, byte-exact
//! payloads, NULL / PLAIN / bare handshakes, traffic, heartbeats and framing-mode errors.

mod support;

use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use support::{Side, WsPair, body, drain_ws, ws_config};
use zmtp_codec::ws::{accept_response, offer, select};
use zmtp_codec::{
    Config, DecodeError, Event, Framing, Mechanism, MechanismName, Message, ProtocolError, Session,
    SocketType, WsProtocol, WsTransmit,
};

/// The READY payload of a libzmq PEER over ZWS (PROTOCOL.md §6.4, captured from libzmq): the
/// 27-octet payload of `82 1B 02 05 52 45 41 44 59 ...`.
const LIBZMQ_PEER_READY: &[u8] = &[
    0x02, 0x05, 0x52, 0x45, 0x41, 0x44, 0x59, 0x0B, 0x53, 0x6F, 0x63, 0x6B, 0x65, 0x74, 0x2D, 0x54,
    0x79, 0x70, 0x65, 0x00, 0x00, 0x00, 0x04, 0x50, 0x45, 0x45, 0x52,
];

fn plain_client() -> Mechanism {
    Mechanism::PlainClient {
        username: Bytes::from_static(b"admin"),
        password: Bytes::from_static(b"secret"),
    }
}

fn binary(payload: &[u8]) -> WsTransmit {
    WsTransmit::Binary(Bytes::copy_from_slice(payload))
}

fn events(session: &mut Session) -> Vec<Event> {
    std::iter::from_fn(|| session.poll_event()).collect()
}

/// A NULL PEER session on `ZWS2.0/NULL` that has received libzmq's READY.
fn ready_null(config: Config, now: Instant) -> Session {
    let mut s = Session::new(config, now);
    let _ = drain_ws(&mut s);
    s.handle_ws_message(Bytes::from_static(LIBZMQ_PEER_READY), now)
        .unwrap();
    assert!(s.is_ready());
    let _ = events(&mut s);
    s
}

// ---------------------------------------------------------------------------------------------
// Sub-protocol negotiation

#[test]
fn offers_are_libzmqs() {
    assert_eq!(offer(&Mechanism::Null), "ZWS2.0/NULL,ZWS2.0");
    assert_eq!(offer(&plain_client()), "ZWS2.0/PLAIN");
    assert_eq!(offer(&Mechanism::PlainServer), "ZWS2.0/PLAIN");
}

#[test]
fn select_table() {
    use WsProtocol::{Zws20Bare, Zws20Null, Zws20Plain};
    let null = Mechanism::Null;
    let plain = Mechanism::PlainServer;
    let table: &[(&Mechanism, &str, Option<WsProtocol>)] = &[
        (&null, "ZWS2.0/NULL,ZWS2.0", Some(Zws20Null)),
        (&null, "ZWS2.0/NULL, ZWS2.0", Some(Zws20Null)),
        (&null, "ZWS2.0, ZWS2.0/NULL", Some(Zws20Bare)),
        (&null, "ZWS2.0", Some(Zws20Bare)),
        (&null, " ZWS2.0", Some(Zws20Bare)),
        (&null, "ZWS2.0/PLAIN", None),
        (&null, "ZWS2.0/CURVE, ZWS2.0/NULL", Some(Zws20Null)),
        (&null, "zws2.0/null", None),
        (&null, "", None),
        (&plain, "ZWS2.0/PLAIN", Some(Zws20Plain)),
        (&plain, "ZWS2.0/NULL,ZWS2.0", None),
        (&plain, "ZWS2.0/NULL, ZWS2.0/PLAIN", Some(Zws20Plain)),
        (&plain, "ZWS2.0", None),
    ];
    for &(mechanism, offered, expected) in table {
        assert_eq!(
            select(mechanism, offered),
            expected,
            "{mechanism:?} {offered:?}"
        );
    }
    // Our own client's offer always selects the mechanism sub-protocol, never bare ZWS2.0.
    assert_eq!(select(&null, offer(&null)), Some(Zws20Null));
    assert_eq!(select(&plain, offer(&plain_client())), Some(Zws20Plain));
}

#[test]
fn accept_response_table() {
    use WsProtocol::{Zws20Bare, Zws20Null, Zws20Plain};
    let null = Mechanism::Null;
    let plain = plain_client();
    let table: &[(&Mechanism, &str, Option<WsProtocol>)] = &[
        (&null, "ZWS2.0/NULL", Some(Zws20Null)),
        (&null, "ZWS2.0", Some(Zws20Bare)),
        (&null, " ZWS2.0/NULL ", Some(Zws20Null)),
        (&null, "ZWS2.0/PLAIN", None),
        (&null, "ZWS2.0/NULL,ZWS2.0", None),
        (&null, "", None),
        (&plain, "ZWS2.0/PLAIN", Some(Zws20Plain)),
        (&plain, "ZWS2.0/NULL", None),
        (&plain, "ZWS2.0", None),
    ];
    for &(mechanism, chosen, expected) in table {
        assert_eq!(
            accept_response(mechanism, chosen),
            expected,
            "{mechanism:?} {chosen:?}"
        );
    }
    assert_eq!(Zws20Null.as_str(), "ZWS2.0/NULL");
    assert_eq!(Zws20Plain.as_str(), "ZWS2.0/PLAIN");
    assert_eq!(Zws20Bare.as_str(), "ZWS2.0");
}

// ---------------------------------------------------------------------------------------------
// Byte-exact payloads (PROTOCOL.md §6.4)

#[test]
fn null_ready_payload_is_libzmqs() {
    let now = Instant::now();
    let mut s = Session::new(ws_config(SocketType::PEER, WsProtocol::Zws20Null), now);
    // No greeting: READY is queued at once; nothing for the byte-stream output.
    assert!(s.wants_write());
    assert_eq!(s.transmit_len(), 27);
    assert_eq!(s.poll_transmit(), None);
    assert_eq!(drain_ws(&mut s), [binary(LIBZMQ_PEER_READY)]);
    assert!(!s.wants_write());
    // libzmq's READY completes our handshake.
    s.handle_ws_message(Bytes::from_static(LIBZMQ_PEER_READY), now)
        .unwrap();
    match events(&mut s).as_slice() {
        [Event::HandshakeDone(peer)] => {
            assert_eq!(peer.socket_type, Some(SocketType::PEER));
            assert_eq!(peer.metadata.get("socket-type").unwrap().as_ref(), b"PEER");
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn message_payloads_are_libzmqs() {
    let now = Instant::now();
    let mut s = ready_null(ws_config(SocketType::PEER, WsProtocol::Zws20Null), now);
    s.send(Message::new(vec![0x01_u8])).unwrap();
    s.send(Message::from_frames(vec![
        Bytes::from_static(b"ab"),
        Bytes::new(),
        Bytes::from_static(b"c"),
    ]))
    .unwrap();
    s.send(Message::new(Bytes::new())).unwrap();
    assert_eq!(
        drain_ws(&mut s),
        [
            binary(&[0x00, 0x01]),
            binary(&[0x01, b'a', b'b']),
            binary(&[0x01]),
            binary(&[0x00, b'c']),
            binary(&[0x00]),
        ]
    );
}

#[test]
fn bare_routing_id_payloads() {
    let now = Instant::now();
    let mut s = Session::new(ws_config(SocketType::PEER, WsProtocol::Zws20Bare), now);
    assert_eq!(drain_ws(&mut s), [binary(&[0x00])]);
    let mut config = ws_config(SocketType::DEALER, WsProtocol::Zws20Bare);
    config.identity = Some(Bytes::from_static(b"abc"));
    let mut s = Session::new(config, now);
    assert_eq!(drain_ws(&mut s), [binary(b"\x00abc")]);
}

#[test]
fn pong_and_commands_use_flag_0x02() {
    let now = Instant::now();
    let mut s = ready_null(ws_config(SocketType::PEER, WsProtocol::Zws20Null), now);
    s.handle_ws_message(Bytes::from_static(b"\x02\x04PING\x00\x00lol"), now)
        .unwrap();
    assert_eq!(drain_ws(&mut s), [binary(b"\x02\x04PONGlol")]);
    assert!(matches!(
        events(&mut s).as_slice(),
        [Event::Ping { ttl: 0, .. }]
    ));
}

// ---------------------------------------------------------------------------------------------
// Decoding rules

#[test]
fn only_bits_0_and_1_of_the_flag_count() {
    let now = Instant::now();
    let mut s = ready_null(ws_config(SocketType::PEER, WsProtocol::Zws20Null), now);
    // 0xFC: no MORE, no COMMAND -> a final data frame.
    s.handle_ws_message(Bytes::from_static(b"\xFChi"), now)
        .unwrap();
    // 0xFD then 0x04: MORE, then final.
    s.handle_ws_message(Bytes::from_static(b"\xFDa"), now)
        .unwrap();
    s.handle_ws_message(Bytes::from_static(b"\x04b"), now)
        .unwrap();
    // 0xFE: a command (SUBSCRIBE).
    s.handle_ws_message(Bytes::from_static(b"\xFE\x09SUBSCRIBEt"), now)
        .unwrap();
    assert_eq!(
        events(&mut s),
        [
            Event::Message(Message::from("hi")),
            Event::Message(Message::from_frames(vec![
                Bytes::from_static(b"a"),
                Bytes::from_static(b"b")
            ])),
            Event::Subscribe(Bytes::from_static(b"t")),
        ]
    );
}

#[test]
fn received_bodies_are_zero_copy() {
    let now = Instant::now();
    let mut s = ready_null(ws_config(SocketType::PEER, WsProtocol::Zws20Null), now);
    let payload = Bytes::from(vec![0_u8, 1, 2, 3]);
    let ptr = payload.as_ptr();
    s.handle_ws_message(payload, now).unwrap();
    match events(&mut s).as_slice() {
        [Event::Message(m)] => assert_eq!(m.frames()[0].as_ptr(), ptr.wrapping_add(1)),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn empty_payload_is_a_typed_error() {
    let now = Instant::now();
    let mut s = ready_null(ws_config(SocketType::PEER, WsProtocol::Zws20Null), now);
    let err = s.handle_ws_message(Bytes::new(), now).unwrap_err();
    assert_eq!(err, ProtocolError::Decode(DecodeError::EmptyWsMessage));
    assert!(s.is_closed());
    assert_eq!(events(&mut s), [Event::Closed(err)]);
    // Returned once.
    assert_eq!(s.handle_ws_message(Bytes::new(), now), Ok(()));
}

#[test]
fn command_with_more_is_rejected() {
    let now = Instant::now();
    let mut s = ready_null(ws_config(SocketType::PEER, WsProtocol::Zws20Null), now);
    let err = s
        .handle_ws_message(Bytes::from_static(b"\x03\x04PING\x00\x00"), now)
        .unwrap_err();
    assert_eq!(err, ProtocolError::Decode(DecodeError::CommandWithMore));
}

#[test]
fn data_before_ready_is_rejected() {
    let now = Instant::now();
    let mut s = Session::new(ws_config(SocketType::PEER, WsProtocol::Zws20Null), now);
    let err = s
        .handle_ws_message(Bytes::from_static(b"\x00x"), now)
        .unwrap_err();
    assert_eq!(err, ProtocolError::UnexpectedData);
}

#[test]
fn max_message_size_applies_to_the_body() {
    // (The limit also caps commands, as in libzmq: 30 leaves room for libzmq's 26-octet READY.)
    let now = Instant::now();
    let mut config = ws_config(SocketType::PEER, WsProtocol::Zws20Null);
    config.max_message_size = Some(30);
    let frame = |flag: u8, len: usize| {
        let mut payload = vec![flag];
        payload.extend_from_slice(&body(len, 9));
        Bytes::from(payload)
    };
    let mut s = ready_null(config.clone(), now);
    s.handle_ws_message(frame(0x00, 30), now).unwrap();
    // Whole message: 15 + 15 fits, 15 + 16 does not.
    s.handle_ws_message(frame(0x01, 15), now).unwrap();
    s.handle_ws_message(frame(0x00, 15), now).unwrap();
    s.handle_ws_message(frame(0x01, 15), now).unwrap();
    let err = s.handle_ws_message(frame(0x00, 16), now).unwrap_err();
    assert_eq!(err, ProtocolError::MessageTooLarge { limit: 30 });
    let mut s = ready_null(config, now);
    let err = s.handle_ws_message(frame(0x00, 31), now).unwrap_err();
    assert_eq!(err, ProtocolError::MessageTooLarge { limit: 30 });
}

#[test]
fn drop_multipart_drops_frame_by_frame() {
    let now = Instant::now();
    let mut config = ws_config(SocketType::PEER, WsProtocol::Zws20Null);
    config.drop_multipart = true;
    let mut s = ready_null(config, now);
    for payload in [&b"\x01a"[..], b"\x01b", b"\x00c", b"\x00single"] {
        s.handle_ws_message(Bytes::copy_from_slice(payload), now)
            .unwrap();
        assert_eq!(s.buffered_len(), 0);
    }
    assert_eq!(events(&mut s), [Event::Message(Message::from("single"))]);
}

// ---------------------------------------------------------------------------------------------
// Framing-mode errors

#[test]
fn stream_methods_on_a_ws_session_are_typed_errors() {
    let now = Instant::now();
    let framing = Framing::WebSocket(WsProtocol::Zws20Null);
    let mut s = Session::new(ws_config(SocketType::PEER, WsProtocol::Zws20Null), now);
    let mut buf = BytesMut::from(&b"\x00\x01x"[..]);
    assert_eq!(
        s.handle_input(&mut buf, now),
        Err(ProtocolError::FramingMismatch {
            configured: framing
        })
    );
    assert_eq!(buf.len(), 3, "nothing consumed");
    assert!(!s.is_closed());
    assert_eq!(s.poll_event(), None);
    assert_eq!(s.poll_transmit(), None);
    assert!(s.poll_ws_transmit().is_some());
}

#[test]
fn ws_methods_on_a_stream_session_are_typed_errors() {
    let now = Instant::now();
    let mut s = Session::new(Config::new(SocketType::PEER), now);
    assert_eq!(
        s.handle_ws_message(Bytes::from_static(b"\x00x"), now),
        Err(ProtocolError::FramingMismatch {
            configured: Framing::Stream
        })
    );
    s.handle_ws_traffic(now);
    assert!(!s.is_closed());
    assert_eq!(s.poll_event(), None);
    assert_eq!(s.poll_ws_transmit(), None);
    assert_eq!(s.poll_transmit().map(|c| c.len()), Some(64));
}

#[test]
fn sub_protocol_must_fit_the_mechanism() {
    let now = Instant::now();
    for (mechanism, protocol, theirs) in [
        (
            Mechanism::Null,
            WsProtocol::Zws20Plain,
            MechanismName::PLAIN,
        ),
        (
            Mechanism::PlainServer,
            WsProtocol::Zws20Null,
            MechanismName::NULL,
        ),
        (plain_client(), WsProtocol::Zws20Bare, MechanismName::NULL),
    ] {
        let mut config = ws_config(SocketType::PEER, protocol);
        config.mechanism = mechanism.clone();
        let mut s = Session::new(config, now);
        assert!(s.is_closed());
        assert!(!s.wants_write());
        assert_eq!(
            events(&mut s),
            [Event::Closed(ProtocolError::MechanismMismatch {
                ours: mechanism.name(),
                theirs
            })]
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Session pairs

/// Sends `msg` from `from` and checks that the other side receives exactly it.
fn round_trip(pair: &mut WsPair, from: Side, msg: Message) {
    pair.send(from, msg.clone());
    let to = match from {
        Side::A => Side::B,
        Side::B => Side::A,
    };
    assert_eq!(pair.end(to).take_messages(), [msg]);
}

fn exchange_all(pair: &mut WsPair) {
    for side in [Side::A, Side::B] {
        round_trip(pair, side, Message::new(Bytes::new()));
        round_trip(pair, side, Message::new(body(1, 1)));
        round_trip(pair, side, Message::new(body(255, 2)));
        round_trip(pair, side, Message::new(body(256, 3)));
        round_trip(pair, side, Message::new(body(64 * 1024, 4)));
        round_trip(
            pair,
            side,
            Message::from_frames(vec![body(3, 5), Bytes::new(), body(64 * 1024, 6)]),
        );
    }
    assert!(pair.a.errors.is_empty() && pair.b.errors.is_empty());
}

#[test]
fn null_pair_handshakes_and_exchanges() {
    let mut pair = WsPair::peers(WsProtocol::Zws20Null);
    pair.drive();
    for end in [&pair.a, &pair.b] {
        match end.events.as_slice() {
            [Event::HandshakeDone(peer)] => {
                assert_eq!(peer.socket_type, Some(SocketType::PEER));
            }
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(end.ws_sent, [Bytes::from_static(LIBZMQ_PEER_READY)]);
    }
    pair.a.events.clear();
    pair.b.events.clear();
    exchange_all(&mut pair);
}

#[test]
fn null_pair_checks_socket_types() {
    let mut pair = WsPair::new(
        ws_config(SocketType::PEER, WsProtocol::Zws20Null),
        ws_config(SocketType::DEALER, WsProtocol::Zws20Null),
    );
    pair.drive();
    assert!(matches!(
        pair.a.closed_reason(),
        Some(ProtocolError::IncompatibleSocketType { .. })
    ));
}

#[test]
fn plain_pair_handshakes_and_exchanges() {
    let mut client = ws_config(SocketType::PEER, WsProtocol::Zws20Plain);
    client.mechanism = plain_client();
    let mut server = ws_config(SocketType::PEER, WsProtocol::Zws20Plain);
    server.mechanism = Mechanism::PlainServer;
    let mut pair = WsPair::new(client, server);
    pair.drive();
    // The client's first message is HELLO with flag 0x02.
    assert_eq!(
        pair.a.ws_sent.first().map(|p| &p[..]),
        Some(&b"\x02\x05HELLO\x05admin\x06secret"[..])
    );
    assert_eq!(
        pair.b.events,
        [Event::PlainHello {
            username: Bytes::from_static(b"admin"),
            password: Bytes::from_static(b"secret"),
        }]
    );
    pair.b.events.clear();
    pair.b.session.accept_plain(true);
    pair.drive();
    assert!(pair.a.handshake_done());
    match pair.b.events.as_slice() {
        [Event::HandshakeDone(peer)] => {
            assert_eq!(peer.user_id.as_deref(), Some(&b"admin"[..]));
            assert_eq!(peer.socket_type, Some(SocketType::PEER));
        }
        other => panic!("unexpected {other:?}"),
    }
    pair.a.events.clear();
    pair.b.events.clear();
    exchange_all(&mut pair);
}

#[test]
fn plain_refusal_sends_error_400() {
    let mut client = ws_config(SocketType::PEER, WsProtocol::Zws20Plain);
    client.mechanism = plain_client();
    let mut server = ws_config(SocketType::PEER, WsProtocol::Zws20Plain);
    server.mechanism = Mechanism::PlainServer;
    let mut pair = WsPair::new(client, server);
    pair.drive();
    pair.b.session.accept_plain(false);
    pair.drive();
    assert_eq!(
        pair.b.closed_reason(),
        Some(&ProtocolError::AuthenticationFailed)
    );
    assert_eq!(
        pair.a.closed_reason(),
        Some(&ProtocolError::PeerError {
            reason: Bytes::from_static(b"400")
        })
    );
}

#[test]
fn bare_pair_handshakes_without_socket_type_check() {
    // PEER and PUB could never talk over ZWS2.0/NULL; bare ZWS2.0 checks nothing.
    let mut b = ws_config(SocketType::PUB, WsProtocol::Zws20Bare);
    b.identity = Some(Bytes::from_static(b"ident"));
    let mut pair = WsPair::new(ws_config(SocketType::PEER, WsProtocol::Zws20Bare), b);
    // Sending before the peer's routing id arrived is refused.
    assert!(pair.a.session.send(Message::from("early")).is_err());
    pair.drive();
    assert_eq!(pair.a.ws_sent, [Bytes::from_static(b"\x00")]);
    assert_eq!(pair.b.ws_sent, [Bytes::from_static(b"\x00ident")]);
    for end in [&pair.a, &pair.b] {
        match end.events.as_slice() {
            [Event::HandshakeDone(peer)] => {
                assert_eq!(peer.socket_type, None);
                assert!(peer.metadata.is_empty());
                assert_eq!(peer.user_id, None);
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    pair.a.events.clear();
    pair.b.events.clear();
    exchange_all(&mut pair);
}

#[test]
fn bare_discards_the_whole_first_message_only() {
    let now = Instant::now();
    let mut s = Session::new(ws_config(SocketType::PEER, WsProtocol::Zws20Bare), now);
    let _ = drain_ws(&mut s);
    for payload in [&b"\x01id"[..], b"\x00entity", b"\x00hello"] {
        s.handle_ws_message(Bytes::copy_from_slice(payload), now)
            .unwrap();
    }
    let got = events(&mut s);
    assert!(matches!(got.first(), Some(Event::HandshakeDone(_))));
    assert_eq!(got[1..], [Event::Message(Message::from("hello"))]);
}

#[test]
fn bare_rejects_commands_before_the_routing_id() {
    let now = Instant::now();
    let mut s = Session::new(ws_config(SocketType::PEER, WsProtocol::Zws20Bare), now);
    let err = s
        .handle_ws_message(Bytes::from_static(LIBZMQ_PEER_READY), now)
        .unwrap_err();
    assert_eq!(
        err,
        ProtocolError::UnexpectedCommand(Bytes::from_static(b"READY"))
    );
}

#[test]
fn handshake_timeout_applies() {
    let mut pair = WsPair::peers(WsProtocol::Zws20Null);
    pair.b.delivers = false;
    let spent = pair.run_until(Duration::from_secs(1), Duration::from_secs(60), |p| {
        p.a.session.is_closed()
    });
    assert_eq!(spent, Duration::from_secs(30));
    assert_eq!(pair.a.errors, [ProtocolError::HandshakeTimeout]);
}

// ---------------------------------------------------------------------------------------------
// Heartbeats (PROTOCOL.md §6.6)

fn heartbeating(protocol: WsProtocol, ivl_ms: u64, timeout_ms: Option<u64>) -> Config {
    let mut config = ws_config(SocketType::PEER, protocol);
    config.heartbeat_interval = Some(Duration::from_millis(ivl_ms));
    config.heartbeat_ttl = Duration::from_secs(1);
    config.heartbeat_timeout = timeout_ms.map(Duration::from_millis);
    config
}

#[test]
fn heartbeats_are_websocket_pings_answered_by_pongs() {
    for protocol in [WsProtocol::Zws20Null, WsProtocol::Zws20Bare] {
        let mut pair = WsPair::new(
            heartbeating(protocol, 100, None),
            ws_config(SocketType::PEER, protocol),
        );
        pair.drive();
        let handshake_sent = pair.a.ws_sent.len();
        pair.run_until(Duration::from_millis(10), Duration::from_secs(2), |_| false);
        assert!(pair.a.session.is_ready() && pair.b.session.is_ready());
        assert_eq!(pair.b.pings_received, 20);
        assert_eq!(pair.a.pongs_received, 20);
        // No ZMTP PING command went out: only the handshake's binary messages.
        assert_eq!(pair.a.ws_sent.len(), handshake_sent);
        assert!(
            !pair
                .b
                .events
                .iter()
                .any(|e| matches!(e, Event::Ping { .. }))
        );
    }
}

#[test]
fn ping_is_pending_output() {
    let now = Instant::now();
    let mut config = heartbeating(WsProtocol::Zws20Null, 100, None);
    config.handshake_timeout = None;
    let mut s = ready_null(config, now);
    assert!(!s.wants_write());
    assert_eq!(s.poll_timeout(), Some(now + Duration::from_millis(100)));
    s.handle_timeout(now + Duration::from_millis(100)).unwrap();
    assert!(s.wants_write());
    assert_eq!(s.transmit_len(), 0);
    assert_eq!(s.poll_ws_transmit(), Some(WsTransmit::Ping));
    assert!(!s.wants_write());
    // Timeout armed (= the interval); a pong counts as traffic and cancels it.
    assert_eq!(s.poll_timeout(), Some(now + Duration::from_millis(200)));
    s.handle_ws_traffic(now + Duration::from_millis(150));
    s.handle_timeout(now + Duration::from_millis(200)).unwrap();
    assert!(s.is_ready());
}

#[test]
fn heartbeat_timeout_without_traffic() {
    let mut pair = WsPair::new(
        heartbeating(WsProtocol::Zws20Null, 100, Some(300)),
        ws_config(SocketType::PEER, WsProtocol::Zws20Null),
    );
    pair.drive();
    // From now on nothing from B (no pongs either) reaches A.
    pair.b.delivers = false;
    let spent = pair.run_until(Duration::from_millis(10), Duration::from_secs(5), |p| {
        p.a.session.is_closed()
    });
    assert_eq!(spent, Duration::from_millis(400));
    assert_eq!(pair.a.errors, [ProtocolError::HeartbeatTimeout]);
    assert!(pair.b.pings_received > 0);
}

#[test]
fn zmtp_ping_ttl_still_arms_the_ttl_timer() {
    // A peer may still send a ZMTP PING command over ws; its TTL is honoured as over tcp.
    let now = Instant::now();
    let mut config = ws_config(SocketType::PEER, WsProtocol::Zws20Null);
    config.handshake_timeout = None;
    let mut s = ready_null(config, now);
    s.handle_ws_message(Bytes::from_static(b"\x02\x04PING\x00\x05"), now)
        .unwrap();
    assert_eq!(s.poll_timeout(), Some(now + Duration::from_millis(500)));
    let later = now + Duration::from_millis(500);
    assert_eq!(
        s.handle_timeout(later),
        Err(ProtocolError::HeartbeatTimeout)
    );
}
