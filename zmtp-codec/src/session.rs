//! One ZMTP connection as a sans-IO state machine: greeting, security handshake, traffic, closed.
//!
//! The [`Session`] is fed bytes ([`Session::handle_input`]) and the time
//! ([`Session::handle_timeout`]); it yields bytes ([`Session::poll_transmit`]), a deadline
//! ([`Session::poll_timeout`]) and [`Event`]s ([`Session::poll_event`]). It never performs I/O
//! and never reads a clock. In ZWS 2.0 mode ([`Framing::WebSocket`]) whole WebSocket messages
//! replace the bytes: [`Session::handle_ws_message`] and [`Session::poll_ws_transmit`].

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::{Buf, Bytes, BytesMut};

use crate::command::{self, Command};
use crate::frame::{FrameHeader, ReservedFlags, body_len};
use crate::greeting::{Greeting, Version};
use crate::mechanism::{Handshake, Step};
use crate::transmit::Transmit;
use crate::ws::{self, WsProtocol, WsTransmit};
use crate::{
    Decode, DecodeError, Mechanism, MechanismName, Message, Metadata, ProtocolError, SendError,
    SocketType,
};

/// How frames are carried.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    /// ZMTP over a byte stream (tcp, ipc): greeting, then length-prefixed frames.
    Stream,
    /// ZWS 2.0 over WebSocket (ws, wss) with the negotiated sub-protocol (see [`crate::ws`]):
    /// no greeting, one ZMTP frame per binary WebSocket message, heartbeats as WebSocket pings.
    ///
    /// The sub-protocol must fit `Config::mechanism` (`ZWS2.0/NULL` and bare `ZWS2.0` need
    /// NULL, `ZWS2.0/PLAIN` needs PLAIN); otherwise the session starts closed with
    /// [`ProtocolError::MechanismMismatch`].
    WebSocket(WsProtocol),
}

/// Everything a [`Session`] needs to know about our side of the connection.
///
/// Build it with [`Config::new`], which applies libzmq's defaults, then adjust fields.
#[derive(Clone, Debug)]
pub struct Config {
    /// Our socket type; its name is sent as the `Socket-Type` property and the peer's type is
    /// checked against it (PROTOCOL.md §5.1).
    pub socket_type: SocketType,
    /// Security mechanism and role (default NULL).
    pub mechanism: Mechanism,
    /// Extra READY / INITIATE properties (for example `X-...` names, as `ZMQ_METADATA`), sent
    /// after `Socket-Type`.
    pub metadata: Metadata,
    /// `ZMQ_ROUTING_ID`: sets the greeting padding to its length + 1 (libzmq style) and is sent
    /// as the `Identity` property by REQ, DEALER and ROUTER only.
    pub identity: Option<Bytes>,
    /// `ZMQ_MAXMSGSIZE`: limit on a whole incoming message (all frames together), checked from
    /// the frame headers before anything is buffered. It also caps command frames, as in
    /// libzmq. `None` = unlimited.
    ///
    /// Only body octets count, so a multipart message of many empty frames is not bounded by
    /// it (each kept frame costs a `Bytes` handle); sessions with `drop_multipart` keep nothing
    /// of multipart messages and are not affected.
    pub max_message_size: Option<u64>,
    /// Limit on one incoming command frame (READY metadata, PING context, ...), so that a peer
    /// cannot make us buffer without bound before the handshake. Default 64 KiB.
    pub max_command_size: u64,
    /// Drop multipart messages frame by frame as they arrive (PEER, SERVER, CLIENT... only
    /// take single-frame messages); their bodies are skipped, never buffered.
    pub drop_multipart: bool,
    /// `ZMQ_HEARTBEAT_IVL`: send a PING this often after the handshake. `None` (or zero) = off.
    pub heartbeat_interval: Option<Duration>,
    /// `ZMQ_HEARTBEAT_TTL`: written into our PINGs in deciseconds (saturating at 6553.5 s).
    pub heartbeat_ttl: Duration,
    /// `ZMQ_HEARTBEAT_TIMEOUT`: after a PING, close if nothing arrives within this time.
    /// `None` = use the interval; zero = never time out.
    pub heartbeat_timeout: Option<Duration>,
    /// `ZMQ_HANDSHAKE_IVL`: the greeting and handshake must finish within this time from
    /// [`Session::new`]. `None` (or zero) = no limit.
    pub handshake_timeout: Option<Duration>,
    /// What to do with incoming frames whose reserved flag bits are set. Default
    /// [`ReservedFlags::Reject`] (RFC 23); [`ReservedFlags::Ignore`] reads them as libzmq does.
    /// ZWS 2.0 messages always ignore them, as libzmq's ws decoder does.
    pub reserved_flags: ReservedFlags,
    /// How frames are carried.
    pub framing: Framing,
    /// Outgoing bodies of at least this many octets are handed to the transport as their own
    /// chunk instead of being copied into the batch buffer.
    pub max_batch: usize,
}

impl Config {
    /// libzmq 4.3.5 defaults for a socket of type `socket_type`: NULL mechanism, no metadata,
    /// no routing id, no size limit, heartbeats off, TTL 0, handshake timeout 30 s, byte-stream
    /// framing, 8 KiB batch threshold, multipart delivered.
    pub fn new(socket_type: SocketType) -> Self {
        Self {
            socket_type,
            mechanism: Mechanism::Null,
            metadata: Metadata::new(),
            identity: None,
            max_message_size: None,
            max_command_size: DEFAULT_MAX_COMMAND_SIZE,
            drop_multipart: false,
            heartbeat_interval: None,
            heartbeat_ttl: Duration::ZERO,
            heartbeat_timeout: None,
            handshake_timeout: Some(DEFAULT_HANDSHAKE_TIMEOUT),
            reserved_flags: ReservedFlags::Reject,
            framing: Framing::Stream,
            max_batch: DEFAULT_MAX_BATCH,
        }
    }
}

