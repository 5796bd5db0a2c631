//! Unit tests of the session state machine, byte-exact against PROTOCOL.md where it gives bytes.

use super::*;

/// PROTOCOL.md §1.1: the 64 octets libzmq sends for a PEER with NULL security.
fn libzmq_greeting() -> Vec<u8> {
    let mut g = vec![0_u8; 64];
    g[0] = 0xFF;
    g[8] = 0x01;
    g[9] = 0x7F;
    g[10] = 0x03;
    g[11] = 0x01;
    g[12..16].copy_from_slice(b"NULL");
    g
}

/// PROTOCOL.md §3.2: the 28-octet READY of a libzmq PEER.
const PEER_READY: &[u8] = b"\x04\x1A\x05READY\x0BSocket-Type\x00\x00\x00\x04PEER";

fn now() -> Instant {
    Instant::now()
}

fn drain_tx(s: &mut Session) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(chunk) = s.poll_transmit() {
        out.extend_from_slice(&chunk);
    }
    assert_eq!(s.transmit_len(), 0);
    out
}

fn drain_events(s: &mut Session) -> Vec<Event> {
    std::iter::from_fn(|| s.poll_event()).collect()
}

fn feed(s: &mut Session, bytes: &[u8], t: Instant) -> Result<(), ProtocolError> {
    let mut buf = BytesMut::from(bytes);
    let r = s.handle_input(&mut buf, t);
    if r.is_ok() && !s.is_closed() {
        assert!(buf.is_empty(), "whole units left unconsumed: {buf:?}");
    }
    r
}

/// A PEER session that completed the NULL handshake against libzmq-like bytes.
fn ready_session(config: Config, t: Instant) -> Session {
    let mut s = Session::new(config, t);
    let mut input = libzmq_greeting();
    input.extend_from_slice(PEER_READY);
    feed(&mut s, &input, t).unwrap();
    assert!(s.is_ready());
    let _ = drain_tx(&mut s);
    let events = drain_events(&mut s);
    assert!(matches!(events.as_slice(), [Event::HandshakeDone(_)]));
    s
}

#[test]
fn greeting_then_ready_are_byte_identical_to_libzmq() {
    let t = now();
    let mut s = Session::new(Config::new(SocketType::PEER), t);
    assert!(s.wants_write());
    assert_eq!(drain_tx(&mut s), libzmq_greeting());
    assert!(!s.wants_write());
    // READY goes out only once the peer's greeting is in (PROTOCOL.md §1.2 step 4).
    let mut buf = BytesMut::from(&libzmq_greeting()[..63]);
    s.handle_input(&mut buf, t).unwrap();
    assert_eq!(buf.len(), 63);
    assert!(drain_tx(&mut s).is_empty());
    buf.extend_from_slice(&[0]);
    s.handle_input(&mut buf, t).unwrap();
    assert!(buf.is_empty());
    assert_eq!(drain_tx(&mut s), PEER_READY);
    assert!(!s.is_ready());
    feed(&mut s, PEER_READY, t).unwrap();
    assert!(s.is_ready());
    let events = drain_events(&mut s);
    let [Event::HandshakeDone(peer)] = events.as_slice() else {
        panic!("{events:?}");
    };
    assert_eq!(peer.version, Version::V3_1);
    assert_eq!(peer.socket_type, Some(SocketType::PEER));
    assert_eq!(peer.user_id, None);
    assert_eq!(s.peer(), Some(peer));
}

#[test]
fn partial_greeting_consumes_nothing() {
    let t = now();
    let mut s = Session::new(Config::new(SocketType::PEER), t);
    let g = libzmq_greeting();
    let mut buf = BytesMut::from(&g[..40]);
    s.handle_input(&mut buf, t).unwrap();
    assert_eq!(buf.len(), 40);
    buf.extend_from_slice(&g[40..]);
    buf.extend_from_slice(&PEER_READY[..5]);
    s.handle_input(&mut buf, t).unwrap();
    assert_eq!(&buf[..], &PEER_READY[..5]);
}

