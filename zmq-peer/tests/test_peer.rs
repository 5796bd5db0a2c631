//! The libzmq `tests/test_peer.cpp` sequence (PROTOCOL.md §11 / §11.1 A) over every transport,
//! with payload, routing-id, endpoint and metadata checks.

mod support;

use zmq_peer::{Context, Message};

use support::{Transport, WAIT, msg, pair, peer, within};

/// rid1 != 0, 0x01 sent before the handshake, received by the binder with rid2 != 0, and the
/// reply 0x02 arrives at the connecter tagged rid1.
fn test_peer_sequence(transport: Transport) {
    let ctx = Context::new();
    let endpoint = transport.endpoint();
    let binder = transport.peer(&ctx);
    let connecter = transport.peer(&ctx);

    let rid1 = if transport.connect_first() {
        let rid1 = connecter
            .connect_peer(&endpoint.bind)
            .expect("connect_peer before bind");
        assert_eq!(
            connecter.last_endpoint().expect("last_endpoint"),
            endpoint.bind
        );
        connecter
            .send(msg(&[0x01], rid1))
            .expect("send 0x01 before the bind");
        binder.bind(&endpoint.bind).expect("bind");
        assert_eq!(
            binder.last_endpoint().expect("last_endpoint"),
            endpoint.bind
        );
        rid1
    } else {
        binder.bind(&endpoint.bind).expect("bind");
        let resolved = binder.last_endpoint().expect("last_endpoint");
        check_resolved_endpoint(transport, &endpoint.bind, &resolved);
        let rid1 = connecter.connect_peer(&resolved).expect("connect_peer");
        assert_eq!(connecter.last_endpoint().expect("last_endpoint"), resolved);
        connecter
            .send(msg(&[0x01], rid1))
            .expect("send 0x01 (queued before the handshake)");
        rid1
    };
    assert_ne!(rid1.get(), 0);

    let received = binder.recv().expect("binder receives 0x01");
    assert_eq!(received.as_bytes(), &[0x01]);
    assert_eq!(received.len(), 1);
    let rid2 = received
        .routing_id()
        .expect("received message carries a routing id");
    assert_ne!(rid2.get(), 0);
    check_metadata(transport, &received, "received by the binder");

    binder.send(msg(&[0x02], rid2)).expect("send 0x02");
    let reply = connecter.recv().expect("connecter receives 0x02");
    assert_eq!(reply.as_bytes(), &[0x02]);
    assert_eq!(reply.routing_id(), Some(rid1));
    check_metadata(transport, &reply, "received by the connecter");

    binder.close().expect("close binder");
    connecter.close().expect("close connecter");
    within(WAIT, "Context::term", move || ctx.term()).expect("term");
}

/// Messages of many sizes (empty, short/long frame boundary, 64 KiB, 1 MiB) go both ways intact.
fn payload_sizes(transport: Transport) {
    let ctx = Context::new();
    let p = pair(&ctx, transport);
    for (index, size) in [0_usize, 1, 254, 255, 256, 8191, 8192, 65_536, 1 << 20]
        .into_iter()
        .enumerate()
    {
        let body = pattern(size, index);
        p.connecter
            .send(msg(&body, p.to_binder))
            .expect("send to binder");
        let got = p.binder.recv().expect("binder recv");
        assert_eq!(got.len(), size);
        assert!(
            got.as_bytes() == body.as_slice(),
            "payload of {size} octets corrupted (to binder)"
        );
        assert_eq!(got.routing_id(), Some(p.to_connecter));

        p.binder
            .send(msg(&body, p.to_connecter))
            .expect("send to connecter");
        let got = p.connecter.recv().expect("connecter recv");
        assert!(
            got.as_bytes() == body.as_slice(),
            "payload of {size} octets corrupted (to connecter)"
        );
        assert_eq!(got.routing_id(), Some(p.to_binder));
    }
    within(WAIT, "Context drop", move || drop((p, ctx)));
}

/// Two `connect_peer` calls to one endpoint make two connections with distinct ids on both ends.
fn two_connections_to_one_endpoint(transport: Transport) {
    let ctx = Context::new();
    let p = pair(&ctx, transport);
    let second = p
        .connecter
        .connect_peer(&p.endpoint)
        .expect("second connect_peer");
    assert_ne!(
        second, p.to_binder,
        "second connection gets a new routing id"
    );
    p.connecter
        .send(msg(b"second", second))
        .expect("send over the second connection");
    let got = p.binder.recv().expect("binder recv");
    assert_eq!(got.as_bytes(), b"second");
    let second_at_binder = got.routing_id().expect("routing id");
    assert_ne!(
        second_at_binder, p.to_connecter,
        "binder sees two distinct peers"
    );

    p.binder
        .send(msg(b"to-second", second_at_binder))
        .expect("reply over the second connection");
    p.binder
        .send(msg(b"to-first", p.to_connecter))
        .expect("reply over the first connection");
    let mut replies = [
        p.connecter.recv().expect("recv"),
        p.connecter.recv().expect("recv"),
    ];
    replies.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    assert_eq!(replies[0].as_bytes(), b"to-first");
    assert_eq!(replies[0].routing_id(), Some(p.to_binder));
    assert_eq!(replies[1].as_bytes(), b"to-second");
    assert_eq!(replies[1].routing_id(), Some(second));
    within(WAIT, "Context drop", move || drop((p, ctx)));
}

