//! Unit tests of the socket core (inproc only: no I/O thread needed).

use std::collections::HashSet;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use super::allocate_id;
use crate::options::number;
use crate::{ContextCore, Error, Message, PollEvents, RoutingId, Socket, SocketType};

const LONG: Duration = Duration::from_secs(10);

fn pair(ctx: &Arc<ContextCore>, name: &str) -> (Socket, Socket, RoutingId) {
    let binder = ctx.socket(SocketType::Peer).unwrap();
    binder.bind(name).unwrap();
    let connecter = ctx.socket(SocketType::Peer).unwrap();
    let id = connecter.connect_peer(name).unwrap();
    (binder, connecter, id)
}

fn set_timeouts(s: &Socket) {
    let ms = i32::try_from(LONG.as_millis()).unwrap();
    s.set_option_int(number::RCVTIMEO, ms).unwrap();
    s.set_option_int(number::SNDTIMEO, ms).unwrap();
}

#[test]
fn allocation_is_sequential_non_zero_and_skips_used_ids() {
    let mut next = u32::MAX - 1;
    let used: HashSet<u32> = [1].into_iter().collect();
    let ids: Vec<u32> = (0..3)
        .map(|_| allocate_id(&mut next, |id| used.contains(&id)))
        .collect();
    // MAX-1, MAX, then 0 is skipped (never valid) and 1 is still in use.
    assert_eq!(ids, [u32::MAX - 1, u32::MAX, 2]);
    assert_eq!(next, 3);
}

#[test]
fn routing_ids_are_distinct_per_socket() {
    let ctx = ContextCore::new(0);
    let binder = ctx.socket(SocketType::Peer).unwrap();
    binder.bind("inproc://ids").unwrap();
    let connecter = ctx.socket(SocketType::Peer).unwrap();
    let ids: HashSet<RoutingId> = (0..50)
        .map(|_| connecter.connect_peer("inproc://ids").unwrap())
        .collect();
    assert_eq!(ids.len(), 50);
}

#[test]
fn inproc_bind_first_round_trip() {
    let ctx = ContextCore::new(0);
    let (binder, connecter, id) = pair(&ctx, "inproc://bind-first");
    set_timeouts(&binder);
    set_timeouts(&connecter);
    connecter
        .send(Message::with_routing_id(&[1u8][..], id))
        .unwrap();
    let m = binder.recv().unwrap();
    assert_eq!(m.as_bytes(), [1]);
    assert_eq!(
        m.gets("Socket-Type"),
        None,
        "inproc messages carry no metadata"
    );
    let back = m.routing_id().unwrap();
    binder
        .send(Message::with_routing_id(&[2u8][..], back))
        .unwrap();
    let r = connecter.recv().unwrap();
    assert_eq!(r.as_bytes(), [2]);
    assert_eq!(r.routing_id(), Some(id));
    assert_eq!(connecter.last_endpoint().unwrap(), "inproc://bind-first");
    assert_eq!(binder.last_endpoint().unwrap(), "inproc://bind-first");
}

#[test]
fn inproc_connect_first_queues_until_bind() {
    let ctx = ContextCore::new(0);
    let connecter = ctx.socket(SocketType::Peer).unwrap();
    set_timeouts(&connecter);
    let id = connecter.connect_peer("inproc://connect-first").unwrap();
    connecter
        .send(Message::with_routing_id("early", id))
        .unwrap();
    let binder = ctx.socket(SocketType::Peer).unwrap();
    set_timeouts(&binder);
    binder.bind("inproc://connect-first").unwrap();
    let m = binder.recv().unwrap();
    assert_eq!(m.as_bytes(), b"early");
    binder
        .send(Message::with_routing_id("late", m.routing_id().unwrap()))
        .unwrap();
    let r = connecter.recv().unwrap();
    assert_eq!((r.as_bytes(), r.routing_id()), (&b"late"[..], Some(id)));
}

