//! ws interop: our PEER socket (the `zmq_peer` facade) against libzmq 4.3.5 PEER sockets over
//! ZWS 2.0 (`ws://`; the interop build of libzmq has ws but not wss), in both directions
//! (PROTOCOL.md §6, §9–§11).
//!
//! * our `connect_peer("ws://127.0.0.1:<port>/peer")` to a libzmq PEER bound on
//!   `ws://127.0.0.1:*/peer` (the port read back from `ZMQ_LAST_ENDPOINT`), and libzmq's
//!   `zmq_connect_peer` to our bind on `ws://127.0.0.1:*/zmq/peer`;
//! * every size in [`SIZES`] as a ping-pong, then as a burst each way, with the routing ids and
//!   the `Socket-Type` metadata checked on both sides;
//! * the same with `HEARTBEAT_IVL` 10 ms on both sides (WebSocket-framed PING/PONG every 10 ms)
//!   and an idle pause longer than `HEARTBEAT_TIMEOUT`: the connection must survive it (the
//!   binder still knows the connecter by the same routing id).
//!
//! Every wait is bounded: RCVTIMEO/SNDTIMEO of 10 s on every socket of both libraries.

use std::thread;
use std::time::Duration;

use interop::ffi::{self, Msg};
use zmq_peer::{Message, RoutingId, SocketType};

/// Message sizes sent each way: empty, one octet, the last and first sizes of a ZMTP short /
/// long frame (255, 256; the WebSocket header switches at 126 and 65 536 as well), 64 KiB
/// and 1 MiB.
const SIZES: [usize; 6] = [0, 1, 255, 256, 65_536, 1 << 20];

/// Bound on every blocking call of both libraries, in milliseconds.
const TIMEOUT_MS: i32 = 10_000;

/// `HEARTBEAT_IVL` of the heartbeat tests, on both sides (ms).
const HEARTBEAT_IVL: i32 = 10;

/// `HEARTBEAT_TIMEOUT` of the heartbeat tests (ms). libzmq's default is the interval itself;
/// 10 ms would make the tests depend on scheduling latency on a busy machine, so both sides
/// allow a second for the answer to a PING.
const HEARTBEAT_TIMEOUT: i32 = 1000;

/// The idle pause of the heartbeat tests: longer than `HEARTBEAT_TIMEOUT`, so a side whose
/// PINGs were not answered would drop the connection (and the binder would see a new routing
/// id after the reconnect).
const IDLE: Duration = Duration::from_millis(1500);

/// A deterministic payload of `size` octets that differs with `seed`.
fn payload(size: usize, seed: usize) -> Vec<u8> {
    (0..size)
        .map(|i| {
            i.wrapping_mul(31)
                .wrapping_add(i >> 8)
                .wrapping_add(seed.wrapping_mul(97))
                .to_le_bytes()[0]
        })
        .collect()
}

/// A message as one end received it.
#[derive(Debug)]
struct Received {
    routing_id: u32,
    body: Vec<u8>,
    socket_type: Option<String>,
}

/// One end of a connection, ours or libzmq's, behind the same two calls.
trait End {
    fn name(&self) -> &'static str;
    fn send_to(&mut self, routing_id: u32, body: &[u8]);
    fn recv_one(&mut self) -> Received;
}

struct Ours(zmq_peer::Socket);

impl End for Ours {
    fn name(&self) -> &'static str {
        "ours"
    }

    fn send_to(&mut self, routing_id: u32, body: &[u8]) {
        let routing_id = RoutingId::new(routing_id).expect("non-zero routing id");
        self.0
            .send(Message::with_routing_id(body.to_vec(), routing_id))
            .unwrap_or_else(|e| panic!("our send of {} octets: {e}", body.len()));
    }

    fn recv_one(&mut self) -> Received {
        let msg = self
            .0
            .recv()
            .unwrap_or_else(|e| panic!("our recv: {e} (errno {})", e.errno()));
        Received {
            routing_id: msg.routing_id().map_or(0, RoutingId::get),
            socket_type: msg.gets("Socket-Type").map(str::to_owned),
            body: msg.into_bytes().to_vec(),
        }
    }
}

struct Theirs(ffi::Socket);

