//! Socket monitors: the connection events of one socket (libzmq's `zmq_socket_monitor`) as
//! Rust values in a bounded queue.
//!
//! A socket keeps a list of its monitors' queues behind an atomic flag: with no monitor, an
//! event costs one atomic load and nothing is built. Events only happen on connection changes
//! (bind, accept, connect, handshake, disconnect, retry), never per message.

use std::collections::VecDeque;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use crate::RoutingId;

/// How many events a monitor holds before the oldest are dropped (see [`Monitor::dropped`]).
pub const MONITOR_CAPACITY: usize = 1024;

/// One connection event of a monitored socket.
///
/// Close to libzmq's `ZMQ_EVENT_*` (PROTOCOL.md §13), with readable reasons instead of errno
/// values and file descriptors:
///
/// | variant | libzmq |
/// |---|---|
/// | [`Listening`](Self::Listening) | `ZMQ_EVENT_LISTENING` |
/// | [`Accepted`](Self::Accepted) | `ZMQ_EVENT_ACCEPTED` |
/// | [`Connected`](Self::Connected) | `ZMQ_EVENT_CONNECTED` |
/// | [`ConnectRetried`](Self::ConnectRetried) | `ZMQ_EVENT_CONNECT_RETRIED` |
/// | [`HandshakeSucceeded`](Self::HandshakeSucceeded) | `ZMQ_EVENT_HANDSHAKE_SUCCEEDED` |
/// | [`HandshakeFailed`](Self::HandshakeFailed) | `ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL` / `_PROTOCOL` / `_AUTH` |
/// | [`Disconnected`](Self::Disconnected) | `ZMQ_EVENT_DISCONNECTED` |
/// | [`Closed`](Self::Closed) | `ZMQ_EVENT_CLOSED` (of a listener) |
/// | [`MonitorStopped`](Self::MonitorStopped) | `ZMQ_EVENT_MONITOR_STOPPED` |
///
/// A connect side reports, per attempt, `Connected` then `HandshakeSucceeded` (or
/// `HandshakeFailed`), later `Disconnected`, and `ConnectRetried` whenever a new attempt is
/// scheduled (a refused attempt reports only that). A bind side reports `Listening` at bind,
/// then per connection `Accepted`, `HandshakeSucceeded` (or `HandshakeFailed`) and
/// `Disconnected`, and `Closed` at unbind or close. Differences from libzmq: no
/// `CONNECT_DELAYED`, `BIND_FAILED`, `ACCEPT_FAILED` or `CLOSE_FAILED` (bind errors are
/// returned by `bind`), a failed connect attempt is not also reported as `CLOSED`, and a ws
/// connection reports `HandshakeSucceeded` once (libzmq also reports the HTTP upgrade). inproc
/// connections report nothing, as in libzmq.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MonitorEvent {
    /// The socket listens on `endpoint` (after a successful bind).
    Listening {
        /// The resolved endpoint, as `last_endpoint` shows it.
        endpoint: String,
    },
    /// A connection was accepted on `endpoint`; its handshake starts now.
    Accepted {
        /// The listener's resolved endpoint.
        endpoint: String,
        /// The peer's address, e.g. `tcp://127.0.0.1:50000` (for ipc, the endpoint).
        remote: String,
    },
    /// A connect attempt to `endpoint` reached the peer; the handshake starts now (for ws and
    /// wss, first the TLS handshake and the HTTP upgrade).
    Connected {
        /// The endpoint as given to connect.
        endpoint: String,
        /// The address connected to, numeric (e.g. `tcp://127.0.0.1:5555` for
        /// `tcp://localhost:5555`).
        remote: String,
    },
    /// The next connect attempt to `endpoint` starts after `interval` (reconnect policy:
    /// `RECONNECT_IVL`, `RECONNECT_IVL_MAX`).
    ConnectRetried {
        /// The endpoint as given to connect.
        endpoint: String,
        /// Delay until the next attempt.
        interval: Duration,
        /// Why the previous attempt or connection ended, e.g.
        /// `I/O error: connection refused`.
        reason: String,
    },
    /// The ZMTP handshake completed: `routing_id` is live (both sides).
    HandshakeSucceeded {
        /// The listener's resolved endpoint, or the endpoint as given to connect.
        endpoint: String,
        /// The routing id of the connection on this socket.
        routing_id: RoutingId,
    },
    /// A connection ended before its handshake completed: a TLS certificate error, a bad
    /// greeting, an incompatible socket type or mechanism, a refused ws upgrade, a handshake
    /// timeout, or the peer hanging up.
    HandshakeFailed {
        /// The listener's resolved endpoint, or the endpoint as given to connect.
        endpoint: String,
        /// What went wrong, e.g. `TLS error: invalid peer certificate: UnknownIssuer` or
        /// `protocol error: socket type ... is not compatible with ...`.
        reason: String,
        /// Connect side: another attempt follows (see [`MonitorEvent::ConnectRetried`]).
        /// Always false on the bind side.
        will_reconnect: bool,
    },
    /// An established connection (handshake done) ended.
    Disconnected {
        /// The listener's resolved endpoint, or the endpoint as given to connect.
        endpoint: String,
        /// The connection's routing id. When `will_reconnect`, the same id is re-attached to
        /// the next connection; otherwise it is gone.
        routing_id: RoutingId,
        /// Why, e.g. `I/O error: unexpected end of file` (the peer closed) or `closed locally`.
        reason: String,
        /// Connect side: the connection will be re-established per the reconnect policy.
        will_reconnect: bool,
    },
    /// The listener on `endpoint` was closed (unbind, or the socket closed).
    Closed {
        /// The listener's resolved endpoint.
        endpoint: String,
    },
    /// The socket was closed: this is the monitor's last event.
    MonitorStopped,
}

