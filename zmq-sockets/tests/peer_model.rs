//! Model-based test of PEER routing: random operation sequences over inproc against a small
//! reference model (per-connection FIFO queues, routing ids, live/dead connections).

use std::collections::{HashSet, VecDeque};

use proptest::prelude::*;
use zmq_sockets::{ContextCore, Error, Message, RoutingId, Socket, SocketType};

const CONNECTERS: usize = 3;

#[derive(Clone, Debug)]
enum Op {
    /// Bind the binder (once; connects before it are pending).
    Bind,
    /// `connect_peer` from connecter socket `s`.
    Connect(usize),
    /// Connection `c` (index into the model's list) sends to the binder.
    SendUp(usize),
    /// The binder sends down connection `c` (if it has learned its routing id).
    SendDown(usize),
    /// The binder sends to a routing id it never saw.
    SendUnknownFromBinder(u32),
    /// Connecter `s` sends to a routing id it never got.
    SendUnknownFromConnecter(usize, u32),
    /// `try_recv` on the binder.
    RecvBinder,
    /// `try_recv` on connecter `s`.
    RecvConnecter(usize),
    /// `disconnect` every connection of connecter `s`.
    Disconnect(usize),
    /// Close connecter `s` (a later `Connect` opens a fresh socket in its slot).
    Close(usize),
}

fn op() -> impl Strategy<Value = Op> {
    let s = 0..CONNECTERS;
    prop_oneof![
        1 => Just(Op::Bind),
        3 => s.clone().prop_map(Op::Connect),
        6 => (0..8usize).prop_map(Op::SendUp),
        5 => (0..8usize).prop_map(Op::SendDown),
        1 => any::<u32>().prop_map(Op::SendUnknownFromBinder),
        1 => (s.clone(), any::<u32>()).prop_map(|(s, id)| Op::SendUnknownFromConnecter(s, id)),
        6 => Just(Op::RecvBinder),
        5 => s.clone().prop_map(Op::RecvConnecter),
        1 => s.clone().prop_map(Op::Disconnect),
        1 => s.prop_map(Op::Close),
    ]
}

/// One connection as the model sees it.
#[derive(Debug)]
struct Conn {
    socket: usize,
    /// Its routing id at the connecter (from `connect_peer`).
    up_id: RoutingId,
    /// Its routing id at the binder, once the binder has received from it.
    down_id: Option<RoutingId>,
    alive: bool,
    up: VecDeque<Vec<u8>>,
    down: VecDeque<Vec<u8>>,
    sent: u16,
}

struct Harness {
    ctx: std::sync::Arc<ContextCore>,
    name: String,
    binder: Socket,
    bound: bool,
    connecters: Vec<Socket>,
    conns: Vec<Conn>,
    binder_ids: HashSet<RoutingId>,
}

impl Harness {
    fn new(case: u64) -> Self {
        let ctx = ContextCore::new(0);
        let binder = ctx.socket(SocketType::Peer).unwrap();
        let connecters = (0..CONNECTERS)
            .map(|_| ctx.socket(SocketType::Peer).unwrap())
            .collect();
        Self {
            ctx,
            name: format!("inproc://model-{case}"),
            binder,
            bound: false,
            connecters,
            conns: Vec::new(),
            binder_ids: HashSet::new(),
        }
    }

    fn payload(conn: usize, seq: u16, down: bool) -> Vec<u8> {
        let [a, b] = seq.to_be_bytes();
        vec![u8::try_from(conn).unwrap(), a, b, u8::from(down)]
    }

