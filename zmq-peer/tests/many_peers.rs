//! One bound PEER with 1000 connected PEER sockets (inproc, tcp and ws; 300 over wss, see
//! `hundreds_of_peers_wss`), every peer addressed correctly in both directions. ipc is left out
//! to save time: its connections are tcp's with a Unix stream in place of the tcp one.
//!
//! Over tcp, ws and wss each connection costs two file descriptors in this process (both ends
//! live here), so 1000 peers need about 2000 descriptors; if the soft `RLIMIT_NOFILE` is too low
//! for that (this crate forbids the `unsafe` a `setrlimit` call would need), those cases run
//! with as many peers as fit, at least 200, and say so on stderr.

mod support;

use std::collections::{HashMap, HashSet};

use zmq_peer::{Context, RoutingId, Socket};

use support::{Transport, msg};

const PEERS: usize = 1000;
/// Peers in the wss case (see [`hundreds_of_peers_wss`]).
const WSS_PEERS: usize = 300;
const BATCH: usize = 100;

fn many_peers(transport: Transport, count: usize) {
    let bound = transport.endpoint();
    let ctx = Context::new();
    let binder = transport.peer(&ctx);
    binder.set_sndhwm(0).expect("SNDHWM unlimited");
    binder.bind(&bound.bind).expect("bind");
    let endpoint = binder.last_endpoint().expect("last_endpoint");

    // Peer i sends its index; the binder learns its id for each index.
    let mut peers: Vec<(Socket, RoutingId)> = Vec::with_capacity(count);
    let mut binder_ids: HashMap<usize, RoutingId> = HashMap::with_capacity(count);
    for batch_start in (0..count).step_by(BATCH) {
        let batch_end = (batch_start + BATCH).min(count);
        for index in batch_start..batch_end {
            let socket = transport.peer(&ctx);
            let rid = socket.connect_peer(&endpoint).expect("connect_peer");
            socket
                .send(msg(&index_bytes(index), rid))
                .expect("send index");
            peers.push((socket, rid));
        }
        // Wait for this batch before connecting the next (keeps the listen backlog small).
        for _ in batch_start..batch_end {
            let got = binder.recv().expect("binder recv (bounded by RCVTIMEO)");
            let index = parse_index(got.as_bytes());
            let id = got.routing_id().expect("routing id");
            assert!(
                binder_ids.insert(index, id).is_none(),
                "index {index} received twice"
            );
        }
    }
    assert_eq!(binder_ids.len(), count);
    let distinct: HashSet<RoutingId> = binder_ids.values().copied().collect();
    assert_eq!(
        distinct.len(),
        count,
        "the binder gave every peer its own routing id"
    );

    // The binder answers every peer by id; each peer must get exactly its own index back.
    for (index, id) in &binder_ids {
        binder
            .send(msg(&index_bytes(*index), *id))
            .expect("binder send");
    }
    for (index, (socket, rid)) in peers.iter().enumerate() {
        let got = socket.recv().expect("peer recv (bounded by RCVTIMEO)");
        assert_eq!(
            parse_index(got.as_bytes()),
            index,
            "peer {index} got someone else's reply"
        );
        assert_eq!(got.routing_id(), Some(*rid));
    }
}

#[test]
fn thousand_peers_inproc() {
    many_peers(Transport::InprocBindFirst, PEERS);
}

#[test]
fn thousand_peers_tcp() {
    many_peers(Transport::Tcp, fitting_peers(PEERS));
}

#[cfg(feature = "ws")]
#[test]
fn thousand_peers_ws() {
    many_peers(Transport::Ws, fitting_peers(PEERS));
}

/// wss with [`WSS_PEERS`]: every connection costs a TLS handshake with both ends in this
/// process on one I/O thread, and 1000 of them took about 3.8 s in a debug build (ws: 1.5 s,
/// tcp: 0.4 s), too much for CI on two cores. The routing under test does not depend on the
/// transport, and 1000 peers run over tcp and ws; 300 still exercise a routing table of
/// hundreds of TLS connections.
#[cfg(feature = "wss")]
#[test]
fn hundreds_of_peers_wss() {
    many_peers(Transport::Wss, fitting_peers(WSS_PEERS));
}

/// `wanted`, or as many peers as the soft `RLIMIT_NOFILE` allows two descriptors each (at
/// least 200), saying so on stderr.
#[expect(
    clippy::print_stderr,
    reason = "a reduced peer count is worth a line in the test output"
)]
fn fitting_peers(wanted: usize) -> usize {
    match soft_nofile_limit() {
        Some(limit) if limit < 2 * wanted as u64 + 200 => {
            let fit = usize::try_from(limit.saturating_sub(200) / 2)
                .unwrap_or(wanted)
                .max(200);
            eprintln!("RLIMIT_NOFILE soft limit {limit}: running with {fit} peers");
            fit.min(wanted)
        }
        _ => wanted,
    }
}

/// The soft limit on open files, from `/proc/self/limits` (None if unlimited or unreadable).
fn soft_nofile_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

fn index_bytes(index: usize) -> [u8; 8] {
    u64::try_from(index).expect("fits").to_be_bytes()
}

fn parse_index(bytes: &[u8]) -> usize {
    let array: [u8; 8] = bytes.try_into().expect("8-octet index");
    usize::try_from(u64::from_be_bytes(array)).expect("fits")
}
