//! The socket core: routing table, fair-queued receive, HWM-blocking send, endpoints, close.
//!
//! A [`Socket`] is a cheap handle to an `Arc<SocketCore>`; every method may be called from any
//! thread at once. There is no socket-wide lock on the message paths:
//!
//! - **send** looks the routing id up in a read-mostly table (`RwLock<HashMap>` with a cheap
//!   id hasher) and pushes the body (never copied) under the read lock. The pipe wakes the I/O thread
//!   only when it was idle. A full pipe blocks the caller on a condvar that the pipe's waker
//!   signals only when somebody waits.
//! - **recv** pops a pipe id off a ready ring (pipes that went idle → busy push themselves
//!   through their waker), takes one message and re-queues the pipe: round-robin fair
//!   queueing. Receivers sleep only when nothing is ready; wakers notify only if one sleeps.
//!
//! Lock order (outer → inner): control, a listener's accepted set, ids, routes, recv, then
//! the monitors (a leaf). The inproc registry and the context's locks come before all of
//! them; wakers take only `recv`, `send_lock` or `pollers`, and never while holding another.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex, RwLock};
use zmq_transport::{
    Acceptor, Connecter, ConnectionEvents, DisconnectReason, Endpoint, Fill, Link, Listener,
    PipeReceiver, PipeSender, Scheme, TrySendError, Wake, pipe,
};
use zmtp_codec::PeerInfo;

use crate::context::ContextCore;
use crate::linger::{ConnState, Lingering};
use crate::message::{Message, Properties, RoutingId};
use crate::monitor::{Monitor, MonitorEvent, Monitors};
use crate::options::{Options, number};
use crate::poller::{PollEvents, PollSignal};
use crate::{Error, SocketType};

/// A thread-safe socket handle (PEER, SERVER or CLIENT). Clones share one socket.
///
/// Dropping the last clone closes the socket (honouring LINGER), like `zmq_close`.
#[derive(Clone, Debug)]
pub struct Socket {
    handle: Arc<Handle>,
}

/// Closes the socket when the last user handle goes away. Wakers and acceptors hold only
/// weak references, so this runs on a user thread.
#[derive(Debug)]
struct Handle {
    core: Arc<SocketCore>,
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.core.close_quietly();
    }
}

impl Socket {
    pub(crate) fn from_core(core: Arc<SocketCore>) -> Self {
        Self {
            handle: Arc::new(Handle { core }),
        }
    }

    pub(crate) fn core(&self) -> &Arc<SocketCore> {
        &self.handle.core
    }

    /// The socket's type.
    #[must_use]
    pub fn socket_type(&self) -> SocketType {
        self.core().kind
    }

    /// Accepts connections on `endpoint` (`tcp://127.0.0.1:*`, `ipc://*`, `inproc://name`,
    /// `ws://127.0.0.1:*/path`, `wss://...`).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a wss bind without a usable certificate and key;
    /// [`Error::InvalidEndpoint`], [`Error::UnsupportedTransport`],
    /// [`Error::IncompatibleTransport`], [`Error::AddrInUse`], [`Error::AddrNotAvailable`],
    /// [`Error::NameTooLong`], [`Error::NoIoThread`], [`Error::ContextTerminated`],
    /// [`Error::SocketClosed`], [`Error::Io`].
    pub fn bind(&self, endpoint: &str) -> Result<(), Error> {
        self.core().bind(endpoint)
    }

    /// Stops accepting on an endpoint given to [`Socket::bind`] (as given or as resolved) and
    /// ends the connections accepted through it, as libzmq's `zmq_unbind` (the listener's
    /// sessions are its children): their routing ids are unknown at once (sends:
    /// [`Error::HostUnreachable`]), what was queued for them is flushed within LINGER, and
    /// messages they already delivered stay readable. For `inproc://` only the name is
    /// released; connected peers stay.
    ///
    /// # Errors
    /// [`Error::EndpointNotFound`] if the socket has not bound it; [`Error::SocketClosed`],
    /// [`Error::ContextTerminated`].
    pub fn unbind(&self, endpoint: &str) -> Result<(), Error> {
        self.core().unbind(endpoint)
    }

    /// Connects to `endpoint` in the background (reconnecting per `RECONNECT_IVL`).
    ///
    /// # Errors
    /// As [`Socket::connect_peer`], except that any socket type may connect and IMMEDIATE is
    /// ignored.
    pub fn connect(&self, endpoint: &str) -> Result<(), Error> {
        self.core().connect(endpoint, false).map(|_| ())
    }

    /// Connects to `endpoint` and returns the routing id of the new connection at once: the id
    /// is valid before the transport has connected, and messages sent to it queue up to
    /// SNDHWM. PEER sockets only.
    ///
    /// # Errors
    /// [`Error::NotSupported`] on a non-PEER socket; [`Error::ImmediateSet`] with
    /// IMMEDIATE=1; [`Error::InvalidArgument`] for a wss connect without usable trust
    /// settings; [`Error::InvalidEndpoint`], [`Error::UnsupportedTransport`],
    /// [`Error::IncompatibleTransport`] (`udp://`), [`Error::NameTooLong`] for a
    /// bad endpoint; [`Error::NoIoThread`] for a non-inproc endpoint on a context without I/O
    /// threads; [`Error::ContextTerminated`], [`Error::SocketClosed`].
    pub fn connect_peer(&self, endpoint: &str) -> Result<RoutingId, Error> {
        let id = self.core().connect(endpoint, true)?;
        // Invariant: attach never hands out 0.
        RoutingId::new(id).ok_or(Error::HostUnreachable)
    }

    /// Tears down every connection made from `endpoint` (the string given to connect);
    /// their routing ids become unknown and queued outbound messages get LINGER to flush.
    ///
    /// # Errors
    /// [`Error::EndpointNotFound`] if nothing was connected to it; [`Error::SocketClosed`],
    /// [`Error::ContextTerminated`].
    pub fn disconnect(&self, endpoint: &str) -> Result<(), Error> {
        self.core().disconnect(endpoint)
    }

    /// The endpoint of the last successful bind (resolved) or connect (as given).
    ///
    /// # Errors
    /// [`Error::SocketClosed`], [`Error::ContextTerminated`].
    pub fn last_endpoint(&self) -> Result<String, Error> {
        let core = self.core();
        core.check_usable()?;
        Ok(core.control.lock().last_endpoint.clone())
    }

    /// Sends `msg` to the peer named by its routing id (PEER/SERVER) or to the next peer in
    /// turn (CLIENT), blocking while the pipe is full, up to SNDTIMEO.
    ///
    /// # Errors
    /// [`Error::HostUnreachable`] for a missing, unknown or gone routing id;
    /// [`Error::WouldBlock`] when SNDTIMEO expires; [`Error::ContextTerminated`],
    /// [`Error::SocketClosed`].
    pub fn send(&self, msg: Message) -> Result<(), Error> {
        self.core().send(msg, false)
    }

    /// Like [`Socket::send`] but never blocks (`ZMQ_DONTWAIT`).
    ///
    /// # Errors
    /// [`Error::WouldBlock`] when the pipe is full; otherwise as [`Socket::send`].
    pub fn try_send(&self, msg: Message) -> Result<(), Error> {
        self.core().send(msg, true)
    }

