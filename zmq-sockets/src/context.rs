//! The context: I/O threads, the inproc name registry, and termination.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};

use parking_lot::Mutex;
use zmq_transport::{IoHandle, IoThread};

use crate::inproc::Registry;
use crate::linger::Lingerer;
use crate::socket::{Socket, SocketCore};
use crate::{Error, SocketType};

/// Shared state of one context: its I/O threads, its inproc names and its sockets.
///
/// A context is created with a number of I/O threads (0 = inproc only). The threads are
/// spawned lazily by the first non-inproc `bind`/`connect`, or at once by
/// [`ContextCore::start`]. [`ContextCore::shutdown`] wakes every blocked call with
/// [`Error::ContextTerminated`]; [`ContextCore::terminate`] also closes the remaining sockets
/// and joins the I/O threads after lingering connections had their time.
#[derive(Debug)]
pub struct ContextCore {
    io_thread_count: usize,
    io: Mutex<Vec<IoThread>>,
    handles: Mutex<Vec<IoHandle>>,
    next_io: AtomicUsize,
    pub(crate) inproc: Registry,
    sockets: Mutex<HashMap<u64, Weak<SocketCore>>>,
    next_socket: AtomicU64,
    /// What closed sockets left running for LINGER.
    pub(crate) linger: Lingerer,
    terminated: AtomicBool,
}

impl ContextCore {
    /// A context with `io_threads` I/O threads (spawned on first use).
    #[must_use]
    pub fn new(io_threads: usize) -> Arc<Self> {
        Arc::new(Self {
            io_thread_count: io_threads,
            io: Mutex::new(Vec::new()),
            handles: Mutex::new(Vec::new()),
            next_io: AtomicUsize::new(0),
            inproc: Registry::default(),
            sockets: Mutex::new(HashMap::new()),
            next_socket: AtomicU64::new(0),
            linger: Lingerer::default(),
            terminated: AtomicBool::new(false),
        })
    }

    /// Spawns the I/O threads now instead of at the first non-inproc endpoint.
    ///
    /// # Errors
    /// [`Error::Io`] if a thread cannot be spawned; [`Error::ContextTerminated`] after
    /// shutdown.
    pub fn start(&self) -> Result<(), Error> {
        self.ensure_started().map(|_| ())
    }

    /// The number of I/O threads this context was created with.
    #[must_use]
    pub fn io_threads(&self) -> usize {
        self.io_thread_count
    }

    /// Creates a socket of type `kind`.
    ///
    /// # Errors
    /// [`Error::NotSupported`] for socket types this crate does not implement (only PEER,
    /// SERVER and CLIENT exist); [`Error::ContextTerminated`] after shutdown.
    pub fn socket(self: &Arc<Self>, kind: SocketType) -> Result<Socket, Error> {
        if self.is_terminated() {
            return Err(Error::ContextTerminated);
        }
        if !kind.is_supported() {
            return Err(Error::NotSupported);
        }
        let serial = self.next_socket.fetch_add(1, Ordering::Relaxed);
        let core = SocketCore::new(Arc::clone(self), kind, serial);
        self.sockets.lock().insert(serial, Arc::downgrade(&core));
        Ok(Socket::from_core(core))
    }

    /// Whether [`ContextCore::shutdown`] has been called.
    #[must_use]
    pub fn is_terminated(&self) -> bool {
        self.terminated.load(Ordering::Acquire)
    }

    /// Like `zmq_ctx_shutdown`: from now on every call on this context's sockets fails with
    /// [`Error::ContextTerminated`], and calls blocked in send, recv or a poller wake with it.
    pub fn shutdown(&self) {
        if self.terminated.swap(true, Ordering::AcqRel) {
            return;
        }
        for core in self.live_sockets() {
            core.wake_all();
        }
    }

    /// Like `zmq_ctx_term`: shuts down, closes every socket still open, waits until queued
    /// outbound messages of closed sockets are flushed or their LINGER expired (LINGER -1
    /// waits as long as it takes, even for a peer that has not connected yet, as libzmq does),
    /// then joins the I/O threads.
    pub fn terminate(&self) {
        self.terminate_with(true);
    }