#[test]
fn ready_carries_metadata_and_identity_rules() {
    let t = now();
    // PEER never sends Identity, even with a routing id set; X-Foo follows Socket-Type.
    let mut config = Config::new(SocketType::PEER);
    config.identity = Some(Bytes::from_static(b"abc"));
    config.metadata.insert("X-Foo", "bar");
    let mut s = Session::new(config, t);
    let greeting = drain_tx(&mut s);
    assert_eq!(greeting[8], 4, "padding = identity length + 1");
    feed(&mut s, &libzmq_greeting(), t).unwrap();
    let mut expected = PEER_READY.to_vec();
    expected[1] += 13;
    expected.extend_from_slice(b"\x05X-Foo\x00\x00\x00\x03bar");
    assert_eq!(drain_tx(&mut s), expected);

    // DEALER sends Identity right after Socket-Type (empty when unset).
    let mut s = Session::new(Config::new(SocketType::DEALER), t);
    let _ = drain_tx(&mut s);
    let mut g = libzmq_greeting();
    g[8] = 1;
    feed(&mut s, &g, t).unwrap();
    let ready = drain_tx(&mut s);
    assert_eq!(
        &ready[2..],
        b"\x05READY\x0BSocket-Type\x00\x00\x00\x06DEALER\x08Identity\x00\x00\x00\x00"
    );
}

#[test]
fn ping_lol_gets_pong_lol() {
    // PROTOCOL.md §4.1: PING 04 0A 04 PING 00 00 LOL -> PONG 04 08 04 PONG LOL.
    let t = now();
    let mut s = ready_session(Config::new(SocketType::PEER), t);
    feed(&mut s, b"\x04\x0A\x04PING\x00\x00LOL", t).unwrap();
    assert_eq!(drain_tx(&mut s), b"\x04\x08\x04PONGLOL");
    assert_eq!(
        drain_events(&mut s),
        [Event::Ping {
            ttl: 0,
            context: Bytes::from_static(b"LOL")
        }]
    );
    // TTL 0, no context -> 04 05 04 PONG; no TTL timer.
    feed(&mut s, b"\x04\x07\x04PING\x00\x00", t).unwrap();
    assert_eq!(drain_tx(&mut s), b"\x04\x05\x04PONG");
    assert_eq!(s.poll_timeout(), None);
}

#[test]
fn long_ping_context_is_truncated_to_sixteen() {
    // PROTOCOL.md §4.1: a PING with 58 context octets -> PONG of body size 21.
    let t = now();
    let mut s = ready_session(Config::new(SocketType::PEER), t);
    let context: Vec<u8> = (0..58).collect();
    let mut ping = vec![0x04, 7 + 58, 0x04];
    ping.extend_from_slice(b"PING\x00\x00");
    ping.extend_from_slice(&context);
    feed(&mut s, &ping, t).unwrap();
    let pong = drain_tx(&mut s);
    assert_eq!(&pong[..7], b"\x04\x15\x04PONG");
    assert_eq!(&pong[7..], &context[..16]);
    let events = drain_events(&mut s);
    assert!(matches!(&events[..], [Event::Ping { context: c, .. }] if c.len() == 58));
}

#[test]
fn ping_ttl_arms_a_timer_that_traffic_cancels() {
    let t = now();
    let mut s = ready_session(Config::new(SocketType::PEER), t);
    feed(&mut s, b"\x04\x07\x04PING\x00\x0C", t).unwrap();
    assert_eq!(s.poll_timeout(), Some(t + Duration::from_millis(1200)));
    feed(&mut s, b"\x00\x01x", t).unwrap();
    assert_eq!(s.poll_timeout(), None);
    feed(&mut s, b"\x04\x07\x04PING\x00\x0C", t).unwrap();
    let deadline = s.poll_timeout().unwrap();
    s.handle_timeout(deadline - Duration::from_millis(1))
        .unwrap();
    assert_eq!(
        s.handle_timeout(deadline),
        Err(ProtocolError::HeartbeatTimeout)
    );
    assert!(s.is_closed());
    assert_eq!(s.poll_timeout(), None);
}

