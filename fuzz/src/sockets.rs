//! Socket-layer fuzz target body: random PEER operations over inproc on the `zmq_peer` facade,
//! checked step by step against a small reference model.
//!
//! Only non-blocking calls are made (`try_send`, `try_recv`, bind, `connect_peer`, close,
//! options), so a run can never wait on itself; dropping the context at the end must not hang
//! either (libFuzzer's timeout reports it if it does).

use std::collections::{HashMap, VecDeque};

use zmq_peer::{Context, Error, Message, RoutingId, Socket, SocketType};

/// Random PEER operations over inproc, checked against a reference model.
///
/// Input layout (mirrored by `xtask/src/seeds.rs`): octet 0 holds option bits (bit 0 one I/O
/// thread, else none, which inproc does not need; bits 1-2 the socket count minus 2, capped at
/// 4 sockets; bit 3 LINGER 0 on every socket); then operations of [`OP_LEN`] octets
/// `[code, socket, a, b]`, with `socket` taken modulo the socket count and `code` modulo 8:
///
/// | code | operation |
/// |------|-----------|
/// | 0 | bind `inproc://fuzz<a % 3>` |
/// | 1 | `connect_peer` `inproc://fuzz<a % 3>` |
/// | 2 | `try_send` to known routing id number `a` (modulo the ids the socket knows; none: no-op), `b % 32` padding octets |
/// | 3 | `try_send` to routing id `a * 256 + b + 1`, unless it is known (then as code 2) |
/// | 4 | `try_send` without a routing id |
/// | 5 | `try_recv` |
/// | 6 | close (a second close must fail with `SocketClosed`) |
/// | 7 | `set_sndhwm(a % 4)` (0 = unlimited) |
///
/// Checks, at every step: every call's result is the one the model predicts. In particular a
/// send to an id the socket was never given (by `connect_peer` or as a received message's
/// routing id) fails with `HostUnreachable` (EHOSTUNREACH), as does a send without one; a
/// receive only returns messages that were sent to that socket, over that connection, with
/// that connection's routing id, in the order they were sent; `WouldBlock` on receive means no
/// live connection holds a message for the socket; `WouldBlock` on send happens exactly when
/// the pipe holds its HWM (the connecter's SNDHWM before the bind, SNDHWM + RCVHWM after,
/// PROTOCOL.md §7.3); a duplicate bind of a live name is `AddrInUse`; a closed socket answers
/// everything with `SocketClosed`. At the end every socket is drained.
pub fn sockets_peer_ops(data: &[u8]) {
    let _ = run_peer_ops(data);
}

/// Octets per operation.
pub const OP_LEN: usize = 4;

/// Operations beyond this many are ignored (keeps each run short).
const MAX_OPS: usize = 256;

/// Distinct inproc names.
const NAMES: usize = 3;

/// Default SNDHWM and RCVHWM (libzmq's 1000).
const DEFAULT_HWM: usize = 1000;

/// What a run did, for the unit tests below.
#[derive(Debug, Default, PartialEq, Eq)]
struct Tally {
    sent: usize,
    received: usize,
    would_block_send: usize,
    would_block_recv: usize,
    unreachable: usize,
    addr_in_use: usize,
    closed: usize,
}

/// Which end of a connection a routing id names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum End {
    Connecter,
    Binder,
}

/// One inproc connection as the model sees it.
#[derive(Debug)]
struct Conn {
    connecter: usize,
    /// The socket that bound the name; `None` while the connect waits for a bind.
    binder: Option<usize>,
    connecter_rid: u32,
    /// The binder's routing id for this connection, once a message has shown it.
    binder_rid: Option<u32>,
    /// Serials of messages sent and not yet received: `[connecter -> binder, binder ->
    /// connecter]`.
    queues: [VecDeque<u64>; 2],
    /// Pipe HWMs, same order (0 = unlimited). Before the bind only the first is known: the
    /// connecter's SNDHWM at connect time.
    hwm: [usize; 2],
}

impl Conn {
    /// The socket that receives in direction `dir`.
    fn receiver(&self, dir: usize) -> Option<usize> {
        if dir == 0 {
            self.binder
        } else {
            Some(self.connecter)
        }
    }