    /// Like [`ContextCore::terminate`], but waits only for lingering connections whose peer
    /// is connected: messages for an absent peer are given up at once. Never waits longer
    /// than the slowest flush to a live peer (or its LINGER). Used when a context is dropped.
    pub fn terminate_bounded(&self) {
        self.terminate_with(false);
    }

    fn terminate_with(&self, wait_for_absent_peers: bool) {
        self.shutdown();
        for core in self.live_sockets() {
            core.close_quietly();
        }
        self.linger.drain(wait_for_absent_peers);
        let threads = std::mem::take(&mut *self.io.lock());
        self.handles.lock().clear();
        for thread in threads {
            thread.shutdown();
        }
    }

    /// Picks an I/O thread for a new endpoint (round robin), spawning the threads if needed.
    pub(crate) fn io_handle(&self) -> Result<IoHandle, Error> {
        if self.io_thread_count == 0 {
            return Err(Error::NoIoThread);
        }
        self.linger.prune();
        let handles = self.ensure_started()?;
        let i = self.next_io.fetch_add(1, Ordering::Relaxed) % handles.len().max(1);
        handles.get(i).cloned().ok_or(Error::NoIoThread)
    }

    /// Forgets a closed socket.
    pub(crate) fn unregister(&self, serial: u64) {
        self.sockets.lock().remove(&serial);
    }

    fn ensure_started(&self) -> Result<Vec<IoHandle>, Error> {
        let mut io = self.io.lock();
        if self.is_terminated() {
            return Err(Error::ContextTerminated);
        }
        if io.is_empty() && self.io_thread_count > 0 {
            let mut spawned = Vec::with_capacity(self.io_thread_count);
            for i in 0..self.io_thread_count {
                spawned.push(IoThread::spawn(&format!("zmq-io-{i}"))?);
            }
            *self.handles.lock() = spawned.iter().map(IoThread::handle).collect();
            *io = spawned;
        }
        Ok(self.handles.lock().clone())
    }

    fn live_sockets(&self) -> Vec<Arc<SocketCore>> {
        self.sockets
            .lock()
            .values()
            .filter_map(Weak::upgrade)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsupported_types_are_refused() {
        let ctx = ContextCore::new(0);
        assert!(matches!(
            ctx.socket(SocketType::Dealer),
            Err(Error::NotSupported)
        ));
        assert!(ctx.socket(SocketType::Peer).is_ok());
        assert!(ctx.socket(SocketType::Server).is_ok());
        assert!(ctx.socket(SocketType::Client).is_ok());
    }

    #[test]
    fn zero_io_threads_refuse_network_endpoints() {
        let ctx = ContextCore::new(0);
        assert!(matches!(ctx.io_handle(), Err(Error::NoIoThread)));
        let s = ctx.socket(SocketType::Peer).unwrap();
        assert!(matches!(
            s.connect_peer("tcp://127.0.0.1:5555"),
            Err(Error::NoIoThread)
        ));
        assert!(matches!(
            s.bind("tcp://127.0.0.1:*"),
            Err(Error::NoIoThread)
        ));
        // inproc needs no I/O thread.
        s.bind("inproc://zero-io").unwrap();
    }

    #[test]
    fn shutdown_refuses_new_sockets_and_calls() {
        let ctx = ContextCore::new(0);
        let s = ctx.socket(SocketType::Peer).unwrap();
        ctx.shutdown();
        assert!(ctx.is_terminated());
        assert!(matches!(
            ctx.socket(SocketType::Peer),
            Err(Error::ContextTerminated)
        ));
        assert!(matches!(
            s.connect_peer("inproc://x"),
            Err(Error::ContextTerminated)
        ));
        assert!(matches!(s.try_recv(), Err(Error::ContextTerminated)));
        ctx.terminate();
    }
}