impl End for Theirs {
    fn name(&self) -> &'static str {
        "libzmq"
    }

    fn send_to(&mut self, routing_id: u32, body: &[u8]) {
        let sent = self
            .0
            .send_to(routing_id, body, 0)
            .unwrap_or_else(|e| panic!("libzmq send of {} octets: {e}", body.len()));
        assert_eq!(sent, body.len());
    }

    fn recv_one(&mut self) -> Received {
        let mut msg = Msg::new().expect("zmq_msg_init");
        self.0
            .recv_msg(&mut msg, 0)
            .unwrap_or_else(|e| panic!("libzmq recv: {e}"));
        Received {
            routing_id: msg.routing_id(),
            body: msg.data().to_vec(),
            socket_type: msg.gets("Socket-Type"),
        }
    }
}

/// Checks one received message: content, PEER metadata and the routing id it must carry
/// (`expected`), or with `None` any non-zero id, which is returned.
fn check(got: &Received, want: &[u8], expected: Option<u32>, what: &str) -> u32 {
    assert_eq!(got.body.len(), want.len(), "{what}: length");
    if let Some(at) = got.body.iter().zip(want).position(|(a, b)| a != b) {
        panic!("{what}: first difference at octet {at}");
    }
    assert_eq!(
        got.socket_type.as_deref(),
        Some("PEER"),
        "{what}: Socket-Type"
    );
    assert_ne!(got.routing_id, 0, "{what}: routing id");
    if let Some(expected) = expected {
        assert_eq!(got.routing_id, expected, "{what}: routing id");
    }
    got.routing_id
}

/// Every size as a ping-pong, then every size as a burst each way, between `connecter` (which
/// knows the binder as `to_binder`) and `binder`. Returns the routing id the binder knows the
/// connecter by (the same for every message; `known` if given).
fn exchange(
    connecter: &mut dyn End,
    to_binder: u32,
    binder: &mut dyn End,
    known: Option<u32>,
    round: usize,
) -> u32 {
    let names = format!("{} -> {} over ws", connecter.name(), binder.name());
    let mut to_connecter = known;
    for (i, &size) in SIZES.iter().enumerate() {
        let seed = round * 1000 + i;
        let request = payload(size, seed);
        connecter.send_to(to_binder, &request);
        let id = check(
            &binder.recv_one(),
            &request,
            to_connecter,
            &format!("{names}: {size} octets"),
        );
        to_connecter = Some(id);
        let reply = payload(size, seed + 500);
        binder.send_to(id, &reply);
        check(
            &connecter.recv_one(),
            &reply,
            Some(to_binder),
            &format!("{names}: reply of {size} octets"),
        );
    }
    let to_connecter = to_connecter.expect("SIZES is not empty");
    for (i, &size) in SIZES.iter().enumerate() {
        connecter.send_to(to_binder, &payload(size, round * 1000 + 100 + i));
    }
    for (i, &size) in SIZES.iter().enumerate() {
        let want = payload(size, round * 1000 + 100 + i);
        let got = binder.recv_one();
        check(
            &got,
            &want,
            Some(to_connecter),
            &format!("{names}: burst {i}"),
        );
    }
    for (i, &size) in SIZES.iter().enumerate() {
        binder.send_to(to_connecter, &payload(size, round * 1000 + 200 + i));
    }
    for (i, &size) in SIZES.iter().enumerate() {
        let want = payload(size, round * 1000 + 200 + i);
        let got = connecter.recv_one();
        check(
            &got,
            &want,
            Some(to_binder),
            &format!("{names}: reply burst {i}"),
        );
    }
    to_connecter
}

/// Our PEER socket with bounded blocking calls and no linger.
fn our_peer(ctx: &zmq_peer::Context, heartbeat: bool) -> zmq_peer::Socket {
    let socket = ctx.socket(SocketType::Peer).expect("our socket");
    socket.set_rcvtimeo(TIMEOUT_MS).expect("RCVTIMEO");
    socket.set_sndtimeo(TIMEOUT_MS).expect("SNDTIMEO");
    socket.set_linger(0).expect("LINGER");
    if heartbeat {
        socket
            .set_heartbeat_ivl(HEARTBEAT_IVL)
            .expect("HEARTBEAT_IVL");
        socket
            .set_heartbeat_timeout(HEARTBEAT_TIMEOUT)
            .expect("HEARTBEAT_TIMEOUT");
    }
    socket
}

