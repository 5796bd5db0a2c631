//! Thread-safe PEER sockets with `connect_peer` in pure Rust, wire-compatible with libzmq
//! 4.3.5.
//!
//! This is the facade: [`Context`], [`Socket`], [`Message`], [`RoutingId`], [`Poller`],
//! [`Monitor`] and one [`Error`] type whose [`Error::errno`] gives the value libzmq would report. It holds no
//! protocol logic: socket semantics live in `zmq-sockets`, connections in `zmq-transport`,
//! bytes on the wire in `zmtp-codec`.
//!
//! A PEER socket addresses every message by a routing id. `connect_peer` returns the id of
//! the new connection at once, before the transport has connected: messages sent to it
//! queue (up to SNDHWM) and go out after the handshake. Received messages carry the id of
//! the connection they came from, so replying is a matter of sending back to it.
//!
//! # Example
//!
//! libzmq's `test_peer`, over inproc (no I/O thread needed) and over tcp:
//!
//! ```
//! use zmq_peer::{Context, Message, SocketType};
//!
//! fn ping_pong(ctx: &Context, endpoint: &str) -> Result<(), zmq_peer::Error> {
//!     let peer1 = ctx.socket(SocketType::Peer)?;
//!     peer1.set_ipv6(false)?;
//!     peer1.bind(endpoint)?;
//!     let endpoint = peer1.last_endpoint()?; // tcp://127.0.0.1:<port> for tcp://127.0.0.1:*
//!
//!     let peer2 = ctx.socket(SocketType::Peer)?;
//!     let rid1 = peer2.connect_peer(&endpoint)?; // valid at once
//!     peer2.send(Message::with_routing_id(&[1u8][..], rid1))?;
//!
//!     let request = peer1.recv()?;
//!     assert_eq!(request.as_bytes(), [1]);
//!     let rid2 = request.routing_id().expect("PEER stamps the sender's routing id");
//!     peer1.send(Message::with_routing_id(&[2u8][..], rid2))?;
//!
//!     let reply = peer2.recv()?;
//!     assert_eq!(reply.as_bytes(), [2]);
//!     assert_eq!(reply.routing_id(), Some(rid1));
//!     peer1.close()?;
//!     peer2.close()
//! }
//!
//! let ctx = Context::new();
//! ping_pong(&ctx, "inproc://test-peer")?;
//! ping_pong(&ctx, "tcp://127.0.0.1:*")?;
//! ctx.term()?;
//! # Ok::<(), zmq_peer::Error>(())
//! ```
//!
//! # Monitoring
//!
//! [`Socket::monitor`] returns a [`Monitor`] that receives the socket's connection events as
//! [`MonitorEvent`] values (libzmq's `zmq_socket_monitor`): a certificate a wss client does
//! not trust shows up as `HandshakeFailed` with a reason such as `TLS error: invalid peer
//! certificate: UnknownIssuer`, followed by `ConnectRetried` per the reconnect policy.
//!
//! ```
//! use std::time::Duration;
//! use zmq_peer::{Context, MonitorEvent, SocketType};
//!
//! let ctx = Context::new();
//! let binder = ctx.socket(SocketType::Peer)?;
//! let events = binder.monitor()?;
//! binder.bind("tcp://127.0.0.1:*")?;
//! let endpoint = binder.last_endpoint()?;
//! assert_eq!(
//!     events.recv_timeout(Duration::from_secs(5)),
//!     Some(MonitorEvent::Listening { endpoint })
//! );
//! # Ok::<(), zmq_peer::Error>(())
//! ```
//!
//! Errors map to libzmq errno values in one place:
//!
//! ```
//! use zmq_peer::{Context, SocketType, errno};
//!
//! let ctx = Context::new();
//! let server = ctx.socket(SocketType::Server)?;
//! let err = server.connect_peer("inproc://x").unwrap_err();
//! assert_eq!(err.errno(), errno::ENOTSUP);
//! # Ok::<(), zmq_peer::Error>(())
//! ```
#![forbid(unsafe_code)]

mod context;
mod error;
mod poller;
mod socket;

pub use bytes::Bytes;
pub use context::Context;
pub use error::{Error, errno};
pub use poller::Poller;
pub use socket::Socket;
pub use zmq_sockets::options::number as option;
pub use zmq_sockets::{
    MONITOR_CAPACITY, Message, Monitor, MonitorEvent, PollEvent, PollEvents, Properties, RoutingId,
    SocketType,
};