#[test]
fn heartbeat_pings_carry_the_ttl_in_deciseconds() {
    // PROTOCOL.md §4.3 [exp]: IVL 100, TTL 1234 -> PING 04 07 04 PING 00 0C every 100 ms,
    // closed 300 ms after the first PING with a silent peer.
    let t = now();
    let mut config = Config::new(SocketType::PEER);
    config.heartbeat_interval = Some(Duration::from_millis(100));
    config.heartbeat_ttl = Duration::from_millis(1234);
    config.heartbeat_timeout = Some(Duration::from_millis(300));
    let mut s = ready_session(config, t);
    let first = t + Duration::from_millis(100);
    assert_eq!(s.poll_timeout(), Some(first));
    s.handle_timeout(first).unwrap();
    assert_eq!(drain_tx(&mut s), b"\x04\x07\x04PING\x00\x0C");
    assert_eq!(s.poll_timeout(), Some(first + Duration::from_millis(100)));
    s.handle_timeout(first + Duration::from_millis(100))
        .unwrap();
    assert_eq!(drain_tx(&mut s), b"\x04\x07\x04PING\x00\x0C");
    s.handle_timeout(first + Duration::from_millis(200))
        .unwrap();
    assert_eq!(
        s.handle_timeout(first + Duration::from_millis(300)),
        Err(ProtocolError::HeartbeatTimeout)
    );
    assert_eq!(
        drain_events(&mut s),
        [Event::Closed(ProtocolError::HeartbeatTimeout)]
    );
}

#[test]
fn heartbeat_timeout_zero_disables_the_timeout() {
    let t = now();
    let mut config = Config::new(SocketType::PEER);
    config.heartbeat_interval = Some(Duration::from_millis(100));
    config.heartbeat_timeout = Some(Duration::ZERO);
    let mut s = ready_session(config, t);
    for i in 1..=10 {
        s.handle_timeout(t + Duration::from_millis(100 * i))
            .unwrap();
    }
    assert!(s.is_ready());
    assert_eq!(drain_tx(&mut s).len(), 10 * 9);
}

#[test]
fn handshake_timeout() {
    let t = now();
    let mut s = Session::new(Config::new(SocketType::PEER), t);
    assert_eq!(s.poll_timeout(), Some(t + Duration::from_secs(30)));
    s.handle_timeout(t + Duration::from_secs(29)).unwrap();
    assert_eq!(
        s.handle_timeout(t + Duration::from_secs(30)),
        Err(ProtocolError::HandshakeTimeout)
    );
    // Returned once.
    assert_eq!(s.handle_timeout(t + Duration::from_secs(31)), Ok(()));
    assert_eq!(
        drain_events(&mut s),
        [Event::Closed(ProtocolError::HandshakeTimeout)]
    );
    // No timer once the handshake is done.
    let s = ready_session(Config::new(SocketType::PEER), t);
    assert_eq!(s.poll_timeout(), None);
}

#[test]
fn legacy_and_foreign_greetings() {
    let t = now();
    let mut s = Session::new(Config::new(SocketType::PEER), t);
    assert_eq!(
        feed(&mut s, &[0x05], t),
        Err(ProtocolError::UnsupportedVersion { major: 0 })
    );
    assert!(!s.wants_read());
    let mut s = Session::new(Config::new(SocketType::PEER), t);
    let mut g = libzmq_greeting();
    g[10] = 1;
    assert_eq!(
        feed(&mut s, &g[..11], t),
        Err(ProtocolError::UnsupportedVersion { major: 1 })
    );
    // Major 2 is treated as 3.1 like libzmq.
    let mut s = Session::new(Config::new(SocketType::PEER), t);
    g[10] = 2;
    feed(&mut s, &g, t).unwrap();
    feed(&mut s, PEER_READY, t).unwrap();
    assert_eq!(s.peer().unwrap().version, Version { major: 2, minor: 1 });
}