/// What the peer told us in its greeting and handshake.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerInfo {
    /// The version from the peer's greeting (major 2 and above 3 are treated as 3.1).
    pub version: Version,
    /// The peer's `Socket-Type` property (matched case-sensitively, like libzmq), if sent.
    pub socket_type: Option<SocketType>,
    /// Every property of the peer's READY (or INITIATE), in wire order.
    pub metadata: Metadata,
    /// PLAIN server: the user name the application accepted. Otherwise `None`.
    pub user_id: Option<Bytes>,
}

/// Something the application (or the transport) must know about.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// The handshake is complete (exactly once); [`Session::send`] now accepts messages.
    HandshakeDone(PeerInfo),
    /// A complete incoming message. With `drop_multipart` it is always single-frame.
    Message(Message),
    /// A SUBSCRIBE command (PEER sockets ignore it).
    Subscribe(Bytes),
    /// A CANCEL command (PEER sockets ignore it).
    Cancel(Bytes),
    /// The peer sent a PING; the PONG is already queued.
    Ping {
        /// The TTL in deciseconds (a TTL timer is armed if non-zero).
        ttl: u16,
        /// The context as received (the PONG echoes at most 16 octets of it).
        context: Bytes,
    },
    /// The peer answered one of our PINGs.
    Pong {
        /// The echoed context.
        context: Bytes,
    },
    /// PLAIN server role: the client's credentials. Call [`Session::accept_plain`] next.
    PlainHello {
        /// User name.
        username: Bytes,
        /// Password.
        password: Bytes,
    },
    /// The final event: the session is closed, for this reason.
    Closed(ProtocolError),
}

/// One ZMTP connection: greeting -> mechanism handshake -> traffic -> closed.
///
/// A sans-IO state machine in the quinn-proto / rustls style. The transport owns the socket and
/// the input buffer; the session owns the protocol state.
///
/// # Calling order
///
/// After [`Session::new`] and after every `handle_*` call, [`Session::send`],
/// [`Session::accept_plain`] or [`Session::close`]:
///
/// 1. drain [`Session::poll_transmit`] and write the chunks in order (large bodies come as their
///    own chunks, ready for `write_vectored`); in WebSocket mode drain
///    [`Session::poll_ws_transmit`] instead and send each unit as one WebSocket message;
/// 2. read [`Session::poll_timeout`] and call [`Session::handle_timeout`] when it passes;
/// 3. drain [`Session::poll_event`].
///
/// Derive read/write interest from [`Session::wants_read`] and [`Session::wants_write`].
///
/// # WebSocket (ZWS 2.0) mode
///
/// With [`Framing::WebSocket`] the transport performs the HTTP upgrade (choosing the
/// sub-protocol with [`crate::ws::select`] / [`crate::ws::accept_response`]) and the WebSocket
/// framing, then feeds each received binary message to [`Session::handle_ws_message`] and
/// reports received pings and pongs with [`Session::handle_ws_traffic`]. There is no greeting;
/// the mechanism starts in [`Session::new`].
///
/// # Errors and closing
///
/// A protocol error is returned once from the `handle_*` call that hit it and queued as
/// [`Event::Closed`]. From then on the session is closed: it reads nothing more, but
/// `poll_transmit` still yields what it owes the peer (for example the ERROR a PLAIN server
/// sends when refusing credentials).
///
/// # Examples
///
/// See the [crate documentation](crate) for two sessions handshaking in memory.
#[derive(Debug)]
pub struct Session {
    /// Our configuration.
    config: Config,
    /// READY / INITIATE properties we send: Socket-Type, Identity, then `config.metadata`.
    ours: Metadata,
    /// Where the connection is.
    phase: Phase,
    /// The security handshake state.
    handshake: Handshake,
    /// Outgoing bytes.
    tx: Transmit,
    /// Pending events.
    events: VecDeque<Event>,
    /// What the peer announced, once the handshake is done.
    peer: Option<PeerInfo>,
    /// The peer's greeting version, once received.
    peer_version: Option<Version>,
    /// Frames of an incoming multipart message received so far.
    partial: Vec<Bytes>,
    /// Body octets of the incoming message so far (kept or dropped).
    partial_size: u64,
    /// The incoming multipart message is being dropped (`drop_multipart`).
    dropping: bool,
    /// Octets still missing to complete the data frame at the front of the input buffer, when
    /// its header is known (0 otherwise); see [`Session::needed_input`].
    needed: usize,
    /// Body octets of a dropped frame still to discard.
    skip: u64,
    /// The MORE flag of the frame being discarded.
    skip_more: bool,
    /// Handshake must be done by then.
    handshake_deadline: Option<Instant>,
    /// When to send the next PING.
    next_ping: Option<Instant>,
    /// After our PING: traffic must arrive by then.
    heartbeat_deadline: Option<Instant>,
    /// After the peer's PING with a TTL: traffic must arrive by then.
    ttl_deadline: Option<Instant>,
}

/// `PeerInfo::version` for WebSocket sessions, which have no greeting: ZWS 2.0 carries ZMTP 3.1
/// commands.
const WS_VERSION: Version = Version::V3_1;