#[test]
fn sends_without_or_with_unknown_id_are_unreachable() {
    let ctx = ContextCore::new(0);
    let (_binder, connecter, id) = pair(&ctx, "inproc://unreachable");
    assert!(matches!(
        connecter.send(Message::from("x")),
        Err(Error::HostUnreachable)
    ));
    let unknown = RoutingId::new(id.get().wrapping_add(1000).max(1)).unwrap();
    assert!(matches!(
        connecter.send(Message::with_routing_id("x", unknown)),
        Err(Error::HostUnreachable)
    ));
    assert!(matches!(
        connecter.send_more(Message::with_routing_id("x", id)),
        Err(Error::InvalidArgument(_))
    ));
}

#[test]
fn connect_peer_errors() {
    let ctx = ContextCore::new(1);
    let server = ctx.socket(SocketType::Server).unwrap();
    assert!(matches!(
        server.connect_peer("inproc://x"),
        Err(Error::NotSupported)
    ));
    let peer = ctx.socket(SocketType::Peer).unwrap();
    assert!(matches!(
        peer.connect_peer("udp://127.0.0.1:5555"),
        Err(Error::IncompatibleTransport(_))
    ));
    assert!(matches!(
        peer.connect_peer("pgm://eth0;239.1.1.1:5555"),
        Err(Error::UnsupportedTransport(_))
    ));
    assert!(matches!(
        peer.connect_peer("foo://x"),
        Err(Error::UnsupportedTransport(_))
    ));
    assert!(matches!(
        peer.connect_peer("tcp://127.0.0.1"),
        Err(Error::InvalidEndpoint(_))
    ));
    assert!(matches!(
        peer.connect_peer("no-scheme"),
        Err(Error::InvalidEndpoint(_))
    ));
    assert!(matches!(
        peer.connect_peer("tcp://*:5555"),
        Err(Error::InvalidEndpoint(_))
    ));
    let long = format!("ipc:///tmp/{}", "x".repeat(200));
    assert!(matches!(peer.connect_peer(&long), Err(Error::NameTooLong)));
    peer.set_option_int(number::IMMEDIATE, 1).unwrap();
    assert!(matches!(
        peer.connect_peer("inproc://x"),
        Err(Error::ImmediateSet)
    ));
    // plain connect ignores IMMEDIATE.
    peer.connect("inproc://x").unwrap();
    ctx.shutdown();
    assert!(matches!(
        peer.connect_peer("inproc://x"),
        Err(Error::ContextTerminated)
    ));
}

#[test]
fn hwm_refuses_then_times_out_before_bind() {
    let ctx = ContextCore::new(0);
    let s = ctx.socket(SocketType::Peer).unwrap();
    s.set_option_int(number::SNDHWM, 5).unwrap();
    let id = s.connect_peer("inproc://nobody").unwrap();
    for i in 0..5u8 {
        s.try_send(Message::with_routing_id(vec![i], id)).unwrap();
    }
    assert!(matches!(
        s.try_send(Message::with_routing_id("x", id)),
        Err(Error::WouldBlock)
    ));
    s.set_option_int(number::SNDTIMEO, 50).unwrap();
    assert!(matches!(
        s.send(Message::with_routing_id("x", id)),
        Err(Error::WouldBlock)
    ));
    s.set_option_int(number::SNDTIMEO, 0).unwrap();
    assert!(matches!(
        s.send(Message::with_routing_id("x", id)),
        Err(Error::WouldBlock)
    ));
}

#[test]
fn blocked_send_resumes_when_the_reader_drains() {
    let ctx = ContextCore::new(0);
    let binder = ctx.socket(SocketType::Peer).unwrap();
    binder.set_option_int(number::RCVHWM, 1).unwrap();
    set_timeouts(&binder);
    binder.bind("inproc://drain").unwrap();
    let connecter = ctx.socket(SocketType::Peer).unwrap();
    connecter.set_option_int(number::SNDHWM, 1).unwrap();
    set_timeouts(&connecter);
    let id = connecter.connect_peer("inproc://drain").unwrap();
    // Pipe HWM = 1 + 1: two messages fit, the third blocks until the binder reads.
    let sender = thread::spawn(move || {
        for i in 0..20u8 {
            connecter
                .send(Message::with_routing_id(vec![i], id))
                .unwrap();
        }
        connecter
    });
    for i in 0..20u8 {
        assert_eq!(binder.recv().unwrap().as_bytes(), [i]);
    }
    let _connecter = sender.join().unwrap();
}