#[test]
fn mechanism_checks() {
    let t = now();
    let mut g = libzmq_greeting();
    g[12..17].copy_from_slice(b"CURVE");
    let mut s = Session::new(Config::new(SocketType::PEER), t);
    assert_eq!(
        feed(&mut s, &g, t),
        Err(ProtocolError::UnsupportedMechanism(MechanismName::CURVE))
    );
    // Only the greeting was sent (PROTOCOL.md §1.4).
    assert_eq!(drain_tx(&mut s).len(), 64);
    g[12..17].copy_from_slice(b"PLAIN");
    let mut s = Session::new(Config::new(SocketType::PEER), t);
    assert_eq!(
        feed(&mut s, &g, t),
        Err(ProtocolError::MechanismMismatch {
            ours: MechanismName::NULL,
            theirs: MechanismName::PLAIN
        })
    );
    // Exact 20-octet compare: "NULL\0X" is not NULL.
    let mut g = libzmq_greeting();
    g[17] = b'X';
    let mut s = Session::new(Config::new(SocketType::PEER), t);
    assert!(matches!(
        feed(&mut s, &g, t),
        Err(ProtocolError::MechanismMismatch { .. })
    ));
}

#[test]
fn socket_type_rules() {
    let t = now();
    let handshake = |ready: &[u8]| {
        let mut s = Session::new(Config::new(SocketType::PEER), t);
        let mut input = libzmq_greeting();
        input.extend_from_slice(ready);
        let r = feed(&mut s, &input, t);
        (r, s)
    };
    // Missing Socket-Type: accepted without a check (PROTOCOL.md §3.1).
    let (r, s) = handshake(b"\x04\x06\x05READY");
    r.unwrap();
    assert_eq!(s.peer().unwrap().socket_type, None);
    // Lower-case name is an ordinary property, not checked [exp].
    let (r, s) = handshake(b"\x04\x1C\x05READY\x0Bsocket-type\x00\x00\x00\x06DEALER");
    r.unwrap();
    assert_eq!(s.peer().unwrap().socket_type, None);
    // DEALER is refused by PEER, and no ERROR is sent (PROTOCOL.md §5.2).
    let (r, mut s) = handshake(b"\x04\x1C\x05READY\x0BSocket-Type\x00\x00\x00\x06DEALER");
    assert_eq!(
        r,
        Err(ProtocolError::IncompatibleSocketType {
            ours: SocketType::PEER,
            theirs: SocketType::DEALER
        })
    );
    assert_eq!(drain_tx(&mut s).len(), 64 + PEER_READY.len());
}

#[test]
fn handshake_rejects_other_commands_and_data() {
    let t = now();
    for (input, expected) in [
        (
            &b"\x04\x07\x04PING\x00\x00"[..],
            ProtocolError::UnexpectedCommand(Bytes::from_static(b"PING")),
        ),
        (&b"\x00\x01x"[..], ProtocolError::UnexpectedData),
        (
            &b"\x04\x0A\x05ERROR\x03400"[..],
            ProtocolError::PeerError {
                reason: Bytes::from_static(b"400"),
            },
        ),
        (
            &b"\x04\x04\x05REA"[..],
            ProtocolError::Decode(DecodeError::MalformedCommand("command name does not fit")),
        ),
        (
            &b"\x08"[..],
            ProtocolError::Decode(DecodeError::ReservedFlags(0x08)),
        ),
    ] {
        let mut s = Session::new(Config::new(SocketType::PEER), t);
        let mut bytes = libzmq_greeting();
        bytes.extend_from_slice(input);
        assert_eq!(feed(&mut s, &bytes, t), Err(expected.clone()));
        assert_eq!(drain_events(&mut s), [Event::Closed(expected)]);
    }
    // A second READY after the handshake is ignored like any late handshake command.
    let mut s = ready_session(Config::new(SocketType::PEER), t);
    feed(&mut s, PEER_READY, t).unwrap();
    assert!(s.is_ready());
}

