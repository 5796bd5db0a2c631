//! A poller for thread-safe sockets (like `zmq_poller`): sockets signal registered pollers
//! when they become readable, and the poller re-evaluates their events.

use std::ops::{BitAnd, BitOr, BitOrAssign};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use crate::Error;
use crate::socket::{Socket, SocketCore};

/// A set of poll events (`ZMQ_POLLIN` = 1, `ZMQ_POLLOUT` = 2).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct PollEvents(u8);

impl PollEvents {
    /// A message can be received without blocking.
    pub const POLLIN: Self = Self(1);
    /// A message can be sent (always set for PEER/SERVER, as in libzmq).
    pub const POLLOUT: Self = Self(2);

    /// No events.
    #[must_use]
    pub const fn empty() -> Self {
        Self(0)
    }

    /// The libzmq bit mask.
    #[must_use]
    pub const fn bits(self) -> u8 {
        self.0
    }

    /// Events from a libzmq bit mask; bits other than POLLIN/POLLOUT are ignored.
    #[must_use]
    pub const fn from_bits_truncate(bits: u8) -> Self {
        Self(bits & 3)
    }

    /// Whether every event of `other` is in `self`.
    #[must_use]
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether the set is empty.
    #[must_use]
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl BitOr for PollEvents {
    type Output = Self;
    fn bitor(self, rhs: Self) -> Self {
        Self(self.0 | rhs.0)
    }
}

impl BitOrAssign for PollEvents {
    fn bitor_assign(&mut self, rhs: Self) {
        self.0 |= rhs.0;
    }
}

impl BitAnd for PollEvents {
    type Output = Self;
    fn bitand(self, rhs: Self) -> Self {
        Self(self.0 & rhs.0)
    }
}

/// One ready socket reported by [`Poller::wait`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct PollEvent {
    /// The token given to [`Poller::add`].
    pub token: usize,
    /// The requested events that are ready.
    pub events: PollEvents,
}

impl PollEvent {
    /// A ready event for `token`.
    #[must_use]
    pub const fn new(token: usize, events: PollEvents) -> Self {
        Self { token, events }
    }
}

/// The poller's wake-up: a generation counter and a condvar.
#[derive(Debug, Default)]
pub(crate) struct PollSignal {
    generation: Mutex<u64>,
    cv: Condvar,
}

impl PollSignal {
    pub(crate) fn notify(&self) {
        let mut g = self.generation.lock();
        *g = g.wrapping_add(1);
        self.cv.notify_all();
    }
}

/// Waits on several sockets at once (level-triggered), like `zmq_poller`.
///
/// A poller itself is used from one thread; a socket may be registered in several pollers.
/// Dropping the poller unregisters it from every socket.
#[derive(Debug)]
pub struct Poller {
    items: Vec<Item>,
    signal: Arc<PollSignal>,
}

#[derive(Debug)]
struct Item {
    core: Arc<SocketCore>,
    token: usize,
    events: PollEvents,
}

impl Default for Poller {
    fn default() -> Self {
        Self::new()
    }
}

impl Poller {
    /// An empty poller.
    #[must_use]
    pub fn new() -> Self {
        Self {
            items: Vec::new(),
            signal: Arc::new(PollSignal::default()),
        }
    }

    /// The number of registered sockets.
    #[must_use]
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether no socket is registered.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Registers `socket` for `events`, reported with `token`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if the socket is already registered (libzmq: EINVAL);
    /// [`Error::SocketClosed`] if it is closed.
    pub fn add(&mut self, socket: &Socket, token: usize, events: PollEvents) -> Result<(), Error> {
        let core = socket.core();
        if core.is_closed() {
            return Err(Error::SocketClosed);
        }
        if self.position(core).is_some() {
            return Err(Error::InvalidArgument(
                "socket already in the poller".into(),
            ));
        }
        core.add_poller(Arc::clone(&self.signal));
        self.items.push(Item {
            core: Arc::clone(core),
            token,
            events,
        });
        Ok(())
    }

    /// Changes the events a registered socket is polled for.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if the socket is not registered.
    pub fn modify(&mut self, socket: &Socket, events: PollEvents) -> Result<(), Error> {
        let at = self.position(socket.core()).ok_or_else(not_registered)?;
        if let Some(item) = self.items.get_mut(at) {
            item.events = events;
        }
        Ok(())
    }

    /// Unregisters a socket.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if the socket is not registered.
    pub fn remove(&mut self, socket: &Socket) -> Result<(), Error> {
        let at = self.position(socket.core()).ok_or_else(not_registered)?;
        let item = self.items.remove(at);
        item.core.remove_poller(&self.signal);
        Ok(())
    }

    /// Waits until at least one socket has a requested event, and returns all that do.
    /// `None` waits forever, `Some(Duration::ZERO)` polls once.
    ///
    /// # Errors
    /// [`Error::WouldBlock`] when the timeout expires with nothing ready (libzmq: EAGAIN);
    /// [`Error::InvalidContext`] when asked to wait forever with nothing registered (libzmq:
    /// EFAULT); [`Error::ContextTerminated`] if a socket's context was shut down;
    /// [`Error::SocketClosed`] if a registered socket was closed.
    pub fn wait(&mut self, timeout: Option<Duration>) -> Result<Vec<PollEvent>, Error> {
        if self.items.is_empty() && timeout.is_none() {
            return Err(Error::InvalidContext);
        }
        let deadline = timeout.map(|t| Instant::now() + t);
        loop {
            let seen = *self.signal.generation.lock();
            let mut ready = Vec::new();
            for item in &self.items {
                if item.core.context().is_terminated() {
                    return Err(Error::ContextTerminated);
                }
                if item.core.is_closed() {
                    return Err(Error::SocketClosed);
                }
                let events = item.core.events() & item.events;
                if !events.is_empty() {
                    ready.push(PollEvent {
                        token: item.token,
                        events,
                    });
                }
            }
            if !ready.is_empty() {
                return Ok(ready);
            }
            let mut generation = self.signal.generation.lock();
            if *generation == seen {
                match deadline {
                    Some(d) => {
                        if Instant::now() >= d
                            || self.signal.cv.wait_until(&mut generation, d).timed_out()
                        {
                            drop(generation);
                            return self.poll_once_or_block();
                        }
                    }
                    None => self.signal.cv.wait(&mut generation),
                }
            }
        }
    }