    /// A `ZMQ_SNDMORE` send: PEER, SERVER and CLIENT do not allow multipart messages.
    ///
    /// # Errors
    /// Always [`Error::InvalidArgument`] on these socket types (after the closed/terminated
    /// checks).
    pub fn send_more(&self, msg: Message) -> Result<(), Error> {
        drop(msg);
        self.core().check_usable()?;
        Err(Error::InvalidArgument(
            "multipart messages are not allowed on this socket type".into(),
        ))
    }

    /// Receives the next message (fair-queued across peers), blocking up to RCVTIMEO.
    ///
    /// # Errors
    /// [`Error::WouldBlock`] when RCVTIMEO expires; [`Error::ContextTerminated`],
    /// [`Error::SocketClosed`].
    pub fn recv(&self) -> Result<Message, Error> {
        self.core().recv(false)
    }

    /// Like [`Socket::recv`] but never blocks (`ZMQ_DONTWAIT`).
    ///
    /// # Errors
    /// [`Error::WouldBlock`] when nothing is waiting; otherwise as [`Socket::recv`].
    pub fn try_recv(&self) -> Result<Message, Error> {
        self.core().recv(true)
    }

    /// Closes the socket for every clone: listeners stop, connecters stop reconnecting, queued
    /// outbound messages get LINGER to flush, blocked calls wake with [`Error::SocketClosed`].
    ///
    /// # Errors
    /// [`Error::SocketClosed`] if it was already closed.
    pub fn close(&self) -> Result<(), Error> {
        if self.core().close_quietly() {
            Ok(())
        } else {
            Err(Error::SocketClosed)
        }
    }

    /// Sets an integer option by libzmq number.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for an unknown or read-only option or a bad value;
    /// [`Error::SocketClosed`], [`Error::ContextTerminated`].
    pub fn set_option_int(&self, option: i32, value: i32) -> Result<(), Error> {
        self.core().check_usable()?;
        self.core().options.write().set_int(option, value)
    }

    /// Reads an integer option by libzmq number, including the read-only `ZMQ_TYPE` (16),
    /// `ZMQ_RCVMORE` (13, always 0), `ZMQ_EVENTS` (15) and `ZMQ_THREAD_SAFE` (81, 1).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for unknown options and for `ZMQ_FD` (14): thread-safe
    /// sockets have no signalling fd; [`Error::SocketClosed`], [`Error::ContextTerminated`].
    pub fn option_int(&self, option: i32) -> Result<i32, Error> {
        let core = self.core();
        core.check_usable()?;
        match option {
            number::TYPE => Ok(core.kind.number()),
            number::RCVMORE => Ok(0),
            number::THREAD_SAFE => Ok(1),
            number::EVENTS => Ok(i32::from(core.events().bits())),
            number::FD => Err(Error::InvalidArgument(
                "thread-safe sockets have no ZMQ_FD".into(),
            )),
            _ => core.options.read().int(option),
        }
    }

    /// Sets a 64-bit option (`ZMQ_MAXMSGSIZE`, `ZMQ_AFFINITY`) or any integer option.
    ///
    /// # Errors
    /// As [`Socket::set_option_int`].
    pub fn set_option_i64(&self, option: i32, value: i64) -> Result<(), Error> {
        self.core().check_usable()?;
        self.core().options.write().set_i64(option, value)
    }

    /// Reads a 64-bit option (`ZMQ_MAXMSGSIZE`, `ZMQ_AFFINITY`) or any integer option.
    ///
    /// # Errors
    /// As [`Socket::option_int`].
    pub fn option_i64(&self, option: i32) -> Result<i64, Error> {
        match option {
            number::MAXMSGSIZE | number::AFFINITY => {
                self.core().check_usable()?;
                self.core().options.read().i64(option)
            }
            _ => self.option_int(option).map(i64::from),
        }
    }

    /// Sets a binary option (`ZMQ_ROUTING_ID`, `ZMQ_PLAIN_USERNAME`, `ZMQ_PLAIN_PASSWORD`,
    /// `ZMQ_METADATA`).
    ///
    /// # Errors
    /// As [`Socket::set_option_int`].
    pub fn set_option_bytes(&self, option: i32, value: &[u8]) -> Result<(), Error> {
        self.core().check_usable()?;
        self.core().options.write().set_bytes(option, value)
    }

    /// Reads a binary option (`ZMQ_ROUTING_ID`, ..., and `ZMQ_LAST_ENDPOINT` as UTF-8).
    ///
    /// # Errors
    /// As [`Socket::option_int`].
    pub fn option_bytes(&self, option: i32) -> Result<bytes::Bytes, Error> {
        if option == number::LAST_ENDPOINT {
            return self.last_endpoint().map(bytes::Bytes::from);
        }
        self.core().check_usable()?;
        self.core().options.read().bytes(option)
    }

    /// A snapshot of all options.
    #[must_use]
    pub fn options(&self) -> Options {
        self.core().options()
    }

    /// `POLLIN` if a message is waiting; `POLLOUT` always for PEER/SERVER (per-peer
    /// writability cannot be expressed, as in libzmq), and for CLIENT when a pipe has room.
    #[must_use]
    pub fn events(&self) -> PollEvents {
        self.core().events()
    }

    /// Whether the socket has been closed.
    #[must_use]
    pub fn is_closed(&self) -> bool {
        self.core().is_closed()
    }

    /// Whether two handles refer to the same socket.
    #[must_use]
    pub fn same_socket(&self, other: &Self) -> bool {
        Arc::ptr_eq(self.core(), other.core())
    }

    /// Starts monitoring the socket's connection events (libzmq's `zmq_socket_monitor`): the
    /// returned [`Monitor`] receives every [`MonitorEvent`] from now on, until it is dropped
    /// or the socket closes. Several monitors may exist at once; each sees every event.
    ///
    /// # Errors
    /// [`Error::SocketClosed`], [`Error::ContextTerminated`].
    pub fn monitor(&self) -> Result<Monitor, Error> {
        let core = self.core();
        core.check_usable()?;
        Ok(core.monitors.add())
    }
}

/// The shared state of one socket.
pub(crate) struct SocketCore {
    kind: SocketType,
    serial: u64,
    ctx: Arc<ContextCore>,
    weak: Weak<Self>,
    options: RwLock<Options>,
    control: Mutex<Control>,
    /// Next routing id candidate (libzmq: a random start, then +1, skipping 0).
    next_id: Mutex<u32>,
    routes: RwLock<IdMap<Route>>,
    recv: Mutex<RecvState>,
    recv_cv: Condvar,
    /// Bumped whenever a pipe joins the ready ring; spinning receivers watch it.
    ready_epoch: AtomicU64,
    /// A receiver is spinning for input: further receivers park at once instead of spinning
    /// too (many spinning threads would take the cores from the threads that produce input).
    spinning: AtomicBool,
    /// Bumped by every send-side wake-up; see [`SocketCore::wait_for_room`].
    send_epoch: AtomicU64,
    send_waiters: AtomicUsize,
    send_lock: Mutex<()>,
    send_cv: Condvar,
    /// Round-robin cursor of CLIENT sends.
    next_out: AtomicUsize,
    closed: AtomicBool,
    pollers: Mutex<Vec<Arc<PollSignal>>>,
    has_pollers: AtomicBool,
    monitors: Monitors,
}

