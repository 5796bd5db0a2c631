//! LINGER after close/disconnect: connections that still owe queued messages to a peer keep
//! running (and connecters keep reconnecting) until they flushed, their deadline passed, or
//! the context is terminated.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::Instant;

use parking_lot::{Condvar, Mutex};
use zmq_transport::{Connecter, PipeReceiver};

/// The life of one tcp/ipc connection as the socket layer follows it.
#[derive(Debug)]
pub(crate) struct ConnState {
    /// The bind side accepted it (else: a connecter's connection).
    accepted: bool,
    /// Handshake done and the stream not (yet) lost.
    connected: AtomicBool,
    /// Ended for good: no reconnect will follow.
    finished: AtomicBool,
    lingerer: Weak<Shared>,
}

impl ConnState {
    pub(crate) fn is_accepted(&self) -> bool {
        self.accepted
    }

    pub(crate) fn is_finished(&self) -> bool {
        self.finished.load(Ordering::Acquire)
    }

    pub(crate) fn is_connected(&self) -> bool {
        self.connected.load(Ordering::Acquire)
    }

    /// The handshake completed (again).
    pub(crate) fn on_handshake(&self) {
        self.connected.store(true, Ordering::Release);
    }

    /// The stream ended; `will_reconnect` = the connecter will try again.
    pub(crate) fn on_disconnect(&self, will_reconnect: bool) {
        self.connected.store(false, Ordering::Release);
        if !will_reconnect {
            self.finished.store(true, Ordering::Release);
            if let Some(shared) = self.lingerer.upgrade() {
                // Release at once what this connection was holding open, then wake a waiting
                // termination.
                shared.prune();
                shared.notify();
            }
        }
    }
}

/// What a closed socket (or a disconnect) leaves running for LINGER.
///
/// Listeners are not in here: closing one stops accepting at once while the connections it
/// accepted flush on their own (their outbound pipes were closed with the LINGER).
#[derive(Debug, Default)]
pub(crate) struct Lingering {
    /// Kept so unconnected connecters go on reconnecting within the linger window.
    pub(crate) connecters: Vec<Connecter>,
    /// The inbound pipes of those connections, closed on release.
    pub(crate) receivers: Vec<PipeReceiver>,
    /// The connections being waited for.
    pub(crate) states: Vec<Arc<ConnState>>,
    /// `None` = LINGER -1 (forever).
    pub(crate) deadline: Option<Instant>,
}

impl Lingering {
    fn is_done(&self, now: Instant) -> bool {
        self.states.iter().all(|s| s.is_finished()) || self.deadline.is_some_and(|d| now >= d)
    }

    /// Whether termination should wait for this: not done, and (for a bounded wait) some
    /// peer is actually connected, so the flush can make progress.
    fn worth_waiting(&self, now: Instant, wait_for_absent_peers: bool) -> bool {
        !self.is_done(now)
            && (wait_for_absent_peers || self.states.iter().any(|s| s.is_connected()))
    }

    fn release(self) {
        for connecter in self.connecters {
            connecter.close();
        }
        for mut receiver in self.receivers {
            receiver.close();
        }
    }
}

/// The context's set of lingering leftovers.
#[derive(Debug, Default)]
pub(crate) struct Lingerer {
    shared: Arc<Shared>,
}

#[derive(Debug, Default)]
struct Shared {
    entries: Mutex<Vec<Lingering>>,
    /// Wakes [`Lingerer::drain`] when a connection finishes.
    lock: Mutex<()>,
    cv: Condvar,
}

impl Lingerer {
    /// A state to follow one new tcp/ipc connection.
    pub(crate) fn conn_state(&self, accepted: bool) -> Arc<ConnState> {
        Arc::new(ConnState {
            accepted,
            connected: AtomicBool::new(false),
            finished: AtomicBool::new(false),
            lingerer: Arc::downgrade(&self.shared),
        })
    }

    /// Keeps `entry` until its connections finished or its deadline passed.
    pub(crate) fn keep(&self, entry: Lingering) {
        if entry.is_done(Instant::now()) {
            entry.release();
        } else {
            self.shared.entries.lock().push(entry);
        }
        // A connection may have finished while the entry was being built.
        self.shared.prune();
    }

    /// Drops what has finished or expired.
    pub(crate) fn prune(&self) {
        self.shared.prune();
    }

