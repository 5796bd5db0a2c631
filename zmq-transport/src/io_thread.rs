//! The I/O thread: one `mio::Poll` event loop with a `mio::Waker` and a command queue, owning
//! every listener and connection handed to it; and the handles applications use to reach it.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::io;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crossbeam_queue::SegQueue;
use mio::event::Source;
use mio::{Events, Interest, Poll, Registry, Token, Waker};
use parking_lot::Mutex;

use crate::connecter;
use crate::connection::{Conn, READ_CHUNK, Status};
use crate::endpoint::{Endpoint, EndpointError};
#[cfg(feature = "ipc")]
use crate::ipc::IpcCleanup;
use crate::options::{Acceptor, ConnOptions, ConnectionEvents, Link, TransportError};
use crate::pipe::Wake;
use crate::stream::ListenSocket;
#[cfg(feature = "ws")]
use crate::ws::WsSetup;

/// One mio event loop on its own thread.
///
/// Connections and listeners handed to it (through an [`IoHandle`]) live on this thread until
/// they end. Dropping an `IoThread` is [`IoThread::shutdown`].
pub struct IoThread {
    handle: IoHandle,
    thread: Option<JoinHandle<()>>,
}

impl IoThread {
    /// Starts an I/O thread named `name`.
    ///
    /// # Errors
    /// [`TransportError::Io`] when the poller, its waker or the thread cannot be created.
    pub fn spawn(name: &str) -> Result<Self, TransportError> {
        let poll = Poll::new().map_err(TransportError::Io)?;
        let waker = Waker::new(poll.registry(), WAKER).map_err(TransportError::Io)?;
        let shared = Arc::new(Shared {
            commands: SegQueue::new(),
            ready: SegQueue::new(),
            notified: AtomicBool::new(false),
            waker,
            registry: poll.registry().try_clone().map_err(TransportError::Io)?,
            closing: AtomicBool::new(false),
            next_token: AtomicUsize::new(1),
        });
        let cx = Ctx {
            registry: poll.registry().try_clone().map_err(TransportError::Io)?,
            scratch: vec![0; READ_CHUNK],
            ready: Vec::new(),
            timers: BTreeSet::new(),
            timer_of: HashMap::new(),
            rng: seed(),
            shared: Arc::downgrade(&shared),
            shutting_down: false,
        };
        let event_loop = EventLoop {
            poll,
            entities: HashMap::new(),
            cx,
            shared: Arc::clone(&shared),
        };
        let thread = thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || event_loop.run())
            .map_err(TransportError::Io)?;
        Ok(Self {
            handle: IoHandle { shared },
            thread: Some(thread),
        })
    }

    /// A handle to hand work to this thread.
    pub fn handle(&self) -> IoHandle {
        self.handle.clone()
    }

    /// Stops accepting and connecting, lets lingering connections (those whose outbound pipe
    /// was closed by its sender) flush until their linger deadlines, then joins the thread.
    /// Everything else is closed at once.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        let Some(thread) = self.thread.take() else {
            return;
        };
        let shared = &self.handle.shared;
        shared.closing.store(true, Ordering::SeqCst);
        shared.commands.push(Command::Shutdown);
        shared.notify();
        // Joining from the I/O thread itself (a callback dropping the last IoThread) would
        // deadlock; the loop ends on its own after the Shutdown command.
        if thread.thread().id() != thread::current().id() {
            let _ = thread.join();
        }
    }
}

impl Drop for IoThread {
    fn drop(&mut self) {
        self.stop();
    }
}

impl fmt::Debug for IoThread {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IoThread")
            .field("running", &self.thread.is_some())
            .finish_non_exhaustive()
    }
}

/// A cheap, cloneable handle to an [`IoThread`], usable from any thread.
#[derive(Clone)]
pub struct IoHandle {
    shared: Arc<Shared>,
}

