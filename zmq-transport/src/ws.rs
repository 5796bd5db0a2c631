//! ws and wss (ZWS 2.0, PROTOCOL.md §6): the HTTP upgrade and the WebSocket framing, through
//! tungstenite's protocol engine driven by the mio loop (non-blocking, no thread per
//! connection); optionally over TLS (`crate::tls`).
//!
//! A ws connection is a tcp connection that first runs an [`Upgrade`] (client request with
//! `Sec-WebSocket-Protocol: <zmtp_codec::ws::offer>`, or server reply choosing with
//! `zmtp_codec::ws::select`), bounded by the codec's `handshake_timeout`. It then becomes a
//! [`WsWire`]: each binary WebSocket message goes to `Session::handle_ws_message`, pings and pongs
//! count as traffic (tungstenite answers pings itself), and `Session::poll_ws_transmit` output
//! is written as binary messages or empty pings.
//!
//! How connections end:
//! * a WebSocket close frame from the peer is answered and reported as
//!   `DisconnectReason::Io(ConnectionAborted)` (reconnectable, as libzmq);
//! * a text message or any WebSocket protocol violation, and a refused or malformed upgrade,
//!   are `DisconnectReason::WebSocket` (not reconnectable);
//! * a message above `max_message_size` (or, without one, above [`DEFAULT_MAX_MESSAGE`]) is
//!   refused from its frame header, before anything is allocated:
//!   `DisconnectReason::Protocol(ProtocolError::MessageTooLarge)`;
//! * a server that finds no common sub-protocol closes without an HTTP reply, as libzmq does.

use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use mio::net::TcpStream;
use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};
use tungstenite::error::{CapacityError, ProtocolError as WsError};
use tungstenite::handshake::client::{ClientHandshake, Request, generate_key};
use tungstenite::handshake::server::{
    Callback, ErrorResponse, Request as ServerRequest, Response, ServerHandshake,
};
use tungstenite::handshake::{HandshakeError, MidHandshake};
use tungstenite::http::{HeaderValue, StatusCode};
use tungstenite::protocol::{Message, WebSocket, WebSocketConfig};
use zmtp_codec::ws::{WsProtocol, WsTransmit};
use zmtp_codec::{Mechanism, ProtocolError, Session};

use crate::connection::Step;
use crate::endpoint::{Endpoint, Host, WsEndpoint};
use crate::options::{ConnOptions, DisconnectReason, TransportError};

/// Largest message body accepted over ws when `max_message_size` is not set (256 MiB).
///
/// The WebSocket engine reserves a frame's whole length as soon as its header arrives, so an
/// unbounded limit would let a peer make us reserve any amount of memory with a few octets.
pub const DEFAULT_MAX_MESSAGE: u64 = 256 << 20;

/// What the upgrade settled, shared between the server callback and the stream wrapper.
#[derive(Debug, Default)]
struct Negotiated {
    /// The sub-protocol the server callback chose.
    protocol: OnceLock<WsProtocol>,
    /// The server callback refused the upgrade: the HTTP error reply tungstenite then writes is
    /// discarded, so the peer sees the connection close without a reply (as with libzmq).
    refused: AtomicBool,
}

/// The byte stream under the WebSocket engine.
enum WsStream {
    Plain(TcpStream),
    #[cfg(feature = "wss")]
    Tls(Box<crate::tls::TlsStream>),
}

/// The stream tungstenite reads and writes.
pub(crate) struct WsIo {
    stream: WsStream,
    negotiated: Arc<Negotiated>,
}

impl Read for WsIo {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match &mut self.stream {
            WsStream::Plain(s) => s.read(buf),
            #[cfg(feature = "wss")]
            WsStream::Tls(s) => s.read(buf),
        }
    }
}

impl Write for WsIo {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.negotiated.refused.load(Ordering::Relaxed) {
            return Ok(buf.len());
        }
        match &mut self.stream {
            WsStream::Plain(s) => s.write(buf),
            #[cfg(feature = "wss")]
            WsStream::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.negotiated.refused.load(Ordering::Relaxed) {
            return Ok(());
        }
        match &mut self.stream {
            WsStream::Plain(s) => s.flush(),
            #[cfg(feature = "wss")]
            WsStream::Tls(s) => s.flush(),
        }
    }
}

/// The server's upgrade callback: picks the sub-protocol (`zmtp_codec::ws::select`) from the
/// first `Sec-WebSocket-Protocol` header that yields one, or refuses.
struct Select {
    mechanism: Mechanism,
    negotiated: Arc<Negotiated>,
}