impl fmt::Display for MonitorEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Listening { endpoint } => write!(f, "listening on {endpoint}"),
            Self::Accepted { endpoint, remote } => {
                write!(f, "accepted {remote} on {endpoint}")
            }
            Self::Connected { endpoint, remote } => {
                write!(f, "connected to {endpoint} ({remote})")
            }
            Self::ConnectRetried {
                endpoint,
                interval,
                reason,
            } => write!(
                f,
                "retrying {endpoint} in {} ms after: {reason}",
                interval.as_millis()
            ),
            Self::HandshakeSucceeded {
                endpoint,
                routing_id,
            } => write!(
                f,
                "handshake succeeded on {endpoint} (routing id {routing_id})"
            ),
            Self::HandshakeFailed {
                endpoint,
                reason,
                will_reconnect,
            } => {
                write!(f, "handshake failed on {endpoint}: {reason}")?;
                if *will_reconnect {
                    f.write_str(" (will reconnect)")?;
                }
                Ok(())
            }
            Self::Disconnected {
                endpoint,
                routing_id,
                reason,
                will_reconnect,
            } => {
                write!(
                    f,
                    "disconnected from {endpoint} (routing id {routing_id}): {reason}"
                )?;
                if *will_reconnect {
                    f.write_str(" (will reconnect)")?;
                }
                Ok(())
            }
            Self::Closed { endpoint } => write!(f, "closed {endpoint}"),
            Self::MonitorStopped => f.write_str("monitor stopped"),
        }
    }
}

/// The receiving end of a socket monitor, made by [`Socket::monitor`](crate::Socket::monitor).
///
/// Holds up to [`MONITOR_CAPACITY`] events; when full, the oldest event is dropped (and
/// counted in [`Monitor::dropped`]), so a monitor nobody reads stays bounded. Dropping the
/// monitor detaches it from the socket. After the socket closes, the remaining events
/// (ending with [`MonitorEvent::MonitorStopped`]) can still be read; then every receive
/// returns `None` at once.
#[derive(Debug)]
pub struct Monitor {
    queue: Arc<Queue>,
}