    fn apply(&mut self, op: &Op) {
        match *op {
            Op::Bind => {
                if !self.bound {
                    self.binder.bind(&self.name).unwrap();
                    self.bound = true;
                }
            }
            Op::Connect(s) => {
                if self.connecters[s].is_closed() {
                    self.connecters[s] = self.ctx.socket(SocketType::Peer).unwrap();
                }
                let id = self.connecters[s].connect_peer(&self.name).unwrap();
                let socket_ids: Vec<_> = self
                    .conns
                    .iter()
                    .filter(|c| c.socket == s && c.alive)
                    .map(|c| c.up_id)
                    .collect();
                assert!(
                    !socket_ids.contains(&id),
                    "routing id {id} handed out twice"
                );
                self.conns.push(Conn {
                    socket: s,
                    up_id: id,
                    down_id: None,
                    alive: true,
                    up: VecDeque::new(),
                    down: VecDeque::new(),
                    sent: 0,
                });
            }
            Op::SendUp(c) => {
                let Some(conn) = self.conns.get_mut(c) else {
                    return;
                };
                let body = Self::payload(c, conn.sent, false);
                conn.sent += 1;
                let result = self.connecters[conn.socket]
                    .try_send(Message::with_routing_id(body.clone(), conn.up_id));
                if conn.alive {
                    result.unwrap();
                    conn.up.push_back(body);
                } else {
                    assert!(
                        matches!(result, Err(Error::HostUnreachable | Error::SocketClosed)),
                        "{result:?}"
                    );
                }
            }
            Op::SendDown(c) => {
                let Some(conn) = self.conns.get_mut(c) else {
                    return;
                };
                let Some(down_id) = conn.down_id else { return };
                let body = Self::payload(c, conn.sent, true);
                conn.sent += 1;
                let result = self
                    .binder
                    .try_send(Message::with_routing_id(body.clone(), down_id));
                if conn.alive {
                    result.unwrap();
                    conn.down.push_back(body);
                } else {
                    assert!(matches!(result, Err(Error::HostUnreachable)), "{result:?}");
                }
            }
            Op::SendUnknownFromBinder(raw) => {
                let Some(id) = RoutingId::new(raw) else {
                    return;
                };
                if self.binder_ids.contains(&id) {
                    return;
                }
                let result = self.binder.try_send(Message::with_routing_id("?", id));
                assert!(matches!(result, Err(Error::HostUnreachable)), "{result:?}");
            }
            Op::SendUnknownFromConnecter(s, raw) => {
                let Some(id) = RoutingId::new(raw) else {
                    return;
                };
                if self.conns.iter().any(|c| c.socket == s && c.up_id == id) {
                    return;
                }
                let result = self.connecters[s].try_send(Message::with_routing_id("?", id));
                assert!(
                    matches!(result, Err(Error::HostUnreachable | Error::SocketClosed)),
                    "{result:?}"
                );
            }
            Op::RecvBinder => {
                let pending = self.bound && self.conns.iter().any(|c| !c.up.is_empty());
                match self.binder.try_recv() {
                    Ok(m) => {
                        assert!(pending, "binder received {m:?} with nothing queued");
                        let c = usize::from(m.as_bytes()[0]);
                        let conn = &mut self.conns[c];
                        assert_eq!(
                            conn.up.pop_front().as_deref(),
                            Some(m.as_bytes()),
                            "FIFO per connection"
                        );
                        let id = m.routing_id().expect("PEER stamps the routing id");
                        match conn.down_id {
                            Some(known) => assert_eq!(known, id),
                            None => {
                                assert!(
                                    self.binder_ids.insert(id),
                                    "binder reused routing id {id}"
                                );
                                conn.down_id = Some(id);
                            }
                        }
                    }
                    Err(Error::WouldBlock) => assert!(!pending, "binder missed a queued message"),
                    Err(e) => panic!("binder try_recv: {e:?}"),
                }
            }
            Op::RecvConnecter(s) => {
                let pending = self
                    .conns
                    .iter()
                    .any(|c| c.socket == s && !c.down.is_empty());
                match self.connecters[s].try_recv() {
                    Ok(m) => {
                        assert!(pending, "connecter received {m:?} with nothing queued");
                        let c = usize::from(m.as_bytes()[0]);
                        let conn = &mut self.conns[c];
                        assert_eq!(conn.socket, s);
                        assert_eq!(conn.down.pop_front().as_deref(), Some(m.as_bytes()));
                        assert_eq!(m.routing_id(), Some(conn.up_id));
                    }
                    Err(Error::WouldBlock | Error::SocketClosed) => {
                        assert!(!pending, "connecter missed a queued message");
                    }
                    Err(e) => panic!("connecter try_recv: {e:?}"),
                }
            }
            Op::Disconnect(s) => {
                let had = self.conns.iter().any(|c| c.socket == s && c.alive);
                let result = self.connecters[s].disconnect(&self.name);
                if had {
                    result.unwrap();
                } else {
                    assert!(result.is_err());
                }
                self.kill(s);
            }
            Op::Close(s) => {
                let _ = self.connecters[s].close();
                self.kill(s);
            }
        }
    }

    /// Connections of socket `s` die: replies to them are lost, their queued messages to the
    /// binder stay deliverable (LINGER -1).
    fn kill(&mut self, s: usize) {
        for conn in self.conns.iter_mut().filter(|c| c.socket == s) {
            conn.alive = false;
            conn.down.clear();
        }
    }

    /// Binds if needed, then drains the binder: everything still queued must arrive.
    fn finish(&mut self) {
        self.apply(&Op::Bind);
        while self.conns.iter().any(|c| !c.up.is_empty()) {
            self.apply(&Op::RecvBinder);
        }
        self.apply(&Op::RecvBinder);
        self.ctx.terminate();
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn peer_routing_matches_the_model(ops in prop::collection::vec(op(), 1..120)) {
        static CASE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let case = CASE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut h = Harness::new(case);
        for op in &ops {
            h.apply(op);
        }
        h.finish();
    }
}
