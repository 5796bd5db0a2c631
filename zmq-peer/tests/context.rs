//! Context life cycle (PROTOCOL.md §9.7): `shutdown` wakes blocked calls with `ETERM` and makes
//! new calls fail with `ETERM`; `term` and `Drop` return in bounded time.

mod support;

use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use zmq_peer::{Context, errno};

use support::{Transport, WAIT, assert_errno, msg, pair, peer, within};

#[test]
fn shutdown_wakes_a_blocked_recv_with_eterm() {
    let ctx = Context::new();
    let socket = peer(&ctx);
    socket.set_rcvtimeo(-1).expect("block forever");
    let (started_tx, started_rx) = mpsc::channel();
    let (done_tx, done_rx) = mpsc::channel();
    let blocked = socket.clone();
    let waiter = thread::spawn(move || {
        started_tx.send(()).expect("signal start");
        done_tx.send(blocked.recv()).expect("report");
    });
    started_rx
        .recv_timeout(WAIT)
        .expect("receiver thread started");
    // Give it time to block (and check that it does block), so the wake-up path is exercised.
    assert!(
        done_rx.recv_timeout(Duration::from_millis(100)).is_err(),
        "recv returned although nothing was sent"
    );
    ctx.shutdown();
    let result = done_rx
        .recv_timeout(WAIT)
        .expect("blocked recv returned after shutdown");
    assert_errno(result, errno::ETERM, "blocked recv");
    waiter.join().expect("waiter");
    socket.close().expect("close");
    within(WAIT, "Context::term", move || ctx.term()).expect("term");
}

#[test]
fn shutdown_wakes_a_blocked_send_with_eterm() {
    let ctx = Context::new();
    let socket = peer(&ctx);
    socket.set_sndhwm(1).expect("SNDHWM");
    socket.set_sndtimeo(-1).expect("block forever");
    socket.set_linger(0).expect("LINGER 0");
    // Nobody binds this name: the pipe exists, with SNDHWM 1.
    let endpoint = format!("inproc://{}", support::unique_name("blocked-send"));
    let rid = socket.connect_peer(&endpoint).expect("connect_peer");
    socket
        .send(msg(b"fills the pipe", rid))
        .expect("first send");
    let (done_tx, done_rx) = mpsc::channel();
    let waiter = thread::spawn(move || {
        done_tx
            .send(socket.send(msg(b"blocks", rid)))
            .expect("report");
    });
    assert!(
        done_rx.recv_timeout(Duration::from_millis(100)).is_err(),
        "send returned although the pipe is full and SNDTIMEO is -1"
    );
    ctx.shutdown();
    let result = done_rx
        .recv_timeout(WAIT)
        .expect("blocked send returned after shutdown");
    assert_errno(result, errno::ETERM, "blocked send");
    waiter.join().expect("waiter");
}

fn calls_after_shutdown_are_eterm(transport: Transport) {
    let ctx = Context::new();
    let p = pair(&ctx, transport);
    ctx.shutdown();
    assert_errno(
        p.connecter.send(msg(b"x", p.to_binder)),
        errno::ETERM,
        "send",
    );
    assert_errno(
        p.connecter.try_send(msg(b"x", p.to_binder)),
        errno::ETERM,
        "try_send",
    );
    assert_errno(p.binder.recv(), errno::ETERM, "recv");
    assert_errno(p.binder.try_recv(), errno::ETERM, "try_recv");
    assert_errno(p.binder.bind("tcp://127.0.0.1:*"), errno::ETERM, "bind");
    assert_errno(p.binder.connect("inproc://x"), errno::ETERM, "connect");
    assert_errno(
        ctx.socket(zmq_peer::SocketType::Peer),
        errno::ETERM,
        "new socket",
    );
}

fn term_returns_with_sockets_closed(transport: Transport) {
    let ctx = Context::new();
    let p = pair(&ctx, transport);
    p.connecter.send(msg(b"x", p.to_binder)).expect("send");
    let support::Pair {
        binder, connecter, ..
    } = p;
    binder.close().expect("close");
    connecter.close().expect("close");
    within(WAIT, "Context::term", move || ctx.term()).expect("term");
}

mod after_shutdown {
    crate::support::transport_suite!(super::calls_after_shutdown_are_eterm);
}

mod term {
    crate::support::transport_suite!(super::term_returns_with_sockets_closed);
}

#[test]
fn drop_does_not_hang_with_a_pending_inproc_connect() {
    within(WAIT, "Context drop", || {
        let ctx = Context::new();
        let socket = peer(&ctx);
        let endpoint = format!("inproc://{}", support::unique_name("never-bound"));
        let rid = socket.connect_peer(&endpoint).expect("connect_peer");
        socket.send(msg(b"never delivered", rid)).expect("queued");
        drop(socket);
        drop(ctx);
    });
}

#[test]
fn drop_does_not_hang_with_open_sockets_and_queued_messages() {
    within(WAIT, "Context drop", || {
        let ctx = Context::new();
        let socket = peer(&ctx);
        socket.set_linger(100).expect("LINGER");
        let rid = socket
            .connect_peer(&support::unused_tcp_endpoint())
            .expect("connect_peer");
        socket.send(msg(b"never delivered", rid)).expect("queued");
        drop(socket);
        drop(ctx);
    });
}

#[test]
fn clones_share_one_context() {
    let ctx = Context::new();
    let clone = ctx.clone();
    let a = peer(&ctx);
    let b = peer(&clone);
    a.bind("inproc://shared-context")
        .expect("bind in the original");
    let rid = b
        .connect_peer("inproc://shared-context")
        .expect("connect in the clone");
    b.send(msg(b"same registry", rid)).expect("send");
    assert_eq!(a.recv().expect("recv").as_bytes(), b"same registry");

    // inproc names are scoped to the context: another context does not see them.
    let other = Context::new();
    let stranger = peer(&other);
    let rid = stranger
        .connect_peer("inproc://shared-context")
        .expect("pending connect");
    stranger
        .try_send(msg(b"lost", rid))
        .expect("queued in the pending pipe");
    a.set_rcvtimeo(100).expect("RCVTIMEO");
    assert_errno(
        a.recv(),
        errno::EAGAIN,
        "a socket of another context never connects",
    );
}

#[test]
fn duplicate_inproc_bind_is_eaddrinuse() {
    let ctx = Context::new();
    let a = peer(&ctx);
    let b = peer(&ctx);
    a.bind("inproc://dup").expect("first bind");
    assert_errno(b.bind("inproc://dup"), errno::EADDRINUSE, "second bind");
}