impl Callback for Select {
    fn on_request(
        self,
        request: &ServerRequest,
        mut response: Response,
    ) -> Result<Response, ErrorResponse> {
        let chosen = request
            .headers()
            .get_all("Sec-WebSocket-Protocol")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .find_map(|offered| zmtp_codec::ws::select(&self.mechanism, offered));
        if let Some(protocol) = chosen {
            response.headers_mut().insert(
                "Sec-WebSocket-Protocol",
                HeaderValue::from_static(protocol.as_str()),
            );
            let _ = self.negotiated.protocol.set(protocol);
            return Ok(response);
        }
        self.negotiated.refused.store(true, Ordering::Relaxed);
        let mut refusal = ErrorResponse::new(None);
        *refusal.status_mut() = StatusCode::BAD_REQUEST;
        Err(refusal)
    }
}

/// Per-endpoint ws settings, built once at bind / connect time.
pub(crate) struct WsSetup {
    config: WebSocketConfig,
    /// Body limit reported in `MessageTooLarge`.
    limit: u64,
    side: Side,
}

enum Side {
    Client(ClientSide),
    Server {
        #[cfg(feature = "wss")]
        tls: Option<Arc<rustls::ServerConfig>>,
    },
}

struct ClientSide {
    /// `ws://host:port/path` (wss for TLS) as the request URI.
    uri: String,
    /// The `Host` header: host and port (IPv6 in brackets). libzmq sends the host without the
    /// port; its server does not look at the header, so either works with it.
    host: String,
    #[cfg(feature = "wss")]
    tls: Option<(
        Arc<rustls::ClientConfig>,
        rustls::pki_types::ServerName<'static>,
    )>,
}

impl ClientSide {
    /// A fresh request (a new `Sec-WebSocket-Key` each time) offering `offer(mechanism)`.
    fn request(&self, mechanism: &Mechanism) -> Result<Request, tungstenite::http::Error> {
        tungstenite::http::Request::builder()
            .method("GET")
            .uri(self.uri.as_str())
            .header("Host", self.host.as_str())
            .header("Upgrade", "websocket")
            .header("Connection", "Upgrade")
            .header("Sec-WebSocket-Key", generate_key())
            .header("Sec-WebSocket-Version", "13")
            .header("Sec-WebSocket-Protocol", zmtp_codec::ws::offer(mechanism))
            .body(())
    }
}

impl WsSetup {
    /// Settings of a ws / wss connect; `None` for other transports.
    ///
    /// # Errors
    /// [`TransportError::Tls`] for unusable TLS settings, [`TransportError::Endpoint`] if no
    /// valid HTTP request can be built for the endpoint.
    pub(crate) fn client(
        ep: &Endpoint,
        opts: &ConnOptions,
    ) -> Result<Option<Arc<Self>>, TransportError> {
        let (ws, secure) = match ep {
            Endpoint::Ws(ws) => (ws, false),
            Endpoint::Wss(ws) => (ws, true),
            _ => return Ok(None),
        };
        let host = authority(ws);
        let uri = format!("{}://{host}{}", if secure { "wss" } else { "ws" }, ws.path);
        #[cfg(feature = "wss")]
        let tls = if secure {
            Some(crate::tls::client_config(&opts.tls, &ws.host)?)
        } else {
            None
        };
        #[cfg(not(feature = "wss"))]
        if secure {
            return Err(crate::endpoint::EndpointError::UnsupportedTransport("wss".into()).into());
        }
        let client = ClientSide {
            uri,
            host,
            #[cfg(feature = "wss")]
            tls,
        };
        // Fails early (at connect time) if the URI cannot be used.
        client
            .request(&opts.codec.mechanism)
            .map_err(|e| crate::endpoint::EndpointError::Invalid(e.to_string()))?;
        Ok(Some(Arc::new(Self {
            config: ws_config(opts),
            limit: limit(opts),
            side: Side::Client(client),
        })))
    }

    /// Settings of a ws / wss bind; `None` for other transports.
    ///
    /// # Errors
    /// [`TransportError::Tls`] when a wss bind has no usable certificate and key.
    pub(crate) fn server(
        ep: &Endpoint,
        opts: &ConnOptions,
    ) -> Result<Option<Arc<Self>>, TransportError> {
        let secure = match ep {
            Endpoint::Ws(_) => false,
            Endpoint::Wss(_) => true,
            _ => return Ok(None),
        };
        #[cfg(feature = "wss")]
        let tls = if secure {
            Some(crate::tls::server_config(&opts.tls)?)
        } else {
            None
        };
        #[cfg(not(feature = "wss"))]
        if secure {
            return Err(crate::endpoint::EndpointError::UnsupportedTransport("wss".into()).into());
        }
        Ok(Some(Arc::new(Self {
            config: ws_config(opts),
            limit: limit(opts),
            side: Side::Server {
                #[cfg(feature = "wss")]
                tls,
            },
        })))
    }
}

