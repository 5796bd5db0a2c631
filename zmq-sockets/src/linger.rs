//! LINGER after close/disconnect: connections that still owe queued messages to a peer keep
//! running (and connecters keep reconnecting) until they flushed, their deadline passed, or
//! the context is terminated.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::Instant;

use parking_lot::{Condvar, Mutex};
use zmq_transport::{Connecter, Listener, PipeReceiver};

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

    fn is_connected(&self) -> bool {
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
                // Release at once what this connection was holding open (a listener kept
                // for its flush unbinds now), then wake a waiting termination.
                shared.prune();
                shared.notify();
            }
        }
    }
}

/// What a closed socket leaves running for LINGER.
#[derive(Debug, Default)]
pub(crate) struct Lingering {
    /// Kept open only while accepted connections flush (closing a listener ends them).
    pub(crate) listeners: Vec<Listener>,
    /// Kept so unconnected connecters go on reconnecting within the linger window.
    pub(crate) connecters: Vec<Connecter>,
    /// Inbound pipes kept open: a connection whose inbound pipe closes ends at once.
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
        for listener in self.listeners {
            listener.close();
        }
        for receiver in self.receivers {
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
