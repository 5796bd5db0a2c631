//! One connection on the I/O thread: its stream, its codec session, its buffers and its link,
//! plus (connect side) the reconnect cycle that re-attaches the same link to each new stream.
//!
//! The wire is either a ZMTP byte stream (tcp, ipc) or, after an HTTP upgrade, a ZWS 2.0
//! WebSocket message stream (ws, wss; see [`crate::ws`]). Both share the handshake, heartbeat,
//! backpressure, linger and reconnect logic here; only reading and writing differ.
//!
//! Everything here runs on the I/O thread and never blocks: the stream is non-blocking, the
//! pipes are lock-free, and callbacks must return promptly. The one exception to "the I/O
//! thread owns the stream": through a tcp or ipc connection's [`Lane`] (see [`crate::lane`]),
//! an application thread may write a reply to the idle connection itself, and read messages
//! from it while it waits in `recv`.

use std::collections::VecDeque;
use std::io::{self, IoSlice};
use std::mem;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bytes::{Buf, Bytes, BytesMut};
use mio::event::Source;
use mio::{Interest, Token};
use zmtp_codec::{Event, Message, PeerInfo, Session};

use crate::connecter;
use crate::endpoint::Endpoint;
use crate::io_thread::Ctx;
use crate::lane::{Lane, RxState};
use crate::options::{Acceptor, ConnOptions, ConnectionEvents, DisconnectReason, Link};
use crate::pipe::{Bypass, Fill, PipeClosed, TrySendError};
use crate::stream::Stream;
#[cfg(feature = "ws")]
use crate::ws::{Progress, Upgrade, WsSetup, WsWire};

/// Whether the loop keeps a connection after servicing it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Status {
    Keep,
    Remove,
}

/// The outcome of one read step on a live wire.
pub(crate) enum Step {
    /// Input was handed to the session (or nothing happened): drain its events, go on.
    Fed,
    /// The socket has nothing more for now.
    Blocked,
    /// The stream ended or failed.
    End(DisconnectReason),
}

/// Which side of the connection we are.
pub(crate) enum Role {
    /// Accepted by a listener; the link arrives from the acceptor after the handshake.
    Accepted {
        listener: usize,
        /// False once the listener closed: a handshake completing after that is refused.
        listener_open: Arc<AtomicBool>,
        acceptor: Arc<dyn Acceptor>,
        remote: String,
    },
    /// Connect side: owns the endpoint and the reconnect state.
    Connecter {
        endpoint: Endpoint,
        /// The last reconnect interval when `reconnect_ivl_max` is set (exponential back-off);
        /// `None` until the first retry after a tcp connect.
        backoff: Option<Duration>,
        /// The other end of the current stream (see [`ConnectionEvents::on_handshake`]).
        remote: String,
    },
}

enum Phase {
    /// Connect side, between attempts: the next attempt time (`None` = stopped trying).
    Idle { retry_at: Option<Instant> },
    /// A non-blocking connect in progress.
    Connecting {
        stream: Stream,
        deadline: Option<Instant>,
    },
    /// ws / wss: tcp connected, HTTP upgrade (and TLS handshake) in progress.
    #[cfg(feature = "ws")]
    Upgrading(Box<Upgrade>),
    /// Connected: handshake and traffic.
    Live(Box<Live>),
    /// The stream is gone for good; delivering what was received before ending the inbound pipe.
    Draining,
    /// Finished.
    Done,
}

struct Live {
    wire: Wire,
    session: Session,
    /// What the stream is registered for: READABLE is off while inbound backpressure pauses
    /// reading or reads are left to an application thread (`reads_left`), and then WRITABLE
    /// too unless output waits (a Unix socket signals write space whenever the peer reads);
    /// `None`: not registered at all.
    interest: Option<Interest>,
    /// The stream may have unread data: set by READABLE events, cleared by `WouldBlock`. Saves
    /// a useless `read` when the round was caused by a pipe wake-up (mio is edge-triggered, so
    /// this is exact).
    read_pending: bool,
    /// The link is attached (handshake done and, when accepted, the acceptor said yes).
    attached: bool,
    /// The outbound pipe ended (sender closed and everything was taken).
    outbound_done: bool,
    /// Set when the connection must end once the current round is over.
    close: Option<DisconnectReason>,
    /// The connection's direct lane, while it is open on this stream (tcp and ipc, once
    /// attached); closed when this stream's `Live` is dropped.
    lane: Option<Arc<Lane>>,
    /// Reads are left to an application thread that reads the socket itself (direct lane):
    /// READABLE is off, so arrivals do not wake this thread, and a timer checks every
    /// [`FILL_CHECK`] that the application thread still does.
    reads_left: bool,
}

impl Drop for Live {
    fn drop(&mut self) {
        if let Some(lane) = &self.lane {
            lane.close();
        }
    }
}

/// How messages travel on a live connection.
enum Wire {
    /// ZMTP over a byte stream.
    Zmtp(ZmtpWire),
    /// ZWS 2.0: one WebSocket message per ZMTP frame.
    #[cfg(feature = "ws")]
    Ws(Box<WsWire>),
}

/// A byte stream with its buffers.
struct ZmtpWire {
    /// Shared with the connection's [`Lane`] while it is open.
    stream: Arc<Stream>,
    read_buf: BytesMut,
    /// Zeroed room right behind `read_buf` (same allocation) into which the rest of a large
    /// frame is read in place; empty unless such a read is under way.
    direct: BytesMut,
    /// The last read went straight into place: the next one through the scratch buffer is
    /// short, so that a following large frame is mostly read in place too.
    after_direct: bool,
    /// Chunks taken from `poll_transmit` and not yet (fully) written.
    out: VecDeque<Bytes>,
    out_len: usize,
    /// Capacity of the allocation `read_buf` lives in (0: none yet).
    read_buf_cap: usize,
    /// Earlier allocations of `read_buf`, kept (up to [`SPARE_BUFFERS`]) so that their memory
    /// serves again once the application dropped every body split off them (see
    /// [`ZmtpWire::make_room`]).
    spare: VecDeque<BytesMut>,
}

