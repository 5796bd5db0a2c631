//! The context: owner of I/O threads and of the inproc namespace.

use std::sync::Arc;

use zmq_sockets::ContextCore;

use crate::{Error, Socket, SocketType};

/// Owns the I/O threads (default 1) and the inproc namespace of its sockets.
///
/// Cloning gives another handle to the same context. Dropping the last handle terminates
/// it: blocked calls wake with [`Error::ContextTerminated`], sockets still open are closed
/// (each with its LINGER) and the I/O threads are joined. Unlike [`Context::term`], dropping
/// waits only for flushes to peers that are connected (up to LINGER), so it never hangs
/// waiting for a peer that is not there.
#[derive(Clone, Debug)]
pub struct Context {
    inner: Arc<Inner>,
}

/// Terminates the context when the last user handle goes away.
#[derive(Debug)]
struct Inner {
    core: Arc<ContextCore>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Bounded: queued messages for a peer that is not connected are given up.
        self.core.terminate_bounded();
    }
}

impl Default for Context {
    fn default() -> Self {
        Self::new()
    }
}

impl Context {
    /// A context with one I/O thread, started by the first non-inproc bind or connect.
    #[must_use]
    pub fn new() -> Self {
        Self::from_core(ContextCore::new(1))
    }

    /// A context with `n` I/O threads, started at once. `0` allows only `inproc://`
    /// endpoints (others fail with [`Error::NoIoThread`], EMTHREAD).
    ///
    /// # Errors
    /// [`Error::Io`] if a thread cannot be spawned.
    pub fn with_io_threads(n: usize) -> Result<Self, Error> {
        let core = ContextCore::new(n);
        core.start()?;
        Ok(Self::from_core(core))
    }

    /// Creates a socket. PEER, SERVER and CLIENT are implemented.
    ///
    /// # Errors
    /// [`Error::NotSupported`] for other socket types; [`Error::ContextTerminated`] after
    /// [`Context::shutdown`].
    pub fn socket(&self, kind: SocketType) -> Result<Socket, Error> {
        Ok(Socket::from_inner(self.inner.core.socket(kind)?))
    }

    /// Like `zmq_ctx_shutdown`: blocked calls wake with [`Error::ContextTerminated`] (ETERM)
    /// and every later call on this context's sockets fails with it.
    pub fn shutdown(&self) {
        self.inner.core.shutdown();
    }

    /// Like `zmq_ctx_term`: shuts down, closes remaining sockets, waits until queued messages
    /// are delivered or their LINGER expired, and joins the I/O threads. With LINGER -1 (the
    /// default) this waits as long as it takes, even for a peer that has not connected yet, as
    /// libzmq does; set LINGER to bound it. Other clones of this handle become unusable.
    ///
    /// # Errors
    /// None today; the `Result` mirrors `zmq_ctx_term` and leaves room for reporting.
    pub fn term(self) -> Result<(), Error> {
        self.inner.core.terminate();
        Ok(())
    }

    /// The number of I/O threads.
    #[must_use]
    pub fn io_threads(&self) -> usize {
        self.inner.core.io_threads()
    }

    fn from_core(core: Arc<ContextCore>) -> Self {
        Self {
            inner: Arc::new(Inner { core }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_io_threads_is_inproc_only() {
        let ctx = Context::with_io_threads(0).unwrap();
        assert_eq!(ctx.io_threads(), 0);
        let s = ctx.socket(SocketType::Peer).unwrap();
        let e = s.connect_peer("tcp://127.0.0.1:5555").unwrap_err();
        assert_eq!(e.errno(), crate::errno::EMTHREAD);
        s.bind("inproc://ctx-test").unwrap();
        ctx.term().unwrap();
    }

    #[test]
    fn shutdown_terminates_sockets_of_every_clone() {
        let ctx = Context::default();
        let clone = ctx.clone();
        let s = ctx.socket(SocketType::Peer).unwrap();
        clone.shutdown();
        assert_eq!(s.try_recv().unwrap_err().errno(), crate::errno::ETERM);
        assert!(matches!(
            ctx.socket(SocketType::Peer),
            Err(Error::ContextTerminated)
        ));
    }

    #[test]
    fn dropping_the_context_terminates_it() {
        let ctx = Context::new();
        let s = ctx.socket(SocketType::Peer).unwrap();
        drop(ctx);
        assert!(matches!(s.try_recv(), Err(Error::ContextTerminated)));
    }

    #[test]
    fn unsupported_socket_types() {
        let ctx = Context::new();
        assert_eq!(
            ctx.socket(SocketType::Dealer).unwrap_err().errno(),
            crate::errno::ENOTSUP
        );
    }
}
