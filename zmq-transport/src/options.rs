//! The types shared by the runtime's public API: per-endpoint options, the pipe pair a connection
//! works with, the callbacks it reports to, and the errors.

use std::fmt;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use zmtp_codec::{Config, PeerInfo, ProtocolError};

use crate::endpoint::EndpointError;
use crate::pipe::{PipeReceiver, PipeSender, Wake};

/// Per-endpoint settings captured at bind/connect time.
///
/// The integer socket options keep libzmq's conventions (`-1` = leave the OS default).
#[derive(Clone, Debug)]
pub struct ConnOptions {
    /// Codec settings for every connection of this endpoint (passed through unread).
    pub codec: Config,
    /// First reconnect delay; `None` (libzmq `-1`/`0`) = never reconnect. Default 100 ms.
    pub reconnect_ivl: Option<Duration>,
    /// `None` = fixed interval plus a random jitter in `0..reconnect_ivl`; `Some(max)` = the
    /// delay doubles after each failed attempt, up to `max`, without jitter.
    pub reconnect_ivl_max: Option<Duration>,
    /// Bound on one tcp connect attempt; `None` = the OS default.
    pub connect_timeout: Option<Duration>,
    /// `SO_KEEPALIVE`: `-1` OS default, `0` off, `1` on.
    pub tcp_keepalive: i32,
    /// `TCP_KEEPCNT` when keepalive is on; `-1` = OS default.
    pub tcp_keepalive_cnt: i32,
    /// `TCP_KEEPIDLE` in seconds when keepalive is on; `-1` = OS default.
    pub tcp_keepalive_idle: i32,
    /// `TCP_KEEPINTVL` in seconds when keepalive is on; `-1` = OS default.
    pub tcp_keepalive_intvl: i32,
    /// Allow IPv6 (`ZMQ_IPV6`); a `*` bind then listens on `::` (dual stack).
    pub ipv6: bool,
    /// `listen()` backlog. Default 100.
    pub backlog: i32,
    /// `SO_SNDBUF` in bytes; `-1` = OS default.
    pub sndbuf: i32,
    /// `SO_RCVBUF` in bytes; `-1` = OS default.
    pub rcvbuf: i32,
    /// TLS settings of wss endpoints (ignored by every other transport).
    pub tls: TlsOptions,
}

/// TLS settings of a wss endpoint, as libzmq's `ZMQ_WSS_*` options.
///
/// Bind needs `cert_chain_pem` and `key_pem`; connect needs `trust_pem` and/or `trust_system`.
/// The client always verifies the server's chain against the trusted roots. As libzmq, it checks
/// the certificate's name only when `hostname` is set (and not empty); otherwise no name check
/// is made, and the endpoint's host is sent as SNI when it is a DNS name.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct TlsOptions {
    /// `ZMQ_WSS_CERT_PEM`: the server's certificate chain (leaf first), PEM.
    pub cert_chain_pem: Option<String>,
    /// `ZMQ_WSS_KEY_PEM`: the server's private key (PKCS#8, PKCS#1 or SEC1), PEM.
    pub key_pem: Option<String>,
    /// `ZMQ_WSS_TRUST_PEM`: certificates the client trusts as roots, PEM.
    pub trust_pem: Option<String>,
    /// `ZMQ_WSS_TRUST_SYSTEM`: also trust the operating system's root store.
    pub trust_system: bool,
    /// `ZMQ_WSS_HOSTNAME`: the name sent as SNI and checked against the server certificate;
    /// `None` (or empty): no name check.
    pub hostname: Option<String>,
}

impl fmt::Debug for TlsOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The private key stays out of logs.
        f.debug_struct("TlsOptions")
            .field(
                "cert_chain_pem",
                &self.cert_chain_pem.as_ref().map(|_| ".."),
            )
            .field("key_pem", &self.key_pem.as_ref().map(|_| "<redacted>"))
            .field("trust_pem", &self.trust_pem.as_ref().map(|_| ".."))
            .field("trust_system", &self.trust_system)
            .field("hostname", &self.hostname)
            .finish()
    }
}

impl ConnOptions {
    /// Options with libzmq's defaults around the given codec configuration.
    pub fn new(codec: Config) -> Self {
        Self {
            codec,
            reconnect_ivl: Some(Duration::from_millis(100)),
            reconnect_ivl_max: None,
            connect_timeout: None,
            tcp_keepalive: -1,
            tcp_keepalive_cnt: -1,
            tcp_keepalive_idle: -1,
            tcp_keepalive_intvl: -1,
            ipv6: false,
            backlog: 100,
            sndbuf: -1,
            rcvbuf: -1,
            tls: TlsOptions::default(),
        }
    }
}