#[test]
fn traffic_commands() {
    let t = now();
    let mut s = ready_session(Config::new(SocketType::PEER), t);
    // PROTOCOL.md §4.2: an unknown ABCD command is ignored and the next data frame delivered.
    feed(&mut s, b"\x04\x05\x04ABCD\x00\x01z", t).unwrap();
    assert_eq!(drain_events(&mut s), [Event::Message(Message::from("z"))]);
    feed(&mut s, b"\x04\x0C\x09SUBSCRIBEab\x04\x09\x06CANCELab", t).unwrap();
    assert_eq!(
        drain_events(&mut s),
        [
            Event::Subscribe(Bytes::from_static(b"ab")),
            Event::Cancel(Bytes::from_static(b"ab"))
        ]
    );
    feed(&mut s, b"\x04\x08\x04PONGabc", t).unwrap();
    assert_eq!(
        drain_events(&mut s),
        [Event::Pong {
            context: Bytes::from_static(b"abc")
        }]
    );
    assert!(drain_tx(&mut s).is_empty());
    // A PING shorter than its TTL is a typed error (DESIGN.md "Hostile input").
    assert_eq!(
        feed(&mut s, b"\x04\x05\x04PING", t),
        Err(ProtocolError::Decode(DecodeError::MalformedCommand(
            "PING shorter than its TTL"
        )))
    );
}

#[test]
fn error_after_handshake_closes() {
    let t = now();
    let mut s = ready_session(Config::new(SocketType::PEER), t);
    assert_eq!(
        feed(&mut s, b"\x04\x0A\x05ERROR\x03500", t),
        Err(ProtocolError::PeerError {
            reason: Bytes::from_static(b"500")
        })
    );
}

#[test]
fn multipart_is_assembled_or_dropped() {
    let t = now();
    let mut s = ready_session(Config::new(SocketType::PEER), t);
    feed(&mut s, &[0x01, 0x01, 0x41, 0x00, 0x01, 0x42], t).unwrap();
    assert_eq!(
        drain_events(&mut s),
        [Event::Message(Message::from_frames(vec![
            Bytes::from_static(b"A"),
            Bytes::from_static(b"B")
        ]))]
    );
    let mut config = Config::new(SocketType::PEER);
    config.drop_multipart = true;
    let mut s = ready_session(config, t);
    // Dropped frames are skipped as they arrive, even split mid-body.
    let mut buf = BytesMut::from(&[0x01, 0x05, b'1', b'2'][..]);
    s.handle_input(&mut buf, t).unwrap();
    assert!(buf.is_empty(), "dropped body octets are discarded at once");
    assert_eq!(s.buffered_len(), 0);
    buf.extend_from_slice(&[b'3', b'4', b'5', 0x00, 0x00, 0x00, 0x02, b'o', b'k']);
    s.handle_input(&mut buf, t).unwrap();
    assert!(buf.is_empty());
    assert_eq!(drain_events(&mut s), [Event::Message(Message::from("ok"))]);
}

#[test]
fn size_limits_are_checked_from_headers() {
    let t = now();
    let mut config = Config::new(SocketType::PEER);
    config.max_message_size = Some(100);
    let mut s = ready_session(config.clone(), t);
    // 60 + 60 > 100: refused at the second header, before its body arrives.
    let mut input = vec![0x01, 60];
    input.extend_from_slice(&[0; 60]);
    input.extend_from_slice(&[0x00, 60]);
    assert_eq!(
        feed(&mut s, &input, t),
        Err(ProtocolError::MessageTooLarge { limit: 100 })
    );
    // Exactly at the limit is fine.
    let mut s = ready_session(config.clone(), t);
    let mut input = vec![0x01, 40];
    input.extend_from_slice(&[0; 40]);
    input.extend_from_slice(&[0x00, 60]);
    input.extend_from_slice(&[0; 60]);
    feed(&mut s, &input, t).unwrap();
    // Huge long header: refused immediately.
    let mut s = ready_session(config.clone(), t);
    assert_eq!(
        feed(
            &mut s,
            &[0x02, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF],
            t
        ),
        Err(ProtocolError::MessageTooLarge { limit: 100 })
    );
    // Commands are capped by max_message_size too (as libzmq) ...
    let mut s = ready_session(config, t);
    let mut ping = vec![0x04, 107, 0x04];
    ping.extend_from_slice(b"PING\x00\x00");
    ping.extend_from_slice(&[0; 100]);
    assert_eq!(
        feed(&mut s, &ping, t),
        Err(ProtocolError::Decode(DecodeError::FrameTooLarge {
            size: 107,
            limit: 100
        }))
    );
    // ... and by max_command_size, also during the handshake.
    let mut s = Session::new(Config::new(SocketType::PEER), t);
    let mut input = libzmq_greeting();
    input.extend_from_slice(&[0x06, 0, 0, 0, 0, 0, 0x01, 0x00, 0x01]);
    assert_eq!(
        feed(&mut s, &input, t),
        Err(ProtocolError::Decode(DecodeError::FrameTooLarge {
            size: 0x1_0001,
            limit: 0x1_0000
        }))
    );
}