/// `host:port` for the URI and the `Host` header (IPv6 in brackets, without a zone).
fn authority(ws: &WsEndpoint) -> String {
    let port = ws.port.unwrap_or(0);
    match &ws.host {
        Host::Ip(std::net::IpAddr::V6(v6)) | Host::ScopedIpv6 { addr: v6, .. } => {
            format!("[{v6}]:{port}")
        }
        other => format!("{other}:{port}"),
    }
}

/// The body limit: `max_message_size`, or [`DEFAULT_MAX_MESSAGE`].
fn limit(opts: &ConnOptions) -> u64 {
    opts.codec.max_message_size.unwrap_or(DEFAULT_MAX_MESSAGE)
}

/// WebSocket limits: one ZMTP frame per message, so message and frame are both capped at the
/// body limit plus the flag octet (checked from the frame header, before allocation).
fn ws_config(opts: &ConnOptions) -> WebSocketConfig {
    let payload = usize::try_from(limit(opts).saturating_add(1)).unwrap_or(usize::MAX);
    WebSocketConfig::default()
        .max_message_size(Some(payload))
        .max_frame_size(Some(payload))
}

/// The upgrade in progress on one connection.
pub(crate) struct Upgrade {
    state: Option<State>,
    fd: RawFd,
    negotiated: Arc<Negotiated>,
    setup: Arc<WsSetup>,
    /// When the tcp connection was established: the codec's handshake deadline counts from here.
    pub(crate) started: Instant,
    /// `handshake_timeout` after `started`: the upgrade (and then the ZMTP handshake) must be
    /// done by then.
    pub(crate) deadline: Option<Instant>,
}

enum State {
    Start(WsIo),
    Client(MidHandshake<ClientHandshake<WsIo>>),
    Server(MidHandshake<ServerHandshake<WsIo, Select>>),
}

/// Where an upgrade stands after [`Upgrade::advance`].
pub(crate) enum Progress {
    /// Waiting for the socket.
    Pending,
    /// Upgraded with this sub-protocol.
    Done(Box<WsWire>, WsProtocol),
    /// Failed.
    Failed(DisconnectReason),
}

impl Upgrade {
    /// Starts the upgrade on a connected (and registered) socket; for wss, sets up TLS first.
    pub(crate) fn new(
        setup: &Arc<WsSetup>,
        sock: TcpStream,
        handshake_timeout: Option<Duration>,
        now: Instant,
    ) -> Result<Self, DisconnectReason> {
        let fd = sock.as_raw_fd();
        let stream = match &setup.side {
            #[cfg(feature = "wss")]
            Side::Client(ClientSide {
                tls: Some((config, name)),
                ..
            }) => WsStream::Tls(Box::new(
                crate::tls::TlsStream::client(Arc::clone(config), name.clone(), sock)
                    .map_err(|e| DisconnectReason::Tls(e.to_string()))?,
            )),
            #[cfg(feature = "wss")]
            Side::Server { tls: Some(config) } => WsStream::Tls(Box::new(
                crate::tls::TlsStream::server(Arc::clone(config), sock)
                    .map_err(|e| DisconnectReason::Tls(e.to_string()))?,
            )),
            _ => WsStream::Plain(sock),
        };
        let negotiated = Arc::new(Negotiated::default());
        Ok(Self {
            state: Some(State::Start(WsIo {
                stream,
                negotiated: Arc::clone(&negotiated),
            })),
            fd,
            negotiated,
            setup: Arc::clone(setup),
            started: now,
            deadline: handshake_timeout
                .filter(|t| !t.is_zero())
                .and_then(|t| now.checked_add(t)),
        })
    }

