//! Polling several thread-safe sockets at once (like `zmq_poller`).

use std::time::Duration;

use crate::{Error, PollEvent, PollEvents, Socket};

/// Waits on several sockets at once, level-triggered, like `zmq_poller`.
///
/// A socket may be in several pollers; a poller is used from one thread at a time.
#[derive(Debug, Default)]
pub struct Poller {
    inner: zmq_sockets::Poller,
}

impl Poller {
    /// An empty poller.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `socket` for `events` (`PollEvents::POLLIN`, `PollEvents::POLLOUT`),
    /// reported with `token` (libzmq's `user_data`).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] (EINVAL) if already registered; [`Error::SocketClosed`].
    pub fn add(&mut self, socket: &Socket, token: usize, events: PollEvents) -> Result<(), Error> {
        Ok(self.inner.add(socket.inner(), token, events)?)
    }

    /// Changes the events a registered socket is polled for.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] (EINVAL) if not registered.
    pub fn modify(&mut self, socket: &Socket, events: PollEvents) -> Result<(), Error> {
        Ok(self.inner.modify(socket.inner(), events)?)
    }

    /// Unregisters a socket.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] (EINVAL) if not registered.
    pub fn remove(&mut self, socket: &Socket) -> Result<(), Error> {
        Ok(self.inner.remove(socket.inner())?)
    }

    /// The number of registered sockets.
    #[must_use]
    pub fn len(&self) -> usize {
        self.inner.len()
    }

    /// Whether no socket is registered.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.inner.is_empty()
    }

    /// Waits until a registered socket has a requested event (`None` = forever,
    /// `Some(Duration::ZERO)` = poll once) and returns every ready one.
    ///
    /// # Errors
    /// [`Error::WouldBlock`] (EAGAIN) on timeout; [`Error::InvalidContext`] (EFAULT) when
    /// waiting forever on an empty poller; [`Error::ContextTerminated`] (ETERM);
    /// [`Error::SocketClosed`] (ENOTSOCK) if a registered socket was closed.
    pub fn wait(&mut self, timeout: Option<Duration>) -> Result<Vec<PollEvent>, Error> {
        Ok(self.inner.wait(timeout)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Context, Message, SocketType, errno};

    #[test]
    fn poller_reports_pollin_and_pollout() {
        let ctx = Context::with_io_threads(0).unwrap();
        let a = ctx.socket(SocketType::Peer).unwrap();
        a.bind("inproc://facade-poller").unwrap();
        let b = ctx.socket(SocketType::Peer).unwrap();
        let id = b.connect_peer("inproc://facade-poller").unwrap();
        let mut p = Poller::new();
        assert_eq!(p.wait(None).unwrap_err().errno(), errno::EFAULT);
        p.add(&a, 42, PollEvents::POLLIN | PollEvents::POLLOUT)
            .unwrap();
        assert_eq!(
            p.add(&a, 1, PollEvents::POLLIN).unwrap_err().errno(),
            errno::EINVAL
        );
        assert_eq!(
            p.wait(Some(Duration::ZERO)).unwrap(),
            [PollEvent::new(42, PollEvents::POLLOUT)]
        );
        b.send(Message::with_routing_id("x", id)).unwrap();
        let ready = p.wait(Some(Duration::ZERO)).unwrap();
        assert_eq!(
            ready,
            [PollEvent::new(42, PollEvents::POLLIN | PollEvents::POLLOUT)]
        );
        p.modify(&a, PollEvents::POLLIN).unwrap();
        a.try_recv().unwrap();
        assert_eq!(
            p.wait(Some(Duration::from_millis(5))).unwrap_err().errno(),
            errno::EAGAIN
        );
        p.remove(&a).unwrap();
        assert_eq!(p.len(), 0);
    }
}