#[test]
fn send_rules() {
    let t = now();
    let mut s = Session::new(Config::new(SocketType::PEER), t);
    let msg = Message::from("early");
    assert_eq!(s.send(msg.clone()), Err(SendError::NotReady(msg.clone())));
    let mut s = ready_session(Config::new(SocketType::PEER), t);
    s.send(Message::from_frames(vec![
        Bytes::from_static(b"A"),
        Bytes::from_static(b"B"),
    ]))
    .unwrap();
    s.send(Message::from(vec![0x01])).unwrap();
    s.send(Message::default()).unwrap();
    assert_eq!(
        drain_tx(&mut s),
        [
            0x01, 0x01, 0x41, 0x00, 0x01, 0x42, 0x00, 0x01, 0x01, 0x00, 0x00
        ]
    );
    s.close();
    assert_eq!(drain_events(&mut s), [Event::Closed(ProtocolError::Closed)]);
    assert_eq!(s.send(msg.clone()), Err(SendError::Closed(msg)));
    s.close();
    assert_eq!(s.poll_event(), None);
    assert!(!s.is_ready());
}

#[test]
fn large_bodies_go_out_as_their_own_chunk() {
    let t = now();
    let mut s = ready_session(Config::new(SocketType::PEER), t);
    let big = Bytes::from(vec![7_u8; 8192]);
    s.send(Message::from("a")).unwrap();
    s.send(Message::new(big.clone())).unwrap();
    s.send(Message::from("b")).unwrap();
    assert_eq!(s.transmit_len(), 3 + 9 + 8192 + 3);
    let chunks: Vec<Bytes> = std::iter::from_fn(|| s.poll_transmit()).collect();
    assert_eq!(chunks.len(), 3);
    assert_eq!(
        &chunks[0][..],
        b"\x00\x01a\x02\x00\x00\x00\x00\x00\x00\x20\x00"
    );
    assert_eq!(chunks[1].as_ptr(), big.as_ptr());
    assert_eq!(&chunks[2][..], b"\x00\x01b");
}

#[test]
fn received_bodies_are_zero_copy() {
    let t = now();
    let mut s = ready_session(Config::new(SocketType::PEER), t);
    let mut buf = BytesMut::from(&b"\x00\x03abc"[..]);
    let start = buf.as_ptr() as usize;
    s.handle_input(&mut buf, t).unwrap();
    let Some(Event::Message(msg)) = s.poll_event() else {
        panic!("no message");
    };
    assert_eq!(msg.into_single().unwrap().as_ptr() as usize, start + 2);
}

#[test]
fn needed_input_counts_the_rest_of_a_known_frame() {
    let t = now();
    let mut s = ready_session(Config::new(SocketType::PEER), t);
    assert_eq!(s.needed_input(), 0);
    // Half a long header: the size is not known yet.
    let mut buf = BytesMut::from(&[0x02, 0, 0, 0][..]);
    s.handle_input(&mut buf, t).unwrap();
    assert_eq!(s.needed_input(), 0);
    // The whole header of a 1000-octet body and 10 body octets: 990 to go.
    buf.extend_from_slice(&[0, 0, 0, 0x03, 0xE8]);
    buf.extend_from_slice(&[7; 10]);
    s.handle_input(&mut buf, t).unwrap();
    assert_eq!(s.needed_input(), 990);
    assert_eq!(buf.len(), 19, "nothing consumed while incomplete");
    // The rest arrives with the start of a short frame: the body is delivered, and the short
    // frame's header is not complete yet.
    buf.extend_from_slice(&[7; 990]);
    buf.extend_from_slice(&[0x00]);
    s.handle_input(&mut buf, t).unwrap();
    assert_eq!(s.needed_input(), 0);
    let Some(Event::Message(msg)) = s.poll_event() else {
        panic!("no message");
    };
    assert_eq!(msg.len(), 1000);
    // A short frame's header with 2 of its 5 octets.
    buf.extend_from_slice(&[0x05, b'a', b'b']);
    s.handle_input(&mut buf, t).unwrap();
    assert_eq!(s.needed_input(), 3);
}

