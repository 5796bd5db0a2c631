//! LINGER on close (PROTOCOL.md §9.7): messages queued to a peer that is not there yet are
//! delivered after `close` when LINGER is -1 or positive and the peer binds within the window;
//! LINGER 0 discards them.

mod support;

use std::thread;

use zmq_peer::{Context, errno};

use support::{WAIT, assert_errno, msg, peer, tempdir, unique_name, unused_tcp_endpoint, within};

/// Queues three messages to `endpoint` (nobody there), closes with `linger`, then binds a
/// receiver and returns how many of the three it got.
fn queued_then_closed(endpoint: &str, linger: i32) -> usize {
    let ctx = Context::new();
    let sender = peer(&ctx);
    sender.set_linger(linger).expect("LINGER");
    assert_eq!(sender.linger().expect("LINGER"), linger);
    let rid = sender.connect_peer(endpoint).expect("connect_peer");
    for i in 0_u8..3 {
        sender.send(msg(&[b'm', i], rid)).expect("send (queued)");
    }
    // `close` may block until the linger is over; run it aside.
    let closer = thread::spawn(move || sender.close());

    let receiver = peer(&ctx);
    receiver.bind(endpoint).expect("bind after the sender closed");
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
    within(WAIT, "close with linger", move || closer.join().expect("closer")).expect("close");
    drop(receiver);
    within(WAIT, "Context::term", move || ctx.term()).expect("term");
    got
}

#[test]
fn linger_forever_delivers_tcp() {
    assert_eq!(queued_then_closed(&unused_tcp_endpoint(), -1), 3);
}

#[test]
fn linger_forever_delivers_ipc() {
    let dir = tempdir();
    assert_eq!(queued_then_closed(&support::ipc_endpoint(dir.path(), "l"), -1), 3);
}

#[test]
fn linger_forever_delivers_inproc() {
    assert_eq!(queued_then_closed(&format!("inproc://{}", unique_name("linger")), -1), 3);
}

#[test]
fn positive_linger_delivers_within_the_window_tcp() {
    assert_eq!(queued_then_closed(&unused_tcp_endpoint(), 5000), 3);
}

#[test]
fn positive_linger_delivers_within_the_window_inproc() {
    assert_eq!(queued_then_closed(&format!("inproc://{}", unique_name("linger")), 5000), 3);
}

#[test]
fn zero_linger_discards_tcp() {
    assert_eq!(queued_then_closed(&unused_tcp_endpoint(), 0), 0);
}

#[test]
fn zero_linger_discards_inproc() {
    assert_eq!(queued_then_closed(&format!("inproc://{}", unique_name("linger")), 0), 0);
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
    within(WAIT, "Context::term flushing 2000 messages", move || ctx.term()).expect("term");
    for i in 0_u32..2000 {
        assert_eq!(receiver.recv().expect("recv").as_bytes(), i.to_be_bytes());
    }
}
