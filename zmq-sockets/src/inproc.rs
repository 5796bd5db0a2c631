//! inproc: a context-wide name registry and direct pipe pairs between two socket cores.
//!
//! An inproc connection is two pipes whose ends sit directly in the two sockets' routing
//! tables: no encoding, no I/O thread, no handshake, no socket-type check, no metadata (as in
//! libzmq). Connect and bind may happen in either order: a connect to a name nobody has bound
//! yet creates the connecter's outbound pipe at once (so `connect_peer` returns a routing id
//! and sends queue up to SNDHWM), and the binder picks it up when it binds the name.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::{Arc, Weak};

use parking_lot::Mutex;
use zmq_transport::{PipeReceiver, pipe};

use crate::Error;
use crate::socket::{InPipe, SocketCore};

/// The inproc names of one context.
#[derive(Debug, Default)]
pub(crate) struct Registry {
    names: Mutex<HashMap<String, Slot>>,
}

#[derive(Debug)]
enum Slot {
    /// A socket bound this name.
    Bound(Weak<SocketCore>),
    /// Sockets connected to this name before anyone bound it.
    Pending(Vec<Pending>),
}

/// A connect waiting for its bind: the connecter's routing id, the far end of its outbound
/// pipe, and its HWMs as they were at connect time (libzmq keeps the connect-time options).
#[derive(Debug)]
struct Pending {
    connecter: Weak<SocketCore>,
    routing_id: u32,
    outbound: PipeReceiver,
    send_hwm: usize,
    recv_hwm: usize,
}

impl Registry {
    /// Binds `name` to `binder` and completes the connects that were waiting for it.
    pub(crate) fn bind(&self, name: &str, binder: &Arc<SocketCore>) -> Result<(), Error> {
        let pending = {
            let mut names = self.names.lock();
            let slot = Slot::Bound(Arc::downgrade(binder));
            match names.entry(name.to_owned()) {
                Entry::Vacant(v) => {
                    v.insert(slot);
                    Vec::new()
                }
                Entry::Occupied(mut o) => match o.get() {
                    // libzmq: a duplicate bind of an inproc name in one context is EADDRINUSE.
                    Slot::Bound(w) if w.upgrade().is_some_and(|s| !s.is_closed()) => {
                        return Err(Error::AddrInUse);
                    }
                    _ => match std::mem::replace(o.get_mut(), slot) {
                        Slot::Pending(p) => p,
                        Slot::Bound(_) => Vec::new(),
                    },
                },
            }
        };
        for p in pending {
            link_pending(p, binder);
        }
        Ok(())
    }

    /// Forgets `name` if `binder` bound it. Existing connections stay up.
    pub(crate) fn unbind(&self, name: &str, binder: &SocketCore) -> bool {
        let mut names = self.names.lock();
        let ours =
            matches!(names.get(name), Some(Slot::Bound(w)) if std::ptr::eq(w.as_ptr(), binder));
        if ours {
            names.remove(name);
        }
        ours
    }

    /// Connects `connecter` to `name`: at once if the name is bound, else when it is.
    /// Returns the connecter-side routing id.
    pub(crate) fn connect(&self, name: &str, connecter: &Arc<SocketCore>) -> Result<u32, Error> {
        let mut names = self.names.lock();
        let binder = match names.get(name) {
            Some(Slot::Bound(w)) => w.upgrade().filter(|b| !b.is_closed()),
            _ => None,
        };
        if let Some(binder) = binder {
            drop(names);
            return link(connecter, &binder);
        }
        // Nobody has bound the name: only the connecter's SNDHWM bounds the pipe for now.
        let options = connecter.options();
        let (tx, rx) = pipe(options.send_hwm());
        let routing_id = connecter.attach(tx, None)?;
        let pending = Pending {
            connecter: Arc::downgrade(connecter),
            routing_id,
            outbound: rx,
            send_hwm: options.send_hwm(),
            recv_hwm: options.recv_hwm(),
        };
        match names.entry(name.to_owned()) {
            Entry::Occupied(mut o) => match o.get_mut() {
                Slot::Pending(v) => v.push(pending),
                bound @ Slot::Bound(_) => *bound = Slot::Pending(vec![pending]),
            },
            Entry::Vacant(v) => {
                v.insert(Slot::Pending(vec![pending]));
            }
        }
        Ok(routing_id)
    }
}