#[test]
fn recv_times_out_and_try_recv_would_block() {
    let ctx = ContextCore::new(0);
    let s = ctx.socket(SocketType::Peer).unwrap();
    assert!(matches!(s.try_recv(), Err(Error::WouldBlock)));
    s.set_option_int(number::RCVTIMEO, 20).unwrap();
    assert!(matches!(s.recv(), Err(Error::WouldBlock)));
}

#[test]
fn shutdown_wakes_blocked_recv_and_send() {
    let ctx = ContextCore::new(0);
    let s = ctx.socket(SocketType::Peer).unwrap();
    s.set_option_int(number::SNDHWM, 1).unwrap();
    let id = s.connect_peer("inproc://never-bound").unwrap();
    s.send(Message::with_routing_id("fill", id)).unwrap();
    let (r, w) = (s.clone(), s);
    let receiver = thread::spawn(move || r.recv().map(|_| ()));
    let sender = thread::spawn(move || w.send(Message::with_routing_id("blocked", id)));
    ctx.shutdown();
    assert!(matches!(
        receiver.join().unwrap(),
        Err(Error::ContextTerminated)
    ));
    assert!(matches!(
        sender.join().unwrap(),
        Err(Error::ContextTerminated)
    ));
    ctx.terminate();
}

#[test]
fn close_is_seen_by_every_clone() {
    let ctx = ContextCore::new(0);
    let s = ctx.socket(SocketType::Peer).unwrap();
    let other = s.clone();
    let blocked = s.clone();
    let receiver = thread::spawn(move || blocked.recv().map(|_| ()));
    s.close().unwrap();
    assert!(matches!(receiver.join().unwrap(), Err(Error::SocketClosed)));
    assert!(matches!(other.try_recv(), Err(Error::SocketClosed)));
    assert!(matches!(
        other.connect_peer("inproc://x"),
        Err(Error::SocketClosed)
    ));
    assert!(matches!(other.close(), Err(Error::SocketClosed)));
    assert!(other.is_closed());
}

#[test]
fn a_closed_peer_is_unreachable_but_its_messages_stay_readable() {
    let ctx = ContextCore::new(0);
    let (binder, connecter, id) = pair(&ctx, "inproc://gone");
    set_timeouts(&binder);
    connecter
        .send(Message::with_routing_id("last words", id))
        .unwrap();
    connecter.close().unwrap();
    let m = binder.recv().unwrap();
    assert_eq!(m.as_bytes(), b"last words");
    let back = m.routing_id().unwrap();
    // The pipe to the closed socket is gone: EHOSTUNREACH (never blocks, never drops silently).
    assert!(matches!(
        binder.try_send(Message::with_routing_id("?", back)),
        Err(Error::HostUnreachable)
    ));
    assert!(matches!(
        binder.send(Message::with_routing_id("?", back)),
        Err(Error::HostUnreachable)
    ));
}

#[test]
fn recv_is_fair_queued_across_peers() {
    let ctx = ContextCore::new(0);
    let binder = ctx.socket(SocketType::Peer).unwrap();
    binder.bind("inproc://fair").unwrap();
    let a = ctx.socket(SocketType::Peer).unwrap();
    let b = ctx.socket(SocketType::Peer).unwrap();
    let ia = a.connect_peer("inproc://fair").unwrap();
    let ib = b.connect_peer("inproc://fair").unwrap();
    for _ in 0..3 {
        a.send(Message::with_routing_id("a", ia)).unwrap();
    }
    for _ in 0..3 {
        b.send(Message::with_routing_id("b", ib)).unwrap();
    }
    let got: Vec<u8> = (0..6)
        .map(|_| binder.try_recv().unwrap().as_bytes()[0])
        .collect();
    assert_eq!(got, b"ababab");
    assert!(matches!(binder.try_recv(), Err(Error::WouldBlock)));
}

#[test]
fn inproc_names_bind_once_and_unbind() {
    let ctx = ContextCore::new(0);
    let a = ctx.socket(SocketType::Peer).unwrap();
    let b = ctx.socket(SocketType::Peer).unwrap();
    a.bind("inproc://name").unwrap();
    assert!(matches!(b.bind("inproc://name"), Err(Error::AddrInUse)));
    assert!(matches!(
        b.unbind("inproc://name"),
        Err(Error::EndpointNotFound(_))
    ));
    a.unbind("inproc://name").unwrap();
    b.bind("inproc://name").unwrap();
    a.close().unwrap();
    b.close().unwrap();
    // A closed binder frees the name.
    let c = ctx.socket(SocketType::Peer).unwrap();
    c.bind("inproc://name").unwrap();
}

