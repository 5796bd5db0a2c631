//! Property tests: wire round trips, chunking independence, and hostile input.

mod support;

use std::time::Instant;

use bytes::{Bytes, BytesMut};
use proptest::collection::vec;
use proptest::prelude::*;
use support::{WsPair, drain, ws_config};
use zmtp_codec::{
    Command, Config, Decode, DecodeError, Event, Frame, FrameHeader, Greeting, Mechanism,
    MechanismName, Message, Metadata, ProtocolError, Session, SocketType, Version, WsProtocol,
};

// ---------------------------------------------------------------------------------------------
// Strategies

fn bytes(max: usize) -> impl Strategy<Value = Bytes> {
    vec(any::<u8>(), 0..=max).prop_map(Bytes::from)
}

fn metadata() -> impl Strategy<Value = Metadata> {
    vec((bytes(255), bytes(300)), 0..6).prop_map(|props| props.into_iter().collect())
}

/// Names of the commands the decoder knows; an `Unknown` must avoid them.
const KNOWN: [&[u8]; 9] = [
    b"READY",
    b"ERROR",
    b"PING",
    b"PONG",
    b"SUBSCRIBE",
    b"CANCEL",
    b"HELLO",
    b"WELCOME",
    b"INITIATE",
];

fn command() -> impl Strategy<Value = Command> {
    prop_oneof![
        metadata().prop_map(Command::Ready),
        bytes(255).prop_map(|reason| Command::Error { reason }),
        (any::<u16>(), bytes(40)).prop_map(|(ttl, context)| Command::Ping { ttl, context }),
        bytes(40).prop_map(|context| Command::Pong { context }),
        bytes(100).prop_map(Command::Subscribe),
        bytes(100).prop_map(Command::Cancel),
        (bytes(255), bytes(255))
            .prop_map(|(username, password)| Command::Hello { username, password }),
        Just(Command::Welcome),
        metadata().prop_map(Command::Initiate),
        (bytes(255), bytes(300))
            .prop_filter("not a known name", |(name, _)| !KNOWN
                .contains(&name.as_ref()))
            .prop_map(|(name, data)| Command::Unknown { name, data }),
    ]
}

fn frame() -> impl Strategy<Value = Frame> {
    (any::<bool>(), any::<bool>(), bytes(700)).prop_map(|(more, command, body)| Frame {
        more: more && !command,
        command,
        body,
    })
}

fn header() -> impl Strategy<Value = FrameHeader> {
    (any::<bool>(), any::<bool>(), any::<bool>(), any::<u64>()).prop_map(
        |(more, command, long, size)| FrameHeader {
            more: more && !command,
            command,
            long,
            size: if long { size } else { size % 256 },
        },
    )
}

fn greeting() -> impl Strategy<Value = Greeting> {
    (
        any::<u64>(),
        2_u8..,
        any::<u8>(),
        vec(1_u8.., 0..=20),
        any::<bool>(),
    )
        .prop_map(|(padding, major, minor, name, as_server)| Greeting {
            padding,
            version: Version { major, minor },
            mechanism: MechanismName::new(name),
            as_server,
        })
}

/// Body sizes around the interesting boundaries: empty, short form, long form, batch limit.
fn body_len() -> impl Strategy<Value = usize> {
    prop_oneof![
        3 => 0_usize..=2,
        4 => 3_usize..=255,
        2 => 256_usize..=9000,
        1 => Just(100 * 1024),
    ]
}

fn message() -> impl Strategy<Value = Message> {
    vec(body_len(), 1..=4).prop_flat_map(|lens| {
        lens.into_iter()
            .map(|len| vec(any::<u8>(), len..=len).prop_map(Bytes::from))
            .collect::<Vec<_>>()
            .prop_map(Message::from_frames)
    })
}

/// How the byte stream is cut: all 1-byte feeds, or arbitrary chunk sizes (cycled).
fn chunking() -> impl Strategy<Value = Vec<usize>> {
    prop_oneof![
        1 => Just(vec![1]),
        3 => vec(1_usize..=300, 1..8),
        2 => vec(1_usize..=20_000, 1..8),
    ]
}

// ---------------------------------------------------------------------------------------------
// Helpers

/// The libzmq PEER greeting (PROTOCOL.md §1.1) followed by its READY (§3.2).
fn libzmq_prefix(with_ready: bool) -> Vec<u8> {
    let mut session = Session::new(Config::new(SocketType::PEER), Instant::now());
    let mut out = drain(&mut session);
    if with_ready {
        out.extend_from_slice(b"\x04\x1A\x05READY\x0BSocket-Type\x00\x00\x00\x04PEER");
    }
    out
}

