//! TEMPORARY stand-in for the zmq-transport runtime (IoThread, IoHandle, ...) until it lands;
//! every network operation fails. Removed once zmq-transport exports the real types.
#![allow(dead_code, missing_docs, unreachable_pub, clippy::needless_pass_by_value, reason = "temporary shim")]

use std::sync::Arc;
use std::time::Duration;

use zmq_transport::{Endpoint, EndpointError, PipeReceiver, PipeSender};

#[derive(Debug)]
pub struct IoThread;
impl IoThread {
    pub fn spawn(_name: &str) -> Result<Self, TransportError> {
        Ok(Self)
    }
    pub fn handle(&self) -> IoHandle {
        IoHandle
    }
    pub fn shutdown(self) {}
}
#[derive(Clone, Debug)]
pub struct IoHandle;
impl IoHandle {
    pub fn bind(&self, _ep: &Endpoint, _o: ConnOptions, _a: Arc<dyn Acceptor>) -> Result<Listener, TransportError> {
        Err(TransportError::Io(std::io::Error::from(std::io::ErrorKind::Unsupported)))
    }
    pub fn connect(&self, _ep: &Endpoint, _o: ConnOptions, _l: Link, _e: Arc<dyn ConnectionEvents>) -> Result<Connecter, TransportError> {
        Err(TransportError::Io(std::io::Error::from(std::io::ErrorKind::Unsupported)))
    }
}
#[derive(Clone, Debug)]
pub struct ConnOptions {
    pub codec: zmtp_codec::Config,
    pub reconnect_ivl: Option<Duration>,
    pub reconnect_ivl_max: Option<Duration>,
    pub connect_timeout: Option<Duration>,
    pub tcp_keepalive: i32, pub tcp_keepalive_cnt: i32, pub tcp_keepalive_idle: i32, pub tcp_keepalive_intvl: i32,
    pub ipv6: bool, pub backlog: i32, pub sndbuf: i32, pub rcvbuf: i32,
}
impl ConnOptions {
    pub fn new(codec: zmtp_codec::Config) -> Self {
        Self { codec, reconnect_ivl: None, reconnect_ivl_max: None, connect_timeout: None, tcp_keepalive: -1, tcp_keepalive_cnt: -1, tcp_keepalive_idle: -1, tcp_keepalive_intvl: -1, ipv6: false, backlog: 100, sndbuf: -1, rcvbuf: -1 }
    }
}
#[derive(Debug)]
pub struct Link { pub outbound: PipeReceiver, pub inbound: PipeSender }
pub trait ConnectionEvents: Send + Sync + 'static {
    fn on_handshake(&self, peer: &zmtp_codec::PeerInfo);
    fn on_disconnect(&self, reason: &DisconnectReason, will_reconnect: bool);
}
pub trait Acceptor: Send + Sync + 'static {
    fn on_accept(&self, peer: &zmtp_codec::PeerInfo, remote: &str) -> Option<(Link, Arc<dyn ConnectionEvents>)>;
}
#[non_exhaustive]
#[derive(Debug, Clone)]
pub enum DisconnectReason { Protocol(zmtp_codec::ProtocolError), Io(std::io::ErrorKind), Closed }
#[derive(Debug)]
pub struct Listener;
impl Listener { pub fn endpoint(&self) -> &str { "" } pub fn close(self) {} }
#[derive(Debug)]
pub struct Connecter;
impl Connecter { pub fn close(self) {} }
#[non_exhaustive]
#[derive(thiserror::Error, Debug)]
pub enum TransportError {
    #[error("endpoint")] Endpoint(#[from] EndpointError),
    #[error("in use")] AddrInUse,
    #[error("not avail")] AddrNotAvailable,
    #[error("too long")] NameTooLong,
    #[error("io")] Io(#[source] std::io::Error),
    #[error("shutdown")] Shutdown,
}