#[test]
fn disconnect_forgets_the_routing_id() {
    let ctx = ContextCore::new(0);
    let (_binder, connecter, id) = pair(&ctx, "inproc://disc");
    connecter.disconnect("inproc://disc").unwrap();
    assert!(matches!(
        connecter.send(Message::with_routing_id("x", id)),
        Err(Error::HostUnreachable)
    ));
    assert!(matches!(
        connecter.disconnect("inproc://disc"),
        Err(Error::EndpointNotFound(_))
    ));
}

#[test]
fn read_only_options() {
    let ctx = ContextCore::new(0);
    let s = ctx.socket(SocketType::Peer).unwrap();
    assert_eq!(s.option_int(number::TYPE).unwrap(), 19);
    assert_eq!(s.option_int(number::THREAD_SAFE).unwrap(), 1);
    assert_eq!(s.option_int(number::RCVMORE).unwrap(), 0);
    assert!(matches!(
        s.option_int(number::FD),
        Err(Error::InvalidArgument(_))
    ));
    assert_eq!(s.option_int(number::EVENTS).unwrap(), 2);
    assert_eq!(s.events(), PollEvents::POLLOUT);
    assert!(matches!(
        s.set_option_int(number::TYPE, 1),
        Err(Error::InvalidArgument(_))
    ));
    assert_eq!(s.option_i64(number::MAXMSGSIZE).unwrap(), -1);
    s.set_option_bytes(number::ROUTING_ID, b"me").unwrap();
    assert_eq!(&s.option_bytes(number::ROUTING_ID).unwrap()[..], b"me");
    assert_eq!(s.option_bytes(number::LAST_ENDPOINT).unwrap(), "");
}

#[test]
fn events_report_pollin_when_a_message_waits() {
    let ctx = ContextCore::new(0);
    let (binder, connecter, id) = pair(&ctx, "inproc://events");
    assert_eq!(binder.events(), PollEvents::POLLOUT);
    connecter.send(Message::with_routing_id("x", id)).unwrap();
    assert_eq!(binder.events(), PollEvents::POLLIN | PollEvents::POLLOUT);
    binder.try_recv().unwrap();
    assert_eq!(binder.events(), PollEvents::POLLOUT);
}