/// Connection phases.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Waiting for the peer's greeting (ours is queued).
    Greeting,
    /// Running the security handshake.
    Handshake,
    /// Traffic.
    Ready,
    /// Closed; nothing more is read.
    Closed,
}

impl Session {
    /// Starts a connection and queues our whole 64-octet greeting at once.
    ///
    /// libzmq sends its greeting in three pieces (PROTOCOL.md §1.2); sending all 64 octets at
    /// once is what its own test peers do and what RFC 23 allows. The greeting is
    /// byte-identical to libzmq's: padding = routing-id length + 1, version 3.1, and the
    /// as-server octet always 0, because libzmq 4.3.5 always sends 0 and ignores the received
    /// value, taking roles from local options only (PROTOCOL.md §15.1).
    pub fn new(config: Config, now: Instant) -> Self {
        let mut ours = Metadata::new();
        ours.push(
            Bytes::from_static(b"Socket-Type"),
            config.socket_type.to_bytes(),
        );
        // libzmq writer (PROTOCOL.md §3.1): "Identity only for REQ, DEALER, ROUTER".
        if [SocketType::REQ, SocketType::DEALER, SocketType::ROUTER].contains(&config.socket_type) {
            ours.push(
                Bytes::from_static(b"Identity"),
                config.identity.clone().unwrap_or_default(),
            );
        }
        for (name, value) in config.metadata.iter() {
            ours.push(name.clone(), value.clone());
        }
        let tx = match config.framing {
            Framing::Stream => {
                let mut greeting = Greeting::new(config.mechanism.name());
                greeting.padding = config.identity.as_ref().map_or(1, |id| {
                    u64::try_from(id.len())
                        .unwrap_or(u64::MAX)
                        .saturating_add(1)
                });
                let mut tx = Transmit::new(config.max_batch);
                tx.push_greeting(&greeting);
                tx
            }
            Framing::WebSocket(_) => Transmit::new_websocket(),
        };
        let handshake_deadline = positive(config.handshake_timeout).map(|t| now + t);
        let mut session = Self {
            handshake: Handshake::new(&config.mechanism),
            config,
            ours,
            phase: Phase::Greeting,
            tx,
            events: VecDeque::new(),
            peer: None,
            peer_version: None,
            partial: Vec::new(),
            partial_size: 0,
            dropping: false,
            needed: 0,
            skip: 0,
            skip_more: false,
            handshake_deadline,
            next_ping: None,
            heartbeat_deadline: None,
            ttl_deadline: None,
        };
        if let Framing::WebSocket(protocol) = session.config.framing {
            session.start_websocket(protocol);
        }
        session
    }

    /// ZWS 2.0 has no greeting: the sub-protocol fixed the mechanism, which starts at once
    /// (PROTOCOL.md §6.3).
    fn start_websocket(&mut self, protocol: WsProtocol) {
        if !protocol.fits(&self.config.mechanism) {
            self.fail(ProtocolError::MechanismMismatch {
                ours: self.config.mechanism.name(),
                theirs: protocol.mechanism_name(),
            });
            return;
        }
        self.phase = Phase::Handshake;
        if protocol == WsProtocol::Zws20Bare {
            // No mechanism: our routing id (empty unless set) is our first message.
            let identity = self.config.identity.clone().unwrap_or_default();
            self.tx.push_data(false, &identity);
        } else {
            self.handshake.start(&self.ours, &mut self.tx);
        }
    }

    /// Consumes every whole unit (greeting, frame) at the front of `buf`.
    ///
    /// Bodies are split off zero-copy (`split_to` + `freeze`). An incomplete unit stays in
    /// `buf` untouched (except the body of a frame being dropped, which is discarded as it
    /// arrives); call again when more bytes have been appended. Frame sizes are checked
    /// against the limits from the header, before the body is waited for.
    ///
    /// # Errors
    ///
    /// The [`ProtocolError`] that closed the session. It is returned once and also queued as
    /// [`Event::Closed`]; later calls return `Ok(())` and consume nothing.
    ///
    /// On a WebSocket session: [`ProtocolError::FramingMismatch`], nothing consumed, session
    /// unchanged (use [`Session::handle_ws_message`]).
    pub fn handle_input(&mut self, buf: &mut BytesMut, now: Instant) -> Result<(), ProtocolError> {
        if self.is_websocket() {
            return Err(self.framing_mismatch());
        }
        if self.phase == Phase::Closed {
            return Ok(());
        }
        let result = self.process_input(buf, now);
        self.check(result)
    }

    /// ZWS 2.0: handles one whole binary WebSocket message (its payload: a flag octet and the
    /// frame body). The body is kept zero-copy (a slice of `payload`).
    ///
    /// Only bits 0 (MORE) and 1 (COMMAND) of the flag octet are looked at, as in libzmq;
    /// `max_message_size` applies to the body (all frames of a message together), and commands
    /// are capped as in byte-stream mode.
    ///
    /// # Errors
    ///
    /// * The [`ProtocolError`] that closed the session, returned once and also queued as
    ///   [`Event::Closed`]; for example [`DecodeError::EmptyWsMessage`] for an empty payload,
    ///   [`DecodeError::CommandWithMore`] for flag `0x03`. Later calls return `Ok(())`.
    /// * On a byte-stream session: [`ProtocolError::FramingMismatch`], session unchanged.
    pub fn handle_ws_message(&mut self, payload: Bytes, now: Instant) -> Result<(), ProtocolError> {
        if !self.is_websocket() {
            return Err(self.framing_mismatch());
        }
        if self.phase == Phase::Closed {
            return Ok(());
        }
        let result = self.process_ws_message(payload, now);
        self.check(result)
    }