/// A connection (accepted) or a connecter with its current connection.
pub(crate) struct Conn {
    token: usize,
    role: Role,
    opts: ConnOptions,
    link: Option<Link>,
    events: Option<Arc<dyn ConnectionEvents>>,
    phase: Phase,
    /// Messages received but not yet accepted by the inbound pipe (it was full). Reading stays
    /// paused while this is non-empty.
    backlog: VecDeque<Message>,
    /// A message taken from the outbound pipe that the session refused because it had just
    /// closed: sent first on the next connection.
    unsent: Option<Message>,
    /// No more reconnects (connecter closed, I/O thread shutting down).
    stopped: bool,
    /// ws / wss settings: each new stream starts with an HTTP upgrade.
    #[cfg(feature = "ws")]
    ws: Option<Arc<WsSetup>>,
    /// The direct lane, made (and installed as the outbound pipe's bypass) at the first
    /// attached tcp / ipc stream and opened on each one after.
    lane: Option<Arc<Lane>>,
}

impl Conn {
    /// A connection accepted by `listener` (its token and its open flag); registers the stream
    /// and queues the greeting (or, for ws, starts waiting for the HTTP upgrade request).
    #[allow(
        clippy::too_many_arguments,
        reason = "a constructor taking each part once"
    )]
    pub(crate) fn accepted(
        token: usize,
        listener: (usize, Arc<AtomicBool>),
        acceptor: Arc<dyn Acceptor>,
        remote: String,
        opts: ConnOptions,
        mut stream: Stream,
        #[cfg(feature = "ws")] ws: Option<Arc<WsSetup>>,
        cx: &Ctx,
        now: Instant,
    ) -> io::Result<Self> {
        stream.register(
            &cx.registry,
            Token(token),
            Interest::READABLE | Interest::WRITABLE,
        )?;
        let (listener, listener_open) = listener;
        acceptor.on_accepted(&remote);
        #[cfg(feature = "ws")]
        if let Some(setup) = &ws {
            let phase = match stream.into_tcp() {
                Some(sock) => {
                    match Upgrade::new(setup, sock, opts.codec.handshake_timeout, now) {
                        Ok(upgrade) => Phase::Upgrading(Box::new(upgrade)),
                        // The stream is dropped (closed): nothing else to do.
                        Err(reason) => {
                            acceptor.on_handshake_failed(&remote, &reason);
                            Phase::Done
                        }
                    }
                }
                None => Phase::Done,
            };
            return Ok(Self {
                token,
                role: Role::Accepted {
                    listener,
                    listener_open,
                    acceptor,
                    remote,
                },
                opts,
                link: None,
                events: None,
                phase,
                backlog: VecDeque::new(),
                unsent: None,
                stopped: true,
                ws,
                lane: None,
            });
        }
        let session = Session::new(opts.codec.clone(), now);
        Ok(Self {
            token,
            role: Role::Accepted {
                listener,
                listener_open,
                acceptor,
                remote,
            },
            opts,
            link: None,
            events: None,
            phase: Phase::Live(Box::new(Live::new(Wire::zmtp(stream), session))),
            backlog: VecDeque::new(),
            unsent: None,
            stopped: true,
            #[cfg(feature = "ws")]
            ws: None,
            lane: None,
        })
    }

    /// A connecter; its first attempt is due at once. The link's wakers must already point at
    /// `token`.
    pub(crate) fn connecter(
        token: usize,
        endpoint: Endpoint,
        opts: ConnOptions,
        link: Link,
        events: Arc<dyn ConnectionEvents>,
        now: Instant,
    ) -> Self {
        Self {
            token,
            role: Role::Connecter {
                endpoint,
                backoff: None,
                remote: String::new(),
            },
            opts,
            link: Some(link),
            events: Some(events),
            phase: Phase::Idle {
                retry_at: Some(now),
            },
            backlog: VecDeque::new(),
            unsent: None,
            stopped: false,
            #[cfg(feature = "ws")]
            ws: None,
            lane: None,
        }
    }

    /// Makes every stream of this connecter start with a ws / wss upgrade.
    #[cfg(feature = "ws")]
    pub(crate) fn with_ws(mut self, ws: Option<Arc<WsSetup>>) -> Self {
        self.ws = ws;
        self
    }

    /// The stream reported readiness to read (or an error / hang-up, which a read reveals).
    pub(crate) fn mark_readable(&mut self) {
        if let Phase::Live(live) = &mut self.phase {
            live.read_pending = true;
        }
    }

    /// The listener this connection was accepted by, if any.
    pub(crate) fn listener(&self) -> Option<usize> {
        match &self.role {
            Role::Accepted { listener, .. } => Some(*listener),
            Role::Connecter { .. } => None,
        }
    }

    /// Does whatever is due: connect progress, timers, reading, delivering, writing.
    pub(crate) fn service(&mut self, cx: &mut Ctx, now: Instant) -> Status {
        match mem::replace(&mut self.phase, Phase::Done) {
            Phase::Idle { retry_at } => {
                self.deliver_backlog();
                if self.unconnected_should_end(now) {
                    return self.finish(&DisconnectReason::Closed, cx);
                }
                match retry_at {
                    Some(at) if now >= at => self.start_attempt(cx, now),
                    _ => {
                        self.phase = Phase::Idle { retry_at };
                        cx.set_timer(self.token, min_time(retry_at, self.linger_at()));
                        Status::Keep
                    }
                }
            }
            Phase::Connecting {
                mut stream,
                deadline,
            } => {
                self.deliver_backlog();
                if self.unconnected_should_end(now) {
                    deregister(&mut stream, cx);
                    return self.finish(&DisconnectReason::Closed, cx);
                }
                match stream.connect_status() {
                    Ok(true) => self.go_live(stream, cx, now),
                    Ok(false) if deadline.is_some_and(|d| now >= d) => {
                        deregister(&mut stream, cx);
                        self.after_disconnect(
                            &DisconnectReason::Io(io::ErrorKind::TimedOut),
                            false,
                            cx,
                            now,
                        )
                    }
                    Ok(false) => {
                        self.phase = Phase::Connecting { stream, deadline };
                        cx.set_timer(self.token, min_time(deadline, self.linger_at()));
                        Status::Keep
                    }
                    Err(e) => {
                        deregister(&mut stream, cx);
                        self.after_disconnect(&DisconnectReason::Io(e.kind()), false, cx, now)
                    }
                }
            }
            #[cfg(feature = "ws")]
            Phase::Upgrading(upgrade) => self.service_upgrade(upgrade, cx, now),
            Phase::Live(mut live) => match self.service_live(&mut live, cx, now) {
                None => {
                    self.phase = Phase::Live(live);
                    Status::Keep
                }
                Some(reason) => self.end_live(live, &reason, cx, now),
            },
            Phase::Draining => self.drain_final(cx),
            Phase::Done => Status::Remove,
        }
    }

    /// `Connecter::close`: stop reconnecting. A live connection keeps running (and flushing per
    /// the outbound pipe's linger); anything else ends now.
    pub(crate) fn stop(&mut self, cx: &mut Ctx, now: Instant) -> Status {
        self.stopped = true;
        match &self.phase {
            Phase::Idle { .. } | Phase::Connecting { .. } => {
                if let Phase::Connecting { mut stream, .. } =
                    mem::replace(&mut self.phase, Phase::Done)
                {
                    deregister(&mut stream, cx);
                }
                self.finish(&DisconnectReason::Closed, cx)
            }
            #[cfg(feature = "ws")]
            Phase::Upgrading(_) => {
                if let Phase::Upgrading(upgrade) = mem::replace(&mut self.phase, Phase::Done) {
                    upgrade.deregister(&cx.registry);
                }
                self.finish(&DisconnectReason::Closed, cx)
            }
            Phase::Live(_) | Phase::Draining => self.service(cx, now),
            Phase::Done => Status::Remove,
        }
    }

    /// The listener that accepted this connection closed (`Listener::close`): a connection
    /// whose link is attached lives on, its lifetime following its outbound pipe (flushed per
    /// the sender's linger once closed) as for a stopped connecter; one still in its handshake
    /// (or ws upgrade) has no socket behind it and ends now.
    pub(crate) fn listener_closed(&mut self, cx: &mut Ctx, now: Instant) -> Status {
        self.stopped = true;
        let attached = match &self.phase {
            Phase::Live(live) => live.attached,
            // Already ended: only delivering what it received.
            Phase::Draining => true,
            _ => false,
        };
        if attached {
            Status::Keep
        } else {
            self.close_now(cx, now)
        }
    }

    /// End the connection now (what is queued for the wire is lost).
    pub(crate) fn close_now(&mut self, cx: &mut Ctx, now: Instant) -> Status {
        self.stopped = true;
        match mem::replace(&mut self.phase, Phase::Done) {
            Phase::Live(live) => self.end_live(live, &DisconnectReason::Closed, cx, now),
            Phase::Connecting { mut stream, .. } => {
                deregister(&mut stream, cx);
                self.finish(&DisconnectReason::Closed, cx)
            }
            #[cfg(feature = "ws")]
            Phase::Upgrading(upgrade) => {
                upgrade.deregister(&cx.registry);
                self.finish(&DisconnectReason::Closed, cx)
            }
            Phase::Idle { .. } => self.finish(&DisconnectReason::Closed, cx),
            Phase::Draining => {
                self.phase = Phase::Draining;
                self.drain_final(cx)
            }
            Phase::Done => Status::Remove,
        }
    }

    /// The I/O thread shuts down: a live connection whose outbound pipe was closed by its sender
    /// keeps flushing until its linger deadline; everything else ends now.
    pub(crate) fn shutdown(&mut self, cx: &mut Ctx, now: Instant) -> Status {
        self.stopped = true;
        let lingering = matches!(&self.phase, Phase::Live(live) if live.attached)
            && self
                .link
                .as_ref()
                .is_some_and(|l| l.outbound.linger_deadline().is_some());
        if lingering {
            self.service(cx, now)
        } else {
            self.close_now(cx, now)
        }
    }

    fn start_attempt(&mut self, cx: &mut Ctx, now: Instant) -> Status {
        let Role::Connecter { endpoint, .. } = &self.role else {
            return Status::Remove;
        };
        match connecter::start(endpoint, &self.opts) {
            Ok((stream, true)) => self.go_live(stream, cx, now),
            Ok((mut stream, false)) => {
                let token = Token(self.token);
                if let Err(e) =
                    stream.register(&cx.registry, token, Interest::READABLE | Interest::WRITABLE)
                {
                    return self.after_disconnect(&DisconnectReason::Io(e.kind()), false, cx, now);
                }
                let deadline = self.opts.connect_timeout.and_then(|t| now.checked_add(t));
                self.phase = Phase::Connecting { stream, deadline };
                cx.set_timer(self.token, min_time(deadline, self.linger_at()));
                Status::Keep
            }
            Err(e) => self.after_disconnect(&DisconnectReason::Io(e.kind()), false, cx, now),
        }
    }

    fn go_live(&mut self, mut stream: Stream, cx: &mut Ctx, now: Instant) -> Status {
        let interest = Interest::READABLE | Interest::WRITABLE;
        // Re-registering covers both a fresh socket and one registered while connecting.
        let registered = stream
            .reregister(&cx.registry, Token(self.token), interest)
            .or_else(|_| stream.register(&cx.registry, Token(self.token), interest));
        if let Err(e) = registered {
            return self.after_disconnect(&DisconnectReason::Io(e.kind()), false, cx, now);
        }
        if let Role::Connecter {
            endpoint,
            remote,
            backoff,
        } = &mut self.role
        {
            // libzmq's connecter (and with it its interval) ends once the tcp connect succeeds;
            // the next disconnect starts a new one at IVL, even if this handshake fails.
            *backoff = None;
            *remote = remote_of(&stream, endpoint);
            if let Some(events) = &self.events {
                events.on_connected(remote);
            }
        }
        #[cfg(feature = "ws")]
        if let Some(setup) = &self.ws {
            let Some(sock) = stream.into_tcp() else {
                let reason = DisconnectReason::WebSocket("ws needs a tcp stream".into());
                return self.after_disconnect(&reason, false, cx, now);
            };
            return match Upgrade::new(setup, sock, self.opts.codec.handshake_timeout, now) {
                Ok(upgrade) => {
                    self.phase = Phase::Upgrading(Box::new(upgrade));
                    self.service(cx, now)
                }
                Err(reason) => self.after_disconnect(&reason, true, cx, now),
            };
        }
        let session = Session::new(self.opts.codec.clone(), now);
        self.phase = Phase::Live(Box::new(Live::new(Wire::zmtp(stream), session)));
        self.service(cx, now)
    }

    /// ws / wss: drives the HTTP upgrade (and TLS handshake) until it completes, fails or
    /// passes the handshake deadline; then runs the session over WebSocket framing.
    #[cfg(feature = "ws")]
    fn service_upgrade(&mut self, mut upgrade: Box<Upgrade>, cx: &mut Ctx, now: Instant) -> Status {
        self.deliver_backlog();
        if self.unconnected_should_end(now) {
            upgrade.deregister(&cx.registry);
            return self.finish(&DisconnectReason::Closed, cx);
        }
        if upgrade.deadline.is_some_and(|d| now >= d) {
            upgrade.deregister(&cx.registry);
            let reason = DisconnectReason::Protocol(zmtp_codec::ProtocolError::HandshakeTimeout);
            return self.after_disconnect(&reason, true, cx, now);
        }
        match upgrade.advance(&self.opts.codec.mechanism) {
            Progress::Pending => {
                cx.set_timer(self.token, min_time(upgrade.deadline, self.linger_at()));
                self.phase = Phase::Upgrading(upgrade);
                Status::Keep
            }
            Progress::Done(wire, protocol) => {
                let mut codec = self.opts.codec.clone();
                codec.framing = zmtp_codec::Framing::WebSocket(protocol);
                // The handshake deadline counts from the tcp connection, upgrade included.
                let session = Session::new(codec, upgrade.started);
                self.phase = Phase::Live(Box::new(Live::new(Wire::Ws(wire), session)));
                self.service(cx, now)
            }
            Progress::Failed(reason) => {
                upgrade.deregister(&cx.registry);
                self.after_disconnect(&reason, true, cx, now)
            }
        }
    }

    /// One round on a live connection. `Some(reason)` ends it.
    ///
    /// With a direct lane, the round holds the lane's receiving half: first it takes over
    /// what direct reads handed over, last it says whether direct reads may go on.
    fn service_live(
        &mut self,
        live: &mut Live,
        cx: &mut Ctx,
        now: Instant,
    ) -> Option<DisconnectReason> {
        let Some(lane) = live.lane.clone() else {
            return self.service_round(live, cx, now);
        };
        let mut rx = lane.lock_rx();
        let direct_reads = rx.fast.is_some();
        if let Some(reason) = self.take_over(&mut rx, live, cx, now) {
            return Some(reason);
        }
        // While an application thread reads the socket itself, arrivals are its to read: this
        // thread neither reads (nor races it for the lock this round holds) nor listens for
        // them. Once it stops, this thread reads again, at once.
        let filling = direct_reads && lane.leave_read();
        if live.reads_left != filling {
            live.reads_left = filling;
            live.read_pending = true;
        }
        let unread = filling && mem::take(&mut live.read_pending);
        let ended = self.service_round(live, cx, now);
        live.read_pending |= unread;
        rx.fast = match &live.wire {
            Wire::Zmtp(wire)
                if ended.is_none()
                    && live.attached
                    && live.close.is_none()
                    && self.backlog.is_empty()
                    && wire.read_buf.is_empty()
                    && wire.direct.is_empty() =>
            {
                live.session.fast_path()
            }
            _ => None,
        };
        lane.set_parked(live.reads_left && !live.interest.is_some_and(Interest::is_readable));
        if live.reads_left && ended.is_none() && rx.fast.is_none() {
            // Direct reads stopped meanwhile: listen and read again from the next round.
            cx.ready.push(self.token);
        }
        ended
    }

    /// What direct reads left for this thread, in order: traffic for the heartbeat timers,
    /// messages the inbound pipe had no room for, octets for the session, a read to make, or
    /// the end of the stream. Nothing but the I/O thread reads while this is under way.
    fn take_over(
        &mut self,
        rx: &mut RxState,
        live: &mut Live,
        cx: &mut Ctx,
        now: Instant,
    ) -> Option<DisconnectReason> {
        rx.fast = None;
        if mem::take(&mut rx.traffic) {
            live.session.handle_fast_traffic(now);
        }
        self.backlog.append(&mut rx.backlog);
        if !rx.handover.is_empty() {
            match &mut live.wire {
                Wire::Zmtp(wire) => {
                    wire.make_room(rx.handover.len());
                    wire.read_buf.extend_from_slice(&rx.handover);
                    // A failure is also queued as Event::Closed, handled by drain_events.
                    let _ = live.session.handle_input(&mut wire.read_buf, now);
                }
                // ws connections have no lane.
                #[cfg(feature = "ws")]
                Wire::Ws(_) => {}
            }
            rx.handover.clear();
            self.drain_events(live, cx);
        }
        if mem::take(&mut rx.read_pending) {
            live.read_pending = true;
        }
        rx.ended.take().map(DisconnectReason::Io)
    }

    /// One round on a live connection, the lane aside. `Some(reason)` ends it.
    fn service_round(
        &mut self,
        live: &mut Live,
        cx: &mut Ctx,
        now: Instant,
    ) -> Option<DisconnectReason> {
        if live.attached && self.linger_at().is_some_and(|d| now >= d) {
            return Some(DisconnectReason::Closed);
        }
        self.drain_events(live, cx);
        self.deliver_backlog();
        let mut ended = None;
        if live.close.is_none() && self.backlog.is_empty() && live.read_pending {
            ended = self.read(live, cx, now);
        }
        // Timers after reading: traffic that already arrived (a pong, a late READY) counts
        // before a deadline is judged, so a busy machine that woke this thread late does not
        // drop a healthy peer.
        if ended.is_none() && live.session.poll_timeout().is_some_and(|t| now >= t) {
            // A failure is also queued as Event::Closed.
            let _ = live.session.handle_timeout(now);
            self.drain_events(live, cx);
        }
        if let Err(reason) = self.flush(live, cx) {
            ended.get_or_insert(reason);
        }
        if let Some(reason) = live.close.take() {
            return Some(reason);
        }
        if ended.is_some() {
            return ended;
        }
        if live.outbound_done && live.wire.is_flushed() && live.session.transmit_len() == 0 {
            // Linger complete: everything the sender queued is on the wire.
            return Some(DisconnectReason::Closed);
        }
        // Inbound backpressure: stop reading (READABLE off) until the inbound pipe's sender-side
        // waker says there is room again. mio is edge-triggered, so resuming reads at once.
        // While reads are left to an application thread, no arrival (and, with nothing to
        // write, no write space) wakes this thread either.
        let want_read = self.backlog.is_empty() && !live.reads_left;
        let want_write =
            !live.reads_left || !live.wire.is_flushed() || live.session.transmit_len() > 0;
        let interest = match (want_read, want_write) {
            (true, true) => Some(Interest::READABLE | Interest::WRITABLE),
            (true, false) => Some(Interest::READABLE),
            (false, true) => Some(Interest::WRITABLE),
            (false, false) => None,
        };
        if interest != live.interest {
            if let Err(e) =
                live.wire
                    .set_interest(&cx.registry, Token(self.token), live.interest, interest)
            {
                return Some(DisconnectReason::Io(e.kind()));
            }
            live.interest = interest;
        }
        let linger = if live.attached {
            self.linger_at()
        } else {
            None
        };
        let fill_check = live.reads_left.then(|| now + FILL_CHECK);
        cx.set_timer(
            self.token,
            min_time(min_time(live.session.poll_timeout(), linger), fill_check),
        );
        None
    }

    /// Reads until `WouldBlock` (or a budget), feeding the session and delivering messages.
    fn read(&mut self, live: &mut Live, cx: &mut Ctx, now: Instant) -> Option<DisconnectReason> {
        for _ in 0..READ_BUDGET {
            let step = match &mut live.wire {
                Wire::Zmtp(wire) => wire.read_into(&mut live.session, &mut cx.scratch, now),
                #[cfg(feature = "ws")]
                Wire::Ws(wire) => wire.read_into(&mut live.session, now),
            };
            match step {
                Step::Fed => {
                    self.drain_events(live, cx);
                    if live.close.is_some() || !self.backlog.is_empty() {
                        return None;
                    }
                }
                Step::Blocked => {
                    live.read_pending = false;
                    return None;
                }
                Step::End(reason) => return Some(reason),
            }
        }
        // Budget used up with data possibly left: come back after the others had their turn.
        cx.ready.push(self.token);
        None
    }

    fn drain_events(&mut self, live: &mut Live, cx: &mut Ctx) {
        while let Some(event) = live.session.poll_event() {
            match event {
                Event::HandshakeDone(peer) => self.handshake_done(live, &peer, cx),
                Event::Message(msg) => self.deliver(msg),
                // No authenticator (ZAP) in this layer: as libzmq without a ZAP handler, PLAIN
                // credentials are accepted.
                Event::PlainHello { .. } => live.session.accept_plain(true),
                Event::Closed(err) => {
                    live.close.get_or_insert(DisconnectReason::Protocol(err));
                }
                _ => {}
            }
        }
        self.deliver_backlog();
    }

    fn handshake_done(&mut self, live: &mut Live, peer: &PeerInfo, cx: &mut Ctx) {
        match &mut self.role {
            // The listener closed meanwhile: no new connection is accepted after that.
            Role::Accepted { listener_open, .. } if !listener_open.load(Ordering::SeqCst) => {
                live.close.get_or_insert(DisconnectReason::Closed);
            }
            Role::Accepted {
                acceptor, remote, ..
            } => match acceptor.on_accept(peer, remote) {
                Some((mut link, events)) => {
                    link.adopt(cx.waker(self.token));
                    self.link = Some(link);
                    self.events = Some(Arc::clone(&events));
                    live.attached = true;
                    events.on_handshake(peer, remote);
                }
                None => {
                    live.close.get_or_insert(DisconnectReason::Closed);
                }
            },
            Role::Connecter { remote, .. } => {
                live.attached = true;
                if let Some(events) = &self.events {
                    events.on_handshake(peer, remote);
                }
            }
        }
        if live.attached {
            self.open_lane(live, cx);
        }
    }

    /// Opens the direct lane on this stream (tcp and ipc: ws frames go through the WebSocket
    /// engine). The lane is made at the first stream and installed as the outbound pipe's
    /// bypass; later streams of a connecter reopen it.
    fn open_lane(&mut self, live: &mut Live, cx: &Ctx) {
        let (Wire::Zmtp(wire), Some(link)) = (&live.wire, &self.link) else {
            return;
        };
        let token = self.token;
        let lane = self.lane.get_or_insert_with(|| {
            let lane = Arc::new(Lane::new(cx.waker(token)));
            let bypass: Arc<dyn Bypass<Message>> = Arc::clone(&lane) as _;
            link.outbound.set_bypass(bypass);
            let fill: Arc<dyn Fill> = Arc::clone(&lane) as _;
            link.inbound.set_fill(fill);
            lane
        });
        lane.open(Arc::clone(&wire.stream), link.inbound.clone());
        live.lane = Some(Arc::clone(lane));
    }

    /// Queues a received message in the backlog, which [`Conn::deliver_backlog`] moves into
    /// the inbound pipe as one batch per read (what the pipe has no room for waits there).
    /// Without a link (no socket attached), messages are dropped.
    fn deliver(&mut self, msg: Message) {
        if self.link.is_some() {
            self.backlog.push_back(msg);
        }
    }

    /// Moves backlog messages into the inbound pipe while it has room, all in one batch (drops
    /// them if the socket closed its end: the connection's lifetime follows the outbound pipe,
    /// which may still be flushing per its linger).
    ///
    /// Delivering arms the direct lane: the application's next send may be a reply.
    fn deliver_backlog(&mut self) {
        let Some(link) = &self.link else {
            return;
        };
        let before = self.backlog.len();
        if before == 0 {
            return;
        }
        if let Err(TrySendError::Closed(())) = link.inbound.try_send_many(&mut self.backlog) {
            self.backlog.clear();
            return;
        }
        if let Some(lane) = &self.lane
            && self.backlog.len() < before
        {
            lane.arm();
        }
    }

    /// Moves messages from the outbound pipe into the session while its output plus `queued`
    /// (octets the wire holds) stays below the cap. Returns how many were moved.
    fn pull(
        &mut self,
        session: &mut Session,
        attached: bool,
        outbound_done: &mut bool,
        queued: usize,
        budget: &mut usize,
    ) -> usize {
        let mut pulled = 0;
        if !attached || *outbound_done || session.is_closed() {
            return 0;
        }
        let Some(link) = &mut self.link else {
            return 0;
        };
        while *budget > 0 && session.transmit_len() + queued < TRANSMIT_CAP {
            let msg = match self.unsent.take() {
                Some(msg) => msg,
                None => match link.outbound.try_recv() {
                    Ok(Some(msg)) => msg,
                    Ok(None) => break,
                    Err(PipeClosed) => {
                        *outbound_done = true;
                        break;
                    }
                },
            };
            *budget -= 1;
            pulled += 1;
            if let Err(e) = session.send(msg) {
                self.unsent = Some(e.into_message());
                break;
            }
        }
        pulled
    }

    /// Pulls from the outbound pipe into the session (up to a budget, while the output waiting
    /// for the wire is below a cap) and writes until `WouldBlock` or nothing is left: byte
    /// streams with `write_vectored`, WebSocket messages through the engine.
    fn flush(&mut self, live: &mut Live, cx: &mut Ctx) -> Result<(), DisconnectReason> {
        let mut budget = PULL_BUDGET;
        let Live {
            wire,
            session,
            attached,
            outbound_done,
            lane,
            ..
        } = live;
        // Direct writes wait while this thread pulls and writes (see `crate::lane`).
        let mut lane = lane.as_deref().map(Lane::lock);
        match wire {
            Wire::Zmtp(wire) => {
                if let Some(state) = lane.as_mut() {
                    state.clean = false;
                    // The rest of a partial direct write goes before anything else.
                    while let Some(chunk) = state.leftover.pop_back() {
                        wire.out_len += chunk.len();
                        wire.out.push_front(chunk);
                    }
                }
                loop {
                    self.pull(session, *attached, outbound_done, wire.out_len, &mut budget);
                    if !wire
                        .write(session)
                        .map_err(|e| DisconnectReason::Io(e.kind()))?
                    {
                        break;
                    }
                }
                if let Some(state) = lane.as_mut() {
                    state.clean = *attached
                        && !*outbound_done
                        && session.is_ready()
                        && wire.out.is_empty()
                        && session.transmit_len() == 0
                        && self.unsent.is_none();
                }
            }
            #[cfg(feature = "ws")]
            Wire::Ws(wire) => loop {
                let pulled = self.pull(
                    session,
                    *attached,
                    outbound_done,
                    wire.pending(),
                    &mut budget,
                );
                let mut moved = false;
                while wire.pending() < TRANSMIT_CAP {
                    let Some(unit) = session.poll_ws_transmit() else {
                        break;
                    };
                    wire.write(unit)?;
                    moved = true;
                }
                if !wire.flush()? {
                    break;
                }
                if pulled == 0 && !moved {
                    break;
                }
            },
        }
        if budget == 0 {
            // More may be queued: continue after the other connections had their turn.
            cx.ready.push(self.token);
        }
        Ok(())
    }

    fn end_live(
        &mut self,
        mut live: Box<Live>,
        reason: &DisconnectReason,
        cx: &mut Ctx,
        now: Instant,
    ) -> Status {
        if matches!(reason, DisconnectReason::Protocol(_)) {
            // Best effort: the ERROR command the session owes the peer.
            let _ = self.flush(&mut live, cx);
        }
        while let Some(event) = live.session.poll_event() {
            if let Event::Message(msg) = event {
                self.backlog.push_back(msg);
            }
        }
        live.wire.deregister(cx);
        drop(live);
        self.after_disconnect(reason, true, cx, now)
    }

    /// After a stream ended (`established`) or a connect attempt failed: reconnect, wait, or
    /// finish.
    fn after_disconnect(
        &mut self,
        reason: &DisconnectReason,
        established: bool,
        cx: &mut Ctx,
        now: Instant,
    ) -> Status {
        let is_connecter = matches!(self.role, Role::Connecter { .. });
        let may_retry = is_connecter
            && !self.stopped
            && !cx.shutting_down
            && reason.is_reconnectable()
            && !self.unconnected_should_end(now);
        if may_retry && self.opts.reconnect_ivl.is_some() {
            if established && let Some(events) = &self.events {
                events.on_disconnect(reason, true);
            }
            let delay = self.next_delay(cx);
            if let Some(events) = &self.events {
                events.on_retry(reason, delay);
            }
            let retry_at = now + delay;
            self.phase = Phase::Idle {
                retry_at: Some(retry_at),
            };
            cx.set_timer(self.token, min_time(Some(retry_at), self.linger_at()));
            return Status::Keep;
        }
        if may_retry && !established {
            // libzmq with reconnection off: a failed first attempt leaves the pipes alive with
            // nothing behind them.
            self.phase = Phase::Idle { retry_at: None };
            cx.set_timer(self.token, self.linger_at());
            return Status::Keep;
        }
        self.finish(reason, cx)
    }

    /// Ends the link for good: the outbound pipe is closed (sends fail), the events sink hears
    /// about it, and the inbound pipe ends once the backlog is delivered.
    fn finish(&mut self, reason: &DisconnectReason, cx: &mut Ctx) -> Status {
        self.stopped = true;
        cx.set_timer(self.token, None);
        // An accepted connection without events sink never completed its handshake; tell the
        // acceptor why, unless this side closed it.
        if let Role::Accepted {
            acceptor, remote, ..
        } = &self.role
            && self.events.is_none()
            && *reason != DisconnectReason::Closed
        {
            acceptor.on_handshake_failed(remote, reason);
        }
        if let Some(link) = &mut self.link {
            link.outbound.close();
        }
        if let Some(events) = self.events.take() {
            events.on_disconnect(reason, false);
        }
        self.phase = Phase::Draining;
        self.drain_final(cx)
    }

    fn drain_final(&mut self, cx: &Ctx) -> Status {
        self.deliver_backlog();
        if self.backlog.is_empty() || cx.shutting_down {
            if let Some(link) = self.link.take() {
                link.inbound.close(None);
            }
            self.phase = Phase::Done;
            return Status::Remove;
        }
        self.phase = Phase::Draining;
        Status::Keep
    }

    /// Not connected and the outbound sender closed: end now if stopped, nothing is left to
    /// send, or the linger deadline passed.
    fn unconnected_should_end(&self, now: Instant) -> bool {
        let Some(link) = &self.link else {
            return false;
        };
        match link.outbound.linger_deadline() {
            None => false,
            Some(deadline) => {
                self.stopped
                    || (link.outbound.is_empty() && self.unsent.is_none())
                    || deadline.is_some_and(|d| now >= d)
            }
        }
    }

    fn linger_at(&self) -> Option<Instant> {
        self.link
            .as_ref()
            .and_then(|l| l.outbound.linger_deadline())
            .flatten()
    }

    fn next_delay(&mut self, cx: &mut Ctx) -> Duration {
        let ivl = self.opts.reconnect_ivl.unwrap_or(DEFAULT_RECONNECT_IVL);
        match (self.opts.reconnect_ivl_max, &mut self.role) {
            // libzmq 4.3.5 `get_new_reconnect_ivl` with IVL_MAX > 0: IVL first, then twice the
            // previous interval; "if (candidate_interval > options.reconnect_ivl_max)" the
            // interval is IVL_MAX (even when that is below IVL). No jitter.
            (Some(max), Role::Connecter { backoff, .. }) => {
                let current = backoff.map_or(ivl, |last| last.saturating_mul(2)).min(max);
                *backoff = Some(current);
                current
            }
            // libzmq: IVL + random(0 .. IVL - 1) ms.
            _ => {
                let ms = u64::try_from(ivl.as_millis()).unwrap_or(u64::MAX);
                ivl + Duration::from_millis(cx.random_below(ms))
            }
        }
    }
}

