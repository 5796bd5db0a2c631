//! Pipe benchmarks: what a message costs to enqueue and dequeue on the channel between a socket
//! and a connection, for 64 B message bodies (the body is a `Bytes` handle: its size does not
//! change the cost).
//!
//! * **`same_thread`**: a batch of `try_send` followed by the same number of `try_recv` on one
//!   thread, and one more `try_recv` that finds the pipe empty (no cross-core traffic: the
//!   pipe's own bookkeeping).
//! * **`cross_thread`**: a sender thread pushes a batch while the measuring thread pops it, with
//!   the pipe's waker unused (the receiver polls), as the I/O thread drains a busy pipe. The
//!   sender is a long-lived thread handed each batch size through a channel.
//! * **hwm**: like `same_thread` with a high-water mark of 1000 (the counted path).
//! * **`batched`**: like `hwm`, but the batch goes in with one `try_send_many` (as an I/O
//!   thread delivers what one read decoded).
//!
//! Each group reports messages per second (criterion's "elem/s"). Run with
//! `cargo bench -p zmq-transport --bench pipe`.
#![allow(
    missing_docs,
    reason = "criterion_group! generates a public function without a doc comment"
)]

use std::collections::VecDeque;
use std::hint::black_box;
use std::sync::mpsc;
use std::thread;

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use zmq_transport::pipe;
use zmtp_codec::Message;

/// Messages per iteration.
const BATCH: usize = 1000;

fn same_thread(c: &mut Criterion, name: &str, hwm: usize) {
    let body = Bytes::from(vec![0x5A; 64]);
    let (tx, mut rx) = pipe(hwm);
    let mut group = c.benchmark_group(name);
    group.throughput(Throughput::Elements(BATCH as u64));
    group.bench_function("64B", |b| {
        b.iter(|| {
            for _ in 0..BATCH {
                assert!(tx.try_send(Message::new(body.clone())).is_ok());
            }
            for _ in 0..BATCH {
                black_box(rx.try_recv().ok().flatten().expect("queued"));
            }
            // A receiver that finds the pipe empty hands all credit back (as a reader does
            // before it waits); without this look a full batch would not fit next time.
            assert!(matches!(rx.try_recv(), Ok(None)));
        });
    });
    group.finish();
}

fn batched(c: &mut Criterion) {
    let body = Bytes::from(vec![0x5A; 64]);
    let (tx, mut rx) = pipe(BATCH);
    let mut from = VecDeque::with_capacity(BATCH);
    let mut group = c.benchmark_group("pipe_batched");
    group.throughput(Throughput::Elements(BATCH as u64));
    group.bench_function("64B", |b| {
        b.iter(|| {
            from.extend((0..BATCH).map(|_| Message::new(body.clone())));
            assert!(tx.try_send_many(&mut from).is_ok());
            for _ in 0..BATCH {
                black_box(rx.try_recv().ok().flatten().expect("queued"));
            }
            assert!(matches!(rx.try_recv(), Ok(None)));
        });
    });
    group.finish();
}

fn cross_thread(c: &mut Criterion) {
    let body = Bytes::from(vec![0x5A; 64]);
    let (tx, mut rx) = pipe(0);
    let (order, orders) = mpsc::channel::<usize>();
    let sender = thread::spawn(move || {
        while let Ok(count) = orders.recv() {
            for _ in 0..count {
                assert!(tx.try_send(Message::new(body.clone())).is_ok());
            }
        }
    });
    let mut group = c.benchmark_group("pipe_cross_thread");
    group.throughput(Throughput::Elements(BATCH as u64));
    group.bench_function("64B", |b| {
        b.iter(|| {
            order.send(BATCH).expect("sender alive");
            let mut got = 0;
            while got < BATCH {
                if let Ok(Some(msg)) = rx.try_recv() {
                    black_box(msg);
                    got += 1;
                } else {
                    std::hint::spin_loop();
                }
            }
        });
    });
    group.finish();
    drop(order);
    sender.join().expect("sender thread");
}

fn benches(c: &mut Criterion) {
    same_thread(c, "pipe_same_thread", 0);
    same_thread(c, "pipe_hwm", BATCH);
    batched(c);
    cross_thread(c);
}

criterion_group! {
    name = pipe_benches;
    config = Criterion::default().sample_size(20);
    targets = benches
}
criterion_main!(pipe_benches);
