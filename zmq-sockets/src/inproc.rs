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

/// A connect waiting for its bind: the connecter's routing id and the far end of its
/// outbound pipe.
#[derive(Debug)]
struct Pending {
    connecter: Weak<SocketCore>,
    routing_id: u32,
    outbound: PipeReceiver,
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
            let connecter = p.connecter.upgrade().filter(|c| !c.is_closed());
            link_pending(connecter.as_deref(), p.routing_id, p.outbound, binder);
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
        let (tx, rx) = pipe(connecter.options().send_hwm());
        let routing_id = connecter.attach(tx, None)?;
        let pending = Pending {
            connecter: Arc::downgrade(connecter),
            routing_id,
            outbound: rx,
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
/// If the connecter has closed or disconnected meanwhile, its queued messages are still owed
/// to the binder within its LINGER (the pipe's close deadline enforces that), as in libzmq;
/// replies then have nowhere to go and fail with `HostUnreachable`.
fn link_pending(
    connecter: Option<&SocketCore>,
    routing_id: u32,
    outbound: PipeReceiver,
    binder: &SocketCore,
) {
    let hwm = match connecter {
        Some(c) => combined_hwm(binder.options().send_hwm(), c.options().recv_hwm()),
        None => 1,
    };
    let (b_tx, c_rx) = pipe(hwm);
    // On refusal `c_rx` is dropped, which closes `b_tx` for the binder.
    if let Some(c) = connecter {
        let _ = c.attach_inbound(routing_id, InPipe::inproc(c_rx));
    }
    let _ = binder.attach(b_tx, Some(InPipe::inproc(outbound)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combined_hwm_is_a_sum_or_unlimited() {
        assert_eq!(combined_hwm(1000, 1000), 2000);
        assert_eq!(combined_hwm(0, 1000), 0);
        assert_eq!(combined_hwm(5, 0), 0);
        assert_eq!(combined_hwm(usize::MAX, 1), usize::MAX);
    }
}