impl Live {
    fn new(wire: Wire, session: Session) -> Self {
        Self {
            wire,
            session,
            interest: Some(Interest::READABLE | Interest::WRITABLE),
            read_pending: true,
            attached: false,
            outbound_done: false,
            close: None,
            lane: None,
            reads_left: false,
        }
    }
}

impl Wire {
    fn zmtp(stream: Stream) -> Self {
        Self::Zmtp(ZmtpWire {
            stream: Arc::new(stream),
            // Grows with what arrives (nothing allocated for an idle connection); bodies are
            // split off zero-copy, so one buffer serves the messages of one read.
            read_buf: BytesMut::new(),
            direct: BytesMut::new(),
            after_direct: false,
            out: VecDeque::new(),
            out_len: 0,
            read_buf_cap: 0,
            spare: VecDeque::new(),
        })
    }

    /// Nothing taken from the session waits to be written.
    fn is_flushed(&self) -> bool {
        match self {
            Self::Zmtp(wire) => wire.out.is_empty(),
            #[cfg(feature = "ws")]
            Self::Ws(wire) => wire.pending() == 0,
        }
    }

    /// Changes what the stream is registered for, from `from` to `to` (`None`: not at all;
    /// only a byte stream whose reads are left to an application thread goes that far).
    fn set_interest(
        &mut self,
        registry: &mio::Registry,
        token: Token,
        from: Option<Interest>,
        to: Option<Interest>,
    ) -> io::Result<()> {
        let fresh = from.is_none();
        match self {
            Self::Zmtp(wire) => match to {
                Some(interest) if fresh => wire.stream.register_shared(registry, token, interest),
                Some(interest) => wire.stream.reregister_shared(registry, token, interest),
                None => wire.stream.deregister_shared(registry),
            },
            // Never left unregistered: reads are not left to application threads on ws.
            #[cfg(feature = "ws")]
            Self::Ws(wire) => match to {
                Some(interest) => wire.reregister(registry, token, interest),
                None => Ok(()),
            },
        }
    }