impl std::fmt::Debug for SocketCore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SocketCore")
            .field("kind", &self.kind)
            .field("serial", &self.serial)
            .field("closed", &self.closed.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// A map keyed by routing id. Ids are allocated locally (never chosen by a peer), so a
/// multiplicative hash is enough; std's `SipHash` cost ~120 instructions per lookup on the
/// send and receive paths.
type IdMap<V> = HashMap<u32, V, BuildIdHasher>;

/// Builds [`IdHasher`]s.
#[derive(Clone, Copy, Debug, Default)]
struct BuildIdHasher;

impl std::hash::BuildHasher for BuildIdHasher {
    type Hasher = IdHasher;

    fn build_hasher(&self) -> IdHasher {
        IdHasher(0)
    }
}

/// A Fibonacci-style multiplicative hasher for `u32` routing ids.
#[derive(Clone, Copy, Debug, Default)]
struct IdHasher(u64);

impl std::hash::Hasher for IdHasher {
    fn finish(&self) -> u64 {
        // Fold the high half down so both the bucket index (low bits) and the control
        // byte (high bits) depend on every bit of the id.
        let h = self.0.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        h ^ (h >> 32)
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | u64::from(b);
        }
    }

    fn write_u32(&mut self, id: u32) {
        self.0 = u64::from(id);
    }
}

/// Endpoints and other rarely touched state, under the socket's control lock.
#[derive(Debug, Default)]
struct Control {
    last_endpoint: String,
    bound: Vec<Bound>,
    connections: Vec<Connection>,
}

#[derive(Debug)]
struct Bound {
    given: String,
    resolved: String,
    /// `None` for inproc names (they live in the context's registry).
    listener: Option<Listener>,
    /// The listener's acceptor, which knows the connections accepted through it.
    acceptor: Option<Arc<PeerAcceptor>>,
}

#[derive(Debug)]
struct Connection {
    endpoint: String,
    routing_id: u32,
    /// The transport's connecter and the connection's state; `None` for inproc.
    connecter: Option<(Connecter, Arc<ConnState>)>,
}

/// One peer's outbound pipe.
#[derive(Debug)]
struct Route {
    sender: PipeSender,
}

/// Inbound pipes and the ring of those that may hold messages.
#[derive(Debug, Default)]
struct RecvState {
    pipes: IdMap<InPipe>,
    ready: VecDeque<u32>,
    waiters: usize,
}

/// One connection's inbound pipe.
#[derive(Debug)]
pub(crate) struct InPipe {
    receiver: PipeReceiver,
    properties: Option<Arc<Properties>>,
    /// tcp/ipc connections only.
    state: Option<Arc<ConnState>>,
    /// A message taken out by [`SocketCore::events`] to learn whether the pipe is readable
    /// (the pipe has no peek); delivered before anything else from this pipe.
    head: Option<zmtp_codec::Message>,
}

impl InPipe {
    /// An inproc peer's pipe: no metadata, no transport state.
    pub(crate) fn inproc(receiver: PipeReceiver) -> Self {
        Self {
            receiver,
            properties: None,
            state: None,
            head: None,
        }
    }
}

