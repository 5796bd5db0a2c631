//! LINGER on close (PROTOCOL.md §9.7): messages queued to a peer that is not there yet are
//! delivered after `close` when LINGER is -1 or positive and the peer binds within the window;
//! LINGER 0 discards them. Each case runs over every transport (inproc only connect-first: a peer
//! that is not there yet is not bound yet).

mod support;

use std::thread;

use zmq_peer::{Context, errno};

use support::{Transport, WAIT, assert_errno, msg, pair_in, peer, within};

/// Queues three messages to an endpoint of `transport` (nobody there), closes with `linger`,
/// then binds a receiver and returns how many of the three it got.
fn queued_then_closed(transport: Transport, linger: i32) -> usize {
    let absent = transport.unbound_endpoint();
    let endpoint = absent.bind.as_str();
    let ctx = Context::new();
    let sender = transport.peer(&ctx);
    sender.set_linger(linger).expect("LINGER");
    assert_eq!(sender.linger().expect("LINGER"), linger);
    let rid = sender.connect_peer(endpoint).expect("connect_peer");
    for i in 0_u8..3 {
        sender.send(msg(&[b'm', i], rid)).expect("send (queued)");
    }
    // `close` may block until the linger is over; run it aside. With LINGER 0 it must return
    // at once, and it must be over before the receiver appears.
    let mut closer = Some(thread::spawn(move || sender.close()));
    if linger == 0 {
        let handle = closer.take().expect("closer");
        within(WAIT, "close with LINGER 0", move || {
            handle.join().expect("closer")
        })
        .expect("close");
    }

    let receiver = transport.peer(&ctx);
    receiver
        .bind(endpoint)
        .expect("bind after the sender closed");
    let mut got = 0;
    if linger == 0 {
        receiver.set_rcvtimeo(300).expect("RCVTIMEO");
    }
    while got < 3 {
        match receiver.recv() {
            Ok(message) => {
                assert_eq!(message.as_bytes(), [b'm', u8::try_from(got).expect("< 3")]);
                got += 1;
            }
            Err(error) if error.errno() == errno::EAGAIN => break,
            Err(error) => panic!("recv: {error:?}"),
        }
    }
    if let Some(handle) = closer {
        within(WAIT, "close with linger", move || {
            handle.join().expect("closer")
        })
        .expect("close");
    }
    drop(receiver);
    within(WAIT, "Context::term", move || ctx.term()).expect("term");
    got
}

fn linger_forever_delivers(transport: Transport) {
    assert_eq!(queued_then_closed(transport, -1), 3);
}

mod linger_forever {
    crate::support::unbound_peer_suite!(super::linger_forever_delivers);
}

fn positive_linger_delivers_within_the_window(transport: Transport) {
    assert_eq!(queued_then_closed(transport, 5000), 3);
}

mod positive_linger {
    crate::support::unbound_peer_suite!(super::positive_linger_delivers_within_the_window);
}

fn zero_linger_discards(transport: Transport) {
    assert_eq!(queued_then_closed(transport, 0), 0);
}

mod zero_linger {
    crate::support::unbound_peer_suite!(super::zero_linger_discards);
}

/// The bind side replies and closes at once (as `zpeer echo --count` does): with the default
/// LINGER the replies still reach the connecter, also after the binder's context terminated.
fn close_flushes_replies(transport: Transport) {
    let connecter_ctx = Context::new();
    let separate = transport.has_metadata();
    let binder_ctx = if separate {
        Context::new()
    } else {
        connecter_ctx.clone()
    };
    let p = pair_in(&binder_ctx, &connecter_ctx, transport);
    for i in 0_u32..100 {
        p.binder
            .send(msg(&i.to_be_bytes(), p.to_connecter))
            .expect("reply");
    }
    let support::Pair {
        binder,
        connecter,
        to_binder,
        ..
    } = p;
    binder.close().expect("close right after sending");
    if separate {
        within(WAIT, "binder Context::term", move || binder_ctx.term()).expect("term");
    }
    for i in 0_u32..100 {
        let got = connecter
            .recv()
            .unwrap_or_else(|e| panic!("reply {i} lost: {e:?}"));
        assert_eq!(got.as_bytes(), i.to_be_bytes());
        assert_eq!(got.routing_id(), Some(to_binder));
    }
}

mod close_flushes {
    crate::support::transport_suite!(super::close_flushes_replies);
}

#[test]
fn linger_option_validation() {
    let ctx = Context::new();
    let socket = peer(&ctx);
    assert_eq!(socket.linger().expect("LINGER"), -1, "default");
    socket.set_linger(0).expect("0");
    socket.set_linger(1500).expect("1500");
    assert_eq!(socket.linger().expect("LINGER"), 1500);
    assert_errno(socket.set_linger(-2), errno::EINVAL, "LINGER -2");
}

#[test]
fn term_waits_for_queued_messages_then_returns() {
    // A connected pair: close the sender right after a burst, then term; everything arrives.
    let ctx = Context::new();
    let receiver_ctx = Context::new();
    let receiver = peer(&receiver_ctx);
    receiver.bind("tcp://127.0.0.1:*").expect("bind");
    let endpoint = receiver.last_endpoint().expect("last_endpoint");
    let sender = peer(&ctx);
    let rid = sender.connect_peer(&endpoint).expect("connect_peer");
    for i in 0_u32..2000 {
        sender.send(msg(&i.to_be_bytes(), rid)).expect("send");
    }
    sender.close().expect("close");
    within(WAIT, "Context::term flushing 2000 messages", move || {
        ctx.term()
    })
    .expect("term");
    for i in 0_u32..2000 {
        assert_eq!(receiver.recv().expect("recv").as_bytes(), i.to_be_bytes());
    }
}