/// Feeds `input` to `session` cut by `chunks`; checks the memory bound after every call and
/// stops at the first error. Returns that error, if any.
fn feed_hostile(
    session: &mut Session,
    input: &[u8],
    chunks: &[usize],
    bound: usize,
) -> Result<Option<ProtocolError>, TestCaseError> {
    let now = Instant::now();
    let mut buf = BytesMut::new();
    let mut rest = input;
    let mut sizes = chunks.iter().cycle();
    while !rest.is_empty() {
        let n = (*sizes.next().unwrap_or(&1)).clamp(1, rest.len());
        let (chunk, tail) = rest.split_at(n);
        rest = tail;
        buf.extend_from_slice(chunk);
        let before = buf.len();
        match session.handle_input(&mut buf, now) {
            Ok(()) => {
                prop_assert!(buf.len() <= before, "the codec never grows the input");
                prop_assert!(
                    buf.len() + session.buffered_len() <= bound,
                    "retained {} + {} > {bound}",
                    buf.len(),
                    session.buffered_len()
                );
            }
            Err(err) => {
                prop_assert!(session.is_closed());
                // Returned once, then ignored.
                prop_assert_eq!(session.handle_input(&mut buf, now), Ok(()));
                let events: Vec<Event> = std::iter::from_fn(|| session.poll_event()).collect();
                prop_assert_eq!(events.last(), Some(&Event::Closed(err.clone())));
                return Ok(Some(err));
            }
        }
    }
    Ok(None)
}

// ---------------------------------------------------------------------------------------------
// Properties