    /// Waits for every entry worth waiting for (see [`Lingering::worth_waiting`]), then
    /// releases everything.
    pub(crate) fn drain(&self, wait_for_absent_peers: bool) {
        let shared = &self.shared;
        loop {
            let mut guard = shared.lock.lock();
            let now = Instant::now();
            let (waiting, next_deadline) = {
                let entries = shared.entries.lock();
                let deadlines: Vec<Option<Instant>> = entries
                    .iter()
                    .filter(|e| e.worth_waiting(now, wait_for_absent_peers))
                    .map(|e| e.deadline)
                    .collect();
                (!deadlines.is_empty(), deadlines.into_iter().flatten().min())
            };
            if !waiting {
                break;
            }
            // Woken by any connection finishing; re-check at least every 100 ms so a peer
            // that went away (no longer "connected") is noticed by a bounded wait.
            let poll = now + std::time::Duration::from_millis(100);
            let until = next_deadline.map_or(poll, |d| d.min(poll));
            let _ = shared.cv.wait_until(&mut guard, until);
        }
        let all = std::mem::take(&mut *shared.entries.lock());
        release_all(all);
    }
}

impl Shared {
    fn prune(&self) {
        let done = take_done(&mut self.entries.lock(), Instant::now());
        release_all(done);
    }

    fn notify(&self) {
        let _guard = self.lock.lock();
        self.cv.notify_all();
    }
}

fn take_done(entries: &mut Vec<Lingering>, now: Instant) -> Vec<Lingering> {
    let (done, kept): (Vec<_>, Vec<_>) = std::mem::take(entries)
        .into_iter()
        .partition(|e| e.is_done(now));
    *entries = kept;
    done
}

fn release_all(entries: Vec<Lingering>) {
    for entry in entries {
        entry.release();
    }
}

#[cfg(test)]
mod tests {
    //! LINGER of a bound socket's accepted connections (tcp), seen through the socket API.

    use std::sync::Arc;
    use std::sync::mpsc;
    use std::thread;
    use std::time::{Duration, Instant};

    use crate::options::number;
    use crate::{ContextCore, Message, PollEvents, Poller, RoutingId, Socket, SocketType};

    const PATIENCE: Duration = Duration::from_secs(20);
    /// Larger than what the loopback socket buffers of both ends can hold, so the second
    /// message is still in the binder's process when it closes.
    const BIG: usize = 32 << 20;

    fn peer(ctx: &Arc<ContextCore>) -> Socket {
        let s = ctx.socket(SocketType::Peer).unwrap();
        let ms = i32::try_from(PATIENCE.as_millis()).unwrap();
        s.set_option_int(number::RCVTIMEO, ms).unwrap();
        s.set_option_int(number::SNDTIMEO, ms).unwrap();
        s
    }

    fn body(len: usize, seed: u8) -> Vec<u8> {
        (0..len)
            .map(|i| seed.wrapping_add(u8::try_from(i % 251).unwrap()))
            .collect()
    }