    fn deregister(&mut self, cx: &Ctx) {
        match self {
            // Closing the descriptor removes it from epoll anyway; this keeps the books tidy.
            Self::Zmtp(wire) => drop(wire.stream.deregister_shared(&cx.registry)),
            #[cfg(feature = "ws")]
            Self::Ws(wire) => wire.deregister(&cx.registry),
        }
    }
}

impl ZmtpWire {
    /// One read from the stream, fed to the session.
    ///
    /// Small frames are read through the I/O thread's scratch buffer, many per read. The rest
    /// of a large frame (its header already decoded) is read straight into place behind the
    /// partial frame, so its body is copied once, by the kernel, like libzmq's zero-copy
    /// decoder does.
    fn read_into(&mut self, session: &mut Session, scratch: &mut [u8], now: Instant) -> Step {
        let needed = session.needed_input();
        if needed >= DIRECT_READ_MIN || !self.direct.is_empty() {
            return self.read_direct(session, needed, now);
        }
        // After a large frame, read a little first: if the next frame is large too, its header
        // arrives with only a few of its body octets, and the rest is read in place.
        let limit = if self.after_direct {
            PROBE_READ
        } else {
            scratch.len()
        };
        let scratch = scratch.get_mut(..limit).unwrap_or_default();
        match self.stream.read(scratch) {
            Ok(0) => Step::End(DisconnectReason::Io(io::ErrorKind::UnexpectedEof)),
            Ok(n) => {
                self.after_direct = false;
                self.make_room(n);
                self.read_buf
                    .extend_from_slice(scratch.get(..n).unwrap_or_default());
                // A failure is also queued as Event::Closed, handled by drain_events.
                let _ = session.handle_input(&mut self.read_buf, now);
                Step::Fed
            }
            Err(e) => read_error(&e),
        }
    }