/// The HWM of an inproc pipe: the sender's SNDHWM plus the receiver's RCVHWM, unlimited if
/// either is 0 (libzmq `socket_base_t::connect_internal`).
pub(crate) fn combined_hwm(send_hwm: usize, recv_hwm: usize) -> usize {
    if send_hwm == 0 || recv_hwm == 0 {
        0
    } else {
        send_hwm.saturating_add(recv_hwm)
    }
}

/// Links two live sockets with a fresh pipe pair; returns the connecter-side routing id.
fn link(connecter: &Arc<SocketCore>, binder: &Arc<SocketCore>) -> Result<u32, Error> {
    let (c_opts, b_opts) = (connecter.options(), binder.options());
    let (c_tx, b_rx) = pipe(combined_hwm(c_opts.send_hwm(), b_opts.recv_hwm()));
    let (b_tx, c_rx) = pipe(combined_hwm(b_opts.send_hwm(), c_opts.recv_hwm()));
    let id = connecter.attach(c_tx, Some(InPipe::inproc(c_rx)))?;
    // A binder closing at this very moment refuses the pipes; dropping them closes the
    // connecter's ends, so its sends then fail with HostUnreachable.
    let _ = binder.attach(b_tx, Some(InPipe::inproc(b_rx)));
    Ok(id)
}

/// Completes a connect-before-bind once the name is bound.
///
/// The connecter's outbound pipe, bounded by its SNDHWM alone so far, gets the full inproc
/// HWM (its SNDHWM plus the binder's RCVHWM; a writer blocked on the old mark is woken), and
/// the new binder-to-connecter pipe gets the binder's SNDHWM plus the connecter's RCVHWM, as
/// libzmq's `connect_inproc_sockets` does with `set_hwms_boost` / `set_hwms`.
///
/// If the connecter has closed or disconnected meanwhile, its queued messages are still owed
/// to the binder within its LINGER (the pipe's close deadline enforces that), as in libzmq;
/// replies then have nowhere to go and fail with `HostUnreachable`.
fn link_pending(pending: Pending, binder: &SocketCore) {
    let b_opts = binder.options();
    pending
        .outbound
        .set_hwm(combined_hwm(pending.send_hwm, b_opts.recv_hwm()));
    let connecter = pending.connecter.upgrade().filter(|c| !c.is_closed());
    let hwm = match connecter {
        Some(_) => combined_hwm(b_opts.send_hwm(), pending.recv_hwm),
        None => 1,
    };
    let (b_tx, c_rx) = pipe(hwm);
    // On refusal `c_rx` is dropped, which closes `b_tx` for the binder.
    if let Some(c) = connecter {
        let _ = c.attach_inbound(pending.routing_id, InPipe::inproc(c_rx));
    }
    let _ = binder.attach(b_tx, Some(InPipe::inproc(pending.outbound)));
}

#[cfg(test)]
mod tests {
    use std::thread;

    use super::*;
    use crate::options::number;
    use crate::{ContextCore, Message, RoutingId, Socket, SocketType};

    fn peer(ctx: &Arc<ContextCore>, send_hwm: i32, recv_hwm: i32) -> Socket {
        let s = ctx.socket(SocketType::Peer).unwrap();
        s.set_option_int(number::SNDHWM, send_hwm).unwrap();
        s.set_option_int(number::RCVHWM, recv_hwm).unwrap();
        s.set_option_int(number::SNDTIMEO, 10_000).unwrap();
        s.set_option_int(number::RCVTIMEO, 10_000).unwrap();
        s
    }

    /// Non-blocking sends of numbered messages from `from` until the pipe refuses one.
    fn fill(s: &Socket, id: RoutingId, from: u32) -> u32 {
        let mut n = from;
        loop {
            match s.try_send(Message::with_routing_id(n.to_be_bytes().to_vec(), id)) {
                Ok(()) => n += 1,
                Err(Error::WouldBlock) => return n - from,
                Err(e) => panic!("send {n}: {e:?}"),
            }
            assert!(n < 100_000, "the pipe never filled up");
        }
    }