impl SocketCore {
    pub(crate) fn new(ctx: Arc<ContextCore>, kind: SocketType, serial: u64) -> Arc<Self> {
        Arc::new_cyclic(|weak| Self {
            kind,
            serial,
            ctx,
            weak: weak.clone(),
            options: RwLock::new(Options::default()),
            control: Mutex::new(Control::default()),
            next_id: Mutex::new(random_start()),
            routes: RwLock::new(IdMap::default()),
            recv: Mutex::new(RecvState::default()),
            recv_cv: Condvar::new(),
            ready_epoch: AtomicU64::new(0),
            spinning: AtomicBool::new(false),
            send_epoch: AtomicU64::new(0),
            send_waiters: AtomicUsize::new(0),
            send_lock: Mutex::new(()),
            send_cv: Condvar::new(),
            next_out: AtomicUsize::new(0),
            closed: AtomicBool::new(false),
            pollers: Mutex::new(Vec::new()),
            has_pollers: AtomicBool::new(false),
            monitors: Monitors::default(),
        })
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    pub(crate) fn options(&self) -> Options {
        self.options.read().clone()
    }

    pub(crate) fn context(&self) -> &Arc<ContextCore> {
        &self.ctx
    }

    /// `ContextTerminated` after the context's shutdown, else `SocketClosed` after close.
    fn check_usable(&self) -> Result<(), Error> {
        // Termination first: after `zmq_ctx_term` closed the sockets, callers learn why.
        if self.ctx.is_terminated() {
            Err(Error::ContextTerminated)
        } else if self.is_closed() {
            Err(Error::SocketClosed)
        } else {
            Ok(())
        }
    }

    // ----- endpoints -------------------------------------------------------------------

    fn bind(&self, endpoint: &str) -> Result<(), Error> {
        self.check_usable()?;
        let scheme = check_scheme(endpoint)?;
        let mut control = self.control.lock();
        if scheme == Scheme::Inproc {
            let name = inproc_name(&Endpoint::parse_bind(endpoint)?)?;
            let me = self.strong()?;
            self.ctx.inproc.bind(&name, &me)?;
            control.bound.push(Bound {
                given: endpoint.to_owned(),
                resolved: endpoint.to_owned(),
                listener: None,
                acceptor: None,
            });
            endpoint.clone_into(&mut control.last_endpoint);
            return Ok(());
        }
        let ep = Endpoint::parse_bind(endpoint)?;
        let io = self.ctx.io_handle()?;
        let options = self.options();
        let acceptor = Arc::new_cyclic(|me| PeerAcceptor {
            core: self.weak.clone(),
            me: me.clone(),
            send_hwm: options.send_hwm(),
            recv_hwm: options.recv_hwm(),
            given: endpoint.into(),
            resolved: OnceLock::new(),
            accepted: Mutex::new(AcceptedSet::default()),
        });
        let listener = io.bind(
            &ep,
            options.conn_options(self.kind),
            Arc::clone(&acceptor) as Arc<dyn Acceptor>,
        )?;
        let resolved = listener.endpoint().to_owned();
        let _ = acceptor.resolved.set(resolved.as_str().into());
        resolved.clone_into(&mut control.last_endpoint);
        self.monitors.emit(|| MonitorEvent::Listening {
            endpoint: resolved.clone(),
        });
        control.bound.push(Bound {
            given: endpoint.to_owned(),
            resolved,
            listener: Some(listener),
            acceptor: Some(acceptor),
        });
        Ok(())
    }

    fn unbind(&self, endpoint: &str) -> Result<(), Error> {
        self.check_usable()?;
        let mut control = self.control.lock();
        let at = control
            .bound
            .iter()
            .position(|b| b.resolved == endpoint || b.given == endpoint)
            .ok_or_else(|| Error::EndpointNotFound(endpoint.to_owned()))?;
        let bound = control.bound.remove(at);
        drop(control);
        match bound.listener {
            Some(listener) => {
                listener.close();
                self.monitors.emit(|| MonitorEvent::Closed {
                    endpoint: bound.resolved.clone(),
                });
            }
            None => {
                if let Ok(ep) = Endpoint::parse_bind(&bound.given) {
                    if let Ok(name) = inproc_name(&ep) {
                        self.ctx.inproc.unbind(&name, self);
                    }
                }
            }
        }
        if let Some(acceptor) = bound.acceptor {
            self.end_accepted(&acceptor);
        }
        Ok(())
    }

    /// `zmq_unbind` of a listener: libzmq terminates the listener together with the sessions
    /// it accepted (they are its children), each flushing per LINGER. Here: every connection
    /// accepted through `acceptor` loses its route at once (later sends: `HostUnreachable`),
    /// its outbound pipe closes with LINGER (queued messages are flushed, then the
    /// connection ends), and its inbound pipe stays readable until what it delivered is
    /// read. Connections completing their handshake after this are refused.
    fn end_accepted(&self, acceptor: &PeerAcceptor) {
        let conns = {
            let mut accepted = acceptor.accepted.lock();
            accepted.closed = true;
            std::mem::take(&mut accepted.conns)
        };
        if conns.is_empty() {
            return;
        }
        let linger = self.options.read().linger_duration();
        let mut lingering = Lingering {
            deadline: deadline_of(linger),
            ..Lingering::default()
        };
        for (id, state) in conns {
            if let Some(route) = self.routes.write().remove(&id) {
                route.sender.close(linger);
            }
            if !state.is_finished() {
                lingering.states.push(state);
            }
        }
        self.wake_senders();
        // Context termination waits for these flushes as for a closed socket's.
        self.ctx.linger.keep(lingering);
    }

    /// `connect` and `connect_peer`; returns the new connection's routing id.
    fn connect(&self, endpoint: &str, want_id: bool) -> Result<u32, Error> {
        // libzmq `zmq_connect_peer`: ENOTSOCK, then ETERM, then ENOTSUP, then (under the
        // socket mutex) EFAULT for IMMEDIATE, then the ordinary connect checks.
        self.check_usable()?;
        if want_id && self.kind != SocketType::Peer {
            return Err(Error::NotSupported);
        }
        let mut control = self.control.lock();
        let options = self.options();
        // "Why ZMQ_IMMEDIATE must be off: with immediate on, a connect does not create a pipe
        // until the connection is established, so there would be no routing id to return."
        if want_id && options.immediate {
            return Err(Error::ImmediateSet);
        }
        self.check_usable()?;
        let scheme = check_scheme(endpoint)?;
        let ep = Endpoint::parse_connect(endpoint)?;
        if scheme == Scheme::Inproc {
            let name = inproc_name(&ep)?;
            let me = self.strong()?;
            let id = self.ctx.inproc.connect(&name, &me)?;
            control.connections.push(Connection {
                endpoint: endpoint.to_owned(),
                routing_id: id,
                connecter: None,
            });
            endpoint.clone_into(&mut control.last_endpoint);
            return Ok(id);
        }
        let io = self.ctx.io_handle()?;
        let (out_tx, out_rx) = pipe(options.send_hwm());
        let (in_tx, in_rx) = pipe(options.recv_hwm());
        let state = self.ctx.linger.conn_state(false);
        let inbound = InPipe {
            receiver: in_rx,
            properties: None,
            state: Some(Arc::clone(&state)),
            head: None,
        };
        let id = self.attach(out_tx, Some(inbound))?;
        let events = Arc::new(PeerEvents {
            core: self.weak.clone(),
            routing_id: id,
            endpoint: endpoint.into(),
            state: Arc::clone(&state),
            streaming: AtomicBool::new(false),
            acceptor: None,
        });
        let link = Link {
            outbound: out_rx,
            inbound: in_tx,
        };
        match io.connect(&ep, options.conn_options(self.kind), link, events) {
            Ok(connecter) => {
                control.connections.push(Connection {
                    endpoint: endpoint.to_owned(),
                    routing_id: id,
                    connecter: Some((connecter, state)),
                });
                endpoint.clone_into(&mut control.last_endpoint);
                Ok(id)
            }
            Err(e) => {
                self.detach(id, Some(Duration::ZERO));
                Err(e.into())
            }
        }
    }

    fn disconnect(&self, endpoint: &str) -> Result<(), Error> {
        self.check_usable()?;
        let mut control = self.control.lock();
        let (gone, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut control.connections)
            .into_iter()
            .partition(|c| c.endpoint == endpoint);
        control.connections = kept;
        drop(control);
        if gone.is_empty() {
            return Err(Error::EndpointNotFound(endpoint.to_owned()));
        }
        let linger = self.options.read().linger_duration();
        let mut lingering = Lingering {
            deadline: deadline_of(linger),
            ..Lingering::default()
        };
        for c in gone {
            // The outbound pipe closes (with LINGER) before the connecter lets go of it.
            if let Some(route) = self.routes.write().remove(&c.routing_id) {
                route.sender.close(linger);
            }
            let inbound = self.recv.lock().pipes.remove(&c.routing_id);
            match c.connecter {
                Some((connecter, state)) if linger != Some(Duration::ZERO) => {
                    lingering.connecters.push(connecter);
                    lingering.states.push(state);
                    lingering.receivers.extend(inbound.map(|p| p.receiver));
                }
                other => {
                    drop(other);
                    if let Some(mut pipe) = inbound {
                        pipe.receiver.close();
                    }
                }
            }
        }
        self.wake_senders();
        self.ctx.linger.keep(lingering);
        Ok(())
    }

    fn strong(&self) -> Result<Arc<Self>, Error> {
        self.weak.upgrade().ok_or(Error::SocketClosed)
    }

    // ----- routing table ---------------------------------------------------------------

    /// Gives a new connection a fresh routing id and installs its pipes.
    ///
    /// # Errors
    /// [`Error::SocketClosed`] if the socket is closing (the pipes are dropped, which closes
    /// them for the other side).
    pub(crate) fn attach(&self, sender: PipeSender, inbound: Option<InPipe>) -> Result<u32, Error> {
        let mut next = self.next_id.lock();
        // Checked under `next_id`, which `close` also takes after setting `closed`: no pipe can
        // slip in after close drained the tables.
        if self.is_closed() {
            return Err(Error::SocketClosed);
        }
        let id = {
            let routes = self.routes.read();
            let recv = self.recv.lock();
            allocate_id(&mut next, |id| {
                routes.contains_key(&id) || recv.pipes.contains_key(&id)
            })
        };
        sender.set_waker(Arc::new(SendWaker {
            core: self.weak.clone(),
        }));
        self.routes.write().insert(id, Route { sender });
        if let Some(inbound) = inbound {
            self.add_inbound(id, inbound);
        }
        Ok(id)
    }

    /// Adds the inbound pipe of a connection whose route already exists (inproc connect
    /// completed by a later bind). Returns false if the route is gone or the socket closed.
    pub(crate) fn attach_inbound(&self, id: u32, inbound: InPipe) -> bool {
        let _next = self.next_id.lock();
        if self.is_closed() || !self.routes.read().contains_key(&id) {
            return false;
        }
        self.add_inbound(id, inbound);
        true
    }

    fn add_inbound(&self, id: u32, inbound: InPipe) {
        // `set_waker` calls the waker at once if messages are already queued (inproc
        // connect-before-bind), and the waker locks `recv`: so set it before taking the lock.
        let waker = Arc::new(RecvWaker {
            core: self.weak.clone(),
            routing_id: id,
        });
        inbound.receiver.set_waker(waker);
        let mut recv = self.recv.lock();
        recv.pipes.insert(id, inbound);
        // Queue it once ourselves: an early wake-up may have found it not yet in the table.
        recv.ready.push_back(id);
        self.ready_epoch.fetch_add(1, Ordering::Release);
        if recv.waiters > 0 {
            self.recv_cv.notify_one();
        }
        drop(recv);
        self.notify_pollers();
    }

    /// Removes a connection: its route (later sends: `HostUnreachable`) and its inbound pipe.
    fn detach(&self, id: u32, linger: Option<Duration>) {
        if let Some(route) = self.routes.write().remove(&id) {
            route.sender.close(linger);
        }
        if let Some(mut pipe) = self.recv.lock().pipes.remove(&id) {
            pipe.receiver.close();
        }
        self.wake_senders();
    }

    /// Removes a route whose peer is gone, keeping its inbound messages readable.
    fn drop_route(&self, id: u32) {
        if let Some(route) = self.routes.write().remove(&id) {
            route.sender.close(Some(Duration::ZERO));
        }
        self.wake_senders();
    }

    fn set_properties(&self, id: u32, properties: Arc<Properties>) {
        if let Some(pipe) = self.recv.lock().pipes.get_mut(&id) {
            pipe.properties = Some(properties);
        }
    }

    // ----- send ------------------------------------------------------------------------

    fn send(&self, msg: Message, nonblocking: bool) -> Result<(), Error> {
        self.check_usable()?;
        if self.kind.is_routed() {
            // libzmq `server_t::xsend`: no routing id or an unknown one is EHOSTUNREACH at once,
            // without waiting for a connection to appear.
            // (`let else`, not `ok_or`: an eagerly built error is dropped on every send.)
            let Some(id) = msg.routing_id() else {
                return Err(Error::HostUnreachable);
            };
            let id = id.get();
            // The routing id is stripped before the message enters the pipe.
            let body = zmtp_codec::Message::new(msg.into_bytes());
            self.send_routed(id, body, nonblocking)
        } else {
            self.send_balanced(zmtp_codec::Message::new(msg.into_bytes()), nonblocking)
        }
    }

    fn send_routed(
        &self,
        id: u32,
        mut body: zmtp_codec::Message,
        nonblocking: bool,
    ) -> Result<(), Error> {
        let mut deadline = None;
        loop {
            let epoch = self.send_epoch.load(Ordering::SeqCst);
            // The push happens under the read lock: cloning the sender out instead cost four
            // atomic read-modify-writes per message, one on a line the receiver writes. The
            // pipe's wakers never take this socket's route lock, so holding it is safe.
            let sent = {
                let routes = self.routes.read();
                let Some(route) = routes.get(&id) else {
                    return Err(Error::HostUnreachable);
                };
                route.sender.try_send(body)
            };
            match sent {
                Ok(()) => return Ok(()),
                Err(TrySendError::Closed(_)) => {
                    self.drop_route(id);
                    return Err(Error::HostUnreachable);
                }
                Err(TrySendError::Full(m)) => {
                    body = m;
                    // PEER never drops on HWM: it blocks or says EAGAIN.
                    self.wait_for_room(epoch, nonblocking, &mut deadline)?;
                }
            }
        }
    }

    fn send_balanced(&self, mut body: zmtp_codec::Message, nonblocking: bool) -> Result<(), Error> {
        let mut deadline = None;
        loop {
            let epoch = self.send_epoch.load(Ordering::SeqCst);
            let count = self.routes.read().len();
            let start = self.next_out.fetch_add(1, Ordering::Relaxed);
            for i in 0..count {
                let sender = {
                    let routes = self.routes.read();
                    let n = routes.len().max(1);
                    routes
                        .values()
                        .nth(start.wrapping_add(i) % n)
                        .map(|r| r.sender.clone())
                };
                let Some(sender) = sender else { break };
                match sender.try_send(body) {
                    Ok(()) => return Ok(()),
                    Err(TrySendError::Full(m) | TrySendError::Closed(m)) => body = m,
                }
            }
            // No peer, or every pipe full: CLIENT blocks (or EAGAIN), like libzmq's lb_t.
            self.wait_for_room(epoch, nonblocking, &mut deadline)?;
        }
    }

    /// Waits until a send-side waker fires after `epoch`, SNDTIMEO expires, or the socket or
    /// context goes away.
    ///
    /// Lost wake-ups are impossible: a waker bumps `send_epoch` and then, only if it sees a
    /// waiter, notifies under `send_lock`; a waiter registers in `send_waiters` under
    /// `send_lock` and re-checks the epoch before sleeping (all `SeqCst`).
    fn wait_for_room(
        &self,
        epoch: u64,
        nonblocking: bool,
        deadline: &mut Option<Option<Instant>>,
    ) -> Result<(), Error> {
        let deadline = match deadline {
            Some(d) => *d,
            None => {
                let timeout = if nonblocking {
                    Some(Duration::ZERO)
                } else {
                    self.options.read().send_timeout()
                };
                if timeout == Some(Duration::ZERO) {
                    return Err(Error::WouldBlock);
                }
                let d = timeout.map(|t| Instant::now() + t);
                *deadline = Some(d);
                d
            }
        };
        let mut guard = self.send_lock.lock();
        self.send_waiters.fetch_add(1, Ordering::SeqCst);
        let mut timed_out = false;
        if self.send_epoch.load(Ordering::SeqCst) == epoch && self.check_usable().is_ok() {
            match deadline {
                Some(d) => timed_out = self.send_cv.wait_until(&mut guard, d).timed_out(),
                None => self.send_cv.wait(&mut guard),
            }
        }
        self.send_waiters.fetch_sub(1, Ordering::SeqCst);
        drop(guard);
        self.check_usable()?;
        if timed_out || deadline.is_some_and(|d| Instant::now() >= d) {
            return Err(Error::WouldBlock);
        }
        Ok(())
    }

    fn wake_senders(&self) {
        self.send_epoch.fetch_add(1, Ordering::SeqCst);
        if self.send_waiters.load(Ordering::SeqCst) > 0 {
            let _guard = self.send_lock.lock();
            self.send_cv.notify_all();
        }
    }

    // ----- recv ------------------------------------------------------------------------

    fn recv(&self, nonblocking: bool) -> Result<Message, Error> {
        let mut deadline: Option<Option<Instant>> = None;
        let mut recv = self.recv.lock();
        loop {
            self.check_usable()?;
            let mut gone = Vec::new();
            let taken = take_one(&mut recv, &mut gone, self.kind.is_routed());
            if taken.is_some() && recv.waiters > 0 && !recv.ready.is_empty() {
                // One pipe wake-up may stand for many messages: pass the baton on.
                self.recv_cv.notify_one();
            }
            if !gone.is_empty() {
                drop(recv);
                for id in gone {
                    // The peer closed its end: forget the route as well (sends: HostUnreachable).
                    self.drop_route(id);
                }
                if let Some(m) = taken {
                    return Ok(m);
                }
                recv = self.recv.lock();
                continue;
            }
            if let Some(m) = taken {
                return Ok(m);
            }
            let d = match deadline {
                Some(d) => d,
                None => {
                    let timeout = if nonblocking {
                        Some(Duration::ZERO)
                    } else {
                        self.options.read().recv_timeout()
                    };
                    if timeout == Some(Duration::ZERO) {
                        return Err(Error::WouldBlock);
                    }
                    let d = timeout.map(|t| Instant::now() + t);
                    deadline = Some(d);
                    d
                }
            };
            // Spin briefly before parking: a message arriving within the spin costs neither
            // side a futex wake-up (the waker notifies only parked receivers).
            if self.spin_for_input(&mut recv, d) {
                continue;
            }
            recv.waiters += 1;
            let timed_out = match d {
                Some(d) => self.recv_cv.wait_until(&mut recv, d).timed_out(),
                None => {
                    self.recv_cv.wait(&mut recv);
                    false
                }
            };
            recv.waiters -= 1;
            if timed_out {
                self.check_usable()?;
                let mut gone = Vec::new();
                let taken = take_one(&mut recv, &mut gone, self.kind.is_routed());
                drop(recv);
                for id in gone {
                    self.drop_route(id);
                }
                return taken.ok_or(Error::WouldBlock);
            }
        }
    }

    /// Waits a little with the `recv` lock released for a pipe to become ready; true if one
    /// did (the lock is held again either way). Bounded by [`RECV_SPIN`] and the deadline.
    fn spin_for_input(
        &self,
        recv: &mut parking_lot::MutexGuard<'_, RecvState>,
        deadline: Option<Instant>,
    ) -> bool {
        let seen = self.ready_epoch.load(Ordering::Acquire);
        if self.spinning.swap(true, Ordering::Acquire) {
            // Another receiver spins already: one is enough; this one parks.
            return self.is_closed() || self.ctx.is_terminated();
        }
        // A socket with one connection may read it on this thread meanwhile (tcp and ipc: the
        // transport's direct lane), sparing the I/O thread's wake-up and hand-over.
        let filler = match recv.pipes.values().next() {
            Some(pipe) if recv.pipes.len() == 1 && pipe.head.is_none() => pipe.receiver.filler(),
            _ => None,
        };
        let filled = parking_lot::MutexGuard::unlocked(recv, || {
            let Some(filler) = filler else {
                self.spin(seen, deadline, None);
                return false;
            };
            let begun = filler.begin();
            let filled = self.spin(seen, deadline, Some(&*filler));
            let will_wait = !filled && self.ready_epoch.load(Ordering::Acquire) == seen;
            // Reads the I/O thread left to this thread meanwhile are made up for here.
            filler.end(begun, will_wait) || filled
        });
        self.spinning.store(false, Ordering::Release);
        // Decided under the lock again: the epoch moves only under it, so a pipe made ready
        // after the spin's last look is seen here, and the caller must not park.
        let changed = self.ready_epoch.load(Ordering::Acquire) != seen;
        filled || changed || self.is_closed() || self.ctx.is_terminated()
    }

    /// The spin of [`SocketCore::spin_for_input`], the `recv` lock released: until the ready
    /// epoch moves from `seen`, `filler` delivers (true), or the spin's time is up.
    fn spin(&self, seen: u64, deadline: Option<Instant>, filler: Option<&dyn Fill>) -> bool {
        let start = Instant::now();
        let limit = deadline.map_or(RECV_SPIN, |d| {
            d.saturating_duration_since(start).min(RECV_SPIN)
        });
        let mut round = 0_u32;
        loop {
            if let Some(filler) = filler
                && filler.fill()
            {
                return true;
            }
            for _ in 0..SPIN_PAUSES {
                if self.ready_epoch.load(Ordering::Acquire) != seen {
                    return false;
                }
                std::hint::spin_loop();
            }
            round += 1;
            if round >= SPIN_ROUNDS_BEFORE_YIELD {
                // Another thread (an I/O thread) may need this core to make progress.
                std::thread::yield_now();
            }
            if start.elapsed() >= limit {
                return false;
            }
        }
    }

    /// A pipe went idle → busy (or its sender closed): queue it for receivers.
    fn on_inbound_ready(&self, id: u32) {
        let mut recv = self.recv.lock();
        recv.ready.push_back(id);
        self.ready_epoch.fetch_add(1, Ordering::Release);
        if recv.waiters > 0 {
            self.recv_cv.notify_one();
        }
        drop(recv);
        self.notify_pollers();
    }

    // ----- polling, close, shutdown ----------------------------------------------------

    pub(crate) fn events(&self) -> PollEvents {
        let mut events = PollEvents::empty();
        if self.is_closed() {
            return events;
        }
        let mut gone = Vec::new();
        let readable = probe(&mut self.recv.lock(), &mut gone);
        for id in gone {
            self.drop_route(id);
        }
        if readable {
            events |= PollEvents::POLLIN;
        }
        if self.kind.is_routed() {
            events |= PollEvents::POLLOUT;
        } else {
            let writable = self.routes.read().values().any(|r| {
                let hwm = r.sender.hwm();
                !r.sender.is_closed() && (hwm == 0 || r.sender.len() < hwm)
            });
            if writable {
                events |= PollEvents::POLLOUT;
            }
        }
        events
    }

    pub(crate) fn add_poller(&self, signal: Arc<PollSignal>) {
        let mut pollers = self.pollers.lock();
        pollers.push(signal);
        self.has_pollers.store(true, Ordering::SeqCst);
    }

    pub(crate) fn remove_poller(&self, signal: &Arc<PollSignal>) {
        let mut pollers = self.pollers.lock();
        pollers.retain(|s| !Arc::ptr_eq(s, signal));
        self.has_pollers
            .store(!pollers.is_empty(), Ordering::SeqCst);
    }

    fn notify_pollers(&self) {
        if self.has_pollers.load(Ordering::SeqCst) {
            for signal in self.pollers.lock().iter() {
                signal.notify();
            }
        }
    }

    /// Wakes every blocked call so it re-checks the closed/terminated flags.
    pub(crate) fn wake_all(&self) {
        {
            let _recv = self.recv.lock();
            self.recv_cv.notify_all();
        }
        self.wake_senders();
        let pollers = self.pollers.lock().clone();
        for signal in pollers {
            signal.notify();
        }
    }

    /// Closes the socket; false if it was already closed.
    pub(crate) fn close_quietly(&self) -> bool {
        if self.closed.swap(true, Ordering::AcqRel) {
            return false;
        }
        // Barrier: `attach` checks `closed` under `next_id`, so after this no new pipe appears.
        drop(self.next_id.lock());
        let linger = self.options.read().linger_duration();
        let control = std::mem::take(&mut *self.control.lock());
        let routes = std::mem::take(&mut *self.routes.write());
        let pipes = {
            let mut recv = self.recv.lock();
            recv.ready.clear();
            std::mem::take(&mut recv.pipes)
        };
        // Outbound pipes close with LINGER first: every connection, accepted or connected,
        // flushes what is queued (and then ends) within LINGER on the I/O thread.
        for route in routes.into_values() {
            route.sender.close(linger);
        }
        let lingers = linger != Some(Duration::ZERO);
        let mut lingering = Lingering {
            deadline: deadline_of(linger),
            ..Lingering::default()
        };
        for bound in control.bound {
            match bound.listener {
                // Stops accepting and frees the address now; accepted connections live on
                // until their outbound pipe is flushed or LINGER runs out.
                Some(listener) => {
                    listener.close();
                    self.monitors.emit(|| MonitorEvent::Closed {
                        endpoint: bound.resolved.clone(),
                    });
                }
                None => {
                    if let Ok(ep) = Endpoint::parse_bind(&bound.given) {
                        if let Ok(name) = inproc_name(&ep) {
                            self.ctx.inproc.unbind(&name, self);
                        }
                    }
                }
            }
        }
        for connection in control.connections {
            if let Some((connecter, _state)) = connection.connecter {
                if lingers {
                    lingering.connecters.push(connecter);
                } else {
                    connecter.close();
                }
            }
        }
        for mut pipe in pipes.into_values() {
            match pipe.state {
                Some(state) if lingers && !state.is_finished() => {
                    lingering.states.push(state);
                    lingering.receivers.push(pipe.receiver);
                }
                _ => pipe.receiver.close(),
            }
        }
        self.ctx.linger.keep(lingering);
        self.monitors.stop();
        self.wake_all();
        self.ctx.unregister(self.serial);
        true
    }
}

/// How long a receiver spins (then yields) for input before parking on the condvar.
///
/// Long enough to cover a loopback round trip (so neither side of a request/reply exchange
/// sleeps, saving two futex wake-ups per round trip: tcp 64 B p50 about 0.5x of what 20 us
/// gave), short enough not to starve the I/O threads on a 2-core machine (throughput within
/// noise of 20 us; 200 us cost about 10 %). See BENCHMARKS.md, "Optimisations".
const RECV_SPIN: Duration = Duration::from_micros(60);
/// `spin_loop` hints between two looks at the clock.
const SPIN_PAUSES: u32 = 64;
/// Pure spinning rounds before each further round also yields the core.
const SPIN_ROUNDS_BEFORE_YIELD: u32 = 4;

/// Pops ready pipes until one yields a message. Pipes found closed go to `gone`.
/// `stamp`: PEER/SERVER stamp the sender's routing id; CLIENT messages carry none.
fn take_one(recv: &mut RecvState, gone: &mut Vec<u32>, stamp: bool) -> Option<Message> {
    while let Some(&id) = recv.ready.front() {
        let Some(pipe) = recv.pipes.get_mut(&id) else {
            recv.ready.pop_front();
            continue;
        };
        let next = match pipe.head.take() {
            Some(msg) => Ok(Some(msg)),
            None => pipe.receiver.try_recv(),
        };
        match next {
            Ok(Some(msg)) => {
                let properties = pipe.properties.clone();
                // Round robin: the pipe goes to the back of the ring, it may hold more (alone
                // in the ring, it stays where it is).
                if recv.ready.len() > 1 {
                    recv.ready.rotate_left(1);
                }
                // PEER/SERVER/CLIENT connections never carry multipart messages (the codec
                // drops them whole); anything else is dropped here the same way.
                let Some(body) = msg.into_single() else {
                    continue;
                };
                let routing_id = if stamp { RoutingId::new(id) } else { None };
                return Some(Message::received(body, routing_id, properties));
            }
            // Empty for now: the pipe's waker is armed and will queue it again.
            Ok(None) => {
                recv.ready.pop_front();
            }
            Err(_closed) => {
                recv.ready.pop_front();
                recv.pipes.remove(&id);
                gone.push(id);
            }
        }
    }
    None
}

/// Whether a ready pipe holds a message, without losing any: the pipe cannot be peeked, so
/// a message found is parked in the pipe's `head`. Pipes found empty leave the ring with
/// their waker re-armed (a mere length check would not re-arm it, and the next message
/// would then wake nobody). Pipes found closed go to `gone`.
fn probe(recv: &mut RecvState, gone: &mut Vec<u32>) -> bool {
    let mut readable = false;
    for _ in 0..recv.ready.len() {
        let Some(id) = recv.ready.pop_front() else {
            break;
        };
        let Some(pipe) = recv.pipes.get_mut(&id) else {
            continue;
        };
        if pipe.head.is_none() {
            match pipe.receiver.try_recv() {
                Ok(Some(msg)) => pipe.head = Some(msg),
                Ok(None) => continue,
                Err(_closed) => {
                    recv.pipes.remove(&id);
                    gone.push(id);
                    continue;
                }
            }
        }
        readable = true;
        recv.ready.push_back(id);
    }
    readable
}

/// Picks the next routing id: sequential from `next`, skipping 0 and ids still in use.
pub(crate) fn allocate_id(next: &mut u32, in_use: impl Fn(u32) -> bool) -> u32 {
    loop {
        let candidate = *next;
        *next = next.wrapping_add(1);
        // "if the value is 0 the next one is taken instead. Wrap-around is modulo 2^32."
        if candidate != 0 && !in_use(candidate) {
            return candidate;
        }
    }
}

/// A per-socket random start for routing ids (libzmq seeds its counter from `rand()`).
fn random_start() -> u32 {
    use std::hash::BuildHasher;
    let hash = std::collections::hash_map::RandomState::new().hash_one(Instant::now());
    // Keep the low 32 bits: truncation is the point.
    #[allow(
        clippy::cast_possible_truncation,
        reason = "taking 32 random bits of a 64-bit hash"
    )]
    let v = hash as u32;
    v
}

