//! Integration tests: greeting and security handshakes between two in-memory sessions.

mod support;

use std::time::Duration;

use bytes::Bytes;
use support::{Pair, Side};
use zmtp_codec::{
    Config, Event, Mechanism, MechanismName, Message, ProtocolError, SocketType, Version,
};

fn plain_client(user: &'static str, pass: &'static str) -> Config {
    let mut config = Config::new(SocketType::PEER);
    config.mechanism = Mechanism::PlainClient {
        username: Bytes::from_static(user.as_bytes()),
        password: Bytes::from_static(pass.as_bytes()),
    };
    config
}

fn plain_server() -> Config {
    let mut config = Config::new(SocketType::PEER);
    config.mechanism = Mechanism::PlainServer;
    config
}

#[test]
fn null_handshake_between_peers() {
    let mut a = Config::new(SocketType::PEER);
    a.metadata.insert("X-Name", "alice");
    let mut pair = Pair::new(a, Config::new(SocketType::PEER));
    assert!(!pair.a.session.is_ready());
    pair.drive();
    for end in [&pair.a, &pair.b] {
        assert!(end.session.is_ready());
        assert!(end.errors.is_empty());
        let done: Vec<_> = end
            .events
            .iter()
            .filter(|e| matches!(e, Event::HandshakeDone(_)))
            .collect();
        assert_eq!(done.len(), 1, "HandshakeDone exactly once");
    }
    let peer = pair.b.session.peer().unwrap();
    assert_eq!(peer.version, Version::V3_1);
    assert_eq!(peer.socket_type, Some(SocketType::PEER));
    assert_eq!(
        peer.metadata.get("x-name").map(|v| &v[..]),
        Some(&b"alice"[..])
    );
    // Greeting + 28-octet READY from B; A's READY is 13 + 14 octets longer.
    assert_eq!(pair.b.sent, 64 + 28);
    assert_eq!(pair.a.sent, 64 + 28 + 1 + 6 + 4 + 5);

    pair.send(Side::A, "ping");
    pair.send(Side::B, Message::from("pong"));
    assert_eq!(pair.b.take_messages(), [Message::from("ping")]);
    assert_eq!(pair.a.take_messages(), [Message::from("pong")]);
}

#[test]
fn compatible_classic_types_handshake() {
    for (a, b) in [
        (SocketType::DEALER, SocketType::ROUTER),
        (SocketType::REQ, SocketType::REP),
        (SocketType::PUSH, SocketType::PULL),
        (SocketType::PUB, SocketType::XSUB),
        (SocketType::SCATTER, SocketType::GATHER),
    ] {
        let mut pair = Pair::new(Config::new(a.clone()), Config::new(b.clone()));
        pair.drive();
        assert!(pair.a.session.is_ready(), "{a:?} -> {b:?}");
        assert!(pair.b.session.is_ready(), "{b:?} -> {a:?}");
        assert_eq!(pair.a.session.peer().unwrap().socket_type, Some(b));
    }
}

#[test]
fn dealer_identity_reaches_the_router() {
    let mut a = Config::new(SocketType::DEALER);
    a.identity = Some(Bytes::from_static(b"me"));
    let mut pair = Pair::new(a, Config::new(SocketType::ROUTER));
    pair.drive();
    let peer = pair.b.session.peer().unwrap();
    assert_eq!(
        peer.metadata.get("Identity").map(|v| &v[..]),
        Some(&b"me"[..])
    );
}

#[test]
fn incompatible_socket_types_fail_on_both_sides() {
    let mut pair = Pair::new(
        Config::new(SocketType::PEER),
        Config::new(SocketType::DEALER),
    );
    pair.drive();
    let a_err = ProtocolError::IncompatibleSocketType {
        ours: SocketType::PEER,
        theirs: SocketType::DEALER,
    };
    let b_err = ProtocolError::IncompatibleSocketType {
        ours: SocketType::DEALER,
        theirs: SocketType::PEER,
    };
    assert_eq!(pair.a.errors, std::slice::from_ref(&a_err));
    assert_eq!(pair.b.errors, std::slice::from_ref(&b_err));
    assert_eq!(pair.a.closed_reason(), Some(&a_err));
    assert_eq!(pair.b.closed_reason(), Some(&b_err));
    assert!(!pair.a.handshake_done() && !pair.b.handshake_done());
    assert!(!a_err.is_reconnectable());
    // No ERROR command was sent (libzmq just closes, PROTOCOL.md §5.2): greeting + READY only.
    assert_eq!(pair.a.sent, 64 + 28);
}