    /// Reads part of the frame the session waits for (`needed` octets missing) into zeroed
    /// room behind `read_buf`, and feeds it.
    fn read_direct(&mut self, session: &mut Session, needed: usize, now: Instant) -> Step {
        if self.direct.is_empty() {
            // The size is the peer's claim (checked against MAXMSGSIZE, but possibly a lie):
            // the room grows in steps no larger than what already arrived of the frame (and at
            // least one read chunk), so memory follows the octets that actually come.
            let step = needed.min(self.read_buf.len().max(READ_CHUNK));
            let start = self.read_buf.len();
            self.make_room(step);
            self.read_buf.resize(start + step, 0);
            self.direct = self.read_buf.split_off(start);
        }
        match self.stream.read(&mut self.direct) {
            Ok(0) => Step::End(DisconnectReason::Io(io::ErrorKind::UnexpectedEof)),
            Ok(n) => {
                // Same allocation, adjacent: joining the halves is O(1).
                let filled = self.direct.split_to(n.min(self.direct.len()));
                self.read_buf.unsplit(filled);
                self.after_direct = true;
                let _ = session.handle_input(&mut self.read_buf, now);
                if self.direct.is_empty() || session.needed_input() == 0 {
                    // Done with this frame (or the session closed): no room is kept.
                    self.direct = BytesMut::new();
                }
                Step::Fed
            }
            Err(e) => read_error(&e),
        }
    }