/// The absolute end of a LINGER that starts now (`None` = forever).
fn deadline_of(linger: Option<Duration>) -> Option<Instant> {
    linger.and_then(|l| Instant::now().checked_add(l))
}

/// Refuses transports PEER cannot use before the endpoint is even parsed.
fn check_scheme(endpoint: &str) -> Result<Scheme, Error> {
    let scheme = Scheme::of(endpoint)?;
    match scheme {
        // libzmq 4.3.5 (`socket_base_t::check_protocol`): udp is always compiled in but only for
        // DGRAM/RADIO/DISH, so PEER/SERVER/CLIENT get ENOCOMPATPROTO. pgm, epgm, norm, tipc and
        // vmci are optional libzmq builds (the default and `zeromq-src` builds lack them), and a
        // transport that is not compiled in is EPROTONOSUPPORT before any compatibility check.
        Scheme::Udp => Err(Error::IncompatibleTransport(scheme.as_str().to_owned())),
        Scheme::Pgm | Scheme::Epgm | Scheme::Norm | Scheme::Tipc | Scheme::Vmci => {
            Err(Error::UnsupportedTransport(scheme.as_str().to_owned()))
        }
        _ => Ok(scheme),
    }
}

fn inproc_name(ep: &Endpoint) -> Result<String, Error> {
    match ep {
        Endpoint::Inproc(name) => Ok(name.clone()),
        other => Err(Error::InvalidEndpoint(other.to_string())),
    }
}