    /// One last look after the deadline.
    fn poll_once_or_block(&self) -> Result<Vec<PollEvent>, Error> {
        let ready: Vec<_> = self
            .items
            .iter()
            .filter_map(|item| {
                let events = item.core.events() & item.events;
                (!events.is_empty()).then_some(PollEvent {
                    token: item.token,
                    events,
                })
            })
            .collect();
        if ready.is_empty() {
            Err(Error::WouldBlock)
        } else {
            Ok(ready)
        }
    }

    fn position(&self, core: &Arc<SocketCore>) -> Option<usize> {
        self.items.iter().position(|i| Arc::ptr_eq(&i.core, core))
    }
}

impl Drop for Poller {
    fn drop(&mut self) {
        for item in &self.items {
            item.core.remove_poller(&self.signal);
        }
    }
}

fn not_registered() -> Error {
    Error::InvalidArgument("socket not in the poller".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ContextCore, Message, SocketType};

    #[test]
    fn events_bit_ops() {
        let both = PollEvents::POLLIN | PollEvents::POLLOUT;
        assert_eq!(both.bits(), 3);
        assert!(both.contains(PollEvents::POLLIN));
        assert!(!PollEvents::POLLOUT.contains(both));
        assert_eq!(both & PollEvents::POLLIN, PollEvents::POLLIN);
        assert!(PollEvents::empty().is_empty());
        assert_eq!(PollEvents::from_bits_truncate(0xff), both);
    }

    #[test]
    fn empty_poller_waiting_forever_is_refused() {
        let mut p = Poller::new();
        assert!(matches!(p.wait(None), Err(Error::InvalidContext)));
        assert!(matches!(
            p.wait(Some(Duration::ZERO)),
            Err(Error::WouldBlock)
        ));
    }

    #[test]
    fn reports_pollin_when_a_message_waits_and_pollout_always() {
        let ctx = ContextCore::new(0);
        let a = ctx.socket(SocketType::Peer).unwrap();
        let b = ctx.socket(SocketType::Peer).unwrap();
        a.bind("inproc://poller-test").unwrap();
        let mut p = Poller::new();
        p.add(&a, 7, PollEvents::POLLIN).unwrap();
        assert!(matches!(
            p.add(&a, 8, PollEvents::POLLIN),
            Err(Error::InvalidArgument(_))
        ));
        assert!(matches!(
            p.wait(Some(Duration::from_millis(10))),
            Err(Error::WouldBlock)
        ));

        let id = b.connect_peer("inproc://poller-test").unwrap();
        let sender =
            std::thread::spawn(move || b.send(Message::with_routing_id("x", id)).map(|()| b));
        let ready = p.wait(Some(Duration::from_secs(10))).unwrap();
        assert_eq!(ready, [PollEvent::new(7, PollEvents::POLLIN)]);
        let _b = sender.join().unwrap().unwrap();

        p.modify(&a, PollEvents::POLLOUT).unwrap();
        assert_eq!(
            p.wait(None).unwrap(),
            [PollEvent::new(7, PollEvents::POLLOUT)]
        );
        p.remove(&a).unwrap();
        assert!(p.remove(&a).is_err());
        assert!(p.modify(&a, PollEvents::POLLIN).is_err());
        assert!(p.is_empty());
    }

    #[test]
    fn a_message_arriving_after_a_drained_recv_signals_the_poller() {
        let ctx = ContextCore::new(0);
        let a = ctx.socket(SocketType::Peer).unwrap();
        let b = ctx.socket(SocketType::Peer).unwrap();
        a.bind("inproc://poller-rearm").unwrap();
        let id = b.connect_peer("inproc://poller-rearm").unwrap();
        b.send(Message::with_routing_id("1", id)).unwrap();
        // This recv leaves the (now empty) pipe queued as "may hold more".
        a.try_recv().unwrap();
        let mut p = Poller::new();
        p.add(&a, 1, PollEvents::POLLIN).unwrap();
        assert!(matches!(
            p.wait(Some(Duration::ZERO)),
            Err(Error::WouldBlock)
        ));
        let before = *p.signal.generation.lock();
        b.send(Message::with_routing_id("2", id)).unwrap();
        assert_ne!(
            *p.signal.generation.lock(),
            before,
            "the poller was not signalled"
        );
        assert_eq!(
            p.wait(Some(Duration::ZERO)).unwrap(),
            [PollEvent::new(1, PollEvents::POLLIN)]
        );
        assert_eq!(a.try_recv().unwrap().as_bytes(), b"2");
    }

    #[test]
    fn shutdown_wakes_a_blocked_poller() {
        let ctx = ContextCore::new(0);
        let a = ctx.socket(SocketType::Peer).unwrap();
        let mut p = Poller::new();
        p.add(&a, 1, PollEvents::POLLIN).unwrap();
        let waiter = std::thread::spawn(move || p.wait(None).map(|_| ()));
        ctx.shutdown();
        assert!(matches!(
            waiter.join().unwrap(),
            Err(Error::ContextTerminated)
        ));
    }
}