    #[test]
    fn connect_before_bind_gets_the_summed_hwm_at_bind() {
        let ctx = ContextCore::new(0);
        let connecter = peer(&ctx, 3, 1000);
        let id = connecter.connect_peer("inproc://hwm-late-bind").unwrap();
        assert_eq!(
            fill(&connecter, id, 0),
            3,
            "before the bind: the SNDHWM alone"
        );
        let binder = peer(&ctx, 1000, 4);
        binder.bind("inproc://hwm-late-bind").unwrap();
        assert_eq!(
            fill(&connecter, id, 3),
            4,
            "after the bind: SNDHWM + RCVHWM"
        );
        for n in 0..7_u32 {
            let m = binder.recv().unwrap();
            assert_eq!(m.as_bytes(), n.to_be_bytes());
        }
        assert!(matches!(binder.try_recv(), Err(Error::WouldBlock)));
    }

    #[test]
    fn a_send_blocked_before_the_bind_resumes_when_the_bind_adds_room() {
        let ctx = ContextCore::new(0);
        let connecter = peer(&ctx, 1, 1000);
        let id = connecter.connect_peer("inproc://hwm-blocked").unwrap();
        assert_eq!(fill(&connecter, id, 0), 1);
        // Blocks (SNDTIMEO 10 s) until the bind raises the HWM; nobody ever reads.
        let blocked = thread::spawn(move || {
            let sent = connecter.send(Message::with_routing_id(&b"more"[..], id));
            (sent, connecter)
        });
        let binder = peer(&ctx, 1000, 1);
        binder.bind("inproc://hwm-blocked").unwrap();
        let (sent, _connecter) = blocked.join().unwrap();
        assert!(sent.is_ok(), "the bind made room");
        assert_eq!(binder.recv().unwrap().as_bytes(), 0_u32.to_be_bytes());
        assert_eq!(binder.recv().unwrap().as_bytes(), b"more");
    }

    #[test]
    fn the_reverse_pipe_of_a_late_bind_sums_binder_sndhwm_and_connecter_rcvhwm() {
        let ctx = ContextCore::new(0);
        let connecter = peer(&ctx, 1000, 3);
        let id = connecter.connect_peer("inproc://hwm-reverse").unwrap();
        connecter
            .send(Message::with_routing_id(&b"hello"[..], id))
            .unwrap();
        let binder = peer(&ctx, 2, 1000);
        binder.bind("inproc://hwm-reverse").unwrap();
        let back = binder.recv().unwrap().routing_id().unwrap();
        assert_eq!(fill(&binder, back, 0), 5);
        for n in 0..5_u32 {
            let m = connecter.recv().unwrap();
            assert_eq!(m.as_bytes(), n.to_be_bytes());
            assert_eq!(m.routing_id(), Some(id));
        }
    }

    #[test]
    fn a_zero_hwm_on_either_side_makes_the_late_bound_pipe_unlimited() {
        let ctx = ContextCore::new(0);
        let connecter = peer(&ctx, 2, 0);
        let id = connecter.connect_peer("inproc://hwm-zero").unwrap();
        assert_eq!(fill(&connecter, id, 0), 2);
        let binder = peer(&ctx, 2, 0);
        binder.bind("inproc://hwm-zero").unwrap();
        for n in 2..20_000_u32 {
            connecter
                .try_send(Message::with_routing_id(n.to_be_bytes().to_vec(), id))
                .unwrap();
        }
        let back = binder.recv().unwrap().routing_id().unwrap();
        // binder SNDHWM 2 + connecter RCVHWM 0: unlimited as well.
        for n in 0..20_000_u32 {
            binder
                .try_send(Message::with_routing_id(n.to_be_bytes().to_vec(), back))
                .unwrap();
        }
    }

    #[test]
    fn combined_hwm_is_a_sum_or_unlimited() {
        assert_eq!(combined_hwm(1000, 1000), 2000);
        assert_eq!(combined_hwm(0, 1000), 0);
        assert_eq!(combined_hwm(5, 0), 0);
        assert_eq!(combined_hwm(usize::MAX, 1), usize::MAX);
    }
}