/// `Peer-Address` of a connection from the transport's `remote` (the stream's other end, read
/// with `getpeername` on both sides): the numeric IP without the port, as libzmq gets it from
/// `getpeername` + `getnameinfo(NI_NUMERICHOST)`, for tcp, ws and wss alike. For ipc that
/// `getnameinfo` answers `localhost` on glibc (the peer of a Unix socket has no address), so
/// libzmq 4.3.5 reports `localhost` on both ends [exp: the zeromq-src build]. `None` when no
/// address is known.
fn peer_address_from_remote(remote: &str) -> Option<String> {
    let (scheme, addr) = remote.split_once("://")?;
    if scheme == "ipc" {
        return Some("localhost".to_owned());
    }
    addr.parse::<std::net::SocketAddr>()
        .ok()
        .map(|sa| sa.ip().to_string())
}

/// Wakes blocked senders when a pipe has room again or its reader went away.
struct SendWaker {
    core: Weak<SocketCore>,
}

impl Wake for SendWaker {
    fn wake(&self) {
        if let Some(core) = self.core.upgrade() {
            core.wake_senders();
        }
    }
}

/// Queues one inbound pipe on its socket's ready ring.
struct RecvWaker {
    core: Weak<SocketCore>,
    routing_id: u32,
}

impl Wake for RecvWaker {
    fn wake(&self) {
        if let Some(core) = self.core.upgrade() {
            core.on_inbound_ready(self.routing_id);
        }
    }
}

