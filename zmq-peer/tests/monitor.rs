//! Socket monitors (libzmq's `zmq_socket_monitor`, PROTOCOL.md §13) through the facade: the
//! event sequence of a tcp connection on both sides, a disconnect with reconnect when the
//! binder goes away, an untrusted wss certificate reported as a failed handshake (with a TLS
//! reason) and retried, an incompatible socket type reported without retry, unbind reported
//! as `Closed`, and the monitor's end at close. Every wait is bounded.

mod support;

use std::time::{Duration, Instant};

use zmq_peer::{Context, Monitor, MonitorEvent, SocketType, errno};

use support::{WAIT, assert_errno, msg, peer};

/// The next event, waiting at most `WAIT`.
#[track_caller]
fn next(monitor: &Monitor, what: &str) -> MonitorEvent {
    monitor
        .recv_timeout(WAIT)
        .unwrap_or_else(|| panic!("no monitor event within {WAIT:?}: expected {what}"))
}

/// Skips events until one matches `want` (bounded by `WAIT` overall); returns it and the
/// events skipped.
#[track_caller]
fn find(
    monitor: &Monitor,
    what: &str,
    want: impl Fn(&MonitorEvent) -> bool,
) -> (MonitorEvent, Vec<MonitorEvent>) {
    let deadline = Instant::now() + WAIT;
    let mut skipped = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match monitor.recv_timeout(left) {
            Some(event) if want(&event) => return (event, skipped),
            Some(event) => skipped.push(event),
            None => panic!("no {what} within {WAIT:?}; saw {skipped:?}"),
        }
    }
}

#[test]
fn tcp_connection_events_on_both_sides() {
    let ctx = Context::new();
    let binder = peer(&ctx);
    let binder_events = binder.monitor().expect("monitor");
    binder.bind("tcp://127.0.0.1:*").expect("bind");
    let endpoint = binder.last_endpoint().expect("last_endpoint");
    let port = endpoint.rsplit(':').next().expect("port").to_owned();

    let connecter = peer(&ctx);
    let connecter_events = connecter.monitor().expect("monitor");
    // By host name: the monitor shows the endpoint as given and the numeric remote.
    let given = format!("tcp://localhost:{port}");
    let rid = connecter.connect_peer(&given).expect("connect_peer");
    connecter.send(msg(b"hi", rid)).expect("send");
    let got = binder.recv().expect("recv");
    let back = got.routing_id().expect("routing id");

    assert_eq!(
        next(&connecter_events, "Connected"),
        MonitorEvent::Connected {
            endpoint: given.clone(),
            remote: endpoint.clone(),
        }
    );
    assert_eq!(
        next(&connecter_events, "HandshakeSucceeded"),
        MonitorEvent::HandshakeSucceeded {
            endpoint: given,
            routing_id: rid,
        }
    );

    assert_eq!(
        next(&binder_events, "Listening"),
        MonitorEvent::Listening {
            endpoint: endpoint.clone(),
        }
    );
    match next(&binder_events, "Accepted") {
        MonitorEvent::Accepted {
            endpoint: on,
            remote,
        } => {
            assert_eq!(on, endpoint);
            assert!(remote.starts_with("tcp://127.0.0.1:"), "{remote}");
        }
        other => panic!("expected Accepted, got {other:?}"),
    }
    assert_eq!(
        next(&binder_events, "HandshakeSucceeded"),
        MonitorEvent::HandshakeSucceeded {
            endpoint: endpoint.clone(),
            routing_id: back,
        }
    );
    assert_eq!(binder_events.try_recv(), None);
    assert_eq!(binder_events.dropped(), 0);

    // Unbind closes the listener (and the accepted connection: a disconnect on both ends).
    binder.unbind(&endpoint).expect("unbind");
    let (closed, _) = find(&binder_events, "Closed", |e| {
        matches!(e, MonitorEvent::Closed { .. })
    });
    assert_eq!(closed, MonitorEvent::Closed { endpoint });
    find(&binder_events, "Disconnected at the binder", |e| {
        matches!(e, MonitorEvent::Disconnected { routing_id, will_reconnect: false, .. }
            if *routing_id == back)
    });
    find(&connecter_events, "Disconnected at the connecter", |e| {
        matches!(e, MonitorEvent::Disconnected { routing_id, will_reconnect: true, .. }
            if *routing_id == rid)
    });
}