    /// Makes room for `additional` more octets in `read_buf`. When its allocation is full, the
    /// (partial) content moves to a spare allocation that no body uses any more, if there is
    /// one, else to a fresh one; the old allocation becomes a spare, to serve again once the
    /// application dropped the bodies in it.
    ///
    /// Without this, every read buffer (and every large frame read in place) was a fresh
    /// allocation that the application thread freed: the allocator gave that memory back to
    /// the kernel and the next buffer faulted it in again (a third of the receiving I/O
    /// thread's time at 64 KiB messages; BENCHMARKS.md, "Optimisations" 11).
    fn make_room(&mut self, additional: usize) {
        let len = self.read_buf.len();
        if self.read_buf.capacity() - len >= additional {
            return;
        }
        let need = len.saturating_add(additional);
        let reused = self.spare.iter_mut().position(|buf| {
            buf.clear();
            buf.try_reclaim(need)
        });
        let (mut fresh, cap) = match reused.and_then(|i| self.spare.remove(i)) {
            Some(buf) => {
                let cap = buf.capacity();
                (buf, cap)
            }
            // Exactly what is needed: an idle connection keeps no more than its handshake took.
            None => (BytesMut::with_capacity(need), need),
        };
        fresh.extend_from_slice(&self.read_buf);
        let old = mem::replace(&mut self.read_buf, fresh);
        let old_cap = mem::replace(&mut self.read_buf_cap, cap);
        if old_cap > 0 && old_cap <= SPARE_MAX {
            if self.spare.len() >= SPARE_BUFFERS {
                self.spare.pop_front();
            }
            self.spare.push_back(old);
        }
    }