impl IoHandle {
    /// Binds synchronously on the caller's thread, then hands the listener to the I/O thread.
    ///
    /// Returns the [`Listener`], whose [`Listener::endpoint`] is the resolved endpoint (e.g.
    /// `tcp://127.0.0.1:41337` for `tcp://127.0.0.1:*`, `ipc:///tmp/tmpab12cd34/socket` for
    /// `ipc://*`). Each accepted connection runs the handshake, then asks `acceptor` for its
    /// link. Dropping or closing the listener unbinds and removes the ipc socket file (and the
    /// `ipc://*` directory); see [`Listener::close`] for what happens to accepted connections.
    ///
    /// # Errors
    /// [`TransportError::AddrInUse`] (also when a live listener answers on an ipc path),
    /// [`TransportError::AddrNotAvailable`], [`TransportError::NameTooLong`],
    /// [`TransportError::Endpoint`] for endpoints this layer cannot bind (inproc),
    /// [`TransportError::Io`] for other OS errors, [`TransportError::Shutdown`] after shutdown.
    pub fn bind(
        &self,
        ep: &Endpoint,
        opts: ConnOptions,
        acceptor: Arc<dyn Acceptor>,
    ) -> Result<Listener, TransportError> {
        if self.shared.closing.load(Ordering::SeqCst) {
            return Err(TransportError::Shutdown);
        }
        let bound = bind(ep, &opts)?;
        let token = self.shared.next_token();
        let slot = Arc::new(Mutex::new(Some(bound.socket)));
        let open = Arc::new(AtomicBool::new(true));
        self.shared.commands.push(Command::Listen(
            Box::new(ListenerEntry {
                slot: Arc::clone(&slot),
                open: Arc::clone(&open),
                opts,
                acceptor,
                endpoint: bound.endpoint.clone(),
                resume_at: None,
                #[cfg(feature = "ws")]
                ws: bound.ws,
            }),
            token,
        ));
        self.shared.notify();
        Ok(Listener {
            token,
            endpoint: bound.endpoint,
            slot,
            open,
            shared: Arc::clone(&self.shared),
            #[cfg(feature = "ipc")]
            cleanup: bound.cleanup,
        })
    }

    /// Starts connecting in the background and returns at once (the first attempt is made
    /// immediately on the I/O thread, then reconnects follow per `opts`).
    ///
    /// After every successful handshake the `link` is attached to the new stream (so messages
    /// queued in `link.outbound` before the connection existed are sent then) and
    /// `events.on_handshake` is called (after `events.on_connected` when the stream came up).
    /// See [`ConnectionEvents::on_disconnect`] for the end and [`ConnectionEvents::on_retry`]
    /// for the reconnect schedule.
    ///
    /// # Errors
    /// [`TransportError::Endpoint`] for an endpoint that can never be connected (a `*` host or
    /// port, `ipc://*`, an IPv6 address without `opts.ipv6`, inproc),
    /// [`TransportError::NameTooLong`], [`TransportError::AddrNotAvailable`] for an interface
    /// name as IPv4 source address, [`TransportError::Shutdown`] after shutdown.
    pub fn connect(
        &self,
        ep: &Endpoint,
        opts: ConnOptions,
        mut link: Link,
        events: Arc<dyn ConnectionEvents>,
    ) -> Result<Connecter, TransportError> {
        if self.shared.closing.load(Ordering::SeqCst) {
            return Err(TransportError::Shutdown);
        }
        connecter::validate(ep, &opts)?;
        #[cfg(feature = "ws")]
        let ws = WsSetup::client(ep, &opts)?;
        let token = self.shared.next_token();
        let waker: Arc<dyn Wake> = Arc::new(LoopWaker {
            shared: Arc::downgrade(&self.shared),
            token,
        });
        link.adopt(waker);
        let conn = Conn::connecter(token, ep.clone(), opts, link, events, Instant::now());
        #[cfg(feature = "ws")]
        let conn = conn.with_ws(ws);
        self.shared
            .commands
            .push(Command::Connect(Box::new(conn), token));
        self.shared.notify();
        Ok(Connecter {
            token,
            shared: Arc::clone(&self.shared),
        })
    }

    /// True once the I/O thread was asked to shut down.
    pub fn is_shutdown(&self) -> bool {
        self.shared.closing.load(Ordering::SeqCst)
    }
}

impl fmt::Debug for IoHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IoHandle")
            .field("shutdown", &self.is_shutdown())
            .finish_non_exhaustive()
    }
}