/// Order is kept per connection: 1000 numbered messages arrive in order.
fn ordering(transport: Transport) {
    let ctx = Context::new();
    let p = pair(&ctx, transport);
    for i in 0_u32..1000 {
        p.connecter
            .send(msg(&i.to_be_bytes(), p.to_binder))
            .expect("send");
    }
    for i in 0_u32..1000 {
        let got = p.binder.recv().expect("recv");
        assert_eq!(got.as_bytes(), i.to_be_bytes(), "message {i} out of order");
    }
    within(WAIT, "Context drop", move || drop((p, ctx)));
}

mod sequence {
    crate::support::transport_suite!(super::test_peer_sequence);
}

mod sizes {
    crate::support::transport_suite!(super::payload_sizes);
}

mod two_connections {
    crate::support::transport_suite!(super::two_connections_to_one_endpoint);
}

mod order {
    crate::support::transport_suite!(super::ordering);
}

fn check_resolved_endpoint(transport: Transport, bound: &str, resolved: &str) {
    match transport {
        Transport::Tcp => {
            let port = resolved
                .strip_prefix("tcp://127.0.0.1:")
                .unwrap_or_else(|| panic!("unexpected tcp last_endpoint {resolved}"));
            let port: u16 = port.parse().expect("numeric port");
            assert_ne!(port, 0);
        }
        #[cfg(feature = "ws")]
        Transport::Ws => {
            let port = resolved
                .strip_prefix("ws://127.0.0.1:")
                .and_then(|rest| rest.strip_suffix("/peer"))
                .unwrap_or_else(|| panic!("unexpected ws last_endpoint {resolved}"));
            let port: u16 = port.parse().expect("numeric port");
            assert_ne!(port, 0);
        }
        #[cfg(feature = "wss")]
        Transport::Wss => {
            let port = resolved
                .strip_prefix("wss://127.0.0.1:")
                .and_then(|rest| rest.strip_suffix("/peer"))
                .unwrap_or_else(|| panic!("unexpected wss last_endpoint {resolved}"));
            let port: u16 = port.parse().expect("numeric port");
            assert_ne!(port, 0);
        }
        _ => assert_eq!(resolved, bound, "last_endpoint is the endpoint as given"),
    }
}

fn check_metadata(transport: Transport, message: &Message, side: &str) {
    if transport.has_metadata() {
        assert_eq!(message.gets("Socket-Type"), Some("PEER"), "{side}");
        if transport.is_tcp_based() {
            assert_eq!(message.gets("Peer-Address"), Some("127.0.0.1"), "{side}");
        }
    } else {
        assert_eq!(
            message.gets("Socket-Type"),
            None,
            "inproc messages carry no metadata"
        );
    }
}

/// `size` octets whose content depends on `seed` (so a mix-up between messages shows).
fn pattern(size: usize, seed: usize) -> Vec<u8> {
    (0..size)
        .map(|i| u8::try_from((i * 7 + seed * 13) % 251).expect("< 251"))
        .collect()
}

/// `Peer-Address` is the peer's numeric IP on both ends (libzmq takes it from `getpeername`),
/// also when the connecter named the host by a DNS name.
#[test]
fn peer_address_is_numeric_for_a_host_name() {
    let ctx = Context::new();
    let binder = peer(&ctx);
    binder.bind("tcp://127.0.0.1:*").expect("bind");
    let resolved = binder.last_endpoint().expect("last_endpoint");
    let port = resolved.rsplit(':').next().expect("port");
    let connecter = peer(&ctx);
    let rid = connecter
        .connect_peer(&format!("tcp://localhost:{port}"))
        .expect("connect_peer by host name");
    connecter.send(msg(b"hi", rid)).expect("send");
    let got = binder.recv().expect("recv");
    assert_eq!(got.gets("Peer-Address"), Some("127.0.0.1"), "at the binder");
    let back = got.routing_id().expect("routing id");
    binder.send(msg(b"ho", back)).expect("reply");
    let reply = connecter.recv().expect("recv");
    assert_eq!(
        reply.gets("Peer-Address"),
        Some("127.0.0.1"),
        "at the connecter"
    );
}