    /// Takes chunks from the session and writes them with `write_vectored`. `Ok(true)`: all
    /// written, come back for more; `Ok(false)`: the socket is full or nothing is left.
    fn write(&mut self, session: &mut Session) -> io::Result<bool> {
        while self.out.len() < MAX_IOSLICES {
            match session.poll_transmit() {
                Some(chunk) if chunk.is_empty() => {}
                Some(chunk) => {
                    self.out_len += chunk.len();
                    self.out.push_back(chunk);
                }
                None => break,
            }
        }
        if self.out.is_empty() {
            return Ok(false);
        }
        let mut slices = [IoSlice::new(&[]); MAX_IOSLICES];
        let mut count = 0;
        for (slot, chunk) in slices.iter_mut().zip(self.out.iter()) {
            *slot = IoSlice::new(chunk);
            count += 1;
        }
        match self
            .stream
            .write_vectored(slices.get(..count).unwrap_or_default())
        {
            Ok(0) => Err(io::ErrorKind::WriteZero.into()),
            Ok(written) => {
                self.consume(written);
                Ok(true)
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(false),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(true),
            Err(e) => Err(e),
        }
    }

    /// Drops `written` bytes from the front of the output queue.
    fn consume(&mut self, mut written: usize) {
        self.out_len = self.out_len.saturating_sub(written);
        while written > 0 {
            let Some(front) = self.out.front_mut() else {
                return;
            };
            if front.len() <= written {
                written -= front.len();
                self.out.pop_front();
            } else {
                front.advance(written);
                written = 0;
            }
        }
    }
}

/// The step for a failed read: `WouldBlock` waits for readiness, `Interrupted` retries.
fn read_error(error: &io::Error) -> Step {
    match error.kind() {
        io::ErrorKind::WouldBlock => Step::Blocked,
        io::ErrorKind::Interrupted => Step::Fed,
        kind => Step::End(DisconnectReason::Io(kind)),
    }
}

/// The endpoint string of the other end of a connected stream: `tcp://ip:port` from
/// `getpeername` (numeric, whatever name the endpoint used); for ipc (unnamed peers) or when
/// the address cannot be read, the endpoint itself.
fn remote_of(stream: &Stream, endpoint: &Endpoint) -> String {
    match *stream {
        #[cfg(feature = "tcp")]
        Stream::Tcp(ref s) => match s.peer_addr() {
            Ok(addr) => crate::tcp::endpoint_string(addr),
            Err(_) => endpoint.to_string(),
        },
        #[cfg(feature = "ipc")]
        Stream::Unix(_) => endpoint.to_string(),
    }
}

fn deregister(stream: &mut Stream, cx: &Ctx) {
    // Closing the descriptor removes it from epoll anyway; this only keeps mio's books tidy.
    let _ = stream.deregister(&cx.registry);
}

fn min_time(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Size of one read (the I/O thread's scratch buffer).
pub(crate) const READ_CHUNK: usize = 64 * 1024;
/// Frames missing at least this many octets are read in place rather than through the scratch
/// buffer (below it, batching many frames per read wins over saving a copy).
const DIRECT_READ_MIN: usize = 32 * 1024;
/// Earlier read buffers a connection keeps for reuse (see `ZmtpWire::make_room`).
const SPARE_BUFFERS: usize = 3;
/// Read buffers larger than this are not kept for reuse (a connection holds at most
/// `SPARE_BUFFERS` times this beyond its current buffer).
const SPARE_MAX: usize = 1024 * 1024;
/// The length of the first read through the scratch buffer after reading in place.
const PROBE_READ: usize = 4 * 1024;
/// While reads are left to an application thread (see `Live::reads_left`), how often this
/// thread checks that it still reads: a thread that went on to other work leaves the socket
/// unread (heartbeats unanswered, a disconnect unseen) for at most this long.
const FILL_CHECK: Duration = Duration::from_millis(1);
/// Reads per service round before yielding to other connections.
const READ_BUDGET: usize = 32;
/// Messages pulled from the outbound pipe per service round.
const PULL_BUDGET: usize = 4096;
/// Stop pulling from the outbound pipe while this many bytes wait for the wire.
const TRANSMIT_CAP: usize = 256 * 1024;
/// Chunks per `write_vectored` call.
const MAX_IOSLICES: usize = 64;
const DEFAULT_RECONNECT_IVL: Duration = Duration::from_millis(100);