/// A bound endpoint. Dropping it (or [`Listener::close`]) unbinds.
pub struct Listener {
    token: usize,
    endpoint: String,
    slot: Arc<Mutex<Option<ListenSocket>>>,
    /// Cleared on close: connections still in their handshake are then refused.
    open: Arc<AtomicBool>,
    shared: Arc<Shared>,
    #[cfg(feature = "ipc")]
    cleanup: Option<IpcCleanup>,
}

impl Listener {
    /// The resolved endpoint, e.g. `tcp://127.0.0.1:41337` (`ZMQ_LAST_ENDPOINT`).
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Unbinds: no new connection is accepted, the listening socket is closed before this
    /// returns (so the address can be bound again at once) and ipc files are removed.
    ///
    /// Connections accepted earlier are not cut off here: one whose link is attached lives on
    /// until its outbound pipe ends (its sender closes it, then it flushes per that close's
    /// linger) or the connection drops, like a connecter's connection after
    /// [`Connecter::close`]. Connections still in their handshake (no link yet) are closed.
    /// (libzmq's `zmq_unbind` also ends the sessions the listener accepted, each flushing per
    /// LINGER; a socket layer does that by closing their outbound pipes with its linger.)
    pub fn close(self) {}
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.open.store(false, Ordering::SeqCst);
        if let Some(mut socket) = self.slot.lock().take() {
            // Deregistering before the close keeps mio's books tidy; the close itself (when
            // `socket` goes out of scope here) is what frees the address.
            let _ = socket.deregister(&self.shared.registry);
        }
        #[cfg(feature = "ipc")]
        if let Some(cleanup) = &self.cleanup {
            cleanup.run();
        }
        self.shared
            .commands
            .push(Command::CloseListener(self.token));
        self.shared.notify();
    }
}

impl fmt::Debug for Listener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Listener")
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

/// A connecting endpoint. Dropping it is [`Connecter::close`].
pub struct Connecter {
    token: usize,
    shared: Arc<Shared>,
}

impl Connecter {
    /// Stops reconnecting. A live connection keeps running and flushing until the outbound
    /// pipe's sender closes (then per its linger) or the connection drops; a connecter that is
    /// not connected ends at once (`on_disconnect(Closed, false)`, pipes closed). To flush and
    /// close, close the outbound `PipeSender` with the wanted linger first, then this.
    pub fn close(self) {}
}

impl Drop for Connecter {
    fn drop(&mut self) {
        self.shared
            .commands
            .push(Command::CloseConnecter(self.token));
        self.shared.notify();
    }
}

impl fmt::Debug for Connecter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connecter")
            .field("token", &self.token)
            .finish_non_exhaustive()
    }
}

/// State shared between the handles and the loop.
pub(crate) struct Shared {
    commands: SegQueue<Command>,
    /// Tokens whose pipes woke up.
    ready: SegQueue<usize>,
    /// A wake-up of the poller is pending (saves the eventfd write for bursts).
    notified: AtomicBool,
    waker: Waker,
    registry: Registry,
    closing: AtomicBool,
    next_token: AtomicUsize,
}

impl Shared {
    fn notify(&self) {
        if !self.notified.swap(true, Ordering::SeqCst) {
            // Nothing sensible to do if the eventfd write fails; the loop also wakes on timers.
            let _ = self.waker.wake();
        }
    }

    fn next_token(&self) -> usize {
        self.next_token.fetch_add(1, Ordering::Relaxed)
    }
}

enum Command {
    Listen(Box<ListenerEntry>, usize),
    Connect(Box<Conn>, usize),
    CloseListener(usize),
    CloseConnecter(usize),
    Shutdown,
}

/// The waker a connection gives its pipes: queues the token and wakes the poller.
struct LoopWaker {
    shared: Weak<Shared>,
    token: usize,
}

impl Wake for LoopWaker {
    fn wake(&self) {
        if let Some(shared) = self.shared.upgrade() {
            shared.ready.push(self.token);
            shared.notify();
        }
    }
}