#[test]
fn accept_plain_is_a_no_op_outside_a_plain_server() {
    let t = now();
    let mut s = ready_session(Config::new(SocketType::PEER), t);
    s.accept_plain(false);
    assert!(s.is_ready());
    let mut s = Session::new(Config::new(SocketType::PEER), t);
    feed(&mut s, &libzmq_greeting(), t).unwrap();
    s.accept_plain(false);
    assert!(!s.is_closed());
}

#[test]
fn config_defaults_match_libzmq() {
    let c = Config::new(SocketType::PEER);
    assert_eq!(c.mechanism, Mechanism::Null);
    assert_eq!(c.handshake_timeout, Some(Duration::from_secs(30)));
    assert_eq!(c.max_message_size, None);
    assert_eq!(c.heartbeat_interval, None);
    assert_eq!(c.heartbeat_ttl, Duration::ZERO);
    assert_eq!(c.heartbeat_timeout, None);
    assert_eq!(c.max_batch, 8192);
    assert!(!c.drop_multipart);
    assert!(c.metadata.is_empty());
    assert_eq!(c.identity, None);
    assert_eq!(c.framing, Framing::Stream);
    let s = Session::new(c, now());
    assert_eq!(s.config().socket_type, SocketType::PEER);
}

#[test]
fn no_memory_is_reserved_from_a_claim() {
    let t = now();
    let mut s = ready_session(Config::new(SocketType::PEER), t);
    let mut buf = BytesMut::with_capacity(64);
    buf.extend_from_slice(&[0x02, 0x10, 0, 0, 0, 0, 0, 0, 0, b'x']);
    let cap = buf.capacity();
    s.handle_input(&mut buf, t).unwrap();
    assert_eq!(buf.len(), 10, "incomplete frame left in place");
    assert_eq!(
        buf.capacity(),
        cap,
        "nothing reserved for the claimed 2^60 octets"
    );
    assert_eq!(s.buffered_len(), 0);
}

#[test]
fn closed_sessions_ignore_input_and_report_once() {
    let t = now();
    let mut s = ready_session(Config::new(SocketType::PEER), t);
    assert!(feed(&mut s, &[0xFF], t).is_err());
    let mut buf = BytesMut::from(&b"\x00\x01x"[..]);
    s.handle_input(&mut buf, t).unwrap();
    assert_eq!(buf.len(), 3, "a closed session consumes nothing");
    s.handle_timeout(t + Duration::from_secs(100)).unwrap();
    s.close();
    let events = drain_events(&mut s);
    assert_eq!(
        events,
        [Event::Closed(ProtocolError::Decode(
            DecodeError::ReservedFlags(0xFF)
        ))]
    );
}

