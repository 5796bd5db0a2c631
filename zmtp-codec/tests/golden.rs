//! Golden vectors: byte sequences libzmq 4.3.5 puts on the wire (see `tests/data/README.md`).

mod support;

use bytes::{Bytes, BytesMut};
use support::drain;
use zmtp_codec::{
    Command, Config, Decode, Event, Frame, Greeting, MechanismName, Metadata, Session, SocketType,
    Version,
};

fn golden(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/data/{name}.bin", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Decodes one whole command frame and checks that re-encoding gives the same bytes.
fn command(name: &str) -> Command {
    let wire = golden(name);
    let mut src = BytesMut::from(&wire[..]);
    let frame = Frame::decode(&mut src, None).unwrap().unwrap();
    assert!(src.is_empty(), "{name}: one frame exactly");
    assert!(frame.command && !frame.more, "{name}: a command frame");
    let cmd = Command::decode(&frame.body).unwrap();
    let mut again = BytesMut::new();
    cmd.encode_frame(&mut again);
    assert_eq!(&again[..], &wire[..], "{name}: re-encoding differs");
    cmd
}

#[test]
fn greeting() {
    let wire = golden("libzmq_peer_greeting");
    let Decode::Complete { value, consumed } = Greeting::decode(&wire).unwrap() else {
        panic!("incomplete");
    };
    assert_eq!(consumed, 64);
    assert_eq!(value.version, Version::V3_1);
    assert_eq!(value.mechanism, MechanismName::NULL);
    assert_eq!(value.padding, 1);
    assert!(!value.as_server);
    let mut ours = BytesMut::new();
    Greeting::new(MechanismName::NULL).encode(&mut ours);
    assert_eq!(&ours[..], &wire[..]);
}

#[test]
fn ready() {
    let mut md = Metadata::new();
    md.insert("Socket-Type", "PEER");
    assert_eq!(command("libzmq_peer_ready"), Command::Ready(md));
}

#[test]
fn error_400() {
    assert_eq!(
        command("libzmq_error_400"),
        Command::Error {
            reason: Bytes::from_static(b"400")
        }
    );
}

#[test]
fn pings_and_pongs() {
    assert_eq!(
        command("libzmq_ping_ttl0"),
        Command::Ping {
            ttl: 0,
            context: Bytes::new()
        }
    );
    assert_eq!(
        command("libzmq_ping_ttl12"),
        Command::Ping {
            ttl: 12,
            context: Bytes::new()
        }
    );
    assert_eq!(
        command("libzmq_ping_lol"),
        Command::Ping {
            ttl: 0,
            context: Bytes::from_static(b"LOL")
        }
    );
    assert_eq!(
        command("libzmq_pong_empty"),
        Command::Pong {
            context: Bytes::new()
        }
    );
    assert_eq!(
        command("libzmq_pong_lol"),
        Command::Pong {
            context: Bytes::from_static(b"LOL")
        }
    );
    assert_eq!(
        command("libzmq_pong_abcde"),
        Command::Pong {
            context: Bytes::from_static(b"ABCDE")
        }
    );
}

#[test]
fn session_talks_like_libzmq() {
    let now = std::time::Instant::now();
    let mut s = Session::new(Config::new(SocketType::PEER), now);
    assert_eq!(drain(&mut s), golden("libzmq_peer_greeting"));
    let mut input = BytesMut::new();
    input.extend_from_slice(&golden("libzmq_peer_greeting"));
    input.extend_from_slice(&golden("libzmq_peer_ready"));
    s.handle_input(&mut input, now).unwrap();
    assert!(input.is_empty());
    assert_eq!(drain(&mut s), golden("libzmq_peer_ready"));
    assert!(matches!(s.poll_event(), Some(Event::HandshakeDone(_))));
    // libzmq's PINGs get libzmq's PONGs.
    for (ping, pong) in [
        ("libzmq_ping_ttl0", "libzmq_pong_empty"),
        ("libzmq_ping_lol", "libzmq_pong_lol"),
    ] {
        input.extend_from_slice(&golden(ping));
        s.handle_input(&mut input, now).unwrap();
        assert_eq!(drain(&mut s), golden(pong), "{ping}");
        assert!(matches!(s.poll_event(), Some(Event::Ping { .. })));
    }
    // Our heartbeat PING with TTL 1234 ms is libzmq's byte for byte.
    let mut config = Config::new(SocketType::PEER);
    config.heartbeat_interval = Some(std::time::Duration::from_millis(100));
    config.heartbeat_ttl = std::time::Duration::from_millis(1234);
    let mut s = Session::new(config, now);
    let _ = drain(&mut s);
    input.extend_from_slice(&golden("libzmq_peer_greeting"));
    input.extend_from_slice(&golden("libzmq_peer_ready"));
    s.handle_input(&mut input, now).unwrap();
    let _ = drain(&mut s);
    s.handle_timeout(s.poll_timeout().unwrap()).unwrap();
    assert_eq!(drain(&mut s), golden("libzmq_ping_ttl12"));
}
