//! Socket options of a PEER by libzmq option number and by typed accessor (PROTOCOL.md §9.1,
//! §12, §11.1 H): read-only values, defaults, validation.

mod support;

use zmq_peer::{Context, errno};

use support::{Transport, assert_errno, msg, pair, peer};

const ZMQ_RCVMORE: i32 = 13;
const ZMQ_FD: i32 = 14;
const ZMQ_EVENTS: i32 = 15;
const ZMQ_TYPE: i32 = 16;
const ZMQ_LINGER: i32 = 17;
const ZMQ_SNDHWM: i32 = 23;
const ZMQ_RCVHWM: i32 = 24;
const ZMQ_RCVTIMEO: i32 = 27;
const ZMQ_SNDTIMEO: i32 = 28;
const ZMQ_IMMEDIATE: i32 = 39;
const ZMQ_HEARTBEAT_TTL: i32 = 76;
const ZMQ_THREAD_SAFE: i32 = 81;

#[test]
fn read_only_values() {
    let ctx = Context::new();
    let socket = peer(&ctx);
    assert_eq!(socket.option_int(ZMQ_TYPE).expect("ZMQ_TYPE"), 19);
    assert_eq!(
        socket.option_int(ZMQ_THREAD_SAFE).expect("ZMQ_THREAD_SAFE"),
        1
    );
    assert_errno(
        socket.option_int(ZMQ_FD),
        errno::EINVAL,
        "ZMQ_FD on a thread-safe socket",
    );
    assert_eq!(socket.option_int(ZMQ_RCVMORE).expect("ZMQ_RCVMORE"), 0);
    assert_eq!(
        socket.option_int(ZMQ_EVENTS).expect("ZMQ_EVENTS"),
        2,
        "POLLOUT only when idle"
    );
    assert_errno(
        socket.set_option_int(ZMQ_TYPE, 12),
        errno::EINVAL,
        "set ZMQ_TYPE",
    );
    assert_errno(
        socket.set_option_int(ZMQ_THREAD_SAFE, 0),
        errno::EINVAL,
        "set THREAD_SAFE",
    );
}

#[test]
fn events_report_pollin() {
    let ctx = Context::new();
    let p = pair(&ctx, Transport::InprocBindFirst);
    p.connecter.send(msg(b"x", p.to_binder)).expect("send");
    support::wait_until(support::WAIT, "POLLIN", || {
        p.binder.option_int(ZMQ_EVENTS).expect("ZMQ_EVENTS") == 3
    });
    assert_eq!(p.binder.option_int(ZMQ_RCVMORE).expect("ZMQ_RCVMORE"), 0);
    p.binder.recv().expect("recv");
    assert_eq!(p.binder.option_int(ZMQ_EVENTS).expect("ZMQ_EVENTS"), 2);
}

#[test]
fn defaults() {
    let ctx = Context::new();
    let socket = ctx.socket(zmq_peer::SocketType::Peer).expect("PEER");
    assert_eq!(socket.sndhwm().expect("SNDHWM"), 1000);
    assert_eq!(socket.rcvhwm().expect("RCVHWM"), 1000);
    assert_eq!(socket.linger().expect("LINGER"), -1);
    assert_eq!(socket.sndtimeo().expect("SNDTIMEO"), -1);
    assert_eq!(socket.rcvtimeo().expect("RCVTIMEO"), -1);
    assert_eq!(socket.reconnect_ivl().expect("RECONNECT_IVL"), 100);
    assert_eq!(socket.maxmsgsize().expect("MAXMSGSIZE"), -1);
    assert!(!socket.immediate().expect("IMMEDIATE"));
    assert_eq!(socket.heartbeat_ivl().expect("HEARTBEAT_IVL"), 0);
    assert_eq!(socket.heartbeat_ttl().expect("HEARTBEAT_TTL"), 0);
    assert_eq!(socket.heartbeat_timeout().expect("HEARTBEAT_TIMEOUT"), -1);
    assert_eq!(socket.last_endpoint().expect("LAST_ENDPOINT"), "");
}

#[test]
fn numbered_and_typed_accessors_agree() {
    let ctx = Context::new();
    let socket = peer(&ctx);
    socket
        .set_option_int(ZMQ_SNDHWM, 7)
        .expect("SNDHWM by number");
    assert_eq!(socket.sndhwm().expect("SNDHWM"), 7);
    socket.set_rcvhwm(9).expect("RCVHWM");
    assert_eq!(socket.option_int(ZMQ_RCVHWM).expect("RCVHWM by number"), 9);
    socket
        .set_option_int(ZMQ_LINGER, 250)
        .expect("LINGER by number");
    assert_eq!(socket.linger().expect("LINGER"), 250);
    socket
        .set_option_int(ZMQ_RCVTIMEO, 11)
        .expect("RCVTIMEO by number");
    assert_eq!(socket.rcvtimeo().expect("RCVTIMEO"), 11);
    socket.set_sndtimeo(12).expect("SNDTIMEO");
    assert_eq!(
        socket.option_int(ZMQ_SNDTIMEO).expect("SNDTIMEO by number"),
        12
    );
    socket
        .set_option_int(ZMQ_IMMEDIATE, 1)
        .expect("IMMEDIATE by number");
    assert!(socket.immediate().expect("IMMEDIATE"));
    socket
        .set_option_int(ZMQ_HEARTBEAT_TTL, 250)
        .expect("TTL by number");
    assert_eq!(socket.option_int(ZMQ_HEARTBEAT_TTL).expect("TTL"), 200);
}

#[test]
fn invalid_values_are_einval() {
    let ctx = Context::new();
    let socket = peer(&ctx);
    assert_errno(
        socket.set_option_int(ZMQ_SNDHWM, -1),
        errno::EINVAL,
        "SNDHWM -1",
    );
    assert_errno(
        socket.set_option_int(ZMQ_LINGER, -2),
        errno::EINVAL,
        "LINGER -2",
    );
    assert_errno(
        socket.set_option_int(ZMQ_RCVTIMEO, -2),
        errno::EINVAL,
        "RCVTIMEO -2",
    );
    assert_errno(
        socket.set_option_int(ZMQ_IMMEDIATE, 2),
        errno::EINVAL,
        "IMMEDIATE 2",
    );
    assert_errno(
        socket.set_option_int(99_999, 1),
        errno::EINVAL,
        "unknown option",
    );
    assert_errno(
        socket.option_int(99_999),
        errno::EINVAL,
        "unknown option (get)",
    );
    socket.set_maxmsgsize(1 << 40).expect("large MAXMSGSIZE");
    assert_eq!(socket.maxmsgsize().expect("MAXMSGSIZE"), 1 << 40);
}

#[test]
fn routing_id_option_accepts_1_to_255_octets() {
    let ctx = Context::new();
    let socket = peer(&ctx);
    socket.set_routing_id(b"me").expect("2 octets");
    socket.set_routing_id(&[1; 255]).expect("255 octets");
    assert_errno(
        socket.set_routing_id(&[]),
        errno::EINVAL,
        "empty routing id",
    );
    assert_errno(
        socket.set_routing_id(&[1; 256]),
        errno::EINVAL,
        "256 octets",
    );
}
