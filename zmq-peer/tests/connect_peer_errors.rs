//! `connect_peer` error paths (PROTOCOL.md §10, §11.1 C): each errno and when it fires.

mod support;

use zmq_peer::{Context, SocketType, errno};

use support::{WAIT, assert_errno, peer, tempdir, within};

#[test]
fn on_a_server_socket_is_enotsup() {
    let ctx = Context::new();
    let server = ctx.socket(SocketType::Server).expect("create SERVER");
    assert_errno(
        server.connect_peer("tcp://127.0.0.1:5555"),
        errno::ENOTSUP,
        "SERVER tcp",
    );
    assert_errno(
        server.connect_peer("inproc://x"),
        errno::ENOTSUP,
        "SERVER inproc",
    );
}

#[test]
fn on_a_closed_socket_is_enotsock() {
    let ctx = Context::new();
    let socket = peer(&ctx);
    let other_handle = socket.clone();
    socket.close().expect("close");
    assert_errno(
        other_handle.connect_peer("inproc://closed"),
        errno::ENOTSOCK,
        "closed socket",
    );
    assert_errno(
        other_handle.connect_peer("tcp://127.0.0.1:5555"),
        errno::ENOTSOCK,
        "closed socket, tcp",
    );
}

#[test]
fn with_immediate_is_efault() {
    let ctx = Context::new();
    let socket = peer(&ctx);
    socket.set_immediate(true).expect("set IMMEDIATE");
    assert!(socket.immediate().expect("IMMEDIATE"));
    assert_errno(
        socket.connect_peer("tcp://127.0.0.1:5555"),
        errno::EFAULT,
        "IMMEDIATE tcp",
    );
    // libzmq refuses up front, even for inproc.
    assert_errno(
        socket.connect_peer("inproc://immediate"),
        errno::EFAULT,
        "IMMEDIATE inproc",
    );
    socket.set_immediate(false).expect("clear IMMEDIATE");
    socket
        .connect_peer("inproc://immediate")
        .expect("connect_peer once IMMEDIATE is off");
}

#[test]
fn malformed_endpoints_are_einval() {
    let ctx = Context::new();
    let socket = peer(&ctx);
    for endpoint in [
        "",
        "tcp",
        "127.0.0.1:5555",
        "://127.0.0.1:5555",
        "tcp://",
        "tcp://127.0.0.1",
        "tcp://127.0.0.1:*",
        "tcp://*:5555",
        "tcp://a/b:55",
        "tcp://127.0.0.1:port",
        "ipc://",
        "ipc://@",
        "inproc://",
    ] {
        assert_errno(socket.connect_peer(endpoint), errno::EINVAL, endpoint);
    }
}

#[test]
fn unknown_scheme_is_eprotonosupport() {
    let ctx = Context::new();
    let socket = peer(&ctx);
    assert_errno(
        socket.connect_peer("foo://x"),
        errno::EPROTONOSUPPORT,
        "foo://x",
    );
}

#[test]
fn udp_is_enocompatproto() {
    let ctx = Context::new();
    let socket = peer(&ctx);
    assert_errno(
        socket.connect_peer("udp://127.0.0.1:5555"),
        errno::ENOCOMPATPROTO,
        "udp://127.0.0.1:5555",
    );
}

#[test]
fn after_context_shutdown_is_eterm() {
    let ctx = Context::new();
    let socket = peer(&ctx);
    ctx.shutdown();
    assert_errno(
        socket.connect_peer("tcp://127.0.0.1:5555"),
        errno::ETERM,
        "tcp after shutdown",
    );
    assert_errno(
        socket.connect_peer("inproc://x"),
        errno::ETERM,
        "inproc after shutdown",
    );
    socket.close().expect("close after shutdown");
    within(WAIT, "Context::term", move || ctx.term()).expect("term");
}

#[test]
fn without_io_threads_only_inproc_works() {
    let ctx = Context::with_io_threads(0).expect("context with 0 I/O threads");
    let socket = peer(&ctx);
    assert_errno(
        socket.connect_peer("tcp://127.0.0.1:5555"),
        errno::EMTHREAD,
        "tcp",
    );
    let dir = tempdir();
    assert_errno(
        socket.connect_peer(&support::ipc_endpoint(dir.path(), "x")),
        errno::EMTHREAD,
        "ipc",
    );
    assert_errno(
        socket.bind("tcp://127.0.0.1:*"),
        errno::EMTHREAD,
        "tcp bind",
    );

    // inproc needs no I/O thread.
    let binder = peer(&ctx);
    binder.bind("inproc://no-io-threads").expect("inproc bind");
    let rid = socket
        .connect_peer("inproc://no-io-threads")
        .expect("inproc connect_peer");
    socket.send(support::msg(b"x", rid)).expect("send");
    assert_eq!(binder.recv().expect("recv").as_bytes(), b"x");
}

#[test]
fn overlong_ipc_path_is_enametoolong() {
    let ctx = Context::new();
    let socket = peer(&ctx);
    // sun_path holds 108 octets including the NUL: 107 is the longest usable path.
    let longest = format!("/{}", "a".repeat(106));
    assert_eq!(longest.len(), 107);
    socket
        .connect_peer(&format!("ipc://{longest}"))
        .expect("107-octet ipc path is accepted");
    let too_long = format!("/{}", "a".repeat(107));
    assert_errno(
        socket.connect_peer(&format!("ipc://{too_long}")),
        errno::ENAMETOOLONG,
        "108-octet ipc path",
    );
    assert_errno(
        socket.connect_peer(&format!("ipc:///{}", "b".repeat(300))),
        errno::ENAMETOOLONG,
        "300-octet ipc path",
    );
}

#[test]
fn failed_calls_leave_the_socket_usable() {
    let ctx = Context::new();
    let socket = peer(&ctx);
    let binder = peer(&ctx);
    binder.bind("inproc://after-errors").expect("bind");
    assert!(socket.connect_peer("foo://x").is_err());
    assert!(socket.connect_peer("tcp://127.0.0.1").is_err());
    let rid = socket
        .connect_peer("inproc://after-errors")
        .expect("connect_peer after errors");
    socket.send(support::msg(b"ok", rid)).expect("send");
    assert_eq!(binder.recv().expect("recv").as_bytes(), b"ok");
}

#[test]
fn connect_peer_twice_gives_distinct_ids() {
    let ctx = Context::new();
    let socket = peer(&ctx);
    let endpoint = support::unused_tcp_endpoint();
    let first = socket.connect_peer(&endpoint).expect("first");
    let second = socket.connect_peer(&endpoint).expect("second");
    assert_ne!(first, second);
    assert_ne!(first.get(), 0);
    assert_ne!(second.get(), 0);
}
