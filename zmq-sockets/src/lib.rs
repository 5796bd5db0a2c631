//! Socket semantics over the zmq-transport pipes: PEER first, plus SERVER and CLIENT.
//!
//! This layer owns what a socket *means*: routing ids, the routing table, fair-queued
//! receive, HWM back-pressure on send, socket options with libzmq 4.3.5 defaults, the inproc
//! registry, polling, and the context's life cycle. It deliberately knows nothing of byte
//! layouts (no flag bits, length prefixes or greetings: that is `zmtp-codec`) and makes no
//! syscalls (sockets, listeners and event loops are `zmq-transport`'s I/O threads).
//!
//! Most users want the `zmq-peer` facade, which re-exports these types and maps errors to
//! libzmq errno values.
//!
//! # Example: two PEER sockets over inproc
//!
//! ```
//! use zmq_sockets::{ContextCore, Message, SocketType};
//!
//! let ctx = ContextCore::new(0); // inproc needs no I/O thread
//! let server = ctx.socket(SocketType::Peer)?;
//! server.bind("inproc://example")?;
//! let client = ctx.socket(SocketType::Peer)?;
//! let to_server = client.connect_peer("inproc://example")?;
//!
//! client.send(Message::with_routing_id("hello", to_server))?;
//! let request = server.recv()?;
//! let to_client = request.routing_id().expect("PEER stamps the sender's id");
//! server.send(Message::with_routing_id("world", to_client))?;
//!
//! let reply = client.recv()?;
//! assert_eq!(reply.as_bytes(), b"world");
//! assert_eq!(reply.routing_id(), Some(to_server));
//! ctx.terminate();
//! # Ok::<(), zmq_sockets::Error>(())
//! ```
#![forbid(unsafe_code)]

mod context;
mod error;
mod inproc;
mod linger;
mod message;
mod monitor;
pub mod options;
mod poller;
mod socket;
mod socket_type;

pub use context::ContextCore;
pub use error::Error;
pub use message::{Message, Properties, RoutingId};
pub use monitor::{MONITOR_CAPACITY, Monitor, MonitorEvent};
pub use options::Options;
pub use poller::{PollEvent, PollEvents, Poller};
pub use socket::Socket;
pub use socket_type::SocketType;