    /// ZWS 2.0: the transport received a WebSocket ping or pong. Control frames count as
    /// traffic: they cancel the heartbeat timeout and the TTL timer (libzmq answers pings
    /// itself with an empty pong, PROTOCOL.md §6.5; that is the transport's job). Does nothing
    /// on a byte-stream or closed session.
    pub fn handle_ws_traffic(&mut self, _now: Instant) {
        if self.is_websocket() && self.phase != Phase::Closed {
            self.on_traffic();
        }
    }

    /// A [`FastPath`] for this session while it is between messages in traffic: handshake done,
    /// byte-stream framing, nothing of a message or frame held. `None` otherwise.
    ///
    /// It lets a transport decode plain single-frame messages outside the session (on another
    /// thread, say) while the session is idle; whatever the fast path leaves must then be fed
    /// to [`Session::handle_input`] before any later input, and the traffic reported with
    /// [`Session::handle_fast_traffic`].
    pub fn fast_path(&self) -> Option<FastPath> {
        let idle = self.phase == Phase::Ready
            && !self.is_websocket()
            && self.partial.is_empty()
            && !self.dropping
            && self.skip == 0;
        idle.then_some(FastPath {
            max_message_size: self.config.max_message_size,
            reserved_flags: self.config.reserved_flags,
        })
    }

    /// Messages arrived through a [`FastPath`]: traffic, as any frame, which cancels the
    /// heartbeat timeout and the TTL timer. Does nothing once closed.
    pub fn handle_fast_traffic(&mut self, _now: Instant) {
        if self.phase != Phase::Closed {
            self.on_traffic();
        }
    }

    /// Advances the timers to `now`: sends due PINGs and enforces deadlines.
    ///
    /// # Errors
    ///
    /// [`ProtocolError::HandshakeTimeout`] if the handshake is not done by
    /// `handshake_timeout`, [`ProtocolError::HeartbeatTimeout`] if no traffic arrived within
    /// the heartbeat timeout after our PING or within the TTL of the peer's PING. Returned once,
    /// also queued as [`Event::Closed`].
    pub fn handle_timeout(&mut self, now: Instant) -> Result<(), ProtocolError> {
        if self.phase == Phase::Closed {
            return Ok(());
        }
        let result = self.process_timeout(now);
        self.check(result)
    }

    /// Answers an [`Event::PlainHello`]: `true` sends WELCOME, `false` sends ERROR "400" and
    /// closes the session with [`ProtocolError::AuthenticationFailed`] (queued as
    /// [`Event::Closed`]). Does nothing unless a PLAIN server is waiting for this decision.
    pub fn accept_plain(&mut self, ok: bool) {
        if self.phase != Phase::Handshake {
            return;
        }
        let result = self.handshake.decide(ok, &mut self.tx).map(|_| ());
        let _ = self.check(result);
    }

    /// Queues a message for the peer (MORE set on every frame but the last).
    ///
    /// Small frames are copied into the batch buffer; bodies of at least `max_batch` octets
    /// are queued as their own chunk without copying.
    ///
    /// # Errors
    ///
    /// [`SendError::NotReady`] before [`Event::HandshakeDone`] (libzmq sends no data before
    /// both READYs), [`SendError::Closed`] once closed. Both hand the message back.
    pub fn send(&mut self, msg: Message) -> Result<(), SendError> {
        match self.phase {
            Phase::Ready => {}
            Phase::Closed => return Err(SendError::Closed(msg)),
            Phase::Greeting | Phase::Handshake => return Err(SendError::NotReady(msg)),
        }
        let frames = msg.frames();
        let last = frames.len().saturating_sub(1);
        for (i, body) in frames.iter().enumerate() {
            self.tx.push_data(i < last, body);
        }
        Ok(())
    }

