//! Send-side errors of a PEER socket (PROTOCOL.md §9.6, §11.1 D and E): multipart refused,
//! missing / unknown routing ids, routing id 0.

mod support;

use std::time::Duration;

use zmq_peer::{Context, Message, RoutingId, errno};

use support::{Transport, WAIT, assert_errno, msg, pair, peer, within};

#[test]
fn send_more_is_einval() {
    let ctx = Context::new();
    let p = pair(&ctx, Transport::InprocBindFirst);
    assert_errno(
        p.connecter.send_more(msg(b"part", p.to_binder)),
        errno::EINVAL,
        "send_more",
    );
    // The socket is still fine afterwards and nothing was delivered by the failed call.
    p.connecter.send(msg(b"whole", p.to_binder)).expect("send");
    assert_eq!(p.binder.recv().expect("recv").as_bytes(), b"whole");
}

#[test]
fn send_more_is_einval_over_tcp() {
    let ctx = Context::new();
    let p = pair(&ctx, Transport::Tcp);
    assert_errno(
        p.binder.send_more(msg(b"part", p.to_connecter)),
        errno::EINVAL,
        "send_more",
    );
    p.binder.send(msg(b"whole", p.to_connecter)).expect("send");
    assert_eq!(p.connecter.recv().expect("recv").as_bytes(), b"whole");
}

#[test]
fn no_routing_id_is_ehostunreach() {
    let ctx = Context::new();
    let p = pair(&ctx, Transport::InprocBindFirst);
    // Default SNDTIMEO is -1: the error must come at once, not after blocking.
    p.connecter.set_sndtimeo(-1).expect("SNDTIMEO -1");
    let connecter = p.connecter;
    within(WAIT, "send without routing id", move || {
        assert_errno(
            connecter.send(Message::from(&b"x"[..])),
            errno::EHOSTUNREACH,
            "send",
        );
        assert_errno(
            connecter.try_send(Message::from(&b"x"[..])),
            errno::EHOSTUNREACH,
            "try_send",
        );
        assert_errno(
            connecter.send(Message::new()),
            errno::EHOSTUNREACH,
            "empty, no id",
        );
    });
}

#[test]
fn unknown_routing_id_is_ehostunreach() {
    let ctx = Context::new();
    let p = pair(&ctx, Transport::InprocBindFirst);
    p.binder.set_sndtimeo(-1).expect("SNDTIMEO -1");
    let unknown = (1..=u32::MAX)
        .filter_map(RoutingId::new)
        .find(|id| *id != p.to_connecter)
        .expect("some other id");
    let binder = p.binder;
    within(WAIT, "send to unknown routing id", move || {
        assert_errno(binder.send(msg(b"x", unknown)), errno::EHOSTUNREACH, "send");
        assert_errno(
            binder.try_send(msg(b"x", unknown)),
            errno::EHOSTUNREACH,
            "try_send",
        );
    });
    // A socket that never had a peer: every id is unknown.
    let lonely = peer(&ctx);
    let id = RoutingId::new(0x6B8B_4567).expect("non-zero");
    assert_errno(
        lonely.send(msg(b"x", id)),
        errno::EHOSTUNREACH,
        "socket without peers",
    );
}

#[test]
fn routing_id_zero_does_not_exist() {
    assert_eq!(RoutingId::new(0), None);
    let id = RoutingId::new(7).expect("7 is a valid routing id");
    assert_eq!(id.get(), 7);
    assert_eq!(RoutingId::new(u32::MAX).map(RoutingId::get), Some(u32::MAX));
}

#[test]
fn message_routing_id_accessors() {
    let mut message = Message::from(&b"abc"[..]);
    assert_eq!(message.routing_id(), None);
    let id = RoutingId::new(42).expect("non-zero");
    message.set_routing_id(id);
    assert_eq!(message.routing_id(), Some(id));
    assert_eq!(message.as_bytes(), b"abc");
    assert_eq!(message.len(), 3);
    assert!(!message.is_empty());
    assert!(Message::new().is_empty());
    assert_eq!(Message::from("abc").as_bytes(), b"abc");
    assert_eq!(Message::from(vec![1_u8, 2]).as_bytes(), [1, 2]);
    assert_eq!(Message::from(String::from("s")).into_bytes().as_ref(), b"s");
}

#[test]
fn recv_timeout_is_eagain() {
    let ctx = Context::new();
    let socket = peer(&ctx);
    socket.set_rcvtimeo(50).expect("RCVTIMEO");
    assert_errno(
        socket.recv(),
        errno::EAGAIN,
        "recv with RCVTIMEO and nothing queued",
    );
    assert_errno(
        socket.try_recv(),
        errno::EAGAIN,
        "try_recv with nothing queued",
    );
    socket.set_rcvtimeo(0).expect("RCVTIMEO 0");
    assert_errno(socket.recv(), errno::EAGAIN, "recv with RCVTIMEO 0");
    let started = std::time::Instant::now();
    socket.set_rcvtimeo(100).expect("RCVTIMEO 100");
    assert_errno(socket.recv(), errno::EAGAIN, "recv with RCVTIMEO 100");
    assert!(
        started.elapsed() >= Duration::from_millis(90),
        "recv returned before RCVTIMEO"
    );
}