    /// Runs the upgrade as far as the socket allows.
    pub(crate) fn advance(&mut self, mechanism: &Mechanism) -> Progress {
        let Some(state) = self.state.take() else {
            return Progress::Failed(DisconnectReason::WebSocket("upgrade already over".into()));
        };
        match state {
            State::Start(io) => match &self.setup.side {
                Side::Client(client) => match client.request(mechanism) {
                    Ok(request) => self.client_result(
                        tungstenite::client::client_with_config(
                            request,
                            io,
                            Some(self.setup.config),
                        ),
                        mechanism,
                    ),
                    Err(e) => Progress::Failed(DisconnectReason::WebSocket(e.to_string())),
                },
                Side::Server { .. } => {
                    let select = Select {
                        mechanism: mechanism.clone(),
                        negotiated: Arc::clone(&self.negotiated),
                    };
                    self.server_result(tungstenite::accept_hdr_with_config(
                        io,
                        select,
                        Some(self.setup.config),
                    ))
                }
            },
            State::Client(mid) => self.client_result(mid.handshake(), mechanism),
            State::Server(mid) => self.server_result(mid.handshake()),
        }
    }

    fn client_result(
        &mut self,
        result: Result<
            (WebSocket<WsIo>, tungstenite::handshake::client::Response),
            HandshakeError<ClientHandshake<WsIo>>,
        >,
        mechanism: &Mechanism,
    ) -> Progress {
        match result {
            Ok((ws, response)) => {
                let chosen = response
                    .headers()
                    .get("Sec-WebSocket-Protocol")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("");
                match zmtp_codec::ws::accept_response(mechanism, chosen) {
                    Some(protocol) => Progress::Done(Box::new(self.wire(ws)), protocol),
                    None => Progress::Failed(DisconnectReason::WebSocket(format!(
                        "the server chose sub-protocol {chosen:?}, which {:?} cannot run",
                        mechanism.name()
                    ))),
                }
            }
            Err(HandshakeError::Interrupted(mid)) => {
                self.state = Some(State::Client(mid));
                Progress::Pending
            }
            Err(HandshakeError::Failure(e)) => Progress::Failed(map_error(e, self.setup.limit)),
        }
    }

    fn server_result(
        &mut self,
        result: Result<WebSocket<WsIo>, HandshakeError<ServerHandshake<WsIo, Select>>>,
    ) -> Progress {
        match result {
            Ok(ws) => match self.negotiated.protocol.get() {
                Some(&protocol) => Progress::Done(Box::new(self.wire(ws)), protocol),
                None => Progress::Failed(DisconnectReason::WebSocket(
                    "upgrade completed without a sub-protocol".into(),
                )),
            },
            Err(HandshakeError::Interrupted(mid)) => {
                self.state = Some(State::Server(mid));
                Progress::Pending
            }
            Err(HandshakeError::Failure(e)) => Progress::Failed(map_error(e, self.setup.limit)),
        }
    }

    fn wire(&self, ws: WebSocket<WsIo>) -> WsWire {
        WsWire {
            ws,
            fd: self.fd,
            pending: 0,
            dirty: true,
            limit: self.setup.limit,
        }
    }

    /// Removes the socket from the poller (closing it would too; this keeps mio's books tidy).
    pub(crate) fn deregister(&self, registry: &Registry) {
        let _ = registry.deregister(&mut SourceFd(&self.fd));
    }
}

/// An upgraded connection: tungstenite's engine over the (TLS) socket.
pub(crate) struct WsWire {
    ws: WebSocket<WsIo>,
    fd: RawFd,
    /// Payload octets handed to the engine since its last complete flush (backpressure).
    pending: usize,
    /// Something may wait in the engine's buffers (writes, an automatic pong or close reply).
    dirty: bool,
    limit: u64,
}

impl WsWire {
    /// Reads one WebSocket message and feeds it to the session.
    pub(crate) fn read_into(&mut self, session: &mut Session, now: Instant) -> Step {
        match self.ws.read() {
            Ok(Message::Binary(payload)) => {
                // A failure is also queued as Event::Closed, handled by the caller.
                let _ = session.handle_ws_message(payload, now);
                Step::Fed
            }
            Ok(Message::Ping(_)) => {
                // tungstenite queued the pong; the next flush sends it.
                self.dirty = true;
                session.handle_ws_traffic(now);
                Step::Fed
            }
            Ok(Message::Pong(_)) => {
                session.handle_ws_traffic(now);
                Step::Fed
            }
            Ok(Message::Close(_)) => {
                // Best effort: the close reply tungstenite queued (libzmq echoes it too).
                let _ = self.ws.flush();
                Step::End(DisconnectReason::Io(io::ErrorKind::ConnectionAborted))
            }
            Ok(Message::Text(_)) => Step::End(DisconnectReason::WebSocket(
                "text message received: ZWS 2.0 carries binary messages only".into(),
            )),
            Ok(Message::Frame(_)) => Step::Fed,
            Err(tungstenite::Error::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => {
                Step::Blocked
            }
            Err(tungstenite::Error::Io(e)) if e.kind() == io::ErrorKind::Interrupted => Step::Fed,
            Err(e) => Step::End(map_error(e, self.limit)),
        }
    }

    /// Hands one unit from `Session::poll_ws_transmit` to the engine.
    pub(crate) fn write(&mut self, unit: WsTransmit) -> Result<(), DisconnectReason> {
        let (message, len) = match unit {
            WsTransmit::Binary(payload) => {
                let len = payload.len();
                (Message::Binary(payload), len)
            }
            WsTransmit::Ping => (Message::Ping(Bytes::new()), 0),
            _ => return Ok(()),
        };
        self.pending += len + WS_HEADER;
        self.dirty = true;
        match self.ws.write(message) {
            Ok(()) => Ok(()),
            // The frame is queued in the engine; the socket is full (or was interrupted) and
            // the next flush goes on.
            Err(tungstenite::Error::Io(e))
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
                ) =>
            {
                Ok(())
            }
            Err(e) => Err(map_error(e, self.limit)),
        }
    }