#[test]
fn binder_close_is_a_disconnect_with_reconnect_at_the_connecter() {
    let ctx = Context::new();
    let binder = peer(&ctx);
    let binder_events = binder.monitor().expect("monitor");
    binder.bind("tcp://127.0.0.1:*").expect("bind");
    let endpoint = binder.last_endpoint().expect("last_endpoint");
    let connecter = peer(&ctx);
    let events = connecter.monitor().expect("monitor");
    let rid = connecter.connect_peer(&endpoint).expect("connect_peer");
    connecter.send(msg(b"hi", rid)).expect("send");
    binder.recv().expect("recv");
    find(&events, "HandshakeSucceeded", |e| {
        matches!(e, MonitorEvent::HandshakeSucceeded { .. })
    });

    binder.close().expect("close");
    let (_, skipped) = find(&binder_events, "MonitorStopped", |e| {
        *e == MonitorEvent::MonitorStopped
    });
    assert!(
        skipped.contains(&MonitorEvent::Closed {
            endpoint: endpoint.clone()
        }),
        "{skipped:?}"
    );
    assert!(binder_events.is_stopped());
    assert_eq!(binder_events.recv_timeout(WAIT), None);

    let (disconnected, _) = find(&events, "Disconnected", |e| {
        matches!(e, MonitorEvent::Disconnected { .. })
    });
    match disconnected {
        MonitorEvent::Disconnected {
            endpoint: on,
            routing_id,
            reason,
            will_reconnect,
        } => {
            assert_eq!(on, endpoint);
            assert_eq!(routing_id, rid);
            assert!(will_reconnect);
            assert!(reason.starts_with("I/O error"), "{reason}");
        }
        other => unreachable!("{other:?}"),
    }
    // The reconnect policy runs: attempts against the closed port are refused and retried.
    let (retried, _) = find(&events, "ConnectRetried", |e| {
        matches!(e, MonitorEvent::ConnectRetried { .. })
    });
    match retried {
        MonitorEvent::ConnectRetried {
            endpoint: on,
            interval,
            ..
        } => {
            assert_eq!(on, endpoint);
            // RECONNECT_IVL 100 ms plus a jitter below 100 ms.
            assert!(
                interval >= Duration::from_millis(100) && interval < Duration::from_millis(200),
                "{interval:?}"
            );
        }
        other => unreachable!("{other:?}"),
    }
    // The routing id stays valid across the reconnects.
    connecter
        .try_send(msg(b"queued", rid))
        .expect("queued for the next connection");
}

#[cfg(feature = "wss")]
#[test]
fn untrusted_wss_certificate_is_a_handshake_failure_and_is_retried() {
    let ctx = Context::new();
    let binder = peer(&ctx);
    let cert = support::test_cert();
    binder
        .set_wss_certificate(&cert.cert_pem, &cert.key_pem)
        .expect("WSS certificate");
    let binder_events = binder.monitor().expect("monitor");
    binder.bind("wss://127.0.0.1:*/peer").expect("bind wss");
    let endpoint = binder.last_endpoint().expect("last_endpoint");

    // The client trusts a root that did not issue the server's certificate.
    let stranger = stranger_root();
    let client = peer(&ctx);
    client.set_wss_trust_pem(&stranger).expect("WSS_TRUST_PEM");
    let events = client.monitor().expect("monitor");
    let rid = client.connect_peer(&endpoint).expect("connect_peer");

    let mut failures = 0;
    let mut retries = 0;
    let deadline = Instant::now() + WAIT;
    while failures < 2 || retries < 2 {
        let left = deadline.saturating_duration_since(Instant::now());
        match events.recv_timeout(left) {
            Some(MonitorEvent::Connected { endpoint: on, .. }) => assert_eq!(on, endpoint),
            Some(MonitorEvent::HandshakeFailed {
                endpoint: on,
                reason,
                will_reconnect,
            }) => {
                assert_eq!(on, endpoint);
                assert_eq!(
                    reason, "TLS error: invalid peer certificate: UnknownIssuer",
                    "a clear TLS reason"
                );
                assert!(will_reconnect);
                failures += 1;
            }
            Some(MonitorEvent::ConnectRetried { reason, .. }) => {
                assert!(reason.starts_with("TLS error"), "{reason}");
                retries += 1;
            }
            Some(other) => panic!("unexpected {other:?}"),
            None => panic!("{failures} handshake failures and {retries} retries within {WAIT:?}"),
        }
    }
    // The id stays valid while the connecter keeps trying.
    client
        .try_send(msg(b"queued", rid))
        .expect("queued while retrying");

    // The server sees the refused handshakes too.
    let (failed, _) = find(&binder_events, "HandshakeFailed at the server", |e| {
        matches!(e, MonitorEvent::HandshakeFailed { .. })
    });
    match failed {
        MonitorEvent::HandshakeFailed {
            endpoint: on,
            reason,
            will_reconnect,
        } => {
            assert_eq!(on, endpoint);
            assert!(!will_reconnect);
            assert!(!reason.is_empty());
        }
        other => unreachable!("{other:?}"),
    }
}