impl Monitor {
    /// The oldest waiting event, without waiting.
    #[must_use]
    pub fn try_recv(&self) -> Option<MonitorEvent> {
        self.queue.state.lock().events.pop_front()
    }

    /// The oldest event, waiting up to `timeout` for one. `None` when the time ran out, or at
    /// once when the socket is closed and every event was read.
    #[must_use]
    pub fn recv_timeout(&self, timeout: Duration) -> Option<MonitorEvent> {
        let deadline = Instant::now().checked_add(timeout);
        let mut state = self.queue.state.lock();
        loop {
            if let Some(event) = state.events.pop_front() {
                return Some(event);
            }
            if state.stopped {
                return None;
            }
            match deadline {
                Some(d) => {
                    if self.queue.cv.wait_until(&mut state, d).timed_out() {
                        return state.events.pop_front();
                    }
                }
                None => self.queue.cv.wait(&mut state),
            }
        }
    }

    /// How many events were dropped because the queue was full.
    #[must_use]
    pub fn dropped(&self) -> u64 {
        self.queue.state.lock().dropped
    }

    /// Whether the socket was closed (no event will follow those still queued).
    #[must_use]
    pub fn is_stopped(&self) -> bool {
        self.queue.state.lock().stopped
    }
}

/// One monitor's queue, shared by the [`Monitor`] and (weakly) its socket.
#[derive(Debug, Default)]
struct Queue {
    state: Mutex<QueueState>,
    cv: Condvar,
}

#[derive(Debug, Default)]
struct QueueState {
    events: VecDeque<MonitorEvent>,
    dropped: u64,
    stopped: bool,
}

impl Queue {
    fn push(&self, event: MonitorEvent) {
        let mut state = self.state.lock();
        if state.stopped {
            return;
        }
        if state.events.len() >= MONITOR_CAPACITY {
            state.events.pop_front();
            state.dropped += 1;
        }
        state.events.push_back(event);
        drop(state);
        self.cv.notify_all();
    }

    fn stop(&self) {
        self.state.lock().stopped = true;
        self.cv.notify_all();
    }
}

/// A socket's monitors.
#[derive(Debug, Default)]
pub(crate) struct Monitors {
    /// Whether `queues` may be non-empty: the one check made when nobody monitors.
    active: AtomicBool,
    queues: Mutex<Vec<Weak<Queue>>>,
}

impl Monitors {
    /// A new monitor receiving every event from now on.
    pub(crate) fn add(&self) -> Monitor {
        let queue = Arc::new(Queue::default());
        let mut queues = self.queues.lock();
        queues.retain(|q| q.strong_count() > 0);
        queues.push(Arc::downgrade(&queue));
        self.active.store(true, Ordering::Release);
        Monitor { queue }
    }

    /// Hands the event built by `event` to every live monitor; builds nothing without one.
    pub(crate) fn emit(&self, event: impl FnOnce() -> MonitorEvent) {
        if !self.active.load(Ordering::Acquire) {
            return;
        }
        let mut queues = self.queues.lock();
        queues.retain(|q| q.strong_count() > 0);
        if queues.is_empty() {
            self.active.store(false, Ordering::Release);
            return;
        }
        let event = event();
        for queue in queues.iter().filter_map(Weak::upgrade) {
            queue.push(event.clone());
        }
    }