#[test]
fn mechanism_mismatch_fails_on_both_sides() {
    let mut pair = Pair::new(Config::new(SocketType::PEER), plain_client("u", "p"));
    pair.drive();
    assert_eq!(
        pair.a.errors,
        [ProtocolError::MechanismMismatch {
            ours: MechanismName::NULL,
            theirs: MechanismName::PLAIN
        }]
    );
    assert_eq!(
        pair.b.errors,
        [ProtocolError::MechanismMismatch {
            ours: MechanismName::PLAIN,
            theirs: MechanismName::NULL
        }]
    );
    // Nothing but the greetings went out (PROTOCOL.md §1.4).
    assert_eq!((pair.a.sent, pair.b.sent), (64, 64));
}

#[test]
fn plain_handshake_accepted() {
    let mut pair = Pair::new(plain_client("admin", "secret"), plain_server());
    pair.drive();
    assert_eq!(
        pair.b.events,
        [Event::PlainHello {
            username: Bytes::from_static(b"admin"),
            password: Bytes::from_static(b"secret"),
        }]
    );
    assert!(!pair.a.session.is_ready() && !pair.b.session.is_ready());
    pair.b.session.accept_plain(true);
    pair.drive();
    assert!(pair.a.session.is_ready() && pair.b.session.is_ready());
    let server_view = pair.b.session.peer().unwrap();
    assert_eq!(server_view.user_id, Some(Bytes::from_static(b"admin")));
    assert_eq!(server_view.socket_type, Some(SocketType::PEER));
    assert_eq!(
        pair.a.session.peer().unwrap().socket_type,
        Some(SocketType::PEER)
    );
    // Greeting, HELLO (2 + 19), INITIATE (2 + 9 + 20) from the client.
    assert_eq!(pair.a.sent, 64 + 21 + 31);
    // Greeting, WELCOME (2 + 8), READY (28) from the server.
    assert_eq!(pair.b.sent, 64 + 10 + 28);
    pair.send(Side::A, "authenticated");
    assert_eq!(pair.b.take_messages(), [Message::from("authenticated")]);
}

#[test]
fn plain_handshake_refused() {
    let mut pair = Pair::new(plain_client("admin", "wrong"), plain_server());
    pair.drive();
    pair.b.session.accept_plain(false);
    pair.drive();
    assert_eq!(
        pair.b.closed_reason(),
        Some(&ProtocolError::AuthenticationFailed)
    );
    assert_eq!(
        pair.a.errors,
        [ProtocolError::PeerError {
            reason: Bytes::from_static(b"400")
        }]
    );
    assert!(pair.a.session.is_closed() && pair.b.session.is_closed());
    // The server's last bytes are the ERROR "400" (PROTOCOL.md §3.3).
    assert_eq!(pair.b.sent, 64 + 12);
}

#[test]
fn plain_server_requires_hello_first() {
    let mut pair = Pair::new(plain_server(), plain_server());
    pair.drive();
    // Both wait for a HELLO that never comes; a client sending INITIATE first is refused.
    pair.inject(Side::A, b"\x04\x09\x08INITIATE");
    assert_eq!(
        pair.a.errors,
        [ProtocolError::UnexpectedCommand(Bytes::from_static(
            b"INITIATE"
        ))]
    );
}

#[test]
fn two_plain_clients_refuse_each_other() {
    let mut pair = Pair::new(plain_client("a", "a"), plain_client("b", "b"));
    pair.drive();
    assert_eq!(
        pair.a.errors,
        [ProtocolError::UnexpectedCommand(Bytes::from_static(
            b"HELLO"
        ))]
    );
}

#[test]
fn handshake_timeout_with_a_silent_peer() {
    let mut pair = Pair::peers();
    pair.a.delivers = false;
    pair.drive();
    let spent = pair.run_until(Duration::from_secs(1), Duration::from_secs(60), |p| {
        p.b.session.is_closed()
    });
    assert_eq!(spent, Duration::from_secs(30));
    assert_eq!(pair.b.errors, [ProtocolError::HandshakeTimeout]);
    assert!(pair.b.errors[0].is_reconnectable());
    // A got B's greeting, but B never saw A's, so B never sent READY: A times out too.
    assert_eq!(pair.a.errors, [ProtocolError::HandshakeTimeout]);
}

#[test]
fn handshake_timeout_can_be_disabled() {
    let mut config = Config::new(SocketType::PEER);
    config.handshake_timeout = None;
    let mut pair = Pair::new(config, Config::new(SocketType::PEER));
    pair.b.delivers = false;
    pair.drive();
    assert_eq!(pair.a.session.poll_timeout(), None);
    pair.advance(Duration::from_secs(3600));
    assert!(!pair.a.session.is_closed());
}
