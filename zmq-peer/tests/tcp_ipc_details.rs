//! tcp and ipc details through the facade (PROTOCOL.md §7.1, §7.2, §7.5, §9.1): the reconnect
//! interval policy as the monitor reports it, IPv6 end to end, source addresses and ports,
//! interface names, name resolution off the caller's thread, several I/O threads, one socket
//! shared by reference between threads, and ipc socket files over a bind's lifetime.

mod support;

use std::collections::HashSet;
use std::net::TcpListener;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use zmq_peer::{Context, Monitor, MonitorEvent, Poller, Socket, errno};

use support::{WAIT, assert_errno, msg, peer, tempdir, unused_tcp_endpoint, wait_until, within};

/// The socket types are shared between threads as they are (PROTOCOL.md §9.1).
fn assert_send_sync<T: Send + Sync>() {}

const _: () = {
    // Compile-time: fails to build if any of these loses `Send` or `Sync`.
    let _ = assert_send_sync::<Socket>;
    let _ = assert_send_sync::<Context>;
    let _ = assert_send_sync::<Poller>;
    let _ = assert_send_sync::<Monitor>;
};

/// The next event matching `want`, skipping others, within `WAIT`.
#[track_caller]
fn find(monitor: &Monitor, what: &str, want: impl Fn(&MonitorEvent) -> bool) -> MonitorEvent {
    let deadline = Instant::now() + WAIT;
    let mut skipped = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match monitor.recv_timeout(left) {
            Some(event) if want(&event) => return event,
            Some(event) => skipped.push(event),
            None => panic!("no {what} within {WAIT:?}; saw {skipped:?}"),
        }
    }
}

