//! zmq-transport: endpoints, pipes, listeners and connections on mio, driving the ZMTP codec.
//!
//! This is the layer between the sockets (`zmq-sockets`) and the sans-IO codec (`zmtp-codec`).
//! It parses endpoints, runs I/O threads (one `mio::Poll` each), binds and accepts, connects and
//! reconnects, and moves whole messages between the wire and [pipes](mod@pipe). It deliberately
//! knows nothing of socket types, routing ids or HWM policy: the codec [`Config`] is passed
//! through unread, and messages are never looked into.
//!
//! ```text
//!   socket threads                      I/O thread (IoThread)
//!   ───────────────                     ─────────────────────────────────────────────
//!   PipeSender ── outbound pipe ──►  PipeReceiver ─► Session::send ─► write_vectored ─► wire
//!   PipeReceiver ◄── inbound pipe ── PipeSender ◄── Session events ◄── read ◄────────── wire
//! ```
//!
//! * [`Endpoint`] parses `tcp://`, `ipc://`, `inproc://`, `ws://` and `wss://` strings as
//!   libzmq 4.3.5 accepts them (bind and connect differ) and prints them back canonically.
//! * [`pipe()`] creates the one-way message queue with a high-water mark that links a socket
//!   and a connection; wake-ups happen only on transitions.
//! * [`IoThread`] runs the event loop; [`IoHandle::bind`] binds synchronously and hands the
//!   listener over, [`IoHandle::connect`] starts connecting in the background and keeps the
//!   same [`Link`] across reconnects.
//! * [`ConnectionEvents`] and [`Acceptor`] report each connection's progress for socket
//!   monitors: stream connected or accepted (with the numeric remote address read from the
//!   stream), handshake done or failed, disconnect, and each scheduled reconnect.
//! * inproc endpoints are parsed here but served by the socket layer (no I/O thread involved).
//! * Request/reply traffic on tcp and ipc may skip the I/O thread: a connection installs a
//!   [`Bypass`] on its outbound pipe (an application thread writes a reply to the idle
//!   connection itself) and a [`Fill`] on its inbound pipe (a receiver about to wait reads the
//!   idle connection itself); the I/O thread takes over whatever these cannot do.
//!
//! # Cargo features
//!
//! | feature | default | what it adds |
//! |---------|---------|--------------|
//! | `tcp` | yes | `tcp://` endpoints |
//! | `ipc` | yes | `ipc://` endpoints (Unix domain sockets, Linux abstract names) |
//! | `inproc` | yes | parsing of `inproc://` endpoints (served by the socket layer) |
//! | `ws` | yes | `ws://` endpoints: ZWS 2.0 over WebSocket (tungstenite); implies `tcp` |
//! | `wss` | yes | `wss://` endpoints: ws over TLS (rustls with the ring provider); implies `ws` |
//!
//! A scheme whose feature is off parses as [`EndpointError::UnsupportedTransport`].
//!
//! # ws and wss
//!
//! A ws connection is a tcp connection that starts with an HTTP upgrade, driven by the I/O
//! thread without blocking: the client offers `Sec-WebSocket-Protocol:`
//! [`zmtp_codec::ws::offer`] (`ZWS2.0/NULL,ZWS2.0` for NULL), the server picks with
//! [`zmtp_codec::ws::select`] or, as libzmq, closes without an HTTP reply when nothing fits.
//! The upgrade (and for wss the TLS handshake before it) counts against the codec's
//! `handshake_timeout`. Then each ZMTP frame travels as one binary WebSocket message (the
//! session runs in [`Framing::WebSocket`] mode), heartbeats are empty WebSocket pings, and
//! handshake, backpressure, linger and reconnect behave as over tcp.
//!
//! * The endpoint path is kept whole (libzmq 4.3.5 truncates it to its last segment, a bug fixed
//!   upstream); the server ignores the request path. The client's `Host` header is `host:port`.
//! * A WebSocket close frame from the peer ends the connection as
//!   [`DisconnectReason::Io`]`(ConnectionAborted)` (reconnectable, as in libzmq); a text message
//!   or another WebSocket protocol violation, or a refused upgrade, is
//!   [`DisconnectReason::WebSocket`] (not reconnectable).
//! * A WebSocket message over `max_message_size` + 1 (the flag octet) is refused from its frame
//!   header before anything is allocated ([`zmtp_codec::ProtocolError::MessageTooLarge`]).
//!   Without `max_message_size` the limit is `WS_DEFAULT_MAX_MESSAGE` (256 MiB), because the
//!   WebSocket engine reserves a whole frame as soon as its header arrives.
//! * wss takes its certificates from [`ConnOptions::tls`] ([`TlsOptions`]): a bind without a
//!   certificate chain and key fails with [`TransportError::Tls`] (libzmq aborts); a client
//!   verifies the chain against `trust_pem` and/or the system store and checks the name
//!   (`hostname`, else the endpoint host, IP addresses included), which is stricter than
//!   libzmq. TLS failures end the connection as [`DisconnectReason::Tls`] and the connecter
//!   retries per its reconnect policy.
//! * Unlike libzmq, a ws connect does not resolve the host name inside `connect`: as for tcp,
//!   resolution happens on the I/O thread at each attempt.
//!
//! [`Framing::WebSocket`]: zmtp_codec::Framing::WebSocket
//!
//! [`Config`]: zmtp_codec::Config
//!
//! # Example: bind and connect over tcp, move one message
//!
//! ```
//! use std::sync::{Arc, Mutex};
//!
//! use zmq_transport::{
//!     Acceptor, ConnOptions, ConnectionEvents, DisconnectReason, Endpoint, IoThread, Link,
//!     PipeReceiver, PipeSender, Wake, pipe,
//! };
//! use zmtp_codec::{Config, Message, PeerInfo, SocketType};
//!
//! /// Ignores connection events.
//! struct Quiet;
//! impl ConnectionEvents for Quiet {
//!     fn on_handshake(&self, _peer: &PeerInfo, _remote: &str) {}
//!     fn on_disconnect(&self, _reason: &DisconnectReason, _will_reconnect: bool) {}
//! }
//!
//! /// Gives each accepted connection fresh pipes and keeps the socket-side ends.
//! struct Keep(Mutex<Option<(PipeSender, PipeReceiver)>>, Arc<Ready>);
//! impl Acceptor for Keep {
//!     fn on_accept(&self, _peer: &PeerInfo, _remote: &str)
//!         -> Option<(Link, Arc<dyn ConnectionEvents>)>
//!     {
//!         let (out_tx, out_rx) = pipe(0);
//!         let (in_tx, in_rx) = pipe(0);
//!         in_rx.set_waker(self.1.clone());
//!         // Dropping the last outbound sender would end the connection (end-of-stream).
//!         *self.0.lock().unwrap() = Some((out_tx, in_rx));
//!         Some((Link { outbound: out_rx, inbound: in_tx }, Arc::new(Quiet)))
//!     }
//! }
//!
//! /// A waker the receiving thread can wait on.
//! #[derive(Default)]
//! struct Ready(Mutex<bool>, std::sync::Condvar);
//! impl Wake for Ready {
//!     fn wake(&self) {
//!         *self.0.lock().unwrap() = true;
//!         self.1.notify_all();
//!     }
//! }
//!
//! # #[cfg(not(feature = "tcp"))]
//! # fn main() {}
//! # #[cfg(feature = "tcp")]
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let opts = ConnOptions::new(Config::new(SocketType::PEER));
//! let server = IoThread::spawn("server")?;
//! let client = IoThread::spawn("client")?;
//! let ready = Arc::new(Ready::default());
//! let acceptor = Arc::new(Keep(Mutex::new(None), ready.clone()));
//!
//! let listener = server.handle().bind(
//!     &Endpoint::parse_bind("tcp://127.0.0.1:*")?,
//!     opts.clone(),
//!     acceptor.clone(),
//! )?;
//! // The resolved endpoint, e.g. tcp://127.0.0.1:41337.
//! let endpoint = Endpoint::parse_connect(listener.endpoint())?;
//!
//! let (out_tx, out_rx) = pipe(1000);
//! let (in_tx, _in_rx) = pipe(1000);
//! let _connecter = client.handle().connect(
//!     &endpoint,
//!     opts,
//!     Link { outbound: out_rx, inbound: in_tx },
//!     Arc::new(Quiet),
//! )?;
//! // Queued at once; sent as soon as the handshake is done.
//! out_tx.try_send(Message::from("hello")).expect("room in the pipe");
//!
//! // Wait (bounded) for the message on the accepting side.
//! let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
//! let got = loop {
//!     if let Some((_, rx)) = acceptor.0.lock().unwrap().as_mut() {
//!         if let Some(msg) = rx.try_recv()? {
//!             break msg;
//!         }
//!     }
//!     let now = std::time::Instant::now();
//!     assert!(now < deadline, "no message");
//!     let guard = ready.0.lock().unwrap();
//!     let (mut woken, _) = ready.1.wait_timeout_while(guard, deadline - now, |w| !*w).unwrap();
//!     *woken = false;
//! };
//! assert_eq!(got, Message::from("hello"));
//!
//! drop(listener);
//! server.shutdown();
//! client.shutdown();
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]
#![cfg_attr(
    not(all(feature = "tcp", feature = "ipc")),
    allow(
        dead_code,
        unused_imports,
        unused_variables,
        unreachable_code,
        unreachable_patterns,
        reason = "helpers shared by tcp and ipc are unused when one of them is compiled out"
    )
)]

mod connecter;
mod connection;
pub mod endpoint;
mod io_thread;
#[cfg(feature = "ipc")]
mod ipc;
mod lane;
mod options;
pub mod pipe;
mod stream;
#[cfg(feature = "tcp")]
mod tcp;
#[cfg(feature = "wss")]
mod tls;
#[cfg(feature = "ws")]
mod ws;

pub use endpoint::{
    Endpoint, EndpointError, Host, IpcEndpoint, Scheme, TcpEndpoint, TcpSource, WsEndpoint,
};
pub use io_thread::{Connecter, IoHandle, IoThread, Listener};
pub use options::{
    Acceptor, ConnOptions, ConnectionEvents, DisconnectReason, Link, TlsOptions, TransportError,
};
pub use pipe::{
    Bypass, Fill, PipeClosed, PipeReceiver, PipeSender, TrySendError, Wake, pipe, typed_pipe,
};
#[cfg(feature = "ws")]
pub use ws::DEFAULT_MAX_MESSAGE as WS_DEFAULT_MAX_MESSAGE;