proptest! {
    #[test]
    fn frame_round_trip(frame in frame()) {
        let mut wire = BytesMut::new();
        frame.encode(&mut wire);
        prop_assert_eq!(wire.len(), frame.header().len() + frame.body.len());
        let mut src = wire.clone();
        prop_assert_eq!(Frame::decode(&mut src, None), Ok(Some(frame.clone())));
        prop_assert!(src.is_empty());
        // Any strict prefix is incomplete and consumes nothing.
        let cut = wire.len() / 2;
        let mut partial = BytesMut::from(&wire[..cut]);
        prop_assert_eq!(Frame::decode(&mut partial, None), Ok(None));
        prop_assert_eq!(partial.len(), cut);
    }

    #[test]
    fn header_round_trip(header in header()) {
        let mut wire = BytesMut::new();
        header.encode(&mut wire);
        prop_assert_eq!(wire.len(), header.len());
        prop_assert_eq!(
            FrameHeader::decode(&wire),
            Ok(Decode::Complete { value: header, consumed: header.len() })
        );
    }

    #[test]
    fn command_round_trip(cmd in command()) {
        let mut body = BytesMut::new();
        cmd.encode(&mut body);
        prop_assert_eq!(body.len(), cmd.encoded_len());
        prop_assert_eq!(Command::decode(&body.freeze()), Ok(cmd.clone()));
        let frame = cmd.to_frame();
        prop_assert!(frame.command && !frame.more);
    }

    #[test]
    fn metadata_round_trip(md in metadata()) {
        let mut wire = BytesMut::new();
        md.encode(&mut wire);
        prop_assert_eq!(wire.len(), md.encoded_len());
        prop_assert_eq!(Metadata::decode(&wire), Ok(md));
    }

    #[test]
    fn greeting_round_trip(g in greeting()) {
        let mut wire = BytesMut::new();
        g.encode(&mut wire);
        prop_assert_eq!(wire.len(), 64);
        prop_assert_eq!(Greeting::decode(&wire), Ok(Decode::Complete { value: g, consumed: 64 }));
    }

    #[test]
    fn decoders_never_panic(input in vec(any::<u8>(), 0..400)) {
        let _ = Greeting::decode(&input);
        let _ = FrameHeader::decode(&input);
        let _ = Metadata::decode(&input);
        let _ = Command::decode(&Bytes::from(input.clone()));
        let mut src = BytesMut::from(&input[..]);
        let len = src.len();
        if let Ok(None) = Frame::decode(&mut src, Some(300)) {
            prop_assert_eq!(src.len(), len);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// A sender's whole byte stream (greeting, READY, messages), fed to the receiver in any
    /// chunking down to 1-byte feeds, yields exactly the messages sent.
    #[test]
    fn session_pair_is_chunking_independent(
        messages in vec(message(), 0..12),
        chunks in chunking(),
    ) {
        let now = Instant::now();
        let mut a = Session::new(Config::new(SocketType::PEER), now);
        let mut b = Session::new(Config::new(SocketType::PEER), now);
        // B's greeting and READY (identical to libzmq's) reach A in one go so that A can send;
        // B's own output is not needed further.
        let _ = drain(&mut b);
        let mut a_in = BytesMut::from(&libzmq_prefix(true)[..]);
        a.handle_input(&mut a_in, now).unwrap();
        prop_assert!(a.is_ready());
        for msg in &messages {
            a.send(msg.clone()).unwrap();
        }
        let mut stream = Vec::new();
        while let Some(chunk) = a.poll_transmit() {
            stream.extend_from_slice(&chunk);
        }
        // Feed A's whole stream to B.
        let mut b_in = BytesMut::new();
        let mut rest = &stream[..];
        let mut sizes = chunks.iter().cycle();
        while !rest.is_empty() {
            let n = (*sizes.next().unwrap()).min(rest.len());
            let (chunk, tail) = rest.split_at(n);
            rest = tail;
            b_in.extend_from_slice(chunk);
            b.handle_input(&mut b_in, now).unwrap();
        }
        prop_assert!(b_in.is_empty());
        let events: Vec<Event> = std::iter::from_fn(|| b.poll_event()).collect();
        prop_assert!(matches!(events.first(), Some(Event::HandshakeDone(_))));
        let received: Vec<Message> = events
            .into_iter()
            .skip(1)
            .map(|e| match e {
                Event::Message(m) => Ok(m),
                other => Err(TestCaseError::fail(format!("unexpected {other:?}"))),
            })
            .collect::<Result<_, _>>()?;
        prop_assert_eq!(received, messages);
    }

    /// Arbitrary bytes on a fresh connection never panic, end in Ok or a typed error, and the
    /// codec retains at most max_message_size plus a frame header.
    #[test]
    fn hostile_bytes_on_a_fresh_connection(
        input in vec(any::<u8>(), 0..3000),
        chunks in chunking(),
        drop_multipart in any::<bool>(),
    ) {
        let mut config = Config::new(SocketType::PEER);
        config.max_message_size = Some(1000);
        config.drop_multipart = drop_multipart;
        let mut s = Session::new(config, Instant::now());
        feed_hostile(&mut s, &input, &chunks, 1000 + 9)?;
    }

    /// The same after a valid greeting (handshake phase) and after a whole handshake (traffic).
    #[test]
    fn hostile_bytes_after_a_valid_prefix(
        input in vec(any::<u8>(), 0..3000),
        chunks in chunking(),
        with_ready in any::<bool>(),
        drop_multipart in any::<bool>(),
    ) {
        let mut config = Config::new(SocketType::PEER);
        config.max_message_size = Some(1000);
        config.drop_multipart = drop_multipart;
        let mut s = Session::new(config, Instant::now());
        let mut stream = libzmq_prefix(with_ready);
        stream.extend_from_slice(&input);
        feed_hostile(&mut s, &stream, &chunks, 1000 + 9)?;
    }

    /// Plausible but hostile frames (any flags, sizes that lie) after the handshake.
    #[test]
    fn hostile_frames_after_the_handshake(
        frames in vec(
            (
                prop_oneof![1 => any::<u8>(), 6 => 0_u8..8],
                bytes(1500),
                any::<bool>(),
                prop_oneof![any::<u64>(), 0_u64..2000],
            ),
            0..12,
        ),
        chunks in chunking(),
        drop_multipart in any::<bool>(),
    ) {
        let mut config = Config::new(SocketType::PEER);
        config.max_message_size = Some(1000);
        config.drop_multipart = drop_multipart;
        let mut s = Session::new(config, Instant::now());
        let mut stream = libzmq_prefix(true);
        for (flags, body, lie, claimed) in frames {
            let size = if lie { claimed } else { u64::try_from(body.len()).unwrap() };
            stream.push(flags);
            if flags & 0x02 != 0 {
                stream.extend_from_slice(&size.to_be_bytes());
            } else {
                stream.push(size.to_be_bytes()[7]);
            }
            stream.extend_from_slice(&body);
        }
        feed_hostile(&mut s, &stream, &chunks, 1000 + 9)?;
    }

    /// A header claiming more than the limit is refused at once, whatever follows.
    #[test]
    fn huge_claims_fail_at_the_header(size in 1001_u64.., command in any::<bool>()) {
        let mut config = Config::new(SocketType::PEER);
        config.max_message_size = Some(1000);
        let mut s = Session::new(config, Instant::now());
        let mut buf = BytesMut::from(&libzmq_prefix(true)[..]);
        buf.extend_from_slice(&[if command { 0x06 } else { 0x02 }]);
        buf.extend_from_slice(&size.to_be_bytes());
        let err = s.handle_input(&mut buf, Instant::now()).unwrap_err();
        if command {
            prop_assert_eq!(
                err,
                ProtocolError::Decode(DecodeError::FrameTooLarge { size, limit: 1000 })
            );
        } else {
            prop_assert_eq!(err, ProtocolError::MessageTooLarge { limit: 1000 });
        }
    }
}

// ---------------------------------------------------------------------------------------------
// ZWS 2.0

fn ws_protocol() -> impl Strategy<Value = WsProtocol> {
    prop_oneof![
        Just(WsProtocol::Zws20Null),
        Just(WsProtocol::Zws20Plain),
        Just(WsProtocol::Zws20Bare),
    ]
}

/// A payload that is often plausible (known flags, command names) and sometimes anything.
fn ws_payload() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => (0_u8..4, vec(any::<u8>(), 0..300)).prop_map(|(flag, body)| {
            let mut p = vec![flag];
            p.extend_from_slice(&body);
            p
        }),
        2 => (command(), any::<u8>()).prop_map(|(cmd, flag)| {
            let mut body = BytesMut::new();
            cmd.encode(&mut body);
            let mut p = vec![flag | 0x02];
            p.extend_from_slice(&body);
            p
        }),
        1 => vec(any::<u8>(), 0..1200),
        1 => Just(Vec::new()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Any message sequence survives a ws session pair, in both directions, on every
    /// sub-protocol.
    #[test]
    fn ws_pair_delivers_any_message_sequence(
        protocol in ws_protocol(),
        a_msgs in vec(message(), 0..10),
        b_msgs in vec(message(), 0..10),
    ) {
        let mut a = ws_config(SocketType::PEER, protocol);
        let mut b = ws_config(SocketType::PEER, protocol);
        if protocol == WsProtocol::Zws20Plain {
            a.mechanism = Mechanism::PlainClient {
                username: Bytes::from_static(b"u"),
                password: Bytes::from_static(b"p"),
            };
            b.mechanism = Mechanism::PlainServer;
        }
        let mut pair = WsPair::new(a, b);
        pair.drive();
        pair.b.session.accept_plain(true);
        pair.drive();
        prop_assert!(pair.a.session.is_ready() && pair.b.session.is_ready());
        for msg in &a_msgs {
            pair.a.session.send(msg.clone()).unwrap();
        }
        for msg in &b_msgs {
            pair.b.session.send(msg.clone()).unwrap();
        }
        pair.drive();
        prop_assert_eq!(pair.b.take_messages(), a_msgs);
        prop_assert_eq!(pair.a.take_messages(), b_msgs);
        prop_assert!(pair.a.errors.is_empty() && pair.b.errors.is_empty());
    }

    /// Arbitrary payload sequences, on a fresh ws session or after a valid handshake, never
    /// panic, end in Ok or a typed error reported once, and never make the session hold more
    /// than max_message_size.
    #[test]
    fn ws_hostile_payloads_never_panic(
        protocol in ws_protocol(),
        handshake_first in any::<bool>(),
        drop_multipart in any::<bool>(),
        payloads in vec(ws_payload(), 0..24),
    ) {
        let now = Instant::now();
        let mut config = ws_config(SocketType::PEER, protocol);
        config.max_message_size = Some(1000);
        config.drop_multipart = drop_multipart;
        if protocol == WsProtocol::Zws20Plain {
            config.mechanism = Mechanism::PlainServer;
        }
        let mut s = Session::new(config, now);
        if handshake_first {
            let first: &[u8] = match protocol {
                WsProtocol::Zws20Plain => b"\x02\x05HELLO\x01u\x01p",
                WsProtocol::Zws20Bare => b"\x00",
                _ => b"\x02\x05READY\x0BSocket-Type\x00\x00\x00\x04PEER",
            };
            s.handle_ws_message(Bytes::from_static(first), now).unwrap();
            if protocol == WsProtocol::Zws20Plain {
                s.accept_plain(true);
                s.handle_ws_message(
                    Bytes::from_static(b"\x02\x08INITIATE\x0BSocket-Type\x00\x00\x00\x04PEER"),
                    now,
                )
                .unwrap();
            }
            prop_assert!(s.is_ready());
        }
        for payload in payloads {
            match s.handle_ws_message(Bytes::from(payload), now) {
                Ok(()) => prop_assert!(s.buffered_len() <= 1000),
                Err(err) => {
                    prop_assert!(s.is_closed());
                    prop_assert_eq!(s.handle_ws_message(Bytes::new(), now), Ok(()));
                    let events: Vec<Event> = std::iter::from_fn(|| s.poll_event()).collect();
                    prop_assert_eq!(events.last(), Some(&Event::Closed(err)));
                    break;
                }
            }
            while s.poll_ws_transmit().is_some() {}
            prop_assert_eq!(s.poll_transmit(), None);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The fast path (decoding outside the session while it is between messages)

/// One unit of incoming traffic after the handshake.
#[derive(Clone, Debug)]
enum Unit {
    /// A data frame: MORE flag and body length.
    Data(bool, usize),
    /// A PING command.
    Ping,
    /// Arbitrary octets.
    Garbage(Vec<u8>),
}

fn unit() -> impl Strategy<Value = Unit> {
    prop_oneof![
        8 => (any::<bool>(), 0_usize..400).prop_map(|(more, len)| Unit::Data(more, len)),
        2 => Just(Unit::Ping),
        1 => vec(any::<u8>(), 1..6).prop_map(Unit::Garbage),
    ]
}

fn encode_units(units: &[Unit]) -> Vec<u8> {
    let mut wire = BytesMut::new();
    for (i, unit) in units.iter().enumerate() {
        match unit {
            Unit::Data(more, len) => {
                FrameHeader::new(*more, false, u64::try_from(*len).unwrap()).encode(&mut wire);
                wire.extend(std::iter::repeat_n(u8::try_from(i % 251).unwrap(), *len));
            }
            Unit::Ping => wire.extend_from_slice(b"\x04\x07\x04PING\x00\x00"),
            Unit::Garbage(bytes) => wire.extend_from_slice(bytes),
        }
    }
    wire.to_vec()
}

/// A PEER session, ready (fed libzmq's greeting and READY), its `HandshakeDone` taken.
fn ready_session(config: Config) -> Session {
    let now = Instant::now();
    let mut session = Session::new(config, now);
    let _ = drain(&mut session);
    let mut input = BytesMut::from(&libzmq_prefix(true)[..]);
    session.handle_input(&mut input, now).unwrap();
    assert!(matches!(
        session.poll_event(),
        Some(Event::HandshakeDone(_))
    ));
    session
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    /// A transport that takes messages with the session's `FastPath` whenever the session is
    /// between messages and its buffer is empty, and feeds the rest to the session, sees the
    /// same messages, the same close and the same output as one that feeds everything to the
    /// session, in any chunking.
    #[test]
    fn the_fast_path_agrees_with_the_session(
        units in vec(unit(), 0..24),
        chunks in chunking(),
        // From 26: the READY command must fit (MAXMSGSIZE caps commands too).
        limit in prop_oneof![Just(None), (26_u64..300).prop_map(Some)],
        drop_multipart in any::<bool>(),
    ) {
        let now = Instant::now();
        let mut config = Config::new(SocketType::PEER);
        config.max_message_size = limit;
        config.drop_multipart = drop_multipart;
        let mut plain = ready_session(config.clone());
        let mut fast = ready_session(config);
        let wire = encode_units(&units);
        let (mut plain_in, mut fast_in) = (BytesMut::new(), BytesMut::new());
        let (mut plain_events, mut fast_events) = (Vec::new(), Vec::new());
        let mut rest = &wire[..];
        let mut sizes = chunks.iter().cycle();
        while !rest.is_empty() {
            let n = (*sizes.next().unwrap()).min(rest.len());
            let (chunk, tail) = rest.split_at(n);
            rest = tail;
            plain_in.extend_from_slice(chunk);
            let _ = plain.handle_input(&mut plain_in, now);
            plain_events.extend(std::iter::from_fn(|| plain.poll_event()));

            let idle = fast_in.is_empty();
            fast_in.extend_from_slice(chunk);
            if let Some(path) = fast.fast_path().filter(|_| idle) {
                while let Some(body) = path.take_message(&mut fast_in) {
                    fast_events.push(Event::Message(Message::new(body)));
                }
                fast.handle_fast_traffic(now);
            }
            let _ = fast.handle_input(&mut fast_in, now);
            fast_events.extend(std::iter::from_fn(|| fast.poll_event()));
        }
        prop_assert_eq!(fast_events, plain_events);
        prop_assert_eq!(fast.is_closed(), plain.is_closed());
        prop_assert_eq!(drain(&mut fast), drain(&mut plain));
    }
}
