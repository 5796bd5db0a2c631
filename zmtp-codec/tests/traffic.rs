//! Integration tests: messages after the handshake, multipart handling and hostile frames.

mod support;

use bytes::Bytes;
use support::{Pair, Side, body};
use zmtp_codec::{Config, DecodeError, Event, Message, ProtocolError, ReservedFlags, SocketType};

#[test]
fn messages_of_every_size_cross_unchanged() {
    let mut pair = Pair::connected_peers();
    let sizes = [0, 1, 254, 255, 256, 8191, 8192, 65_536, 100_000];
    for (i, &len) in sizes.iter().enumerate() {
        pair.send(Side::A, Message::new(body(len, u8::try_from(i).unwrap())));
    }
    let got = pair.b.take_messages();
    assert_eq!(got.len(), sizes.len());
    for (i, (msg, &len)) in got.iter().zip(&sizes).enumerate() {
        assert_eq!(msg, &Message::new(body(len, u8::try_from(i).unwrap())));
    }
}

#[test]
fn multipart_messages_are_assembled() {
    let mut pair = Pair::connected_peers();
    let msg = Message::from_frames(vec![
        Bytes::from_static(b"header"),
        Bytes::new(),
        body(300, 1),
        body(10_000, 2),
    ]);
    pair.send(Side::A, msg.clone());
    assert_eq!(pair.b.take_messages(), [msg]);
}

#[test]
fn drop_multipart_drops_the_whole_message_then_delivers_the_next_single() {
    let mut config = Config::new(SocketType::PEER);
    config.drop_multipart = true;
    let mut pair = Pair::new(Config::new(SocketType::PEER), config);
    pair.drive();
    pair.b.events.clear();
    pair.send(
        Side::A,
        Message::from_frames(vec![body(10, 0), body(20_000, 1), body(5, 2)]),
    );
    assert!(pair.b.take_messages().is_empty());
    assert_eq!(pair.b.session.buffered_len(), 0);
    assert!(pair.b.input.is_empty(), "dropped frames are not buffered");
    pair.send(Side::A, "single");
    pair.send(Side::A, Message::from_frames(vec![body(1, 0), body(1, 1)]));
    pair.send(Side::A, "after");
    assert_eq!(
        pair.b.take_messages(),
        [Message::from("single"), Message::from("after")]
    );
    assert!(pair.b.session.is_ready());
}

#[test]
fn reserved_flag_bits_are_rejected() {
    for flags in [0x08_u8, 0x10, 0x20, 0x40, 0x80, 0xF8] {
        let mut pair = Pair::connected_peers();
        pair.inject(Side::B, &[flags, 0x01, b'x']);
        let expected = ProtocolError::Decode(DecodeError::ReservedFlags(flags));
        assert_eq!(pair.b.errors, std::slice::from_ref(&expected));
        assert_eq!(pair.b.closed_reason(), Some(&expected));
        assert!(!pair.b.session.wants_read());
    }
}

#[test]
fn reserved_flag_bits_are_ignored_when_configured_like_libzmq() {
    for flags in [0x08_u8, 0x10, 0x20, 0x40, 0x80, 0xF8] {
        let mut config = Config::new(SocketType::PEER);
        config.reserved_flags = ReservedFlags::Ignore;
        let mut pair = Pair::new(config.clone(), config);
        pair.drive();
        assert!(pair.b.handshake_done());
        // Reserved bits plus MORE: a two-frame message "x", "y", delivered as such.
        pair.inject(
            Side::B,
            &[flags | 0x01, 0x01, b'x', flags & 0xF8, 0x01, b'y'],
        );
        assert!(
            pair.b.errors.is_empty(),
            "{flags:#04x}: {:?}",
            pair.b.errors
        );
        let messages = pair.b.take_messages();
        assert_eq!(messages.len(), 1, "{flags:#04x}");
        let frames: Vec<&[u8]> = messages[0].frames().iter().map(|f| &f[..]).collect();
        assert_eq!(frames, [&b"x"[..], &b"y"[..]], "{flags:#04x}");
    }
}

#[test]
fn command_with_more_is_rejected() {
    let mut pair = Pair::connected_peers();
    pair.inject(Side::B, b"\x05\x05\x04PONG");
    assert_eq!(
        pair.b.errors,
        [ProtocolError::Decode(DecodeError::CommandWithMore)]
    );
}

#[test]
fn oversize_messages_are_rejected_from_the_header() {
    let mut config = Config::new(SocketType::PEER);
    config.max_message_size = Some(1000);
    let mut pair = Pair::new(Config::new(SocketType::PEER), config);
    pair.drive();
    pair.send(Side::A, Message::new(body(1000, 0)));
    assert_eq!(pair.b.take_messages().len(), 1);
    // The limit covers the whole message: 600 + 600 frames exceed it at the second header.
    pair.send(
        Side::A,
        Message::from_frames(vec![body(600, 0), body(600, 1)]),
    );
    assert_eq!(
        pair.b.errors,
        [ProtocolError::MessageTooLarge { limit: 1000 }]
    );
    assert!(pair.b.take_messages().is_empty());
    assert!(
        pair.b.input.len() <= 9 + 600,
        "the body of the oversize frame was never waited for"
    );
}

#[test]
fn a_huge_claim_is_refused_before_its_body_arrives() {
    let mut config = Config::new(SocketType::PEER);
    config.max_message_size = Some(1 << 20);
    let mut pair = Pair::new(Config::new(SocketType::PEER), config);
    pair.drive();
    pair.inject(
        Side::B,
        &[0x02, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00],
    );
    assert_eq!(
        pair.b.errors,
        [ProtocolError::MessageTooLarge { limit: 1 << 20 }]
    );
}

#[test]
fn subscribe_and_cancel_reach_the_application_as_events() {
    let mut pair = Pair::connected_peers();
    pair.inject(Side::B, b"\x04\x0C\x09SUBSCRIBEab\x04\x08\x06CANCELa");
    assert_eq!(
        pair.b.events,
        [
            Event::Subscribe(Bytes::from_static(b"ab")),
            Event::Cancel(Bytes::from_static(b"a"))
        ]
    );
}

#[test]
fn local_close_is_final() {
    let mut pair = Pair::connected_peers();
    pair.a.session.close();
    pair.drive();
    assert_eq!(pair.a.closed_reason(), Some(&ProtocolError::Closed));
    let msg = Message::from("late");
    let err = pair.a.session.send(msg.clone()).unwrap_err();
    assert_eq!(err.into_message(), msg);
    assert!(!pair.a.session.wants_read());
    assert_eq!(pair.a.session.poll_timeout(), None);
}