    /// The socket that sends in direction `dir`.
    fn sender(&self, dir: usize) -> Option<usize> {
        if dir == 0 {
            Some(self.connecter)
        } else {
            self.binder
        }
    }
}

/// One socket and what the model knows about it.
#[derive(Debug)]
struct Peer {
    socket: Socket,
    closed: bool,
    sndhwm: usize,
    /// Routing ids this socket was given, in order, with their connection and end.
    ids: Vec<u32>,
    routes: HashMap<u32, (usize, End)>,
}

/// The reference model plus the sockets under test.
struct Model {
    peers: Vec<Peer>,
    conns: Vec<Conn>,
    /// The live binder of each name.
    names: [Option<usize>; NAMES],
    /// Connections waiting for a bind of each name.
    pending: [Vec<usize>; NAMES],
    /// Messages sent and not received: serial -> (connection, direction, body).
    sent: HashMap<u64, (usize, usize, Vec<u8>)>,
    next_serial: u64,
    tally: Tally,
}

/// The sum of a sender's SNDHWM and a receiver's RCVHWM, unlimited (0) if either is 0.
fn combined_hwm(send: usize, recv: usize) -> usize {
    if send == 0 || recv == 0 {
        0
    } else {
        send + recv
    }
}

fn endpoint(name: usize) -> String {
    format!("inproc://fuzz{name}")
}

/// Runs the operations of `data` against the model; returns what happened.
fn run_peer_ops(data: &[u8]) -> Tally {
    let Some((&flags, ops)) = data.split_first() else {
        return Tally::default();
    };
    let threads = usize::from(flags & 0x01);
    let count = 2 + usize::from((flags >> 1) & 0b11).min(2);
    let linger_zero = flags & 0x08 != 0;
    let context = match Context::with_io_threads(threads) {
        Ok(context) => context,
        Err(err) => panic!("cannot create a context with {threads} I/O threads: {err}"),
    };
    let mut peers = Vec::new();
    for _ in 0..count {
        let socket = match context.socket(SocketType::Peer) {
            Ok(socket) => socket,
            Err(err) => panic!("cannot create a PEER socket: {err}"),
        };
        if linger_zero {
            assert!(socket.set_linger(0).is_ok());
        }
        peers.push(Peer {
            socket,
            closed: false,
            sndhwm: DEFAULT_HWM,
            ids: Vec::new(),
            routes: HashMap::new(),
        });
    }
    let mut model = Model {
        peers,
        conns: Vec::new(),
        names: [None; NAMES],
        pending: Default::default(),
        sent: HashMap::new(),
        next_serial: 0,
        tally: Tally::default(),
    };
    for op in ops.chunks_exact(OP_LEN).take(MAX_OPS) {
        let (code, socket, a, b) = (op[0], usize::from(op[1]) % count, op[2], op[3]);
        match code % 8 {
            0 => model.bind(socket, usize::from(a) % NAMES),
            1 => model.connect(socket, usize::from(a) % NAMES),
            2 => model.send_known(socket, usize::from(a), b),
            3 => {
                let id = u32::from(a) * 256 + u32::from(b) + 1;
                model.send_to(socket, Some(id), b, true);
            }
            4 => model.send_to(socket, None, b, false),
            5 => {
                model.recv(socket);
            }
            6 => model.close(socket),
            _ => model.set_sndhwm(socket, a % 4),
        }
    }
    model.drain();
    let tally = std::mem::take(&mut model.tally);
    // Sockets, then the context: dropping must not hang, whatever is still queued.
    drop(model);
    drop(context);
    tally
}

impl Model {
    fn expect_closed<T: std::fmt::Debug>(&mut self, what: &str, result: &Result<T, Error>) {
        assert!(
            matches!(result, Err(Error::SocketClosed)),
            "{what} on a closed socket gave {result:?}"
        );
        self.tally.closed += 1;
    }