/// A CA certificate (PEM) with its own name, which issued nothing the tests use.
#[cfg(feature = "wss")]
fn stranger_root() -> String {
    let key = rcgen::KeyPair::generate().expect("key");
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params.distinguished_name.push(
        rcgen::DnType::CommonName,
        "zmq-peer monitor test stranger CA",
    );
    params.self_signed(&key).expect("self-signed CA").pem()
}

#[test]
fn peer_to_server_is_a_handshake_failure_without_reconnect() {
    let ctx = Context::new();
    let server = ctx.socket(SocketType::Server).expect("SERVER");
    let server_events = server.monitor().expect("monitor");
    server.bind("tcp://127.0.0.1:*").expect("bind");
    let endpoint = server.last_endpoint().expect("last_endpoint");
    let client = peer(&ctx);
    let events = client.monitor().expect("monitor");
    let rid = client.connect_peer(&endpoint).expect("connect_peer");

    assert!(matches!(
        next(&events, "Connected"),
        MonitorEvent::Connected { .. }
    ));
    match next(&events, "HandshakeFailed") {
        MonitorEvent::HandshakeFailed {
            endpoint: on,
            reason,
            will_reconnect,
        } => {
            assert_eq!(on, endpoint);
            assert!(reason.contains("not compatible"), "{reason}");
            assert!(!will_reconnect, "an incompatible peer is not retried");
        }
        other => panic!("expected HandshakeFailed, got {other:?}"),
    }
    // No reconnect: the routing id is gone by the time the event is seen.
    assert_errno(
        client.try_send(msg(b"x", rid)),
        errno::EHOSTUNREACH,
        "the id died with the failed handshake",
    );

    let (failed, skipped) = find(&server_events, "HandshakeFailed at the SERVER", |e| {
        matches!(e, MonitorEvent::HandshakeFailed { .. })
    });
    assert!(
        matches!(
            skipped.as_slice(),
            [
                MonitorEvent::Listening { .. },
                MonitorEvent::Accepted { .. }
            ]
        ),
        "{skipped:?}"
    );
    assert!(
        matches!(&failed, MonitorEvent::HandshakeFailed { reason, will_reconnect: false, .. }
            if reason.contains("not compatible")),
        "{failed:?}"
    );
}

#[test]
fn monitor_of_a_closed_socket_is_refused() {
    let ctx = Context::new();
    let socket = peer(&ctx);
    let clone = socket.clone();
    socket.close().expect("close");
    assert_errno(
        clone.monitor().map(drop),
        errno::ENOTSOCK,
        "monitor after close",
    );
}

#[cfg(feature = "wss")]
#[test]
fn wss_bind_without_certificate_is_einval_with_a_tls_message() {
    let ctx = Context::new();
    let socket = peer(&ctx);
    let err = socket
        .bind("wss://127.0.0.1:*/peer")
        .expect_err("no certificate");
    assert_eq!(err.errno(), errno::EINVAL, "{err:?}");
    assert!(err.to_string().contains("TLS"), "{err}");
    let client = peer(&ctx);
    let err = client
        .connect_peer("wss://127.0.0.1:1/peer")
        .expect_err("no trust");
    assert_eq!(err.errno(), errno::EINVAL, "{err:?}");
}