    /// Closes the session locally: queues [`Event::Closed`] with [`ProtocolError::Closed`].
    ///
    /// Bytes already queued can still be taken with [`Session::poll_transmit`] (to flush
    /// before closing the stream). Does nothing if already closed.
    pub fn close(&mut self) {
        if self.phase != Phase::Closed {
            self.fail(ProtocolError::Closed);
        }
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// The next chunk of bytes for the wire, if any, in order. Always `None` on a WebSocket
    /// session (use [`Session::poll_ws_transmit`]).
    pub fn poll_transmit(&mut self) -> Option<Bytes> {
        self.tx.poll()
    }

    /// ZWS 2.0: the next WebSocket message to send, if any, in order. Always `None` on a
    /// byte-stream session.
    pub fn poll_ws_transmit(&mut self) -> Option<WsTransmit> {
        self.tx.poll_ws()
    }

    /// Octets queued for the wire (for backpressure). On a WebSocket session: the payload
    /// octets of the queued binary messages (WebSocket headers not counted, pings count 0).
    pub fn transmit_len(&self) -> usize {
        self.tx.len()
    }

    /// The earliest instant at which [`Session::handle_timeout`] must be called, if any.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.phase == Phase::Closed {
            return None;
        }
        [
            self.handshake_deadline,
            self.next_ping,
            self.heartbeat_deadline,
            self.ttl_deadline,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Octets that must still be appended to the input buffer to complete the data frame at
    /// its front, when that frame's header has arrived (0 if unknown, or nothing is pending).
    ///
    /// Valid after [`Session::handle_input`] until the buffer changes. A transport may use it
    /// to read a large body straight into place instead of through a scratch buffer. The value
    /// comes from a header already checked against `max_message_size`, but it is still the
    /// peer's claim: reserve memory for it in bounded steps only.
    pub fn needed_input(&self) -> usize {
        self.needed
    }

    /// Whether the session wants more input (false once closed).
    pub fn wants_read(&self) -> bool {
        self.phase != Phase::Closed
    }

    /// Whether bytes (or, on a WebSocket session, messages or pings) are queued for the wire.
    pub fn wants_write(&self) -> bool {
        !self.tx.is_empty()
    }

    /// Whether the handshake is done and the session not closed.
    pub fn is_ready(&self) -> bool {
        self.phase == Phase::Ready
    }

    /// Whether the session is closed.
    pub fn is_closed(&self) -> bool {
        self.phase == Phase::Closed
    }

    /// What the peer announced, once the handshake is done.
    pub fn peer(&self) -> Option<&PeerInfo> {
        self.peer.as_ref()
    }

    /// The configuration this session was created with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Body octets of an incomplete incoming multipart message held by the session (frames
    /// received so far). Together with a partial data frame left in the input buffer this never
    /// exceeds `max_message_size` plus one frame header. A command frame arriving between the
    /// frames of a message is capped on its own (by `max_message_size` and
    /// `max_command_size`, as libzmq caps every frame), so it may sit on top of that.
    pub fn buffered_len(&self) -> usize {
        self.partial.iter().map(Bytes::len).sum()
    }

    /// Whether this session uses ZWS 2.0 framing.
    fn is_websocket(&self) -> bool {
        matches!(self.config.framing, Framing::WebSocket(_))
    }

    /// Whether this session runs bare `ZWS2.0` (no mechanism, routing-id messages).
    fn is_bare_ws(&self) -> bool {
        self.config.framing == Framing::WebSocket(WsProtocol::Zws20Bare)
    }

    /// The error for calling the other framing mode's input method.
    fn framing_mismatch(&self) -> ProtocolError {
        ProtocolError::FramingMismatch {
            configured: self.config.framing,
        }
    }

    /// Closes on error: records it once.
    fn check(&mut self, result: Result<(), ProtocolError>) -> Result<(), ProtocolError> {
        result.inspect_err(|err| self.fail(err.clone()))
    }

    /// Enters the closed phase and queues the final event.
    fn fail(&mut self, err: ProtocolError) {
        self.phase = Phase::Closed;
        self.needed = 0;
        self.handshake_deadline = None;
        self.next_ping = None;
        self.heartbeat_deadline = None;
        self.ttl_deadline = None;
        self.partial = Vec::new();
        self.events.push_back(Event::Closed(err));
    }

    /// The input loop: one unit per iteration until nothing complete is left.
    fn process_input(&mut self, buf: &mut BytesMut, now: Instant) -> Result<(), ProtocolError> {
        loop {
            let progressed = match self.phase {
                Phase::Closed => false,
                Phase::Greeting => self.read_greeting(buf)?,
                Phase::Handshake | Phase::Ready => self.read_frame(buf, now)?,
            };
            if !progressed {
                return Ok(());
            }
        }
    }

    /// Reads the peer's greeting and starts the handshake.
    fn read_greeting(&mut self, buf: &mut BytesMut) -> Result<bool, ProtocolError> {
        let greeting = match Greeting::decode(buf) {
            Ok(Decode::Complete { value, consumed }) => {
                buf.advance(consumed);
                value
            }
            Ok(Decode::Incomplete { .. }) => return Ok(false),
            // Legacy peers are typed errors: ZMTP 1.0 and 2.0 are not implemented. RFC 23: "If a
            // peer cannot downgrade its protocol to match its peer, it MUST close the
            // connection."
            Err(DecodeError::BadSignature) => {
                return Err(ProtocolError::UnsupportedVersion { major: 0 });
            }
            Err(DecodeError::UnsupportedVersion { major }) => {
                return Err(ProtocolError::UnsupportedVersion { major });
            }
            Err(err) => return Err(err.into()),
        };
        // RFC 23: "If the mechanism that the peer received does not exactly match the mechanism
        // it sent, it MUST close the connection." libzmq compares the 20 mechanism octets with
        // its own, NUL-padded (PROTOCOL.md §1.4); the decoded name has its trailing NULs
        // removed, so comparing names is the same exact compare. Nothing but the greeting is
        // sent on a mismatch.
        let ours = self.config.mechanism.name();
        if greeting.mechanism != ours {
            if greeting.mechanism == MechanismName::CURVE
                || greeting.mechanism == MechanismName::GSSAPI
            {
                return Err(ProtocolError::UnsupportedMechanism(greeting.mechanism));
            }
            return Err(ProtocolError::MechanismMismatch {
                ours,
                theirs: greeting.mechanism,
            });
        }
        // The as-server octet is ignored, like libzmq (PROTOCOL.md §15.1).
        self.peer_version = Some(greeting.version);
        self.phase = Phase::Handshake;
        self.handshake.start(&self.ours, &mut self.tx);
        Ok(true)
    }

    /// Reads (or discards) one frame. Returns whether anything was consumed.
    fn read_frame(&mut self, buf: &mut BytesMut, now: Instant) -> Result<bool, ProtocolError> {
        self.needed = 0;
        if self.skip > 0 {
            return Ok(self.skip_body(buf));
        }
        let (header, header_len) = match FrameHeader::decode_with(buf, self.config.reserved_flags)?
        {
            Decode::Complete { value, consumed } => (value, consumed),
            Decode::Incomplete { .. } => return Ok(false),
        };
        if header.command {
            self.check_command_size(header.size)?;
            let Some(body) = split_body(buf, header_len, header.size)? else {
                return Ok(false);
            };
            self.on_traffic();
            self.on_command(&body, now)?;
            return Ok(true);
        }
        self.check_data_frame(header.size)?;
        if self.dropping || (self.config.drop_multipart && header.more) {
            // Drop multipart messages frame by frame: discard bodies as they arrive.
            buf.advance(header_len);
            self.dropping = true;
            self.partial_size = self.partial_size.saturating_add(header.size);
            self.skip = header.size;
            self.skip_more = header.more;
            self.on_traffic();
            if self.skip == 0 {
                self.end_dropped_frame();
            }
            return Ok(true);
        }
        let Some(body) = split_body(buf, header_len, header.size)? else {
            // body_len succeeded inside split_body, so the size fits in usize.
            let total = usize::try_from(header.size)
                .unwrap_or(usize::MAX)
                .saturating_add(header_len);
            self.needed = total.saturating_sub(buf.len());
            return Ok(false);
        };
        self.on_traffic();
        self.keep_data_frame(header.more, body);
        Ok(true)
    }

    /// Checks a command frame's size against the limits, from its header.
    fn check_command_size(&self, size: u64) -> Result<(), ProtocolError> {
        // libzmq applies ZMQ_MAXMSGSIZE to every frame, commands included (v2_decoder).
        let limit = self
            .config
            .max_message_size
            .map_or(self.config.max_command_size, |max| {
                max.min(self.config.max_command_size)
            });
        if size > limit {
            return Err(DecodeError::FrameTooLarge { size, limit }.into());
        }
        Ok(())
    }

    /// Checks that a data frame of `size` body octets may arrive now.
    fn check_data_frame(&self, size: u64) -> Result<(), ProtocolError> {
        // libzmq passes no data before the handshake is done; a data frame here is a protocol
        // violation. (Bare ZWS 2.0 is the exception: its first message is the routing id.)
        if self.phase != Phase::Ready && !self.is_bare_ws() {
            return Err(ProtocolError::UnexpectedData);
        }
        // DESIGN.md "Hostile input": MAXMSGSIZE bounds the whole message, all frames together,
        // and is enforced from the header before the body is buffered.
        let partial_size = self.partial_size;
        if let Some(limit) = self
            .config
            .max_message_size
            .filter(|&limit| size > limit.saturating_sub(partial_size))
        {
            return Err(ProtocolError::MessageTooLarge { limit });
        }
        Ok(())
    }

    /// Adds a received data frame to the message being assembled; a final frame delivers it.
    fn keep_data_frame(&mut self, more: bool, body: Bytes) {
        if more {
            self.partial_size = self
                .partial_size
                .saturating_add(u64::try_from(body.len()).unwrap_or(u64::MAX));
            self.partial.push(body);
        } else {
            let msg = if self.partial.is_empty() {
                Message::new(body)
            } else {
                let mut frames = std::mem::take(&mut self.partial);
                frames.push(body);
                Message::from_frames(frames)
            };
            self.partial_size = 0;
            self.events.push_back(Event::Message(msg));
        }
    }

    /// ZWS 2.0: one whole frame (flag octet + body) from one binary WebSocket message.
    fn process_ws_message(&mut self, payload: Bytes, now: Instant) -> Result<(), ProtocolError> {
        let Some(&flag) = payload.first() else {
            return Err(DecodeError::EmptyWsMessage.into());
        };
        let mut body = payload;
        body.advance(1);
        let more = flag & ws::FLAG_MORE != 0;
        let command = flag & ws::FLAG_COMMAND != 0;
        let size = u64::try_from(body.len()).unwrap_or(u64::MAX);
        if command {
            // Same rule as the byte-stream decoder (RFC 23: MORE "SHALL be zero on command
            // frames").
            if more {
                return Err(DecodeError::CommandWithMore.into());
            }
            self.check_command_size(size)?;
            self.on_traffic();
            return self.on_command(&body, now);
        }
        self.check_data_frame(size)?;
        self.on_traffic();
        if self.phase == Phase::Handshake {
            // Bare ZWS 2.0 (check_data_frame let nothing else through): the peer's routing-id
            // message is discarded, frame by frame; its final frame completes the handshake.
            self.partial_size = if more {
                self.partial_size.saturating_add(size)
            } else {
                0
            };
            if !more {
                self.complete_bare_handshake(now);
            }
            return Ok(());
        }
        if self.dropping || (self.config.drop_multipart && more) {
            // Drop multipart messages frame by frame; nothing is kept.
            self.dropping = more;
            self.partial_size = if more {
                self.partial_size.saturating_add(size)
            } else {
                0
            };
            return Ok(());
        }
        if body.is_empty() {
            // An empty body need not pin the payload's memory.
            body = Bytes::new();
        }
        self.keep_data_frame(more, body);
        Ok(())
    }

    /// Discards body octets of a dropped frame. Returns whether anything was consumed.
    fn skip_body(&mut self, buf: &mut BytesMut) -> bool {
        if buf.is_empty() {
            return false;
        }
        let available = u64::try_from(buf.len()).unwrap_or(u64::MAX);
        let n = self.skip.min(available);
        // n <= buf.len(), so it fits in usize.
        buf.advance(usize::try_from(n).unwrap_or(buf.len()));
        self.skip -= n;
        if self.skip == 0 {
            self.end_dropped_frame();
        }
        true
    }

    /// A dropped frame is fully discarded; the last frame ends the dropped message.
    fn end_dropped_frame(&mut self) {
        if !self.skip_more {
            self.dropping = false;
            self.partial_size = 0;
        }
    }

    /// Any received frame cancels the heartbeat timeout and the TTL timer (libzmq
    /// `stream_engine_base_t::decode_and_push`).
    fn on_traffic(&mut self) {
        self.heartbeat_deadline = None;
        self.ttl_deadline = None;
    }

    /// Dispatches a command frame body.
    fn on_command(&mut self, body: &Bytes, now: Instant) -> Result<(), ProtocolError> {
        match self.phase {
            Phase::Handshake if self.is_bare_ws() => {
                // No mechanism runs: nothing but the routing-id message may come first.
                let (name, _) = command::split_name(body)?;
                Err(ProtocolError::UnexpectedCommand(name))
            }
            Phase::Handshake => {
                match self.handshake.on_command(body, &self.ours, &mut self.tx)? {
                    Step::Continue => {}
                    Step::AskApp { username, password } => {
                        self.events
                            .push_back(Event::PlainHello { username, password });
                    }
                    Step::Done { metadata, user_id } => {
                        self.complete_handshake(metadata, user_id, now)?;
                    }
                }
                Ok(())
            }
            Phase::Ready => self.on_traffic_command(body, now),
            Phase::Greeting | Phase::Closed => Ok(()),
        }
    }

    /// Checks the peer's metadata and enters the traffic phase.
    fn complete_handshake(
        &mut self,
        metadata: Metadata,
        user_id: Option<Bytes>,
        now: Instant,
    ) -> Result<(), ProtocolError> {
        // PROTOCOL.md §3.1/§5.1: `Socket-Type` is matched case-sensitively and is optional
        // (libzmq skips the check when it is absent). On a mismatch libzmq sends no ERROR and
        // just closes (§5.2); so do we.
        let socket_type = metadata
            .get_exact(SOCKET_TYPE)
            .map(|name| SocketType::new(name.clone()));
        if let Some(theirs) = socket_type
            .as_ref()
            .filter(|theirs| !self.config.socket_type.is_compatible_with(theirs))
        {
            return Err(ProtocolError::IncompatibleSocketType {
                ours: self.config.socket_type.clone(),
                theirs: theirs.clone(),
            });
        }
        self.handshake.finish(&self.ours, &mut self.tx);
        self.enter_ready(
            PeerInfo {
                version: self.peer_version.unwrap_or(WS_VERSION),
                socket_type,
                metadata,
                user_id,
            },
            now,
        );
        Ok(())
    }

    /// Bare ZWS 2.0: the peer's routing id arrived (and was discarded). No socket-type check:
    /// the peer announced none (PROTOCOL.md §6.3).
    fn complete_bare_handshake(&mut self, now: Instant) {
        self.enter_ready(
            PeerInfo {
                version: WS_VERSION,
                socket_type: None,
                metadata: Metadata::new(),
                user_id: None,
            },
            now,
        );
    }

    /// Enters the traffic phase and reports the handshake.
    fn enter_ready(&mut self, info: PeerInfo, now: Instant) {
        self.phase = Phase::Ready;
        self.handshake_deadline = None;
        self.next_ping = positive(self.config.heartbeat_interval).map(|ivl| now + ivl);
        self.peer = Some(info.clone());
        self.events.push_back(Event::HandshakeDone(info));
    }

    /// Commands after the handshake (PROTOCOL.md §4).
    fn on_traffic_command(&mut self, body: &Bytes, now: Instant) -> Result<(), ProtocolError> {
        let (name, data) = command::split_name(body)?;
        match name.as_ref() {
            command::PING => {
                let Command::Ping { ttl, context } = Command::decode_parts(name, data)? else {
                    return Ok(());
                };
                // RFC 37 / libzmq `process_heartbeat_message`: the PONG echoes at most 16
                // octets of context (longer contexts are truncated, not rejected).
                let echoed = context.slice(..context.len().min(MAX_PING_CONTEXT));
                self.tx.push_command(&Command::Pong { context: echoed });
                // A non-zero TTL arms a timer of TTL x 100 ms unless one is running. libzmq
                // computes this in 16 bits and wraps above 655 ds (PROTOCOL.md §4.1); we use
                // the intended value.
                if ttl > 0 && self.ttl_deadline.is_none() {
                    self.ttl_deadline = Some(now + Duration::from_millis(u64::from(ttl) * 100));
                }
                self.events.push_back(Event::Ping { ttl, context });
            }
            command::PONG => self.events.push_back(Event::Pong { context: data }),
            command::SUBSCRIBE => self.events.push_back(Event::Subscribe(data)),
            command::CANCEL => self.events.push_back(Event::Cancel(data)),
            command::ERROR => {
                // RFC 23: "The peer SHALL treat an incoming ERROR command as fatal". (libzmq's
                // session drops it after the handshake; the peer is about to close anyway.)
                if let Command::Error { reason } = Command::decode_parts(name, data)? {
                    return Err(ProtocolError::PeerError { reason });
                }
            }
            // PROTOCOL.md §4.2: other commands (unknown names, late handshake commands) are
            // dropped silently, as libzmq does.
            _ => {}
        }
        Ok(())
    }

    /// Timer handling.
    fn process_timeout(&mut self, now: Instant) -> Result<(), ProtocolError> {
        if self.handshake_deadline.is_some_and(|d| now >= d) {
            return Err(ProtocolError::HandshakeTimeout);
        }
        if self.heartbeat_deadline.is_some_and(|d| now >= d)
            || self.ttl_deadline.is_some_and(|d| now >= d)
        {
            return Err(ProtocolError::HeartbeatTimeout);
        }
        let interval = positive(self.config.heartbeat_interval);
        let due = self.next_ping.filter(|&due| now >= due);
        if let (Phase::Ready, Some(_), Some(interval)) = (self.phase, due, interval) {
            if self.is_websocket() {
                // libzmq's ws engine sends an empty WebSocket ping instead of a ZMTP PING
                // (no TTL), and arms the same timeout (PROTOCOL.md §6.6).
                self.tx.push_ws_ping();
            } else {
                // ZMQ_HEARTBEAT_TTL is carried in deciseconds.
                let ttl =
                    u16::try_from(self.config.heartbeat_ttl.as_millis() / 100).unwrap_or(u16::MAX);
                self.tx.push_command(&Command::Ping {
                    ttl,
                    context: Bytes::new(),
                });
            }
            self.next_ping = Some(now + interval);
            // ZMQ_HEARTBEAT_TIMEOUT: unset means "use the interval"; zero disables it.
            let timeout = self.config.heartbeat_timeout.unwrap_or(interval);
            if self.heartbeat_deadline.is_none() && !timeout.is_zero() {
                self.heartbeat_deadline = Some(now + timeout);
            }
        }
        Ok(())
    }
}

/// Splits a frame body off `buf` once it is complete, zero-copy.
fn split_body(
    buf: &mut BytesMut,
    header_len: usize,
    size: u64,
) -> Result<Option<Bytes>, DecodeError> {
    let size = body_len(size)?;
    if buf.len().saturating_sub(header_len) < size {
        return Ok(None);
    }
    buf.advance(header_len);
    if size == 0 {
        // An empty body need not pin the input buffer's memory.
        return Ok(Some(Bytes::new()));
    }
    Ok(Some(buf.split_to(size).freeze()))
}

/// Decodes, outside a [`Session`], the messages that session would deliver as they are: whole
/// single-frame data messages (no MORE, no COMMAND flag) within its `max_message_size`.
///
/// Got from [`Session::fast_path`] while the session is between messages; valid until input
/// is fed to the session again.
///
/// # Examples
///
/// ```
/// use std::time::Instant;
///
/// use bytes::BytesMut;
/// use zmtp_codec::{Config, Session, SocketType};
///
/// let now = Instant::now();
/// let mut a = Session::new(Config::new(SocketType::PEER), now);
/// let mut b = Session::new(Config::new(SocketType::PEER), now);
/// let (mut a_in, mut b_in) = (BytesMut::new(), BytesMut::new());
/// for _ in 0..2 {
///     // Greetings, then READYs.
///     while let Some(chunk) = a.poll_transmit() {
///         b_in.extend_from_slice(&chunk);
///     }
///     b.handle_input(&mut b_in, now).unwrap();
///     while let Some(chunk) = b.poll_transmit() {
///         a_in.extend_from_slice(&chunk);
///     }
///     a.handle_input(&mut a_in, now).unwrap();
/// }
/// let fast = b.fast_path().expect("ready and between messages");
///
/// let mut input = BytesMut::from(&b"\x00\x02hi\x04\x05\x04PING"[..]);
/// assert_eq!(fast.take_message(&mut input).as_deref(), Some(&b"hi"[..]));
/// // A command is the session's: it stays in the buffer, untouched.
/// assert_eq!(fast.take_message(&mut input), None);
/// assert_eq!(&input[..], b"\x04\x05\x04PING");
/// ```
#[derive(Clone, Copy, Debug)]
pub struct FastPath {
    max_message_size: Option<u64>,
    reserved_flags: ReservedFlags,
}

impl FastPath {
    /// Takes the body of the message at the front of `buf` if it is a whole single-frame data
    /// message the session would deliver as it is. Anything else (a partial frame, a command,
    /// a frame with MORE, a frame over the size limit or with a bad header) is left in `buf`
    /// untouched, for the session to handle.
    pub fn take_message(&self, buf: &mut BytesMut) -> Option<Bytes> {
        let Ok(Decode::Complete {
            value: header,
            consumed,
        }) = FrameHeader::decode_with(buf, self.reserved_flags)
        else {
            return None;
        };
        if header.more
            || header.command
            || self.max_message_size.is_some_and(|max| header.size > max)
        {
            return None;
        }
        split_body(buf, consumed, header.size).ok().flatten()
    }
}

/// Treats a zero duration like `None`.
fn positive(duration: Option<Duration>) -> Option<Duration> {
    duration.filter(|d| !d.is_zero())
}

/// The metadata property naming the socket type (matched case-sensitively, like libzmq).
const SOCKET_TYPE: &[u8] = b"Socket-Type";
/// RFC 37: a PING context is at most 16 octets; the PONG echoes at most that much.
const MAX_PING_CONTEXT: usize = 16;
/// `ZMQ_HANDSHAKE_IVL` default.
const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);
/// Default threshold above which bodies are not copied into the batch.
const DEFAULT_MAX_BATCH: usize = 8192;
/// Default limit on an incoming command frame.
const DEFAULT_MAX_COMMAND_SIZE: u64 = 64 * 1024;

#[cfg(test)]
mod tests;
