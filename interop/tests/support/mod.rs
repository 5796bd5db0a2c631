//! Shared helpers for the interop integration tests: payloads, libzmq socket setup, checks.

#![allow(
    dead_code,
    reason = "each test binary uses a different subset of the helpers"
)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use interop::ffi::{self, Context, Socket};

/// Message sizes every transfer test sends: empty, short-frame edge (255), first long frame
/// (256), 64 KiB and 1 MiB.
pub(crate) const SIZES: [usize; 6] = [0, 1, 255, 256, 65_536, 1_048_576];

/// Bound on every blocking libzmq call in the tests, in milliseconds.
pub(crate) const LIBZMQ_TIMEOUT_MS: i32 = 10_000;

/// A deterministic payload of `size` bytes whose content depends on `seed`, so that messages of
/// the same size are still distinguishable.
pub(crate) fn payload(size: usize, seed: usize) -> Vec<u8> {
    (0..size)
        .map(|i| {
            i.wrapping_mul(31)
                .wrapping_add(i >> 8)
                .wrapping_add(seed.wrapping_mul(97))
                .to_le_bytes()[0]
        })
        .collect()
}

/// Asserts `got == want` without dumping megabytes on failure.
pub(crate) fn assert_payload(got: &[u8], want: &[u8], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length differs");
    if let Some(at) = got.iter().zip(want).position(|(a, b)| a != b) {
        panic!(
            "{what}: first difference at byte {at}: got {:#04x}, want {:#04x}",
            got[at], want[at]
        );
    }
}

/// A libzmq PEER socket whose blocking send and receive give up after [`LIBZMQ_TIMEOUT_MS`].
pub(crate) fn libzmq_peer(ctx: &Context) -> Socket {
    libzmq_socket(ctx, ffi::PEER)
}

/// A libzmq socket of type `kind` whose blocking send and receive are bounded.
pub(crate) fn libzmq_socket(ctx: &Context, kind: i32) -> Socket {
    let mut socket = ctx.socket(kind).expect("zmq_socket");
    socket
        .set_int_option(ffi::RCVTIMEO, LIBZMQ_TIMEOUT_MS)
        .expect("RCVTIMEO");
    socket
        .set_int_option(ffi::SNDTIMEO, LIBZMQ_TIMEOUT_MS)
        .expect("SNDTIMEO");
    socket
}

/// Binds `socket` to `tcp://127.0.0.1:*` and returns the address it got.
pub(crate) fn bind_tcp(socket: &mut Socket) -> SocketAddr {
    socket.bind("tcp://127.0.0.1:*").expect("zmq_bind");
    let endpoint = socket.last_endpoint().expect("ZMQ_LAST_ENDPOINT");
    endpoint
        .strip_prefix("tcp://")
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("unexpected endpoint {endpoint}"))
}

/// Counts connections accepted on `listener` during `window` (a bounded negative check).
pub(crate) fn count_accepts(listener: &std::net::TcpListener, window: Duration) -> usize {
    listener.set_nonblocking(true).expect("set_nonblocking");
    let deadline = Instant::now() + window;
    let mut count = 0;
    while Instant::now() < deadline {
        match listener.accept() {
            Ok(_) => count += 1,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => panic!("accept failed: {e}"),
        }
    }
    count
}