/// The loop's context passed to connections.
pub(crate) struct Ctx {
    pub(crate) registry: Registry,
    /// Read buffer shared by every connection of this thread.
    pub(crate) scratch: Vec<u8>,
    /// Tokens to service again on the next round (budgets used up, new connections).
    pub(crate) ready: Vec<usize>,
    timers: BTreeSet<(Instant, usize)>,
    timer_of: HashMap<usize, Instant>,
    rng: u64,
    shared: Weak<Shared>,
    pub(crate) shutting_down: bool,
}

impl Ctx {
    /// Sets (or with `None` clears) the single timer of `token`.
    pub(crate) fn set_timer(&mut self, token: usize, at: Option<Instant>) {
        if self.timer_of.get(&token).copied() == at {
            return;
        }
        if let Some(old) = self.timer_of.remove(&token) {
            self.timers.remove(&(old, token));
        }
        if let Some(at) = at {
            self.timers.insert((at, token));
            self.timer_of.insert(token, at);
        }
    }

    /// A pipe waker for `token`.
    pub(crate) fn waker(&self, token: usize) -> Arc<dyn Wake> {
        Arc::new(LoopWaker {
            shared: self.shared.clone(),
            token,
        })
    }

    /// A pseudo-random number in `0..bound` (xorshift64; jitter only, not security).
    pub(crate) fn random_below(&mut self, bound: u64) -> u64 {
        if bound == 0 {
            return 0;
        }
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng = x;
        x % bound
    }

    fn expired(&mut self, now: Instant, out: &mut Vec<usize>) {
        while let Some(&(at, token)) = self.timers.first() {
            if at > now {
                break;
            }
            self.timers.pop_first();
            self.timer_of.remove(&token);
            out.push(token);
        }
    }
}

struct ListenerEntry {
    slot: Arc<Mutex<Option<ListenSocket>>>,
    /// False once the [`Listener`] closed.
    open: Arc<AtomicBool>,
    opts: ConnOptions,
    acceptor: Arc<dyn Acceptor>,
    endpoint: String,
    /// Accepting paused until then (after running out of file descriptors).
    resume_at: Option<Instant>,
    /// ws / wss: accepted streams start with the HTTP upgrade.
    #[cfg(feature = "ws")]
    ws: Option<Arc<WsSetup>>,
}

enum Entity {
    Listener(Box<ListenerEntry>),
    Conn(Box<Conn>),
}

struct EventLoop {
    poll: Poll,
    entities: HashMap<usize, Entity>,
    cx: Ctx,
    shared: Arc<Shared>,
}

impl EventLoop {
    fn run(mut self) {
        let mut events = Events::with_capacity(1024);
        let mut todo = Vec::new();
        loop {
            let now = Instant::now();
            let timeout = if self.cx.ready.is_empty() {
                self.cx
                    .timers
                    .first()
                    .map(|&(at, _)| at.saturating_duration_since(now))
            } else {
                Some(Duration::ZERO)
            };
            if let Err(e) = self.poll.poll(&mut events, timeout)
                && e.kind() != io::ErrorKind::Interrupted
            {
                // The poller itself failed: nothing can be served any more.
                break;
            }
            // Clear before draining, so a wake-up racing with the drain is not lost. A swap (not a
            // store) reads the producers' release swaps, making their pushes visible below.
            self.shared.notified.swap(false, Ordering::SeqCst);
            let now = Instant::now();
            todo.clear();
            for event in &events {
                let token = event.token();
                if token == WAKER {
                    continue;
                }
                if (event.is_readable() || event.is_read_closed() || event.is_error())
                    && let Some(Entity::Conn(conn)) = self.entities.get_mut(&token.0)
                {
                    conn.mark_readable();
                }
                todo.push(token.0);
            }
            while let Some(command) = self.shared.commands.pop() {
                self.command(command, now, &mut todo);
            }
            while let Some(token) = self.shared.ready.pop() {
                todo.push(token);
            }
            todo.append(&mut self.cx.ready);
            self.cx.expired(now, &mut todo);
            todo.sort_unstable();
            todo.dedup();
            for &token in &todo {
                self.service(token, now);
            }
            if self.cx.shutting_down
                && !self.entities.values().any(|e| matches!(e, Entity::Conn(_)))
            {
                break;
            }
        }
        self.shared.closing.store(true, Ordering::SeqCst);
        // Whatever is left (and any command that raced with the end) is dropped here: links
        // drop their pipe ends, which closes them.
        while self.shared.commands.pop().is_some() {}
    }