    /// Sends [`MonitorEvent::MonitorStopped`] and detaches every monitor (socket closed).
    pub(crate) fn stop(&self) {
        let queues = std::mem::take(&mut *self.queues.lock());
        self.active.store(false, Ordering::Release);
        for queue in queues.iter().filter_map(Weak::upgrade) {
            queue.push(MonitorEvent::MonitorStopped);
            queue.stop();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listening(n: usize) -> MonitorEvent {
        MonitorEvent::Listening {
            endpoint: format!("tcp://127.0.0.1:{n}"),
        }
    }

    #[test]
    fn nothing_is_built_without_a_monitor() {
        let monitors = Monitors::default();
        monitors.emit(|| unreachable!("no monitor: the event must not be built"));
        let monitor = monitors.add();
        drop(monitor);
        // The dead queue is pruned on the next event; the closure still is not called
        // after that.
        let mut built = 0;
        monitors.emit(|| {
            built += 1;
            listening(0)
        });
        assert_eq!(built, 0);
        monitors.emit(|| unreachable!("still no monitor"));
    }

    #[test]
    fn every_monitor_sees_every_event_in_order() {
        let monitors = Monitors::default();
        let a = monitors.add();
        monitors.emit(|| listening(1));
        let b = monitors.add();
        monitors.emit(|| listening(2));
        assert_eq!(a.try_recv(), Some(listening(1)));
        assert_eq!(a.try_recv(), Some(listening(2)));
        assert_eq!(a.try_recv(), None);
        assert_eq!(b.try_recv(), Some(listening(2)));
        assert_eq!(b.recv_timeout(Duration::from_millis(1)), None);
        assert!(!a.is_stopped());
    }

    #[test]
    fn a_full_queue_drops_the_oldest_and_counts() {
        let monitors = Monitors::default();
        let monitor = monitors.add();
        for n in 0..MONITOR_CAPACITY + 10 {
            monitors.emit(|| listening(n));
        }
        assert_eq!(monitor.dropped(), 10);
        assert_eq!(monitor.try_recv(), Some(listening(10)));
        let mut rest = 1;
        while monitor.try_recv().is_some() {
            rest += 1;
        }
        assert_eq!(rest, MONITOR_CAPACITY);
    }

    #[test]
    fn stop_ends_with_monitor_stopped_then_none_at_once() {
        let monitors = Monitors::default();
        let monitor = monitors.add();
        monitors.emit(|| listening(1));
        monitors.stop();
        monitors.emit(|| unreachable!("stopped: nobody listens"));
        assert!(monitor.is_stopped());
        assert_eq!(
            monitor.recv_timeout(Duration::from_secs(60)),
            Some(listening(1))
        );
        assert_eq!(
            monitor.recv_timeout(Duration::from_secs(60)),
            Some(MonitorEvent::MonitorStopped)
        );
        let start = Instant::now();
        assert_eq!(monitor.recv_timeout(Duration::from_secs(60)), None);
        assert!(start.elapsed() < Duration::from_secs(30), "did not wait");
    }

    #[test]
    fn recv_timeout_wakes_for_an_event_from_another_thread() {
        let monitors = Arc::new(Monitors::default());
        let monitor = monitors.add();
        let sender = Arc::clone(&monitors);
        let thread = std::thread::spawn(move || sender.emit(|| listening(7)));
        assert_eq!(
            monitor.recv_timeout(Duration::from_secs(20)),
            Some(listening(7))
        );
        thread.join().unwrap();
    }

    #[test]
    fn events_read_well() {
        let id = RoutingId::new(7).unwrap();
        let cases = [
            (
                MonitorEvent::HandshakeFailed {
                    endpoint: "wss://127.0.0.1:1/x".into(),
                    reason: "TLS error: invalid peer certificate: UnknownIssuer".into(),
                    will_reconnect: true,
                },
                "handshake failed on wss://127.0.0.1:1/x: TLS error: invalid peer \
                 certificate: UnknownIssuer (will reconnect)",
            ),
            (
                MonitorEvent::Disconnected {
                    endpoint: "tcp://127.0.0.1:1".into(),
                    routing_id: id,
                    reason: "closed locally".into(),
                    will_reconnect: false,
                },
                "disconnected from tcp://127.0.0.1:1 (routing id 7): closed locally",
            ),
            (
                MonitorEvent::ConnectRetried {
                    endpoint: "tcp://127.0.0.1:1".into(),
                    interval: Duration::from_millis(150),
                    reason: "I/O error: connection refused".into(),
                },
                "retrying tcp://127.0.0.1:1 in 150 ms after: I/O error: connection refused",
            ),
        ];
        for (event, text) in cases {
            assert_eq!(event.to_string(), text);
        }
    }
}
