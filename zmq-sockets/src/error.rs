//! The error type of socket operations (bind, connect, send, recv, options, close).

use zmq_transport::{EndpointError, TransportError};

/// What went wrong in a socket operation.
///
/// Variants are named by what happened. Each one says whose fault it is (the caller, the
/// environment, or a peer) and whether the socket is still usable afterwards. Peer faults
/// (malformed bytes, wrong socket type, oversized frames) never show up here: they close one
/// connection inside the transport and are invisible to unrelated calls.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The endpoint string is malformed (no `://`, bad host or port, `*` in a connect, ...).
    /// Caller fault; the socket is unaffected.
    #[error("invalid endpoint: {0}")]
    InvalidEndpoint(String),
    /// An argument is out of range: a bad option value, an unknown option number, a multipart
    /// send on a socket type that forbids it, wss TLS settings that cannot be used at bind or
    /// connect (no certificate or key, no trust, PEM that does not parse; the text says
    /// which). Caller fault; the socket is unaffected.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The endpoint's transport scheme is unknown or not compiled in (`foo://x`). Caller fault.
    #[error("unsupported transport: {0}")]
    UnsupportedTransport(String),
    /// The transport exists but cannot be used with this socket type (`udp://` on a PEER).
    /// Caller fault.
    #[error("transport {0} is not compatible with this socket type")]
    IncompatibleTransport(String),
    /// The context was shut down or terminated; every blocked call wakes with this and every
    /// later call fails with it. Caller's (or another thread's) decision; fatal for the socket.
    #[error("the context was terminated")]
    ContextTerminated,
    /// The socket was closed (possibly through another clone of the handle). Caller fault; fatal.
    #[error("the socket is closed")]
    SocketClosed,
    /// The context has no I/O thread, so only `inproc://` endpoints work. Caller's configuration.
    #[error("the context has no I/O thread for a non-inproc transport")]
    NoIoThread,
    /// The operation does not exist for this socket type (`connect_peer` on a non-PEER socket,
    /// creating a socket type not implemented yet). Caller fault.
    #[error("operation not supported by this socket type")]
    NotSupported,
    /// `connect_peer` was called while the IMMEDIATE option is set, so no routing id could be
    /// returned at once (libzmq answers EFAULT). Caller fault.
    #[error("connect_peer requires the IMMEDIATE option to be off")]
    ImmediateSet,
    /// An invalid handle was used: e.g. waiting forever on a poller with nothing registered.
    /// Caller fault.
    #[error("invalid context or handle")]
    InvalidContext,
    /// The message's routing id is missing, unknown, or names a peer that has gone away.
    /// Caller fault or a peer that left; the socket is unaffected.
    #[error("no peer with this routing id")]
    HostUnreachable,
    /// The operation would block: a full pipe with a non-blocking send, an empty socket with a
    /// non-blocking recv, or an expired SNDTIMEO/RCVTIMEO. Not a fault; retry later.
    #[error("the operation would block")]
    WouldBlock,
    /// The address (or inproc name) is already bound. Environment or caller fault.
    #[error("address already in use")]
    AddrInUse,
    /// The address is not local to this machine. Environment or caller fault.
    #[error("address not available")]
    AddrNotAvailable,
    /// An ipc path is longer than the platform's socket path limit. Caller fault.
    #[error("ipc path too long")]
    NameTooLong,
    /// `unbind`/`disconnect` named an endpoint this socket has not bound or connected.
    /// Caller fault (libzmq: ENOENT).
    #[error("endpoint not bound or connected: {0}")]
    EndpointNotFound(String),
    /// The operating system refused something (thread creation, socket creation, ...).
    /// Environment fault.
    #[error("I/O error")]
    Io(#[source] std::io::Error),
    /// Another transport failure not covered above. Environment fault.
    #[error("transport error")]
    Transport(#[source] TransportError),
}

impl From<EndpointError> for Error {
    fn from(e: EndpointError) -> Self {
        match e {
            EndpointError::Invalid(s) => Self::InvalidEndpoint(s),
            EndpointError::UnsupportedTransport(s) => Self::UnsupportedTransport(s),
            EndpointError::NameTooLong => Self::NameTooLong,
            // `EndpointError` is non-exhaustive: anything new is still a bad endpoint string.
            other => Self::InvalidEndpoint(other.to_string()),
        }
    }
}

impl From<TransportError> for Error {
    fn from(e: TransportError) -> Self {
        match e {
            TransportError::Endpoint(e) => e.into(),
            TransportError::AddrInUse => Self::AddrInUse,
            TransportError::AddrNotAvailable => Self::AddrNotAvailable,
            TransportError::NameTooLong => Self::NameTooLong,
            TransportError::Io(e) => Self::Io(e),
            TransportError::Shutdown => Self::ContextTerminated,
            // A configuration the caller gave (libzmq aborts on unusable PEM; EINVAL here).
            TransportError::Tls(why) => Self::InvalidArgument(format!("TLS configuration: {why}")),
            other => Self::Transport(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_errors_map_by_kind() {
        assert!(matches!(
            Error::from(EndpointError::Invalid("x".into())),
            Error::InvalidEndpoint(s) if s == "x"
        ));
        assert!(matches!(
            Error::from(EndpointError::UnsupportedTransport("foo".into())),
            Error::UnsupportedTransport(_)
        ));
        assert!(matches!(
            Error::from(EndpointError::NameTooLong),
            Error::NameTooLong
        ));
    }

    #[test]
    fn transport_errors_map_by_kind() {
        assert!(matches!(
            Error::from(TransportError::AddrInUse),
            Error::AddrInUse
        ));
        assert!(matches!(
            Error::from(TransportError::AddrNotAvailable),
            Error::AddrNotAvailable
        ));
        assert!(matches!(
            Error::from(TransportError::NameTooLong),
            Error::NameTooLong
        ));
        assert!(matches!(
            Error::from(TransportError::Shutdown),
            Error::ContextTerminated
        ));
        assert!(matches!(
            Error::from(TransportError::Io(std::io::Error::other("x"))),
            Error::Io(_)
        ));
        assert!(matches!(
            Error::from(TransportError::Tls("no certificate chain".into())),
            Error::InvalidArgument(why) if why == "TLS configuration: no certificate chain"
        ));
        assert!(matches!(
            Error::from(TransportError::Endpoint(EndpointError::NameTooLong)),
            Error::NameTooLong
        ));
    }
}
