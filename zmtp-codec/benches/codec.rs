//! Codec benchmarks: what a transport really pays per message, for 1 B, 64 B, 1 KiB and 64 KiB
//! single-frame messages over byte-stream framing.
//!
//! * **encode**: [`Session::send`] for a batch of messages, then draining
//!   [`Session::poll_transmit`] and copying every chunk into one contiguous buffer, as a socket
//!   write copies into the kernel. (Without that copy, bodies of at least `max_batch` octets are
//!   passed by reference and the "throughput" only measures reference counting.)
//! * **decode**: copying a prepared wire image of the batch into a fresh `BytesMut` (as a socket
//!   read fills the input buffer), then [`Session::handle_input`] and draining
//!   [`Session::poll_event`].
//!
//! A batch is about 1 MiB of message bodies, at most 1000 messages. Each operation runs in two
//! groups that measure the same routine: `<op>_msgs` reports messages per second (criterion's
//! "elem/s"), `<op>_bytes` body octets per second (decimal GB/s; the few header octets are not
//! counted). Run with `cargo bench -p zmtp-codec`; a full run takes about a minute and a half.
#![allow(
    missing_docs,
    reason = "criterion_group! generates a public function without a doc comment"
)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main};
use zmtp_codec::{Config, Message, Session, SocketType};

/// Message sizes measured.
const SIZES: [(usize, &str); 4] = [(1, "1B"), (64, "64B"), (1024, "1KiB"), (65_536, "64KiB")];

/// Body octets aimed at per iteration.
const BATCH_OCTETS: usize = 1 << 20;
/// Most messages per iteration.
const MAX_BATCH_MESSAGES: usize = 1000;

/// Messages per iteration for a message of `size` octets.
fn batch(size: usize) -> usize {
    (BATCH_OCTETS / size).clamp(1, MAX_BATCH_MESSAGES)
}

/// A PEER session whose NULL handshake with a second PEER session is complete.
fn connected(now: Instant) -> Session {
    let mut a = Session::new(Config::new(SocketType::PEER), now);
    let mut b = Session::new(Config::new(SocketType::PEER), now);
    let (mut a_in, mut b_in) = (BytesMut::new(), BytesMut::new());
    for _ in 0..2 {
        while let Some(chunk) = a.poll_transmit() {
            b_in.extend_from_slice(&chunk);
        }
        while let Some(chunk) = b.poll_transmit() {
            a_in.extend_from_slice(&chunk);
        }
        a.handle_input(&mut a_in, now).expect("valid handshake");
        b.handle_input(&mut b_in, now).expect("valid handshake");
    }
    assert!(a.is_ready(), "handshake completes in two round trips");
    while a.poll_event().is_some() {}
    a
}

/// Benchmarks sending `batch(size)` messages and copying the output into one buffer.
fn encode(group: &mut BenchmarkGroup<'_, WallTime>, size: usize, label: &str) {
    let now = Instant::now();
    let mut session = connected(now);
    let msg = Message::new(Bytes::from(vec![0xA5_u8; size]));
    let n = batch(size);
    // The "kernel buffer": allocated once, like a socket send buffer.
    let mut wire: Vec<u8> = Vec::with_capacity(n * (size + 9));
    group.bench_function(label, |b| {
        b.iter(|| {
            for _ in 0..n {
                session
                    .send(black_box(msg.clone()))
                    .expect("session is ready");
            }
            wire.clear();
            while let Some(chunk) = session.poll_transmit() {
                wire.extend_from_slice(&chunk);
            }
            black_box(wire.as_slice());
        });
    });
    assert_eq!(
        wire.len(),
        n * (size + if size > 255 { 9 } else { 2 }),
        "every message was encoded"
    );
}

/// Benchmarks copying the wire image of `batch(size)` messages into a fresh input buffer and
/// decoding it.
fn decode(group: &mut BenchmarkGroup<'_, WallTime>, size: usize, label: &str) {
    let now = Instant::now();
    let mut sender = connected(now);
    let mut receiver = connected(now);
    let msg = Message::new(Bytes::from(vec![0x5A_u8; size]));
    let n = batch(size);
    for _ in 0..n {
        sender.send(msg.clone()).expect("session is ready");
    }
    let mut wire = Vec::new();
    while let Some(chunk) = sender.poll_transmit() {
        wire.extend_from_slice(&chunk);
    }
    let mut received = 0_usize;
    group.bench_function(label, |b| {
        b.iter(|| {
            let mut buf = BytesMut::from(black_box(&wire[..]));
            receiver.handle_input(&mut buf, now).expect("valid input");
            debug_assert!(buf.is_empty());
            received = 0;
            while let Some(event) = receiver.poll_event() {
                black_box(event);
                received += 1;
            }
        });
    });
    assert_eq!(received, n, "every message was decoded");
}

/// Both operations, each in a messages-per-second and a bytes-per-second group.
fn benches(c: &mut Criterion) {
    type Op = fn(&mut BenchmarkGroup<'_, WallTime>, usize, &str);
    for (name, op) in [("encode", encode as Op), ("decode", decode)] {
        let mut group = c.benchmark_group(format!("{name}_msgs"));
        for (size, label) in SIZES {
            let messages = u64::try_from(batch(size)).unwrap_or(u64::MAX);
            group.throughput(Throughput::Elements(messages));
            op(&mut group, size, label);
        }
        group.finish();
        let mut group = c.benchmark_group(format!("{name}_bytes"));
        for (size, label) in SIZES {
            let octets = u64::try_from(size * batch(size)).unwrap_or(u64::MAX);
            group.throughput(Throughput::BytesDecimal(octets));
            op(&mut group, size, label);
        }
        group.finish();
    }
}

/// Short runs: 20 samples, 2 s measurement, 0.5 s warm-up per benchmark.
fn config() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(500))
}

criterion_group! {
    name = codec;
    config = config();
    targets = benches
}
criterion_main!(codec);