/// Connection events of one tcp/ipc/ws connection (or connecter), seen from its socket.
struct PeerEvents {
    core: Weak<SocketCore>,
    routing_id: u32,
    /// What the monitor shows: the endpoint as given to connect, or the listener's.
    endpoint: Arc<str>,
    state: Arc<ConnState>,
    /// Connect side: a stream of the current attempt connected (`on_connected`) and has not
    /// ended yet. A disconnect without a handshake is then a failed handshake.
    streaming: AtomicBool,
    /// Accept side: the listener's acceptor, which forgets the connection once it ends.
    acceptor: Option<Weak<PeerAcceptor>>,
}

impl PeerEvents {
    fn emit(&self, event: impl FnOnce(String) -> MonitorEvent) {
        if let Some(core) = self.core.upgrade() {
            core.monitors.emit(|| event(self.endpoint.to_string()));
        }
    }

    fn routing_id(&self) -> Option<RoutingId> {
        RoutingId::new(self.routing_id)
    }
}

impl ConnectionEvents for PeerEvents {
    fn on_connected(&self, remote: &str) {
        self.streaming.store(true, Ordering::Release);
        self.emit(|endpoint| MonitorEvent::Connected {
            endpoint,
            remote: remote.to_owned(),
        });
    }

    fn on_handshake(&self, peer: &PeerInfo, remote: &str) {
        self.state.on_handshake();
        let Some(core) = self.core.upgrade() else {
            return;
        };
        // The acceptor already recorded an accepted connection's metadata.
        if !self.state.is_accepted() {
            let address = peer_address_from_remote(remote);
            let props = Properties::from_peer(peer, address.as_deref());
            core.set_properties(self.routing_id, Arc::new(props));
        }
        if let Some(routing_id) = self.routing_id() {
            core.monitors.emit(|| MonitorEvent::HandshakeSucceeded {
                endpoint: self.endpoint.to_string(),
                routing_id,
            });
        }
    }

