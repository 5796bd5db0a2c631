//! `Poller` and `Socket::events` on PEER sockets (PROTOCOL.md §14.2, §11.1 N): POLLIN when a
//! message waits, POLLOUT always, expiry is `EAGAIN`, registration errors.

mod support;

use std::thread;
use std::time::Duration;

use zmq_peer::{Context, PollEvent, PollEvents, Poller, errno};

use support::{Transport, WAIT, assert_errno, msg, pair, peer, within};

fn pollout_always_pollin_when_a_message_waits(transport: Transport) {
    let ctx = Context::new();
    let p = pair(&ctx, transport);
    let mut poller = Poller::new();
    poller
        .add(&p.binder, 7, PollEvents::POLLIN | PollEvents::POLLOUT)
        .expect("add");

    // Idle: only POLLOUT (PEER is always writable as far as the poller can tell).
    let events = poller
        .wait(Some(Duration::ZERO))
        .expect("POLLOUT is ready at once");
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].token, 7);
    assert!(events[0].events.contains(PollEvents::POLLOUT));
    assert!(!events[0].events.contains(PollEvents::POLLIN));

    p.connecter.send(msg(b"wake", p.to_binder)).expect("send");
    poller
        .modify(&p.binder, PollEvents::POLLIN)
        .expect("modify to POLLIN only");
    let (mut poller, events) = woken_wait(poller, "POLLIN for an arriving message");
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].token, 7);
    assert!(events[0].events.contains(PollEvents::POLLIN));
    assert!(p.binder.events().contains(PollEvents::POLLIN));
    assert!(p.binder.events().contains(PollEvents::POLLOUT));
    assert_eq!(
        p.binder
            .try_recv()
            .expect("the message is there")
            .as_bytes(),
        b"wake"
    );

    // Consumed: POLLIN is gone (level-triggered) and the wait expires with EAGAIN.
    assert!(!p.binder.events().contains(PollEvents::POLLIN));
    assert_errno(
        poller.wait(Some(Duration::from_millis(50))),
        errno::EAGAIN,
        "expired wait",
    );
}

mod pollin_pollout {
    crate::support::transport_suite!(super::pollout_always_pollin_when_a_message_waits);
}

#[test]
fn poller_wakes_a_blocked_wait() {
    let ctx = Context::new();
    let p = pair(&ctx, Transport::InprocBindFirst);
    let mut poller = Poller::new();
    poller.add(&p.binder, 1, PollEvents::POLLIN).expect("add");
    let sender = p.connecter.clone();
    let rid = p.to_binder;
    let delayed = thread::spawn(move || {
        thread::sleep(Duration::from_millis(50));
        sender.send(msg(b"late", rid)).expect("send");
    });
    let (_poller, events) = woken_wait(poller, "wake-up by a message sent during the wait");
    assert_eq!(events.len(), 1);
    assert!(events[0].events.contains(PollEvents::POLLIN));
    delayed.join().expect("sender");
}

#[test]
fn several_sockets_report_their_own_tokens() {
    let ctx = Context::new();
    let a = pair(&ctx, Transport::InprocBindFirst);
    let b = pair(&ctx, Transport::Tcp);
    let mut poller = Poller::new();
    poller
        .add(&a.binder, 100, PollEvents::POLLIN)
        .expect("add a");
    poller
        .add(&b.binder, 200, PollEvents::POLLIN)
        .expect("add b");
    b.connecter.send(msg(b"b", b.to_binder)).expect("send");
    let (mut poller, events) = woken_wait(poller, "POLLIN on b");
    let tokens: Vec<usize> = events.iter().map(|e| e.token).collect();
    assert_eq!(tokens, [200]);

    poller.remove(&b.binder).expect("remove b");
    assert_errno(
        poller.wait(Some(Duration::from_millis(20))),
        errno::EAGAIN,
        "b removed",
    );
    assert_errno(poller.remove(&b.binder), errno::EINVAL, "remove twice");
}

#[test]
fn registration_errors() {
    let ctx = Context::new();
    let socket = peer(&ctx);
    let mut poller = Poller::new();
    poller.add(&socket, 1, PollEvents::POLLIN).expect("add");
    assert_errno(
        poller.add(&socket, 2, PollEvents::POLLIN),
        errno::EINVAL,
        "add twice",
    );
    let other = peer(&ctx);
    assert_errno(
        poller.modify(&other, PollEvents::POLLIN),
        errno::EINVAL,
        "modify unknown",
    );

    // Waiting forever on an empty poller would never return: libzmq says EFAULT.
    let mut empty = Poller::new();
    assert_errno(
        empty.wait(None),
        errno::EFAULT,
        "empty poller, infinite wait",
    );
}

/// Waits with a long timeout (60 s) and fails the test unless the wait is woken by an event
/// within `WAIT`: an arriving message must wake the poller, not the expiry of its timeout.
fn woken_wait(mut poller: Poller, what: &str) -> (Poller, Vec<PollEvent>) {
    within(WAIT, what, move || {
        let events = poller
            .wait(Some(Duration::from_secs(60)))
            .expect("poller wait");
        (poller, events)
    })
}