    fn bind(&mut self, s: usize, name: usize) {
        let result = self.peers[s].socket.bind(&endpoint(name));
        if self.peers[s].closed {
            return self.expect_closed("bind", &result);
        }
        if self.names[name].is_some() {
            assert!(
                matches!(result, Err(Error::AddrInUse)),
                "a second bind of a live name gave {result:?}"
            );
            self.tally.addr_in_use += 1;
            return;
        }
        assert!(result.is_ok(), "bind of a free inproc name gave {result:?}");
        self.names[name] = Some(s);
        for c in std::mem::take(&mut self.pending[name]) {
            let connecter_open = !self.peers[self.conns[c].connecter].closed;
            let conn = &mut self.conns[c];
            conn.binder = Some(s);
            conn.hwm[0] = combined_hwm(conn.hwm[0], DEFAULT_HWM);
            conn.hwm[1] = if connecter_open {
                combined_hwm(self.peers[s].sndhwm, DEFAULT_HWM)
            } else {
                1
            };
        }
    }

    fn connect(&mut self, s: usize, name: usize) {
        let result = self.peers[s].socket.connect_peer(&endpoint(name));
        if self.peers[s].closed {
            return self.expect_closed("connect_peer", &result);
        }
        let rid = match result {
            Ok(rid) => rid.get(),
            Err(err) => panic!("connect_peer to inproc failed: {err:?}"),
        };
        let peer = &mut self.peers[s];
        assert!(
            !peer.routes.contains_key(&rid),
            "connect_peer reused routing id {rid}"
        );
        let c = self.conns.len();
        peer.ids.push(rid);
        peer.routes.insert(rid, (c, End::Connecter));
        let binder = self.names[name];
        let hwm = match binder {
            Some(b) => [
                combined_hwm(self.peers[s].sndhwm, DEFAULT_HWM),
                combined_hwm(self.peers[b].sndhwm, DEFAULT_HWM),
            ],
            None => {
                self.pending[name].push(c);
                [self.peers[s].sndhwm, 0]
            }
        };
        self.conns.push(Conn {
            connecter: s,
            binder,
            connecter_rid: rid,
            binder_rid: None,
            queues: Default::default(),
            hwm,
        });
    }

    fn send_known(&mut self, s: usize, index: usize, pad: u8) {
        let ids = &self.peers[s].ids;
        if ids.is_empty() {
            return;
        }
        let id = ids[index % ids.len()];
        self.send_to(s, Some(id), pad, false);
    }