    /// Writes what the engine holds: `Ok(true)` all written, `Ok(false)` the socket is full.
    pub(crate) fn flush(&mut self) -> Result<bool, DisconnectReason> {
        if !self.dirty {
            return Ok(true);
        }
        loop {
            match self.ws.flush() {
                Ok(()) => {
                    self.pending = 0;
                    self.dirty = false;
                    return Ok(true);
                }
                Err(tungstenite::Error::Io(e)) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(tungstenite::Error::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => {
                    return Ok(false);
                }
                Err(e) => return Err(map_error(e, self.limit)),
            }
        }
    }

    /// Octets handed to the engine and not known to be written.
    pub(crate) fn pending(&self) -> usize {
        self.pending
    }

    /// Changes the poller interest of the socket.
    pub(crate) fn reregister(
        &self,
        registry: &Registry,
        token: Token,
        interest: Interest,
    ) -> io::Result<()> {
        registry.reregister(&mut SourceFd(&self.fd), token, interest)
    }

    /// Removes the socket from the poller.
    pub(crate) fn deregister(&self, registry: &Registry) {
        let _ = registry.deregister(&mut SourceFd(&self.fd));
    }
}

/// Upper bound of a WebSocket frame header (2 + 8 length + 4 mask), for backpressure counts.
const WS_HEADER: usize = 14;

/// Why tungstenite gave up, as a disconnect reason.
fn map_error(err: tungstenite::Error, limit: u64) -> DisconnectReason {
    match err {
        tungstenite::Error::ConnectionClosed
        | tungstenite::Error::AlreadyClosed
        | tungstenite::Error::Protocol(
            WsError::ResetWithoutClosingHandshake | WsError::HandshakeIncomplete,
        ) => DisconnectReason::Io(io::ErrorKind::UnexpectedEof),
        tungstenite::Error::Io(e) => {
            #[cfg(feature = "wss")]
            if let Some(text) = crate::tls::error_text(&e) {
                return DisconnectReason::Tls(text);
            }
            DisconnectReason::Io(e.kind())
        }
        tungstenite::Error::Capacity(CapacityError::MessageTooLong { .. }) => {
            DisconnectReason::Protocol(ProtocolError::MessageTooLarge { limit })
        }
        tungstenite::Error::Http(response) => DisconnectReason::WebSocket(format!(
            "HTTP upgrade refused with status {}",
            response.status()
        )),
        other => DisconnectReason::WebSocket(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use zmtp_codec::{Config, SocketType};

    use super::*;

    #[test]
    fn engine_limits_are_the_body_limit_plus_the_flag_octet() {
        let mut opts = ConnOptions::new(Config::new(SocketType::PEER));
        opts.codec.max_message_size = Some(1000);
        let config = ws_config(&opts);
        assert_eq!(config.max_frame_size, Some(1001));
        assert_eq!(config.max_message_size, Some(1001));
        opts.codec.max_message_size = None;
        let default = usize::try_from(DEFAULT_MAX_MESSAGE + 1).unwrap();
        let config = ws_config(&opts);
        assert_eq!(config.max_frame_size, Some(default));
        assert_eq!(config.max_message_size, Some(default));
        // MAXMSGSIZE near u64::MAX does not wrap around to a small limit.
        opts.codec.max_message_size = Some(u64::MAX);
        assert_eq!(ws_config(&opts).max_frame_size, Some(usize::MAX));
    }
}