/// A libzmq PEER socket with bounded blocking calls and no linger.
fn their_peer(ctx: &ffi::Context, heartbeat: bool) -> ffi::Socket {
    let mut socket = ctx.socket(ffi::PEER).expect("zmq_socket");
    for (option, value) in [
        (ffi::RCVTIMEO, TIMEOUT_MS),
        (ffi::SNDTIMEO, TIMEOUT_MS),
        (ffi::LINGER, 0),
    ] {
        socket
            .set_int_option(option, value)
            .expect("zmq_setsockopt");
    }
    if heartbeat {
        socket
            .set_int_option(ffi::HEARTBEAT_IVL, HEARTBEAT_IVL)
            .expect("ZMQ_HEARTBEAT_IVL");
        socket
            .set_int_option(ffi::HEARTBEAT_TIMEOUT, HEARTBEAT_TIMEOUT)
            .expect("ZMQ_HEARTBEAT_TIMEOUT");
    }
    socket
}

/// The transfers again after an idle pause: the binder must still know the connecter by the
/// same routing id.
fn survives_idle(connecter: &mut dyn End, to_binder: u32, binder: &mut dyn End, to_connecter: u32) {
    // Sleeping is the behaviour under test: an idle connection kept alive by heartbeats.
    thread::sleep(IDLE);
    let after = exchange(connecter, to_binder, binder, Some(to_connecter), 1);
    assert_eq!(
        after, to_connecter,
        "the connection survived the idle pause"
    );
}

/// Our `connect_peer` to a libzmq PEER bound on `ws://127.0.0.1:*/peer`.
fn ours_to_libzmq(heartbeat: bool) {
    let their_ctx = ffi::Context::new().expect("zmq_ctx_new");
    let mut theirs = their_peer(&their_ctx, heartbeat);
    // libzmq 4.3.5 refuses a multi-segment path in a ws bind (EINVAL): one segment.
    theirs.bind("ws://127.0.0.1:*/peer").expect("zmq_bind");
    let bound = theirs.last_endpoint().expect("ZMQ_LAST_ENDPOINT");
    let port = bound
        .strip_prefix("ws://127.0.0.1:")
        .and_then(|rest| rest.split('/').next())
        .and_then(|port| port.parse::<u16>().ok())
        .unwrap_or_else(|| panic!("unexpected ZMQ_LAST_ENDPOINT {bound}"));
    assert_ne!(port, 0);

    let our_ctx = zmq_peer::Context::new();
    let ours = our_peer(&our_ctx, heartbeat);
    let endpoint = format!("ws://127.0.0.1:{port}/peer");
    let to_binder = ours.connect_peer(&endpoint).expect("connect_peer").get();
    assert_eq!(ours.last_endpoint().expect("LAST_ENDPOINT"), endpoint);

    let (mut ours, mut theirs) = (Ours(ours), Theirs(theirs));
    let to_connecter = exchange(&mut ours, to_binder, &mut theirs, None, 0);
    if heartbeat {
        survives_idle(&mut ours, to_binder, &mut theirs, to_connecter);
    }
}

/// libzmq's `zmq_connect_peer` to our PEER bound on `ws://127.0.0.1:*/zmq/peer` (a
/// multi-segment path, which libzmq's client sends as it is).
fn libzmq_to_ours(heartbeat: bool) {
    let our_ctx = zmq_peer::Context::new();
    let ours = our_peer(&our_ctx, heartbeat);
    ours.bind("ws://127.0.0.1:*/zmq/peer").expect("our bind");
    let endpoint = ours.last_endpoint().expect("LAST_ENDPOINT");
    assert!(
        endpoint.starts_with("ws://127.0.0.1:") && endpoint.ends_with("/zmq/peer"),
        "{endpoint}"
    );

    let their_ctx = ffi::Context::new().expect("zmq_ctx_new");
    let mut theirs = their_peer(&their_ctx, heartbeat);
    let to_binder = theirs.connect_peer(&endpoint).expect("zmq_connect_peer");

    let (mut ours, mut theirs) = (Ours(ours), Theirs(theirs));
    let to_connecter = exchange(&mut theirs, to_binder, &mut ours, None, 0);
    if heartbeat {
        survives_idle(&mut theirs, to_binder, &mut ours, to_connecter);
    }
}

#[test]
fn ours_connect_peer_to_libzmq_ws_bind() {
    ours_to_libzmq(false);
}

#[test]
fn libzmq_connect_peer_to_our_ws_bind() {
    libzmq_to_ours(false);
}

#[test]
fn heartbeats_every_10ms_keep_ours_to_libzmq_alive_over_ws() {
    ours_to_libzmq(true);
}

#[test]
fn heartbeats_every_10ms_keep_libzmq_to_ours_alive_over_ws() {
    libzmq_to_ours(true);
}