    /// Runs `f` on a thread and waits for it at most `PATIENCE`.
    fn within<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            let _ = tx.send(f());
        });
        rx.recv_timeout(PATIENCE)
            .unwrap_or_else(|_| panic!("{what} did not finish within {PATIENCE:?}"))
    }

    /// A bound socket (own context) with one accepted connecter (own context, RCVHWM 1, not
    /// reading): the binder sends two big messages and waits until the first has reached the
    /// connecter, so the second is still on its way.
    struct Sending {
        binder_ctx: Arc<ContextCore>,
        binder: Socket,
        endpoint: String,
        /// The binder's routing id of the connecter.
        back: RoutingId,
        connecter_ctx: Arc<ContextCore>,
        connecter: Socket,
        /// The connecter's routing id of the binder.
        id: RoutingId,
    }

    fn sending(linger: i32) -> Sending {
        let binder_ctx = ContextCore::new(1);
        let binder = peer(&binder_ctx);
        binder.set_option_int(number::LINGER, linger).unwrap();
        binder.bind("tcp://127.0.0.1:*").unwrap();
        let endpoint = binder.last_endpoint().unwrap();
        let connecter_ctx = ContextCore::new(1);
        let connecter = peer(&connecter_ctx);
        connecter.set_option_int(number::RCVHWM, 1).unwrap();
        let id = connecter.connect_peer(&endpoint).unwrap();
        connecter
            .send(Message::with_routing_id(&b"hello"[..], id))
            .unwrap();
        let back = binder.recv().unwrap().routing_id().unwrap();
        for seed in 0..2 {
            binder
                .send(Message::with_routing_id(body(BIG, seed), back))
                .unwrap();
        }
        // The first message is in the connecter's inbound pipe (full at RCVHWM 1: its I/O
        // thread stops reading), so the second cannot have left the binder's process yet.
        wait_readable(&connecter, "the first message never arrived");
        Sending {
            binder_ctx,
            binder,
            endpoint,
            back,
            connecter_ctx,
            connecter,
            id,
        }
    }

    /// Waits (bounded) until `socket` has a message to read.
    fn wait_readable(socket: &Socket, what: &str) {
        let mut poller = Poller::new();
        poller.add(socket, 0, PollEvents::POLLIN).unwrap();
        let deadline = Instant::now() + PATIENCE;
        while poller
            .wait(Some(Duration::from_millis(100)))
            .unwrap()
            .is_empty()
        {
            assert!(Instant::now() < deadline, "{what}");
        }
    }

    /// [`sending`], then the binder closes with `linger`. Returns the connecter's context, the
    /// connecter, its routing id of the binder, and the binder's context (its socket closed,
    /// maybe still lingering).
    fn close_while_sending(linger: i32) -> (Arc<ContextCore>, Socket, RoutingId, Arc<ContextCore>) {
        let s = sending(linger);
        s.binder.close().unwrap();
        (s.connecter_ctx, s.connecter, s.id, s.binder_ctx)
    }

    fn flushes_everything(linger: i32) {
        let (connecter_ctx, connecter, id, binder_ctx) = close_while_sending(linger);
        for seed in 0..2 {
            let m = connecter
                .recv()
                .unwrap_or_else(|e| panic!("message {seed} lost: {e:?}"));
            assert_eq!(m.len(), BIG);
            assert!(m.as_bytes() == body(BIG, seed), "message {seed} corrupted");
            assert_eq!(m.routing_id(), Some(id));
        }
        within("binder context termination", move || binder_ctx.terminate());
        drop(connecter);
        within("connecter context termination", move || {
            connecter_ctx.terminate();
        });
    }

    #[test]
    fn closing_a_bound_socket_flushes_accepted_connections_with_linger_forever() {
        flushes_everything(-1);
    }

    #[test]
    fn closing_a_bound_socket_flushes_accepted_connections_within_a_linger() {
        flushes_everything(5000);
    }

    #[test]
    fn zero_linger_ends_accepted_connections_at_once() {
        let (connecter_ctx, connecter, _id, binder_ctx) = close_while_sending(0);
        // Nothing is waited for, although the peer does not read.
        within("binder context termination", move || binder_ctx.terminate());
        // The first message had arrived; the second may be lost.
        assert_eq!(connecter.recv().unwrap().len(), BIG);
        drop(connecter);
        within("connecter context termination", move || {
            connecter_ctx.terminate_bounded();
        });
    }

    #[test]
    fn a_bounded_linger_gives_up_on_a_peer_that_does_not_read() {
        let (connecter_ctx, connecter, _id, binder_ctx) = close_while_sending(200);
        within("binder context termination", move || binder_ctx.terminate());
        drop(connecter);
        within("connecter context termination", move || {
            connecter_ctx.terminate_bounded();
        });
    }

    /// libzmq's `zmq_unbind` terminates the listener *and* the sessions it accepted (they are
    /// the listener's children; `own_t` terminates children with the socket's LINGER), so
    /// accepted connections do not outlive the unbind: the routing id is unknown at once, what
    /// was queued is still flushed (LINGER -1 here), what already arrived stays readable, and
    /// then the connection ends (the connecter sees a disconnect and starts reconnecting).
    #[test]
    fn unbind_ends_accepted_connections_after_flushing_them() {
        let s = sending(-1);
        let monitor = s.connecter.monitor().unwrap();
        // A message from the connecter is waiting at the binder when it unbinds.
        s.connecter
            .send(Message::with_routing_id(&b"late"[..], s.id))
            .unwrap();
        wait_readable(&s.binder, "the late message never arrived");

        s.binder.unbind(&s.endpoint).unwrap();
        assert!(matches!(
            s.binder.send(Message::with_routing_id(&b"x"[..], s.back)),
            Err(crate::Error::HostUnreachable)
        ));
        let late = s.binder.recv().unwrap();
        assert_eq!(late.as_bytes(), b"late");
        assert_eq!(late.routing_id(), Some(s.back));
        // Both big messages were flushed although the listener is gone.
        for seed in 0..2 {
            let m = s
                .connecter
                .recv()
                .unwrap_or_else(|e| panic!("message {seed} lost: {e:?}"));
            assert!(m.as_bytes() == body(BIG, seed), "message {seed} corrupted");
        }
        // Then the connection ends.
        let deadline = Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match monitor.recv_timeout(left) {
                Some(crate::MonitorEvent::Disconnected {
                    routing_id,
                    will_reconnect,
                    ..
                }) => {
                    assert_eq!(routing_id, s.id);
                    assert!(will_reconnect);
                    break;
                }
                Some(_) => {}
                None => panic!("the accepted connection outlived the unbind"),
            }
        }
        // The address is free again at once.
        let other = peer(&s.binder_ctx);
        other.bind(&s.endpoint).unwrap();
        let Sending {
            binder_ctx,
            binder,
            connecter_ctx,
            connecter,
            ..
        } = s;
        drop((binder, other));
        within("binder context termination", move || binder_ctx.terminate());
        drop(connecter);
        within("connecter context termination", move || {
            connecter_ctx.terminate_bounded();
        });
    }
}