#[test]
fn concurrent_senders_all_arrive() {
    const PER_THREAD: u32 = 5000;
    let ctx = ContextCore::new(0);
    let (binder, connecter, id) = pair(&ctx, "inproc://threads");
    set_timeouts(&binder);
    set_timeouts(&connecter);
    let senders: Vec<_> = (0..2u32)
        .map(|t| {
            let s = connecter.clone();
            thread::spawn(move || {
                for i in 0..PER_THREAD {
                    s.send(Message::with_routing_id(
                        (t * PER_THREAD + i).to_be_bytes().to_vec(),
                        id,
                    ))
                    .unwrap();
                }
            })
        })
        .collect();
    let receivers: Vec<_> = (0..2)
        .map(|_| {
            let r = binder.clone();
            thread::spawn(move || {
                (0..PER_THREAD)
                    .map(|_| u32::from_be_bytes(r.recv().unwrap().as_bytes().try_into().unwrap()))
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    for s in senders {
        s.join().unwrap();
    }
    let mut all: Vec<u32> = receivers
        .into_iter()
        .flat_map(|r| r.join().unwrap())
        .collect();
    all.sort_unstable();
    assert_eq!(all, (0..2 * PER_THREAD).collect::<Vec<_>>());
}

#[test]
fn client_round_robins_and_server_replies_by_id() {
    let ctx = ContextCore::new(0);
    let s1 = ctx.socket(SocketType::Server).unwrap();
    let s2 = ctx.socket(SocketType::Server).unwrap();
    s1.bind("inproc://srv1").unwrap();
    s2.bind("inproc://srv2").unwrap();
    let client = ctx.socket(SocketType::Client).unwrap();
    set_timeouts(&client);
    assert!(matches!(
        client.try_send(Message::from("nobody")),
        Err(Error::WouldBlock)
    ));
    client.connect("inproc://srv1").unwrap();
    client.connect("inproc://srv2").unwrap();
    for _ in 0..4 {
        client.send(Message::from("hi")).unwrap();
    }
    let m1 = s1.try_recv().unwrap();
    s1.try_recv().unwrap();
    s2.try_recv().unwrap();
    s2.try_recv().unwrap();
    assert!(s1.try_recv().is_err() && s2.try_recv().is_err());
    s1.send(Message::with_routing_id("back", m1.routing_id().unwrap()))
        .unwrap();
    let r = client.recv().unwrap();
    assert_eq!(r.as_bytes(), b"back");
    assert_eq!(r.routing_id(), None, "CLIENT messages carry no routing id");
    assert!(matches!(
        client.send_more(Message::from("x")),
        Err(Error::InvalidArgument(_))
    ));
}

#[test]
fn dropping_the_last_handle_closes_the_socket() {
    let ctx = ContextCore::new(0);
    let a = ctx.socket(SocketType::Peer).unwrap();
    a.bind("inproc://dropped").unwrap();
    drop(a);
    let b = ctx.socket(SocketType::Peer).unwrap();
    b.bind("inproc://dropped").unwrap();
}

#[test]
fn peer_address_is_the_numeric_ip_or_localhost_for_ipc() {
    use super::peer_address_from_remote as address;
    assert_eq!(
        address("tcp://127.0.0.1:5555").as_deref(),
        Some("127.0.0.1")
    );
    assert_eq!(address("tcp://[::1]:5555").as_deref(), Some("::1"));
    // getnameinfo(NI_NUMERICHOST) of a Unix socket peer is `localhost` (glibc), as libzmq
    // 4.3.5 reports it.
    assert_eq!(address("ipc:///tmp/x").as_deref(), Some("localhost"));
    assert_eq!(address("ipc://@name").as_deref(), Some("localhost"));
    // No numeric address known: no Peer-Address rather than a made-up one.
    assert_eq!(address("tcp://localhost:5555"), None);
    assert_eq!(address("127.0.0.1:5555"), None);
}

#[cfg(feature = "ipc")]
#[test]
fn ipc_peer_address_is_localhost_on_both_ends() {
    let ctx = ContextCore::new(1);
    let dir = tempfile::tempdir().unwrap();
    let endpoint = format!("ipc://{}/peer-address", dir.path().display());
    let (binder, connecter, id) = pair(&ctx, &endpoint);
    set_timeouts(&binder);
    set_timeouts(&connecter);
    connecter
        .send(Message::with_routing_id(&b"hi"[..], id))
        .unwrap();
    let got = binder.recv().unwrap();
    assert_eq!(got.gets("Peer-Address"), Some("localhost"));
    binder
        .send(Message::with_routing_id(
            &b"ho"[..],
            got.routing_id().unwrap(),
        ))
        .unwrap();
    let reply = connecter.recv().unwrap();
    assert_eq!(reply.gets("Peer-Address"), Some("localhost"));
    drop((binder, connecter));
    ctx.terminate();
}

#[test]
fn inproc_connections_report_no_monitor_events() {
    let ctx = ContextCore::new(0);
    let binder = ctx.socket(SocketType::Peer).unwrap();
    let binder_events = binder.monitor().unwrap();
    binder.bind("inproc://monitor-silent").unwrap();
    let connecter = ctx.socket(SocketType::Peer).unwrap();
    let connecter_events = connecter.monitor().unwrap();
    let id = connecter.connect_peer("inproc://monitor-silent").unwrap();
    set_timeouts(&binder);
    connecter
        .send(Message::with_routing_id(&b"hi"[..], id))
        .unwrap();
    binder.recv().unwrap();
    // As libzmq: monitoring covers connection-oriented transports only.
    assert_eq!(binder_events.try_recv(), None);
    assert_eq!(connecter_events.try_recv(), None);
    binder.close().unwrap();
    assert_eq!(
        binder_events.try_recv(),
        Some(crate::MonitorEvent::MonitorStopped)
    );
    assert!(binder_events.is_stopped());
}
