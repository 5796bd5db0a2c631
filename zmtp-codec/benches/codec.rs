//! Codec benchmarks: encode (`Session::send` + `poll_transmit`) and decode
//! (`Session::handle_input` + `poll_event`) throughput for 1 B, 64 B, 1 KiB and 64 KiB messages.
//!
//! Each iteration handles a batch of messages of about 64 KiB in total (at most 1000 messages),
//! so small and large sizes are measured on comparable amounts of work. Run with
//! `cargo bench -p zmtp-codec`; a full run takes well under two minutes.
#![allow(
    missing_docs,
    reason = "criterion_group! generates a public function without a doc comment"
)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use criterion::measurement::WallTime;
use criterion::{
    BatchSize, BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main,
};
use zmtp_codec::{Config, Message, Session, SocketType};

/// Message sizes measured.
const SIZES: [(usize, &str); 4] = [(1, "1B"), (64, "64B"), (1024, "1KiB"), (65_536, "64KiB")];

/// Messages per iteration for a message of `size` octets.
fn batch(size: usize) -> usize {
    (65_536 / size).clamp(1, 1000)
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

/// Benchmarks sending `batch(size)` messages and draining the output.
fn encode(group: &mut BenchmarkGroup<'_, WallTime>, size: usize, label: &str) {
    let now = Instant::now();
    let mut session = connected(now);
    let msg = Message::new(Bytes::from(vec![0xA5_u8; size]));
    let n = batch(size);
    group.bench_function(label, |b| {
        b.iter(|| {
            for _ in 0..n {
                session
                    .send(black_box(msg.clone()))
                    .expect("session is ready");
            }
            while let Some(chunk) = session.poll_transmit() {
                black_box(chunk);
            }
        });
    });
}

/// Benchmarks decoding `batch(size)` messages from one input buffer.
fn decode(group: &mut BenchmarkGroup<'_, WallTime>, size: usize, label: &str) {
    let now = Instant::now();
    let mut sender = connected(now);
    let mut receiver = connected(now);
    let msg = Message::new(Bytes::from(vec![0x5A_u8; size]));
    for _ in 0..batch(size) {
        sender.send(msg.clone()).expect("session is ready");
    }
    let mut wire = Vec::new();
    while let Some(chunk) = sender.poll_transmit() {
        wire.extend_from_slice(&chunk);
    }
    group.bench_function(label, |b| {
        b.iter_batched_ref(
            || BytesMut::from(&wire[..]),
            |buf| {
                receiver.handle_input(buf, now).expect("valid input");
                while let Some(event) = receiver.poll_event() {
                    black_box(event);
                }
            },
            BatchSize::SmallInput,
        );
    });
}

/// Throughput in octets for all sizes, and in messages for the small ones.
fn benches(c: &mut Criterion) {
    for (name, op) in [
        (
            "encode",
            encode as fn(&mut BenchmarkGroup<'_, WallTime>, usize, &str),
        ),
        ("decode", decode),
    ] {
        let mut group = c.benchmark_group(name);
        for (size, label) in SIZES {
            let octets = u64::try_from(size * batch(size)).unwrap_or(u64::MAX);
            group.throughput(Throughput::Bytes(octets));
            op(&mut group, size, label);
        }
        group.finish();
        let mut group = c.benchmark_group(format!("{name}_msgs"));
        for (size, label) in SIZES.into_iter().take(2) {
            let messages = u64::try_from(batch(size)).unwrap_or(u64::MAX);
            group.throughput(Throughput::Elements(messages));
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
