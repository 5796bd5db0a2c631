//! One PEER socket used from several threads at once (PROTOCOL.md §9.1, §11.1 H): concurrent
//! senders (libzmq's `test_thread_safe`: 2 x 15000) and 8 threads sending and receiving on one
//! socket, every message accounted for exactly once.

mod support;

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use zmq_peer::{Context, Socket, errno};

use support::{Transport, msg, pair};

const PER_THREAD: u32 = 15_000;

/// Two threads send 15000 messages each through one socket; the receiver sees all 30000, each
/// thread's in order.
fn two_senders(transport: Transport) {
    let ctx = Context::new();
    let p = pair(&ctx, transport);
    let senders: Vec<_> = (0_u32..2)
        .map(|thread_index| {
            let socket = p.connecter.clone();
            let rid = p.to_binder;
            thread::spawn(move || {
                for seq in 0..PER_THREAD {
                    socket
                        .send(msg(&encode(thread_index, seq), rid))
                        .expect("send");
                }
            })
        })
        .collect();
    let mut next = [0_u32; 2];
    for _ in 0..2 * PER_THREAD {
        let got = p.binder.recv().expect("recv (bounded by RCVTIMEO)");
        let (thread_index, seq) = decode(got.as_bytes());
        let slot = &mut next[usize::try_from(thread_index).expect("index")];
        assert_eq!(
            seq, *slot,
            "thread {thread_index}: messages out of order or lost"
        );
        *slot += 1;
    }
    for sender in senders {
        sender.join().expect("sender thread");
    }
    assert_eq!(next, [PER_THREAD, PER_THREAD]);
}

mod two_threads {
    crate::support::transport_suite!(super::two_senders);
}

const THREADS: u32 = 8;
const PER_WORKER: u32 = 2_000;

/// Eight threads send numbered messages to an echo peer through one socket and, at the same
/// time, receive the echoes from that same socket; every message comes back exactly once.
fn eight_senders_and_receivers(transport: Transport) {
    let ctx = Context::new();
    let p = pair(&ctx, transport);
    let total = usize::try_from(THREADS * PER_WORKER).expect("fits");

    let echo_socket = p.binder.clone();
    let echo = thread::spawn(move || {
        for _ in 0..total {
            let got = echo_socket.recv().expect("echo recv");
            echo_socket.send(got).expect("echo send");
        }
    });

    let socket: Socket = p.connecter.clone();
    let seen = Arc::new(Mutex::new(HashSet::new()));
    let received = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + Duration::from_secs(60);
    let workers: Vec<_> = (0..THREADS)
        .map(|thread_index| {
            let socket = socket.clone();
            let seen = Arc::clone(&seen);
            let received = Arc::clone(&received);
            let rid = p.to_binder;
            thread::spawn(move || {
                socket.set_rcvtimeo(20).expect("RCVTIMEO");
                let mut sent = 0;
                while received.load(Ordering::SeqCst) < total {
                    assert!(
                        Instant::now() < deadline,
                        "not all echoes arrived within 60 s"
                    );
                    if sent < PER_WORKER {
                        socket
                            .send(msg(&encode(thread_index, sent), rid))
                            .expect("send");
                        sent += 1;
                    }
                    match socket.recv() {
                        Ok(message) => {
                            assert_eq!(message.routing_id(), Some(rid));
                            let key = decode(message.as_bytes());
                            assert!(seen.lock().expect("lock").insert(key), "{key:?} twice");
                            received.fetch_add(1, Ordering::SeqCst);
                        }
                        Err(error) if error.errno() == errno::EAGAIN => {}
                        Err(error) => panic!("recv: {error:?}"),
                    }
                }
                assert_eq!(
                    sent, PER_WORKER,
                    "all sends done before the echoes were complete"
                );
            })
        })
        .collect();
    for worker in workers {
        worker.join().expect("worker thread");
    }
    echo.join().expect("echo thread");
    let seen = seen.lock().expect("lock");
    assert_eq!(seen.len(), total);
    for thread_index in 0..THREADS {
        for seq in 0..PER_WORKER {
            assert!(
                seen.contains(&(thread_index, seq)),
                "({thread_index}, {seq}) missing"
            );
        }
    }
}

mod eight_threads {
    crate::support::transport_suite!(super::eight_senders_and_receivers);
}

fn encode(thread_index: u32, seq: u32) -> [u8; 8] {
    let mut bytes = [0; 8];
    bytes[..4].copy_from_slice(&thread_index.to_be_bytes());
    bytes[4..].copy_from_slice(&seq.to_be_bytes());
    bytes
}

fn decode(bytes: &[u8]) -> (u32, u32) {
    assert_eq!(bytes.len(), 8, "unexpected message {bytes:?}");
    let thread_index = u32::from_be_bytes(bytes[..4].try_into().expect("4 octets"));
    let seq = u32::from_be_bytes(bytes[4..].try_into().expect("4 octets"));
    (thread_index, seq)
}
