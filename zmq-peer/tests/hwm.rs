//! Send high-water mark (PROTOCOL.md §9.6, §11.1 F): with SNDHWM = 5 and nobody listening, exactly
//! five non-blocking sends are queued, the sixth is `EAGAIN`; a blocking send gives up after
//! SNDTIMEO with `EAGAIN`; once a peer appears the queued five are delivered. Runs over every
//! transport (inproc only connect-first: a peer that is not there yet is not bound yet).

mod support;

use std::time::{Duration, Instant};

use zmq_peer::{Context, errno};

use support::{Transport, assert_errno, msg, pair, peer, unused_tcp_endpoint};

fn hwm_to_absent_peer(transport: Transport) {
    let absent = transport.unbound_endpoint();
    let endpoint = absent.bind.as_str();
    let ctx = Context::new();
    let sender = transport.peer(&ctx);
    sender.set_sndhwm(5).expect("SNDHWM");
    assert_eq!(sender.sndhwm().expect("SNDHWM"), 5);
    let rid = sender
        .connect_peer(endpoint)
        .expect("connect_peer to an absent peer");
    for i in 0_u8..5 {
        sender
            .try_send(msg(&[i], rid))
            .unwrap_or_else(|e| panic!("try_send {i}: {e:?}"));
    }
    assert_errno(
        sender.try_send(msg(&[5], rid)),
        errno::EAGAIN,
        "6th try_send",
    );

    sender.set_sndtimeo(100).expect("SNDTIMEO");
    let started = Instant::now();
    assert_errno(
        sender.send(msg(&[6], rid)),
        errno::EAGAIN,
        "blocking send with SNDTIMEO 100",
    );
    let waited = started.elapsed();
    // Lower bound only: the call must have waited for (about) the timeout.
    assert!(
        waited >= Duration::from_millis(90),
        "returned after {waited:?}"
    );

    sender.set_sndtimeo(0).expect("SNDTIMEO 0");
    assert_errno(
        sender.send(msg(&[7], rid)),
        errno::EAGAIN,
        "send with SNDTIMEO 0",
    );

    // When the peer shows up, exactly the five queued messages arrive, in order.
    let receiver = transport.peer(&ctx);
    receiver.bind(endpoint).expect("bind the missing peer");
    for i in 0_u8..5 {
        let got = receiver
            .recv()
            .unwrap_or_else(|e| panic!("recv {i}: {e:?}"));
        assert_eq!(got.as_bytes(), [i]);
    }
    receiver.set_rcvtimeo(200).expect("RCVTIMEO");
    assert_errno(
        receiver.recv(),
        errno::EAGAIN,
        "nothing beyond the five queued messages",
    );

    // With the connection up, the queue drains and sending works again.
    sender.set_sndtimeo(support::WAIT_MS).expect("SNDTIMEO");
    sender
        .send(msg(b"after", rid))
        .expect("send once the peer is there");
    receiver.set_rcvtimeo(support::WAIT_MS).expect("RCVTIMEO");
    assert_eq!(receiver.recv().expect("recv").as_bytes(), b"after");
}

mod absent_peer {
    crate::support::unbound_peer_suite!(super::hwm_to_absent_peer);
}

/// Back-pressure over a live connection: with small HWMs on both sides and a receiver that
/// does not read, `try_send` ends in `EAGAIN` after a bounded number of messages (at least
/// SNDHWM); nothing accepted is dropped: the receiver then gets exactly those, in order.
fn backpressure_drops_nothing(transport: Transport) {
    let ctx = Context::new();
    let p = pair(&ctx, transport);
    for socket in [&p.binder, &p.connecter] {
        socket.set_sndhwm(10).expect("SNDHWM");
        socket.set_rcvhwm(10).expect("RCVHWM");
    }
    // HWMs apply per connection when it is made: connect a second time with the new values.
    let rid = p
        .connecter
        .connect_peer(&p.endpoint)
        .expect("connect_peer with small HWMs");
    let body = vec![0x42_u8; 64 * 1024];
    let mut accepted = 0_u32;
    loop {
        let mut message = body.clone();
        message[..4].copy_from_slice(&accepted.to_be_bytes());
        match p.connecter.try_send(msg(&message, rid)) {
            Ok(()) => accepted += 1,
            Err(error) if error.errno() == errno::EAGAIN => break,
            Err(error) => panic!("try_send: {error:?}"),
        }
        assert!(
            accepted < 100_000,
            "no back-pressure: 100000 messages of 64 KiB accepted"
        );
    }
    assert!(
        accepted >= 10,
        "only {accepted} messages before EAGAIN (SNDHWM is 10)"
    );

    let mut at_binder = None;
    for i in 0..accepted {
        let got = p
            .binder
            .recv()
            .unwrap_or_else(|e| panic!("message {i} of {accepted}: {e:?}"));
        assert_eq!(got.len(), body.len());
        assert_eq!(
            got.as_bytes()[..4],
            i.to_be_bytes(),
            "message {i} lost or reordered"
        );
        let id = got.routing_id().expect("routing id");
        assert_eq!(
            *at_binder.get_or_insert(id),
            id,
            "all over the second connection"
        );
    }
    p.binder.set_rcvtimeo(100).expect("RCVTIMEO");
    assert_errno(
        p.binder.recv(),
        errno::EAGAIN,
        "nothing beyond what was accepted",
    );
    p.connecter
        .send(msg(b"after", rid))
        .expect("sending works again once drained");
    p.binder.set_rcvtimeo(support::WAIT_MS).expect("RCVTIMEO");
    assert_eq!(p.binder.recv().expect("recv").as_bytes(), b"after");
}

mod backpressure {
    crate::support::transport_suite!(super::backpressure_drops_nothing);
}

#[test]
fn sndhwm_zero_is_unlimited() {
    let ctx = Context::new();
    let sender = peer(&ctx);
    sender.set_sndhwm(0).expect("SNDHWM 0");
    let rid = sender
        .connect_peer(&unused_tcp_endpoint())
        .expect("connect_peer");
    for i in 0_u32..5000 {
        sender
            .try_send(msg(&i.to_be_bytes(), rid))
            .unwrap_or_else(|e| panic!("try_send {i}: {e:?}"));
    }
    sender.set_linger(0).expect("LINGER 0");
}

#[test]
fn invalid_hwm_values_are_einval() {
    let ctx = Context::new();
    let socket = peer(&ctx);
    assert_errno(socket.set_sndhwm(-1), errno::EINVAL, "SNDHWM -1");
    assert_errno(socket.set_rcvhwm(-1), errno::EINVAL, "RCVHWM -1");
    assert_eq!(socket.sndhwm().expect("SNDHWM"), 1000);
    assert_eq!(socket.rcvhwm().expect("RCVHWM"), 1000);
}
