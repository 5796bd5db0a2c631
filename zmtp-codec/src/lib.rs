//! Sans-IO ZMTP 3.x codec: greeting, frames, commands and the NULL / PLAIN handshake as a state
//! machine, wire-compatible with libzmq 4.3.5.
//!
//! This is the bottom layer of zmq-peer. It deals only in bytes and ZMTP: it knows socket types
//! only as names and the compatibility table the handshake checks, and nothing of sockets,
//! routing ids, queues or I/O. It never touches the network, never reads a clock (time comes in
//! as [`Instant`](std::time::Instant) arguments), spawns no thread and keeps no global state.
//!
//! ```text
//!            bytes from the wire                         bytes for the wire
//!   transport ──────────────► Session::handle_input       Session::poll_transmit ──► transport
//!   clock     ──────────────► Session::handle_timeout     Session::poll_timeout  ──► timer
//!   socket    ──────────────► Session::send               Session::poll_event    ──► socket
//! ```
//!
//! Two levels:
//!
//! * pure `decode` / `encode` functions per wire structure: [`Greeting`], [`FrameHeader`] and
//!   [`Frame`], [`Command`], [`Metadata`]. Incremental decoders return [`Decode::Incomplete`]
//!   and consume nothing when a unit is not complete;
//! * one [`Session`] per connection: greeting, security handshake (NULL, PLAIN), heartbeats,
//!   message assembly and size limits.
//!
//! Two framings ([`Framing`]): ZMTP over a byte stream (tcp, ipc), and ZWS 2.0 over WebSocket
//! (ws, wss; module [`ws`]), where the transport does the HTTP upgrade and WebSocket framing and
//! the session exchanges whole WebSocket messages
//! ([`Session::handle_ws_message`], [`Session::poll_ws_transmit`]).
//!
//! Legacy ZMTP 1.0 / 2.0 peers are detected as early as libzmq detects them and refused with
//! [`ProtocolError::UnsupportedVersion`]; CURVE and GSSAPI with
//! [`ProtocolError::UnsupportedMechanism`].
//!
//! # Example: two sessions handshaking in memory
//!
//! ```
//! use std::time::Instant;
//!
//! use bytes::BytesMut;
//! use zmtp_codec::{Config, Event, Message, Session, SocketType};
//!
//! /// Moves every queued chunk from one session into the other's input buffer.
//! fn pump(from: &mut Session, to: &mut Session, to_buf: &mut BytesMut, now: Instant) {
//!     while let Some(chunk) = from.poll_transmit() {
//!         to_buf.extend_from_slice(&chunk);
//!     }
//!     to.handle_input(to_buf, now).expect("valid input");
//! }
//!
//! let now = Instant::now();
//! let mut a = Session::new(Config::new(SocketType::PEER), now);
//! let mut b = Session::new(Config::new(SocketType::PEER), now);
//! let (mut a_in, mut b_in) = (BytesMut::new(), BytesMut::new());
//!
//! // Greetings, then READYs: two round trips complete the NULL handshake.
//! for _ in 0..2 {
//!     pump(&mut a, &mut b, &mut b_in, now);
//!     pump(&mut b, &mut a, &mut a_in, now);
//! }
//! assert!(a.is_ready() && b.is_ready());
//! match b.poll_event() {
//!     Some(Event::HandshakeDone(peer)) => assert_eq!(peer.socket_type, Some(SocketType::PEER)),
//!     other => panic!("expected HandshakeDone, got {other:?}"),
//! }
//!
//! a.send(Message::from("hello")).expect("handshake done");
//! pump(&mut a, &mut b, &mut b_in, now);
//! assert_eq!(b.poll_event(), Some(Event::Message(Message::from("hello"))));
//! ```
#![forbid(unsafe_code)]
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[cfg(feature = "arbitrary")]
mod arbitrary;
pub mod command;
mod decode;
mod error;
pub mod frame;
pub mod greeting;
mod mechanism;
mod message;
mod metadata;
mod session;
mod socket_type;
mod transmit;
pub mod ws;

pub use command::Command;
pub use decode::Decode;
pub use error::{DecodeError, ProtocolError, SendError};
pub use frame::{Frame, FrameHeader, ReservedFlags};
pub use greeting::{Greeting, Version};
pub use mechanism::{Mechanism, MechanismName};
pub use message::Message;
pub use metadata::Metadata;
pub use session::{Config, Event, FastPath, Framing, PeerInfo, Session};
pub use socket_type::SocketType;
pub use ws::{WsProtocol, WsTransmit};