    /// Sends a fresh message to `rid`. With `unknown` the id came from the input: the send is
    /// skipped if the socket has connections whose routing id it has not seen yet (the id might
    /// name one of them).
    fn send_to(&mut self, s: usize, rid: Option<u32>, pad: u8, unknown: bool) {
        let route = rid.and_then(|id| self.peers[s].routes.get(&id).copied());
        if unknown && route.is_none() && self.has_unseen_routes(s) {
            return;
        }
        let serial = self.next_serial;
        self.next_serial += 1;
        let mut body = serial.to_le_bytes().to_vec();
        #[allow(
            clippy::cast_possible_truncation,
            reason = "any octet pattern will do for the padding"
        )]
        body.extend(std::iter::repeat_n(serial as u8, usize::from(pad % 32)));
        let mut message = Message::from(body.clone());
        if let Some(id) = rid.and_then(RoutingId::new) {
            message.set_routing_id(id);
        }
        let result = self.peers[s].socket.try_send(message);
        if self.peers[s].closed {
            return self.expect_closed("try_send", &result);
        }
        let Some((c, end)) = route else {
            assert!(
                matches!(result, Err(Error::HostUnreachable)),
                "a send to routing id {rid:?}, never given to this socket, gave {result:?}"
            );
            assert_eq!(
                result.as_ref().map_err(Error::errno),
                Err(zmq_peer::errno::EHOSTUNREACH)
            );
            self.tally.unreachable += 1;
            return;
        };
        let dir = match end {
            End::Connecter => 0,
            End::Binder => 1,
        };
        let conn = &self.conns[c];
        let receiver_open = conn.receiver(dir).is_none_or(|r| !self.peers[r].closed);
        if !receiver_open {
            // The peer is gone: the route goes when the socket notices.
            assert!(
                matches!(
                    result,
                    Ok(()) | Err(Error::HostUnreachable | Error::WouldBlock)
                ),
                "a send to a closed peer gave {result:?}"
            );
            if matches!(result, Err(Error::HostUnreachable)) {
                self.tally.unreachable += 1;
            }
            return;
        }
        let queued = conn.queues[dir].len();
        let hwm = conn.hwm[dir];
        if hwm == 0 || queued < hwm {
            assert!(
                result.is_ok(),
                "a send with {queued} of {hwm} queued gave {result:?}"
            );
            self.conns[c].queues[dir].push_back(serial);
            self.sent.insert(serial, (c, dir, body));
            self.tally.sent += 1;
        } else {
            assert!(
                matches!(result, Err(Error::WouldBlock)),
                "a send with the pipe at its HWM of {hwm} gave {result:?}"
            );
            self.tally.would_block_send += 1;
        }
    }

    /// Whether `s` is the binder of a connection whose binder-side routing id no received
    /// message has shown yet.
    fn has_unseen_routes(&self, s: usize) -> bool {
        self.conns
            .iter()
            .any(|conn| conn.binder == Some(s) && conn.binder_rid.is_none())
    }

    /// One `try_recv`; returns whether a message came.
    fn recv(&mut self, s: usize) -> bool {
        let result = self.peers[s].socket.try_recv();
        if self.peers[s].closed {
            self.expect_closed("try_recv", &result);
            return false;
        }
        match result {
            Ok(message) => {
                self.received(s, &message);
                true
            }
            Err(Error::WouldBlock) => {
                for conn in &self.conns {
                    for dir in 0..2 {
                        let live = conn.receiver(dir) == Some(s)
                            && conn
                                .sender(dir)
                                .is_some_and(|from| !self.peers[from].closed);
                        assert!(
                            !live || conn.queues[dir].is_empty(),
                            "try_recv would block with {} message(s) queued for it",
                            conn.queues[dir].len()
                        );
                    }
                }
                self.tally.would_block_recv += 1;
                false
            }
            Err(err) => panic!("try_recv gave {err:?}"),
        }
    }

    /// Checks a received message against the model and takes it off its queue.
    fn received(&mut self, s: usize, message: &Message) {
        let bytes = message.as_bytes();
        let serial = bytes
            .first_chunk::<8>()
            .map(|serial| u64::from_le_bytes(*serial));
        let Some((c, dir, body)) = serial.and_then(|serial| self.sent.remove(&serial)) else {
            panic!("received {bytes:02x?}, which was never sent (or was received before)");
        };
        assert_eq!(bytes, &body[..], "a message arrived altered");
        assert!(
            message.gets("Socket-Type").is_none(),
            "inproc carries no metadata"
        );
        let conn = &mut self.conns[c];
        assert_eq!(
            conn.receiver(dir),
            Some(s),
            "a message arrived at the wrong socket"
        );
        assert_eq!(
            conn.queues[dir].pop_front(),
            serial,
            "messages of one connection arrived out of order"
        );
        let Some(rid) = message.routing_id().map(RoutingId::get) else {
            panic!("a received message has no routing id");
        };
        if dir == 1 {
            assert_eq!(rid, conn.connecter_rid, "wrong routing id on a reply");
        } else if let Some(known) = conn.binder_rid {
            assert_eq!(rid, known, "a connection's routing id changed");
        } else {
            let peer = &mut self.peers[s];
            assert!(
                !peer.routes.contains_key(&rid),
                "routing id {rid} names two connections"
            );
            conn.binder_rid = Some(rid);
            peer.ids.push(rid);
            peer.routes.insert(rid, (c, End::Binder));
        }
        self.tally.received += 1;
    }

    fn close(&mut self, s: usize) {
        let result = self.peers[s].socket.clone().close();
        if self.peers[s].closed {
            return self.expect_closed("close", &result);
        }
        assert!(result.is_ok(), "close gave {result:?}");
        self.peers[s].closed = true;
        for binder in &mut self.names {
            if *binder == Some(s) {
                *binder = None;
            }
        }
    }

    fn set_sndhwm(&mut self, s: usize, hwm: u8) {
        let result = self.peers[s].socket.set_sndhwm(i32::from(hwm));
        if self.peers[s].closed {
            return self.expect_closed("set_sndhwm", &result);
        }
        assert!(result.is_ok(), "set_sndhwm({hwm}) gave {result:?}");
        self.peers[s].sndhwm = usize::from(hwm);
    }

    /// Receives on every open socket until it would block.
    fn drain(&mut self) {
        for s in 0..self.peers.len() {
            if self.peers[s].closed {
                continue;
            }
            for _ in 0..=self.sent.len() {
                if !self.recv(s) {
                    break;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ops(flags: u8, list: &[[u8; OP_LEN]]) -> Vec<u8> {
        [vec![flags], list.concat()].concat()
    }

    #[test]
    fn bind_connect_send_reply_and_unreachable() {
        for flags in [0x00, 0x01, 0x08] {
            let tally = run_peer_ops(&ops(
                flags,
                &[
                    [0, 0, 0, 0],       // s0 binds fuzz0
                    [1, 1, 0, 0],       // s1 connects
                    [2, 1, 0, 4],       // s1 -> s0
                    [5, 0, 0, 0],       // s0 receives, learns the id
                    [2, 0, 0, 1],       // s0 -> s1
                    [5, 1, 0, 0],       // s1 receives
                    [3, 0, 0x12, 0x34], // s0 -> unknown id
                    [4, 1, 0, 0],       // s1 -> no id
                    [5, 1, 0, 0],       // nothing left
                ],
            ));
            assert_eq!(tally.sent, 2, "{flags:#x}: {tally:?}");
            assert_eq!(tally.received, 2);
            assert_eq!(tally.unreachable, 2);
            assert!(tally.would_block_recv >= 1);
        }
    }

    #[test]
    fn connect_before_bind_queues_up_to_sndhwm_then_gets_the_sum() {
        let tally = run_peer_ops(&ops(
            0,
            &[
                [7, 1, 1, 0], // s1 SNDHWM 1
                [1, 1, 2, 0], // s1 connects to fuzz2 before the bind
                [2, 1, 0, 0], // queued
                [2, 1, 0, 0], // full: WouldBlock
                [0, 0, 2, 0], // s0 binds: HWM 1 + 1000
                [2, 1, 0, 0], // fits now
                [5, 0, 0, 0],
                [5, 0, 0, 0],
                [5, 0, 0, 0], // WouldBlock
            ],
        ));
        assert_eq!(tally.sent, 2, "{tally:?}");
        assert_eq!(tally.would_block_send, 1);
        assert_eq!(tally.received, 2);
        assert_eq!(
            tally.would_block_recv, 3,
            "one in the ops, two in the drain"
        );
    }

    #[test]
    fn duplicate_bind_close_and_rebind() {
        let tally = run_peer_ops(&ops(
            0x02, // three sockets
            &[
                [0, 0, 0, 0], // s0 binds fuzz0
                [0, 1, 0, 0], // s1: AddrInUse
                [0, 0, 0, 0], // s0 again: AddrInUse
                [1, 2, 0, 0], // s2 connects to s0
                [2, 2, 0, 0], // s2 -> s0
                [6, 0, 0, 0], // s0 closes
                [6, 0, 0, 0], // SocketClosed
                [5, 0, 0, 0], // SocketClosed
                [2, 2, 0, 0], // to a closed peer: anything but a crash
                [0, 1, 0, 0], // s1 may bind the freed name
                [1, 2, 0, 0], // and s2 reaches it
                [2, 2, 1, 0], // s2 -> s1 (second id)
                [5, 1, 0, 0],
            ],
        ));
        assert_eq!(tally.addr_in_use, 2, "{tally:?}");
        assert_eq!(tally.closed, 2);
        assert_eq!(tally.received, 1);
    }

    #[test]
    fn a_socket_may_connect_to_itself() {
        let tally = run_peer_ops(&ops(
            0,
            &[
                [0, 0, 1, 0],
                [1, 0, 1, 0],
                [2, 0, 0, 0],
                [5, 0, 0, 0], // learns the binder-side id
                [2, 0, 1, 0], // back over the binder end
                [5, 0, 0, 0],
            ],
        ));
        assert_eq!(tally.sent, 2, "{tally:?}");
        assert_eq!(tally.received, 2);
    }
}