/// The two pipe ends a connection works with.
///
/// `outbound` carries messages from the socket to the wire (the connection is its receiver),
/// `inbound` from the wire to the socket (the connection is its sender). The connection sets the
/// wakers of *its* ends (`outbound`'s receiver waker, `inbound`'s sender waker); the socket owns the
/// other two.
///
/// The socket ends the link by closing its outbound [`PipeSender`] (with a linger); dropping the
/// last clone of it counts as `close(None)`: the connection flushes what is queued, then closes.
/// When the connection ends for good it closes the outbound receiver (sends fail with `Closed`)
/// and closes the inbound sender once everything received is delivered (the socket reads
/// end-of-stream after the last message).
#[derive(Debug)]
pub struct Link {
    /// Socket -> wire.
    pub outbound: PipeReceiver,
    /// Wire -> socket.
    pub inbound: PipeSender,
}

impl Link {
    /// Bundles the connection's two pipe ends.
    pub fn new(outbound: PipeReceiver, inbound: PipeSender) -> Self {
        Self { outbound, inbound }
    }

    /// The I/O thread takes the connection's ends: `waker` for both, and no swap backoff on
    /// the outbound receiver (the I/O thread serves many pipes in turn, so it never waits on
    /// one of them).
    pub(crate) fn adopt(&mut self, waker: Arc<dyn Wake>) {
        self.outbound.set_swap_backoff(false);
        self.outbound.set_waker(Arc::clone(&waker));
        self.inbound.set_waker(waker);
    }
}

/// Callbacks of one connection (or of one connecter across its reconnects).
///
/// Called on the I/O thread; implementations must not block. The methods with a default
/// (empty) body report progress a socket monitor may want; they need not be implemented.
///
/// Order on the connect side, per attempt: [`on_connected`](Self::on_connected) (the stream
/// is up), then [`on_handshake`](Self::on_handshake) or
/// [`on_disconnect`](Self::on_disconnect) (the handshake or upgrade failed), later
/// `on_disconnect`; then [`on_retry`](Self::on_retry) when another attempt is scheduled. A
/// failed connect attempt (refused, unreachable, timed out) only calls `on_retry`.
pub trait ConnectionEvents: Send + Sync + 'static {
    /// Connect side: the stream connected (tcp or ipc connect completed; for ws and wss
    /// before the TLS handshake and the HTTP upgrade). `remote` is as in
    /// [`ConnectionEvents::on_handshake`].
    fn on_connected(&self, remote: &str) {
        let _ = remote;
    }

    /// The handshake completed. A connecter reports every (re)connect; an accepted connection
    /// reports once, right after [`Acceptor::on_accept`] returned its link.
    ///
    /// `remote` is the address of the connected stream's other end as an endpoint string,
    /// taken from the stream itself (`getpeername`, numeric, as libzmq does for its
    /// `Peer-Address`): `tcp://127.0.0.1:50000` for tcp, ws and wss on both sides (also when
    /// the connecter named the host by a DNS name); for ipc, whose peers are unnamed, the
    /// endpoint connected to or bound (`ipc:///tmp/x`).
    fn on_handshake(&self, peer: &PeerInfo, remote: &str);

    /// The connection ended.
    ///
    /// `will_reconnect` is true on the connect side after a reconnectable error (EOF, reset,
    /// handshake or heartbeat timeout) with reconnection enabled: the same [`Link`] will be
    /// re-attached later. When false, the link is finished: the connection closed its end of the
    /// outbound pipe (sends fail) and ends the inbound pipe once what it received is delivered.
    /// Failed connect attempts (nothing was ever connected) are not reported; they are retried.
    /// A stream that connected but failed during the handshake is reported, so this may come
    /// without a preceding [`ConnectionEvents::on_handshake`].
    fn on_disconnect(&self, reason: &DisconnectReason, will_reconnect: bool);

    /// Connect side: the next attempt starts in `delay` (libzmq's `CONNECT_RETRIED`).
    /// `reason` says why the previous attempt or connection ended.
    fn on_retry(&self, reason: &DisconnectReason, delay: Duration) {
        let _ = (reason, delay);
    }
}