    fn command(&mut self, command: Command, now: Instant, todo: &mut Vec<usize>) {
        match command {
            Command::Listen(entry, token) => {
                if self.cx.shutting_down {
                    return;
                }
                let registered = match entry.slot.lock().as_mut() {
                    Some(socket) => socket
                        .register(&self.cx.registry, Token(token), Interest::READABLE)
                        .is_ok(),
                    // Closed before the loop saw it.
                    None => false,
                };
                if registered {
                    self.entities.insert(token, Entity::Listener(entry));
                    // Edge-triggered: accept whatever arrived before the registration.
                    todo.push(token);
                }
            }
            Command::Connect(conn, token) => {
                if self.cx.shutting_down {
                    return;
                }
                self.entities.insert(token, Entity::Conn(conn));
                todo.push(token);
            }
            Command::CloseListener(token) => {
                if let Some(Entity::Listener(entry)) = self.entities.remove(&token) {
                    self.close_listener(&entry);
                }
                self.cx.set_timer(token, None);
                let children: Vec<usize> = self
                    .entities
                    .iter()
                    .filter_map(|(&t, e)| match e {
                        Entity::Conn(c) if c.listener() == Some(token) => Some(t),
                        _ => None,
                    })
                    .collect();
                for child in children {
                    self.with_conn(child, |conn, cx| conn.listener_closed(cx, now));
                }
            }
            Command::CloseConnecter(token) => {
                self.with_conn(token, |conn, cx| conn.stop(cx, now));
            }
            Command::Shutdown => {
                self.cx.shutting_down = true;
                let tokens: Vec<usize> = self.entities.keys().copied().collect();
                for token in tokens {
                    if let Some(Entity::Listener(_)) = self.entities.get(&token) {
                        if let Some(Entity::Listener(entry)) = self.entities.remove(&token) {
                            self.close_listener(&entry);
                        }
                        self.cx.set_timer(token, None);
                    } else {
                        self.with_conn(token, |conn, cx| conn.shutdown(cx, now));
                    }
                }
            }
        }
    }

    fn close_listener(&self, entry: &ListenerEntry) {
        if let Some(mut socket) = entry.slot.lock().take() {
            let _ = socket.deregister(&self.cx.registry);
        }
    }

    fn with_conn(&mut self, token: usize, f: impl FnOnce(&mut Conn, &mut Ctx) -> Status) {
        if let Some(Entity::Conn(conn)) = self.entities.get_mut(&token)
            && f(conn, &mut self.cx) == Status::Remove
        {
            self.entities.remove(&token);
            self.cx.set_timer(token, None);
        }
    }

    fn service(&mut self, token: usize, now: Instant) {
        match self.entities.get(&token) {
            Some(Entity::Listener(_)) => self.accept(token, now),
            Some(Entity::Conn(_)) => self.with_conn(token, |conn, cx| conn.service(cx, now)),
            None => {}
        }
    }