/// The intervals of the next `n` `ConnectRetried` events for `endpoint`, with their reasons.
#[track_caller]
fn retries(monitor: &Monitor, endpoint: &str, n: usize) -> Vec<(Duration, String)> {
    (0..n)
        .map(|_| {
            match find(monitor, "ConnectRetried", |e| {
                matches!(e, MonitorEvent::ConnectRetried { .. })
            }) {
                MonitorEvent::ConnectRetried {
                    endpoint: on,
                    interval,
                    reason,
                } => {
                    assert_eq!(on, endpoint);
                    (interval, reason)
                }
                other => unreachable!("{other:?}"),
            }
        })
        .collect()
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A PEER socket with `RECONNECT_IVL` / `RECONNECT_IVL_MAX` set and a monitor.
fn reconnecting_peer(ctx: &Context, ivl: i32, ivl_max: i32) -> (Socket, Monitor) {
    let socket = peer(ctx);
    socket.set_reconnect_ivl(ivl).expect("RECONNECT_IVL");
    socket
        .set_reconnect_ivl_max(ivl_max)
        .expect("RECONNECT_IVL_MAX");
    let monitor = socket.monitor().expect("monitor");
    (socket, monitor)
}

/// Sends `body` from `from` to `to_rid` and returns what `to` received.
#[track_caller]
fn one_way(
    from: &Socket,
    to_rid: zmq_peer::RoutingId,
    to: &Socket,
    body: &[u8],
) -> zmq_peer::Message {
    from.send(msg(body, to_rid)).expect("send");
    let got = to.recv().expect("recv");
    assert_eq!(got.as_bytes(), body);
    got
}

/// A message each way between `binder` and `connecter` (connected with id `to_binder`);
/// returns the message the binder received.
#[track_caller]
fn exchange(
    binder: &Socket,
    connecter: &Socket,
    to_binder: zmq_peer::RoutingId,
) -> zmq_peer::Message {
    let request = one_way(connecter, to_binder, binder, b"request");
    let to_connecter = request.routing_id().expect("routing id");
    let reply = one_way(binder, to_connecter, connecter, b"reply");
    assert_eq!(reply.routing_id(), Some(to_binder));
    request
}

// ---------------------------------------------------------------------------------------------
// Reconnect intervals (PROTOCOL.md §7.5).

/// `RECONNECT_IVL` 20 ms, `RECONNECT_IVL_MAX` 160 ms against a closed port: the monitor reports
/// 20, 40, 80, 160, 160, 160 ms exactly (libzmq 4.3.5 adds no jitter with `IVL_MAX`), and the
/// attempts really waited at least that long.
#[test]
fn reconnect_interval_doubles_up_to_the_maximum() {
    let ctx = Context::new();
    let (socket, events) = reconnecting_peer(&ctx, 20, 160);
    let endpoint = unused_tcp_endpoint();
    let started = Instant::now();
    socket.connect_peer(&endpoint).expect("connect_peer");
    let seen = retries(&events, &endpoint, 6);
    let elapsed = started.elapsed();
    let intervals: Vec<Duration> = seen.iter().map(|(interval, _)| *interval).collect();
    assert_eq!(
        intervals,
        [ms(20), ms(40), ms(80), ms(160), ms(160), ms(160)],
        "{seen:?}"
    );
    // The sixth retry is announced after the first five delays have passed (lower bound only).
    assert!(elapsed >= ms(20 + 40 + 80 + 160 + 160), "{elapsed:?}");
}

/// `RECONNECT_IVL_MAX` 0 (the default): every interval is IVL plus a jitter below IVL, with no
/// growth.
#[test]
fn reconnect_interval_stays_at_ivl_without_a_maximum() {
    let ctx = Context::new();
    let (socket, events) = reconnecting_peer(&ctx, 20, 0);
    let endpoint = unused_tcp_endpoint();
    socket.connect_peer(&endpoint).expect("connect_peer");
    for (interval, reason) in retries(&events, &endpoint, 6) {
        assert!(interval >= ms(20) && interval < ms(40), "{interval:?}");
        assert!(!reason.is_empty());
    }
}

/// libzmq 4.3.5 caps every interval at `IVL_MAX`, also when `IVL_MAX` is below IVL.
#[test]
fn reconnect_interval_maximum_below_ivl_caps_it() {
    let ctx = Context::new();
    let (socket, events) = reconnecting_peer(&ctx, 40, 10);
    let endpoint = unused_tcp_endpoint();
    socket.connect_peer(&endpoint).expect("connect_peer");
    let intervals: Vec<Duration> = retries(&events, &endpoint, 3)
        .into_iter()
        .map(|(interval, _)| interval)
        .collect();
    assert_eq!(intervals, [ms(10), ms(10), ms(10)]);
}

/// A tcp connect that succeeds starts the back-off over, as libzmq's connecter ends there: a
/// listener that accepts and hangs up at once (every handshake fails) sees retries at IVL, not
/// a growing interval.
#[test]
fn reconnect_interval_restarts_after_a_tcp_connect() {
    let ctx = Context::new();
    let (socket, events) = reconnecting_peer(&ctx, 20, 160);
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let endpoint = format!("tcp://{}", listener.local_addr().expect("addr"));
    let stop = AtomicBool::new(false);
    thread::scope(|scope| {
        scope.spawn(|| {
            while !stop.load(Ordering::SeqCst) {
                match listener.accept() {
                    // Dropped at once: the connecter's handshake ends with EOF.
                    Ok((stream, _)) => drop(stream),
                    Err(_) => thread::sleep(ms(2)),
                }
            }
        });
        socket.connect_peer(&endpoint).expect("connect_peer");
        let seen = retries(&events, &endpoint, 4);
        stop.store(true, Ordering::SeqCst);
        for (interval, reason) in &seen {
            assert_eq!(*interval, ms(20), "{seen:?} ({reason})");
        }
    });
}

// ---------------------------------------------------------------------------------------------
// tcp addresses (PROTOCOL.md §7.1).

#[test]
fn ipv6_loopback_end_to_end() {
    let ctx = Context::new();
    let binder = peer(&ctx);
    binder.set_ipv6(true).expect("IPV6");
    binder.bind("tcp://[::1]:*").expect("bind [::1]");
    let endpoint = binder.last_endpoint().expect("last_endpoint");
    let port: u16 = endpoint
        .strip_prefix("tcp://[::1]:")
        .unwrap_or_else(|| panic!("LAST_ENDPOINT {endpoint}"))
        .parse()
        .expect("numeric port");
    assert_ne!(port, 0);

    // Without the IPV6 option an IPv6 address is refused, as in libzmq.
    let v4_only = peer(&ctx);
    assert_errno(
        v4_only.connect_peer(&endpoint),
        errno::EINVAL,
        "IPv6 without IPV6",
    );

    let connecter = peer(&ctx);
    connecter.set_ipv6(true).expect("IPV6");
    let to_binder = connecter.connect_peer(&endpoint).expect("connect_peer");
    for _ in 0..3 {
        let request = exchange(&binder, &connecter, to_binder);
        assert_eq!(request.gets("Peer-Address"), Some("::1"));
    }
}

/// `tcp://127.0.0.2:0;127.0.0.1:PORT`: the connection leaves from 127.0.0.2 (Linux routes all
/// of 127/8 to `lo`), which the bound side sees in `Peer-Address` and the accepted event.
#[test]
fn source_address_is_what_the_binder_sees() {
    let ctx = Context::new();
    let binder = peer(&ctx);
    let accepted = binder.monitor().expect("monitor");
    binder.bind("tcp://127.0.0.1:*").expect("bind");
    let endpoint = binder.last_endpoint().expect("last_endpoint");
    let target = endpoint.strip_prefix("tcp://").expect("tcp endpoint");

    let connecter = peer(&ctx);
    let to_binder = connecter
        .connect_peer(&format!("tcp://127.0.0.2:0;{target}"))
        .expect("connect_peer with a source address");
    let request = exchange(&binder, &connecter, to_binder);
    assert_eq!(request.gets("Peer-Address"), Some("127.0.0.2"));
    match find(&accepted, "Accepted", |e| {
        matches!(e, MonitorEvent::Accepted { .. })
    }) {
        MonitorEvent::Accepted { remote, .. } => {
            assert!(remote.starts_with("tcp://127.0.0.2:"), "{remote}");
        }
        other => unreachable!("{other:?}"),
    }

    // A fixed source port: the accepted connection comes from exactly that address.
    let source_port = {
        let probe = TcpListener::bind("127.0.0.2:0").expect("a free port on 127.0.0.2");
        probe.local_addr().expect("addr").port()
    };
    let fixed = peer(&ctx);
    let to_binder = fixed
        .connect_peer(&format!("tcp://127.0.0.2:{source_port};{target}"))
        .expect("connect_peer with a source port");
    let request = exchange(&binder, &fixed, to_binder);
    assert_eq!(request.gets("Peer-Address"), Some("127.0.0.2"));
    assert_eq!(
        find(&accepted, "Accepted", |e| matches!(
            e,
            MonitorEvent::Accepted { .. }
        )),
        MonitorEvent::Accepted {
            endpoint,
            remote: format!("tcp://127.0.0.2:{source_port}"),
        }
    );
}

/// Interface names (libzmq tries them before DNS when binding, and only them for a source):
/// `tcp://lo:*` binds 127.0.0.1 (or `::1` with IPV6), `lo` as a source leaves from it.
#[test]
fn interface_names_bind_and_source() {
    let ctx = Context::new();
    let binder = peer(&ctx);
    binder.bind("tcp://lo:*").expect("bind tcp://lo:*");
    let endpoint = binder.last_endpoint().expect("last_endpoint");
    let target = endpoint
        .strip_prefix("tcp://")
        .expect("tcp endpoint")
        .to_owned();
    assert!(target.starts_with("127.0.0.1:"), "LAST_ENDPOINT {endpoint}");
    assert_ne!(target, "127.0.0.1:0");

    let connecter = peer(&ctx);
    let to_binder = connecter.connect_peer(&endpoint).expect("connect_peer");
    exchange(&binder, &connecter, to_binder);

    let via_lo = peer(&ctx);
    let to_binder = via_lo
        .connect_peer(&format!("tcp://lo:0;{target}"))
        .expect("connect_peer with source lo");
    let request = exchange(&binder, &via_lo, to_binder);
    assert_eq!(request.gets("Peer-Address"), Some("127.0.0.1"));

    let binder6 = peer(&ctx);
    binder6.set_ipv6(true).expect("IPV6");
    binder6
        .bind("tcp://lo:*")
        .expect("bind tcp://lo:* with IPV6");
    let endpoint6 = binder6.last_endpoint().expect("last_endpoint");
    assert!(endpoint6.starts_with("tcp://[::1]:"), "{endpoint6}");
    let connecter6 = peer(&ctx);
    connecter6.set_ipv6(true).expect("IPV6");
    let to_binder6 = connecter6.connect_peer(&endpoint6).expect("connect_peer");
    exchange(&binder6, &connecter6, to_binder6);
}

/// A name that does not resolve: `connect_peer` still returns an id at once (resolution
/// happens on the I/O thread, on every attempt), sends queue up to SNDHWM, and the monitor
/// reports the failed attempts as retries.
#[test]
fn unresolvable_name_is_retried_in_the_background() {
    let ctx = Context::new();
    let (socket, events) = reconnecting_peer(&ctx, 20, 0);
    socket.set_sndhwm(5).expect("SNDHWM");
    let endpoint = format!("tcp://{}:5555", support::UNRESOLVABLE_HOST);
    let rid = within(WAIT, "connect_peer to an unresolvable name", {
        let socket = socket.clone();
        let endpoint = endpoint.clone();
        move || socket.connect_peer(&endpoint)
    })
    .expect("connect_peer succeeds before any resolution");
    for i in 0_u8..5 {
        socket
            .try_send(msg(&[i], rid))
            .unwrap_or_else(|e| panic!("try_send {i}: {e:?}"));
    }
    assert_errno(
        socket.try_send(msg(&[5], rid)),
        errno::EAGAIN,
        "6th try_send",
    );
    let seen = retries(&events, &endpoint, 3);
    assert!(
        seen.iter().all(|(_, reason)| !reason.is_empty()),
        "{seen:?}"
    );
    // Still queued, still addressable: nothing connected and nothing was dropped.
    assert_errno(socket.try_send(msg(b"x", rid)), errno::EAGAIN, "still full");
}

// ---------------------------------------------------------------------------------------------
// I/O threads and sharing.

/// Three I/O threads, thirty tcp peers: every message reaches the right peer and comes back.
#[test]
fn many_tcp_peers_over_three_io_threads() {
    const PEERS: usize = 30;
    let ctx = Context::with_io_threads(3).expect("context");
    assert_eq!(ctx.io_threads(), 3);
    let binder = peer(&ctx);
    binder.bind("tcp://127.0.0.1:*").expect("bind");
    let endpoint = binder.last_endpoint().expect("last_endpoint");

    let connecters: Vec<(Socket, zmq_peer::RoutingId)> = (0..PEERS)
        .map(|_| {
            let socket = peer(&ctx);
            let rid = socket.connect_peer(&endpoint).expect("connect_peer");
            (socket, rid)
        })
        .collect();
    for (i, (socket, rid)) in connecters.iter().enumerate() {
        socket
            .send(msg(format!("from {i}").as_bytes(), *rid))
            .expect("send");
    }
    let mut ids = HashSet::new();
    for _ in 0..PEERS {
        let got = binder.recv().expect("recv");
        let rid = got.routing_id().expect("routing id");
        assert!(ids.insert(rid), "two peers share routing id {rid:?}");
        let mut reply = b"to ".to_vec();
        reply.extend_from_slice(got.as_bytes().strip_prefix(b"from ").expect("from"));
        binder.send(msg(&reply, rid)).expect("reply");
    }
    for (i, (socket, rid)) in connecters.iter().enumerate() {
        let got = socket.recv().expect("recv reply");
        assert_eq!(got.as_bytes(), format!("to {i}").as_bytes());
        assert_eq!(got.routing_id(), Some(*rid));
    }
}

/// Threads borrow one socket (`&Socket`, no clone) to send and receive at once; every message
/// arrives once and comes back once.
#[test]
fn threads_share_a_socket_by_reference() {
    const SENDERS: usize = 2;
    const PER_SENDER: usize = 500;
    const TOTAL: usize = SENDERS * PER_SENDER;
    let ctx = Context::new();
    let binder = peer(&ctx);
    binder.set_rcvtimeo(20).expect("RCVTIMEO");
    binder.bind("tcp://127.0.0.1:*").expect("bind");
    let endpoint = binder.last_endpoint().expect("last_endpoint");
    let connecter = peer(&ctx);
    connecter.set_rcvtimeo(20).expect("RCVTIMEO");
    let to_binder = connecter.connect_peer(&endpoint).expect("connect_peer");

    let (binder, connecter) = (&binder, &connecter);
    let echoed = AtomicUsize::new(0);
    let received = Mutex::new(Vec::new());
    let deadline = Instant::now() + 2 * WAIT;
    thread::scope(|scope| {
        for s in 0..SENDERS {
            scope.spawn(move || {
                for i in 0..PER_SENDER {
                    connecter
                        .send(msg(format!("{s}:{i}").as_bytes(), to_binder))
                        .expect("send");
                }
            });
        }
        for _ in 0..2 {
            scope.spawn(|| {
                while echoed.load(Ordering::SeqCst) < TOTAL {
                    assert!(Instant::now() < deadline, "echoes stalled");
                    match binder.recv() {
                        Ok(m) => {
                            let back = m.routing_id().expect("routing id");
                            binder.send(msg(m.as_bytes(), back)).expect("echo");
                            echoed.fetch_add(1, Ordering::SeqCst);
                        }
                        Err(e) => assert_eq!(e.errno(), errno::EAGAIN, "{e:?}"),
                    }
                }
            });
            scope.spawn(|| {
                loop {
                    if received.lock().expect("lock").len() >= TOTAL {
                        break;
                    }
                    assert!(Instant::now() < deadline, "replies stalled");
                    match connecter.recv() {
                        Ok(m) => {
                            assert_eq!(m.routing_id(), Some(to_binder));
                            received.lock().expect("lock").push(m.into_bytes());
                        }
                        Err(e) => assert_eq!(e.errno(), errno::EAGAIN, "{e:?}"),
                    }
                }
            });
        }
    });
    let received = received.into_inner().expect("lock");
    let unique: HashSet<_> = received.iter().cloned().collect();
    assert_eq!(received.len(), TOTAL);
    assert_eq!(unique.len(), TOTAL, "a message came back twice");
    for s in 0..SENDERS {
        for i in 0..PER_SENDER {
            assert!(
                unique.contains(format!("{s}:{i}").as_bytes()),
                "{s}:{i} lost"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// ipc socket files (PROTOCOL.md §7.2).

fn is_socket_file(path: &Path) -> bool {
    use std::os::unix::fs::FileTypeExt;
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_socket())
}

#[test]
fn ipc_socket_file_lifetime() {
    let ctx = Context::new();
    let dir = tempdir();
    let path = dir.path().join("x");
    let endpoint = format!("ipc://{}", path.display());

    let binder = peer(&ctx);
    binder.bind(&endpoint).expect("bind");
    assert_eq!(binder.last_endpoint().expect("last_endpoint"), endpoint);
    assert!(is_socket_file(&path), "bind creates the socket file");

    // A live listener holds the path: a second bind fails instead of stealing it.
    let thief = peer(&ctx);
    assert_errno(
        thief.bind(&endpoint),
        errno::EADDRINUSE,
        "bind a live ipc path",
    );
    assert!(is_socket_file(&path));
    let connecter = peer(&ctx);
    let to_binder = connecter.connect_peer(&endpoint).expect("connect_peer");
    exchange(&binder, &connecter, to_binder);

    binder.unbind(&endpoint).expect("unbind");
    wait_until(WAIT, "unbind removes the socket file", || !path.exists());

    binder.bind(&endpoint).expect("bind again");
    assert!(is_socket_file(&path));
    drop(binder);
    wait_until(WAIT, "close removes the socket file", || !path.exists());

    // The path is free again for another socket.
    thief.bind(&endpoint).expect("bind after close");
    assert!(is_socket_file(&path));
}

#[test]
fn ipc_wildcard_is_a_real_path_while_bound() {
    let ctx = Context::new();
    let binder = peer(&ctx);
    binder.bind("ipc://*").expect("bind ipc://*");
    let endpoint = binder.last_endpoint().expect("last_endpoint");
    let path = Path::new(endpoint.strip_prefix("ipc://").expect("ipc endpoint")).to_owned();
    assert_ne!(endpoint, "ipc://*");
    assert!(is_socket_file(&path), "{endpoint} is a socket file");

    let connecter = peer(&ctx);
    let to_binder = connecter.connect_peer(&endpoint).expect("connect_peer");
    exchange(&binder, &connecter, to_binder);

    binder.close().expect("close");
    wait_until(WAIT, "close removes the ipc://* socket", || !path.exists());
    let dir = path.parent().expect("private directory");
    wait_until(WAIT, "close removes the ipc://* directory", || {
        !dir.exists()
    });
}