    fn on_disconnect(&self, reason: &DisconnectReason, will_reconnect: bool) {
        let was_up = self.state.is_connected();
        let had_stream = self.streaming.swap(false, Ordering::AcqRel);
        self.state.on_disconnect(will_reconnect);
        // Connecter, reconnectable: the same pipes (and so the routing id) are re-attached.
        // Otherwise the id dies now; inbound messages already queued stay readable.
        if !will_reconnect {
            if let Some(core) = self.core.upgrade() {
                core.drop_route(self.routing_id);
            }
            if let Some(acceptor) = self.acceptor.as_ref().and_then(Weak::upgrade) {
                acceptor.accepted.lock().conns.remove(&self.routing_id);
            }
        }
        if was_up {
            if let Some(routing_id) = self.routing_id() {
                self.emit(|endpoint| MonitorEvent::Disconnected {
                    endpoint,
                    routing_id,
                    reason: reason.to_string(),
                    will_reconnect,
                });
            }
        } else if had_stream {
            self.emit(|endpoint| MonitorEvent::HandshakeFailed {
                endpoint,
                reason: reason.to_string(),
                will_reconnect,
            });
        }
    }

    fn on_retry(&self, reason: &DisconnectReason, delay: Duration) {
        self.emit(|endpoint| MonitorEvent::ConnectRetried {
            endpoint,
            interval: delay,
            reason: reason.to_string(),
        });
    }
}

/// Hands each accepted connection (after its handshake) a fresh routing id and pipes, and
/// remembers it until it ends (for `unbind`).
#[derive(Debug)]
struct PeerAcceptor {
    core: Weak<SocketCore>,
    me: Weak<Self>,
    send_hwm: usize,
    recv_hwm: usize,
    /// The endpoint given to bind, shown by the monitor until `resolved` is set.
    given: Arc<str>,
    /// The listener's resolved endpoint, set right after the bind returned.
    resolved: OnceLock<Arc<str>>,
    accepted: Mutex<AcceptedSet>,
}

/// The live connections accepted through one listener.
#[derive(Debug, Default)]
struct AcceptedSet {
    /// Unbound: connections finishing their handshake now are refused.
    closed: bool,
    conns: HashMap<u32, Arc<ConnState>>,
}

impl PeerAcceptor {
    fn endpoint(&self) -> String {
        self.resolved.get().unwrap_or(&self.given).to_string()
    }

    fn emit(&self, event: impl FnOnce(String) -> MonitorEvent) {
        if let Some(core) = self.core.upgrade() {
            core.monitors.emit(|| event(self.endpoint()));
        }
    }
}

impl Acceptor for PeerAcceptor {
    fn on_accepted(&self, remote: &str) {
        self.emit(|endpoint| MonitorEvent::Accepted {
            endpoint,
            remote: remote.to_owned(),
        });
    }

    fn on_accept(
        &self,
        peer: &PeerInfo,
        remote: &str,
    ) -> Option<(Link, Arc<dyn ConnectionEvents>)> {
        let core = self.core.upgrade()?;
        if core.check_usable().is_err() {
            return None;
        }
        // Held across the attach so an unbind sees every connection it must end.
        let mut accepted = self.accepted.lock();
        if accepted.closed {
            return None;
        }
        let (out_tx, out_rx) = pipe(self.send_hwm);
        let (in_tx, in_rx) = pipe(self.recv_hwm);
        let address = peer_address_from_remote(remote);
        let props = Arc::new(Properties::from_peer(peer, address.as_deref()));
        let state = core.ctx.linger.conn_state(true);
        let inbound = InPipe {
            receiver: in_rx,
            properties: Some(props),
            state: Some(Arc::clone(&state)),
            head: None,
        };
        let id = core.attach(out_tx, Some(inbound)).ok()?;
        accepted.conns.insert(id, Arc::clone(&state));
        drop(accepted);
        let events: Arc<dyn ConnectionEvents> = Arc::new(PeerEvents {
            core: self.core.clone(),
            routing_id: id,
            endpoint: self.endpoint().into(),
            state,
            streaming: AtomicBool::new(false),
            acceptor: Some(self.me.clone()),
        });
        Some((
            Link {
                outbound: out_rx,
                inbound: in_tx,
            },
            events,
        ))
    }

    fn on_handshake_failed(&self, remote: &str, reason: &DisconnectReason) {
        let _ = remote;
        self.emit(|endpoint| MonitorEvent::HandshakeFailed {
            endpoint,
            reason: reason.to_string(),
            will_reconnect: false,
        });
    }
}

#[cfg(test)]
mod tests;
