//! PEER over tcp and ipc through the real transport: metadata on received messages, replies
//! flushed after close (LINGER), disconnect, unbind.

use std::sync::Arc;
use std::time::Duration;

use zmq_sockets::options::number;
use zmq_sockets::{ContextCore, Error, Message, Socket, SocketType};

const WAIT_MS: i32 = 10_000;

fn peer(ctx: &Arc<ContextCore>) -> Socket {
    let s = ctx.socket(SocketType::Peer).unwrap();
    s.set_option_int(number::RCVTIMEO, WAIT_MS).unwrap();
    s.set_option_int(number::SNDTIMEO, WAIT_MS).unwrap();
    s
}

fn round_trip(endpoint: &str) {
    let ctx = ContextCore::new(1);
    let binder = peer(&ctx);
    binder
        .set_option_bytes(number::METADATA, b"X-Side:binder")
        .unwrap();
    binder.bind(endpoint).unwrap();
    let resolved = binder.last_endpoint().unwrap();
    assert!(!resolved.contains('*'), "{resolved}");
    let connecter = peer(&ctx);
    connecter
        .set_option_bytes(number::METADATA, b"X-Side:connecter")
        .unwrap();
    let id = connecter.connect_peer(&resolved).unwrap();
    assert_eq!(connecter.last_endpoint().unwrap(), resolved);

    connecter
        .send(Message::with_routing_id(&[1u8][..], id))
        .unwrap();
    let m = binder.recv().unwrap();
    assert_eq!(m.as_bytes(), [1]);
    assert_eq!(m.gets("Socket-Type"), Some("PEER"));
    assert_eq!(m.gets("X-Side"), Some("connecter"));
    if resolved.starts_with("tcp://") {
        assert_eq!(m.gets("Peer-Address"), Some("127.0.0.1"));
    }
    let back = m.routing_id().unwrap();
    binder
        .send(Message::with_routing_id(&[2u8][..], back))
        .unwrap();
    let r = connecter.recv().unwrap();
    assert_eq!((r.as_bytes(), r.routing_id()), (&[2u8][..], Some(id)));
    assert_eq!(r.gets("Socket-Type"), Some("PEER"));
    assert_eq!(r.gets("X-Side"), Some("binder"));
    ctx.terminate();
}

#[test]
fn tcp_round_trip_with_metadata() {
    round_trip("tcp://127.0.0.1:*");
}

#[test]
fn ipc_round_trip_with_metadata() {
    round_trip("ipc://*");
}

#[test]
fn a_reply_sent_just_before_close_is_delivered() {
    let ctx = ContextCore::new(1);
    let binder = peer(&ctx);
    binder.bind("tcp://127.0.0.1:*").unwrap();
    let endpoint = binder.last_endpoint().unwrap();
    let connecter = peer(&ctx);
    let id = connecter.connect_peer(&endpoint).unwrap();
    connecter
        .send(Message::with_routing_id("ping", id))
        .unwrap();
    let m = binder.recv().unwrap();
    // Reply and close at once: LINGER -1 keeps the accepted connection until it flushed.
    binder
        .send(Message::with_routing_id(
            vec![7u8; 100_000],
            m.routing_id().unwrap(),
        ))
        .unwrap();
    binder.close().unwrap();
    let r = connecter.recv().unwrap();
    assert_eq!(r.len(), 100_000);
    ctx.terminate();
}

#[test]
fn messages_queued_before_the_peer_exists_survive_close_with_linger() {
    let ctx = ContextCore::new(1);
    let probe = ctx.socket(SocketType::Peer).unwrap();
    probe.bind("tcp://127.0.0.1:*").unwrap();
    let endpoint = probe.last_endpoint().unwrap();
    probe.close().unwrap();

    let sender = peer(&ctx);
    sender.set_option_int(number::RECONNECT_IVL, 10).unwrap();
    let id = sender.connect_peer(&endpoint).unwrap();
    sender.send(Message::with_routing_id("early", id)).unwrap();
    sender.close().unwrap();

    let receiver = peer(&ctx);
    receiver.bind(&endpoint).unwrap();
    assert_eq!(receiver.recv().unwrap().as_bytes(), b"early");
    ctx.terminate();
}

#[test]
fn disconnect_makes_the_id_unreachable() {
    let ctx = ContextCore::new(1);
    let binder = peer(&ctx);
    binder.bind("tcp://127.0.0.1:*").unwrap();
    let endpoint = binder.last_endpoint().unwrap();
    let connecter = peer(&ctx);
    let id = connecter.connect_peer(&endpoint).unwrap();
    connecter.send(Message::with_routing_id("x", id)).unwrap();
    let m = binder.recv().unwrap();
    connecter.disconnect(&endpoint).unwrap();
    assert!(matches!(
        connecter.send(Message::with_routing_id("y", id)),
        Err(Error::HostUnreachable)
    ));
    // The binder learns the peer is gone: its id becomes unreachable too.
    let back = m.routing_id().unwrap();
    let mut result = binder.try_send(Message::with_routing_id("z", back));
    for _ in 0..500 {
        if matches!(result, Err(Error::HostUnreachable)) {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
        result = binder.try_send(Message::with_routing_id("z", back));
    }
    assert!(matches!(result, Err(Error::HostUnreachable)), "{result:?}");
    ctx.terminate();
}

#[test]
fn unbind_frees_the_port() {
    let ctx = ContextCore::new(1);
    let a = peer(&ctx);
    a.bind("tcp://127.0.0.1:*").unwrap();
    let endpoint = a.last_endpoint().unwrap();
    let b = peer(&ctx);
    assert!(matches!(b.bind(&endpoint), Err(Error::AddrInUse)));
    a.unbind(&endpoint).unwrap();
    assert!(matches!(
        a.unbind(&endpoint),
        Err(Error::EndpointNotFound(_))
    ));
    b.bind(&endpoint).unwrap();
    ctx.terminate();
}

#[cfg(feature = "ws")]
#[test]
fn ws_round_trip_with_metadata() {
    round_trip("ws://127.0.0.1:*/peer");
}

#[cfg(feature = "wss")]
#[test]
fn wss_round_trip() {
    let certified =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .unwrap();
    let cert = certified.cert.pem();
    let key = certified.key_pair.serialize_pem();
    let ctx = ContextCore::new(1);
    let binder = peer(&ctx);
    binder
        .set_option_bytes(number::WSS_CERT_PEM, cert.as_bytes())
        .unwrap();
    binder
        .set_option_bytes(number::WSS_KEY_PEM, key.as_bytes())
        .unwrap();
    binder.bind("wss://127.0.0.1:*/peer").unwrap();
    let endpoint = binder.last_endpoint().unwrap();
    let connecter = peer(&ctx);
    connecter
        .set_option_bytes(number::WSS_TRUST_PEM, cert.as_bytes())
        .unwrap();
    let id = connecter.connect_peer(&endpoint).unwrap();
    connecter
        .send(Message::with_routing_id("secret", id))
        .unwrap();
    let m = binder.recv().unwrap();
    assert_eq!(m.as_bytes(), b"secret");
    binder
        .send(Message::with_routing_id("ok", m.routing_id().unwrap()))
        .unwrap();
    assert_eq!(connecter.recv().unwrap().as_bytes(), b"ok");
    ctx.terminate();
}