    /// Accepts pending connections (up to a budget), each becoming a connection that starts
    /// with its greeting.
    fn accept(&mut self, token: usize, now: Instant) {
        let Some(Entity::Listener(entry)) = self.entities.get_mut(&token) else {
            return;
        };
        if entry.resume_at.is_some_and(|at| now < at) {
            return;
        }
        entry.resume_at = None;
        let mut accepted = Vec::new();
        {
            let guard = entry.slot.lock();
            let Some(socket) = guard.as_ref() else {
                return;
            };
            loop {
                if accepted.len() == ACCEPT_BUDGET {
                    self.cx.ready.push(token);
                    break;
                }
                match socket.accept(&entry.opts) {
                    Ok((stream, remote)) => {
                        accepted.push((stream, remote.unwrap_or_else(|| entry.endpoint.clone())));
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e)
                        if matches!(
                            e.kind(),
                            io::ErrorKind::Interrupted | io::ErrorKind::ConnectionAborted
                        ) => {}
                    Err(_) => {
                        // EMFILE / ENFILE / ENOBUFS / ENOMEM and the like: back off instead of
                        // spinning on a listener that stays readable; existing peers go on.
                        let at = now + ACCEPT_BACKOFF;
                        entry.resume_at = Some(at);
                        self.cx.set_timer(token, Some(at));
                        break;
                    }
                }
            }
        }
        let opts = entry.opts.clone();
        let acceptor = Arc::clone(&entry.acceptor);
        let open = Arc::clone(&entry.open);
        #[cfg(feature = "ws")]
        let ws = entry.ws.clone();
        for (stream, remote) in accepted {
            let child = self.shared.next_token();
            // A stream that cannot be registered is dropped (closed).
            if let Ok(conn) = Conn::accepted(
                child,
                (token, Arc::clone(&open)),
                Arc::clone(&acceptor),
                remote,
                opts.clone(),
                stream,
                #[cfg(feature = "ws")]
                ws.clone(),
                &self.cx,
                now,
            ) {
                self.entities.insert(child, Entity::Conn(Box::new(conn)));
                self.cx.ready.push(child);
            }
        }
    }
}

struct Bound {
    socket: ListenSocket,
    endpoint: String,
    #[cfg(feature = "ipc")]
    cleanup: Option<IpcCleanup>,
    #[cfg(feature = "ws")]
    ws: Option<Arc<WsSetup>>,
}

fn bind(ep: &Endpoint, opts: &ConnOptions) -> Result<Bound, TransportError> {
    match ep {
        #[cfg(feature = "tcp")]
        Endpoint::Tcp(tcp) => {
            let addr = crate::tcp::resolve_bind(tcp, opts.ipv6)?;
            let socket = crate::tcp::listen(addr, opts)?;
            let local = socket
                .local_addr()?
                .as_socket()
                .ok_or(TransportError::AddrNotAvailable)?;
            Ok(Bound {
                socket: ListenSocket::tcp(socket),
                endpoint: crate::tcp::endpoint_string(local),
                #[cfg(feature = "ipc")]
                cleanup: None,
                #[cfg(feature = "ws")]
                ws: None,
            })
        }
        #[cfg(feature = "ws")]
        Endpoint::Ws(ws) | Endpoint::Wss(ws) => {
            // TLS settings first: a wss bind without a usable certificate binds nothing.
            let setup = WsSetup::server(ep, opts)?;
            let addr = crate::tcp::resolve_bind(&ws.tcp(), opts.ipv6)?;
            let socket = crate::tcp::listen(addr, opts)?;
            let local = socket
                .local_addr()?
                .as_socket()
                .ok_or(TransportError::AddrNotAvailable)?;
            let tcp = crate::tcp::endpoint_string(local);
            let address = tcp.strip_prefix("tcp://").unwrap_or(&tcp);
            Ok(Bound {
                socket: ListenSocket::tcp(socket),
                endpoint: format!("{}://{address}{}", ep.scheme(), ws.path),
                #[cfg(feature = "ipc")]
                cleanup: None,
                ws: setup,
            })
        }
        #[cfg(feature = "ipc")]
        Endpoint::Ipc(ipc) => {
            let bound = crate::ipc::bind(ipc, opts)?;
            Ok(Bound {
                socket: ListenSocket::unix(bound.socket),
                endpoint: bound.endpoint,
                cleanup: bound.cleanup,
                #[cfg(feature = "ws")]
                ws: None,
            })
        }
        other => {
            Err(EndpointError::UnsupportedTransport(other.scheme().as_str().to_owned()).into())
        }
    }
}

fn seed() -> u64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    // Truncation is fine: this only seeds jitter.
    #[allow(
        clippy::cast_possible_truncation,
        reason = "only the low bits seed the jitter"
    )]
    let low = nanos as u64;
    (low ^ (u64::from(std::process::id()) << 32)) | 1
}

const WAKER: Token = Token(0);
/// Connections accepted per round before yielding to other work.
const ACCEPT_BUDGET: usize = 256;
/// Pause after `accept()` fails for lack of resources.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);