#[test]
fn plain_bytes_match_rfc_24() {
    // PROTOCOL.md §3.4: HELLO = 04 LL 05 "HELLO" <u8 user-len> user <u8 pass-len> pass,
    // WELCOME = 04 08 07 "WELCOME", INITIATE = 04 LL 08 "INITIATE" <metadata>.
    let t = now();
    let mut config = Config::new(SocketType::PEER);
    config.mechanism = Mechanism::PlainClient {
        username: Bytes::from_static(b"u"),
        password: Bytes::from_static(b"pw"),
    };
    let mut client = Session::new(config, t);
    let greeting = drain_tx(&mut client);
    assert_eq!(&greeting[12..17], b"PLAIN");
    assert_eq!(greeting[32], 0, "as-server is always 0, like libzmq");
    let mut server_greeting = libzmq_greeting();
    server_greeting[12..17].copy_from_slice(b"PLAIN");
    server_greeting[32] = 1; // ignored on receipt
    feed(&mut client, &server_greeting, t).unwrap();
    assert_eq!(drain_tx(&mut client), b"\x04\x0B\x05HELLO\x01u\x02pw");
    feed(&mut client, b"\x04\x08\x07WELCOME", t).unwrap();
    let initiate = drain_tx(&mut client);
    assert_eq!(
        initiate,
        b"\x04\x1D\x08INITIATE\x0BSocket-Type\x00\x00\x00\x04PEER"
    );
    feed(&mut client, PEER_READY, t).unwrap();
    assert!(client.is_ready());

    let mut config = Config::new(SocketType::PEER);
    config.mechanism = Mechanism::PlainServer;
    let mut server = Session::new(config, t);
    let _ = drain_tx(&mut server);
    let mut input = server_greeting.clone();
    input.extend_from_slice(b"\x04\x0B\x05HELLO\x01u\x02pw");
    feed(&mut server, &input, t).unwrap();
    assert!(
        drain_tx(&mut server).is_empty(),
        "nothing before the decision"
    );
    assert_eq!(
        drain_events(&mut server),
        [Event::PlainHello {
            username: Bytes::from_static(b"u"),
            password: Bytes::from_static(b"pw")
        }]
    );
    server.accept_plain(true);
    server.accept_plain(false); // a second decision is ignored
    assert_eq!(drain_tx(&mut server), b"\x04\x08\x07WELCOME");
    assert!(!server.is_closed());
    feed(&mut server, &initiate, t).unwrap();
    assert_eq!(drain_tx(&mut server), PEER_READY);
    assert!(server.is_ready());
    assert_eq!(
        server.peer().unwrap().user_id,
        Some(Bytes::from_static(b"u"))
    );
}

#[test]
fn plain_server_checks_the_socket_type_before_ready() {
    let t = now();
    let mut config = Config::new(SocketType::PEER);
    config.mechanism = Mechanism::PlainServer;
    let mut server = Session::new(config, t);
    let _ = drain_tx(&mut server);
    let mut input = libzmq_greeting();
    input[12..17].copy_from_slice(b"PLAIN");
    input.extend_from_slice(b"\x04\x08\x05HELLO\x00\x00");
    feed(&mut server, &input, t).unwrap();
    server.accept_plain(true);
    let _ = drain_tx(&mut server);
    let r = feed(
        &mut server,
        b"\x04\x1F\x08INITIATE\x0BSocket-Type\x00\x00\x00\x06DEALER",
        t,
    );
    assert!(matches!(
        r,
        Err(ProtocolError::IncompatibleSocketType { .. })
    ));
    assert!(
        drain_tx(&mut server).is_empty(),
        "no READY for a refused peer"
    );
}

#[test]
fn refused_plain_client_gets_error_400() {
    let t = now();
    let mut config = Config::new(SocketType::PEER);
    config.mechanism = Mechanism::PlainServer;
    let mut server = Session::new(config, t);
    let _ = drain_tx(&mut server);
    let mut input = libzmq_greeting();
    input[12..17].copy_from_slice(b"PLAIN");
    input.extend_from_slice(b"\x04\x08\x05HELLO\x00\x00");
    feed(&mut server, &input, t).unwrap();
    let _ = drain_events(&mut server);
    server.accept_plain(false);
    assert!(server.is_closed());
    assert!(!server.wants_read());
    assert!(server.wants_write(), "the ERROR it owes is still queued");
    // PROTOCOL.md §3.3: 04 0A 05 45 52 52 4F 52 03 34 30 30.
    assert_eq!(
        drain_tx(&mut server),
        [
            0x04, 0x0A, 0x05, 0x45, 0x52, 0x52, 0x4F, 0x52, 0x03, 0x34, 0x30, 0x30
        ]
    );
    assert_eq!(
        drain_events(&mut server),
        [Event::Closed(ProtocolError::AuthenticationFailed)]
    );
}
