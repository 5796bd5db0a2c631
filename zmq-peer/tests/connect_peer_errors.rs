//! `connect_peer` error paths (PROTOCOL.md §10, §11.1 C): each errno and when it fires. The
//! errors that do not depend on the endpoint's syntax are checked with a valid endpoint of every
//! transport (tcp, ipc path and abstract, inproc, ws, wss); malformed endpoints per scheme.

mod support;

use zmq_peer::{Context, SocketType, errno};

use support::{ALL_TRANSPORTS, Transport, WAIT, assert_errno, peer, within};

/// A valid endpoint of every transport (nobody bound to it), with what must outlive it.
fn endpoints() -> Vec<(Transport, support::TestEndpoint)> {
    ALL_TRANSPORTS
        .iter()
        .map(|&transport| (transport, transport.unbound_endpoint()))
        .collect()
}

#[test]
fn on_a_server_socket_is_enotsup() {
    let ctx = Context::new();
    for (transport, endpoint) in endpoints() {
        let server = transport.socket(&ctx, SocketType::Server);
        assert_errno(
            server.connect_peer(&endpoint.bind),
            errno::ENOTSUP,
            &format!("SERVER {transport:?}"),
        );
    }
}

#[test]
fn on_a_closed_socket_is_enotsock() {
    let ctx = Context::new();
    for (transport, endpoint) in endpoints() {
        let socket = transport.peer(&ctx);
        let other_handle = socket.clone();
        socket.close().expect("close");
        assert_errno(
            other_handle.connect_peer(&endpoint.bind),
            errno::ENOTSOCK,
            &format!("closed socket, {transport:?}"),
        );
    }
}

#[test]
fn with_immediate_is_efault() {
    let ctx = Context::new();
    // libzmq refuses up front, whatever the transport (even inproc).
    for (transport, endpoint) in endpoints() {
        let socket = transport.peer(&ctx);
        socket.set_immediate(true).expect("set IMMEDIATE");
        assert_errno(
            socket.connect_peer(&endpoint.bind),
            errno::EFAULT,
            &format!("IMMEDIATE {transport:?}"),
        );
    }
    let socket = peer(&ctx);
    socket.set_immediate(true).expect("set IMMEDIATE");
    assert!(socket.immediate().expect("IMMEDIATE"));
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

/// ws and wss endpoints libzmq refuses in `zmq_connect` (PROTOCOL.md §6.1, §10): no address,
/// no port, a `*` host or port (bind only), a port that is no number or out of range, bad
/// characters in the host or the path. The wss socket trusts a certificate, so what fails is the
/// endpoint.
#[cfg(feature = "wss")]
#[test]
fn malformed_ws_endpoints_are_einval() {
    let ctx = Context::new();
    let socket = Transport::Wss.peer(&ctx);
    for scheme in ["ws", "wss"] {
        for address in [
            "",
            "127.0.0.1",
            "127.0.0.1/p",
            "127.0.0.1:*/p",
            "*:5555/p",
            "*:*",
            "127.0.0.1:/p",
            ":5555/p",
            "/p",
            "127.0.0.1:port/p",
            "127.0.0.1:5555x/p",
            "127.0.0.1:-1/p",
            "127.0.0.1:99999/p",
            "127.0.0.1:5555:5556/p",
            "a b:5555/p",
            "[::1:5555/p",
            "127.0.0.1:5555/a b",
        ] {
            let endpoint = format!("{scheme}://{address}");
            assert_errno(socket.connect_peer(&endpoint), errno::EINVAL, &endpoint);
        }
    }
}

/// What libzmq accepts: no path (`/` is used), a path of several segments, a host name.
#[cfg(feature = "wss")]
#[test]
fn ws_endpoints_without_a_path_are_accepted() {
    let ctx = Context::new();
    let socket = Transport::Wss.peer(&ctx);
    socket.set_linger(0).expect("LINGER 0");
    let port = support::unused_tcp_port();
    for scheme in ["ws", "wss"] {
        for address in [
            format!("127.0.0.1:{port}"),
            format!("127.0.0.1:{port}/"),
            format!("127.0.0.1:{port}/a/b"),
            format!("localhost:{port}/p"),
        ] {
            let endpoint = format!("{scheme}://{address}");
            socket
                .connect_peer(&endpoint)
                .unwrap_or_else(|e| panic!("{endpoint}: {e:?}"));
        }
    }
}

/// libzmq resolves a ws / wss host inside `zmq_connect` (PROTOCOL.md §6.1): a name that does not
/// resolve is EINVAL at once, where tcp would resolve it later on the I/O thread.
#[cfg(feature = "wss")]
#[test]
fn unresolvable_ws_host_is_einval_at_connect() {
    let ctx = Context::new();
    let socket = Transport::Wss.peer(&ctx);
    socket.set_linger(0).expect("LINGER 0");
    for scheme in ["ws", "wss"] {
        let endpoint = format!("{scheme}://{}:5555/p", support::UNRESOLVABLE_HOST);
        let err = socket.connect_peer(&endpoint).expect_err(&endpoint);
        assert_eq!(err.errno(), errno::EINVAL, "{endpoint}: {err:?}");
    }
    // The same name over tcp is accepted: resolved on the I/O thread, attempt after attempt.
    let tcp = format!("tcp://{}:5555", support::UNRESOLVABLE_HOST);
    socket.connect_peer(&tcp).expect("tcp resolves later");
}

/// A wss connect with nothing to trust (no `WSS_TRUST_PEM`, no `WSS_TRUST_SYSTEM`) could never
/// verify a server: EINVAL at once, with the reason in the error text.
#[cfg(feature = "wss")]
#[test]
fn wss_without_trust_is_einval() {
    let ctx = Context::new();
    let socket = peer(&ctx);
    let endpoint = format!("wss://127.0.0.1:{}/p", support::unused_tcp_port());
    let error = socket
        .connect_peer(&endpoint)
        .expect_err("wss connect without trust");
    assert_eq!(error.errno(), errno::EINVAL, "{error:?}");
    assert!(error.to_string().contains("TRUST"), "{error}");
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
    let endpoints = endpoints();
    let sockets: Vec<_> = endpoints
        .iter()
        .map(|(transport, _)| transport.peer(&ctx))
        .collect();
    ctx.shutdown();
    for ((transport, endpoint), socket) in endpoints.iter().zip(sockets) {
        assert_errno(
            socket.connect_peer(&endpoint.bind),
            errno::ETERM,
            &format!("{transport:?} after shutdown"),
        );
        socket.close().expect("close after shutdown");
    }
    within(WAIT, "Context::term", move || ctx.term()).expect("term");
}

#[test]
fn without_io_threads_only_inproc_works() {
    let ctx = Context::with_io_threads(0).expect("context with 0 I/O threads");
    for (transport, endpoint) in endpoints() {
        if !transport.has_metadata() {
            continue; // inproc, below
        }
        let socket = transport.peer(&ctx);
        assert_errno(
            socket.connect_peer(&endpoint.bind),
            errno::EMTHREAD,
            &format!("{transport:?}"),
        );
        assert_errno(
            socket.bind(&transport.endpoint().bind),
            errno::EMTHREAD,
            &format!("{transport:?} bind"),
        );
    }
    let socket = peer(&ctx);

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