/// Bind side: decides what to do with each accepted connection once its handshake completed.
pub trait Acceptor: Send + Sync + 'static {
    /// A connection was accepted; its handshake (and, for ws and wss, its TLS handshake and
    /// HTTP upgrade) starts now. `remote` is as in [`Acceptor::on_accept`].
    fn on_accepted(&self, remote: &str) {
        let _ = remote;
    }

    /// Returns the pipes and event sink for this connection, or `None` to refuse it (the
    /// connection is then closed). `remote` is the peer's address as an endpoint string, e.g.
    /// `tcp://127.0.0.1:50000` (also for ws and wss: the tcp address; for ipc, the listener's
    /// endpoint). Called on the I/O thread; must not block.
    fn on_accept(&self, peer: &PeerInfo, remote: &str)
    -> Option<(Link, Arc<dyn ConnectionEvents>)>;

    /// An accepted connection ended before its handshake completed (bad greeting,
    /// incompatible socket type, handshake timeout, TLS failure, refused ws upgrade, EOF...).
    /// Not called for connections this side closed itself (listener closed, `on_accept`
    /// refused).
    fn on_handshake_failed(&self, remote: &str, reason: &DisconnectReason) {
        let _ = (remote, reason);
    }
}

/// Why a connection ended.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DisconnectReason {
    /// The codec closed the session (peer fault, configuration mismatch or a timeout).
    Protocol(ProtocolError),
    /// The stream failed: EOF (`UnexpectedEof`), reset, refused, ... (environment; reconnectable).
    Io(io::ErrorKind),
    /// Closed locally: listener closed, connecter closed, linger done, or the socket went away.
    Closed,
    /// ws / wss: the HTTP upgrade was refused or malformed (for example no common ZWS
    /// sub-protocol), or the peer broke the WebSocket protocol (a text message, bad masking, a
    /// bad frame). Peer or configuration fault; not reconnectable, like libzmq's protocol
    /// errors. Carries a description.
    WebSocket(String),
    /// wss: the TLS layer failed (untrusted or mismatching certificate, handshake failure,
    /// alert, malformed record). Reconnectable, as libzmq treats TLS failures as connection
    /// errors. Carries rustls' description.
    Tls(String),
}

impl DisconnectReason {
    /// Whether a connecter should try again after this (I/O errors and the codec's timeouts).
    pub fn is_reconnectable(&self) -> bool {
        match self {
            Self::Protocol(err) => err.is_reconnectable(),
            Self::Io(_) | Self::Tls(_) => true,
            Self::Closed | Self::WebSocket(_) => false,
        }
    }
}

impl fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Protocol(err) => write!(f, "protocol error: {err}"),
            Self::Io(kind) => write!(f, "I/O error: {kind}"),
            Self::Closed => f.write_str("closed locally"),
            Self::WebSocket(why) => write!(f, "WebSocket error: {why}"),
            Self::Tls(why) => write!(f, "TLS error: {why}"),
        }
    }
}

/// Errors of bind and connect.
#[non_exhaustive]
#[derive(thiserror::Error, Debug)]
pub enum TransportError {
    /// The endpoint string is malformed or names an unsupported transport (caller fault).
    #[error(transparent)]
    Endpoint(#[from] EndpointError),
    /// The address is already bound, or a live listener answers on the ipc path (environment;
    /// `EADDRINUSE`).
    #[error("address in use")]
    AddrInUse,
    /// The address is not local, the interface does not exist, or IPv6 is needed but not
    /// enabled (caller or environment; `EADDRNOTAVAIL` / `ENODEV`).
    #[error("address not available")]
    AddrNotAvailable,
    /// The resolved ipc path is longer than 107 bytes (`ENAMETOOLONG`).
    #[error("ipc path too long")]
    NameTooLong,
    /// Any other operating-system error (environment).
    #[error("I/O error: {0}")]
    Io(#[source] io::Error),
    /// The I/O thread has been shut down.
    #[error("I/O thread shut down")]
    Shutdown,
    /// wss: the TLS settings cannot be used (caller fault; `EINVAL`): no certificate or key
    /// for a bind, no trust for a connect, PEM that does not parse, a key that does not match,
    /// a host name that is not a valid TLS server name. Carries a description.
    #[error("TLS configuration: {0}")]
    Tls(String),
}

impl From<io::Error> for TransportError {
    fn from(err: io::Error) -> Self {
        match err.kind() {
            io::ErrorKind::AddrInUse => Self::AddrInUse,
            io::ErrorKind::AddrNotAvailable => Self::AddrNotAvailable,
            _ if err.raw_os_error() == Some(libc::ENAMETOOLONG) => Self::NameTooLong,
            _ if err.raw_os_error() == Some(libc::ENODEV) => Self::AddrNotAvailable,
            _ => Self::Io(err),
        }
    }
}
