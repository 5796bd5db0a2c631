//! The facade's error type and its one mapping to libzmq errno values.

/// libzmq errno values as `zmq_errno()` reports them on this platform.
///
/// POSIX names take the platform's value (from `libc`), as libzmq does; the four
/// libzmq-native codes are `ZMQ_HAUSNUMERO` (156384712) + 51..=54.
pub mod errno {
    /// libzmq's base for codes the platform lacks.
    pub const HAUSNUMERO: i32 = 156_384_712;
    /// Invalid argument.
    pub const EINVAL: i32 = libc::EINVAL;
    /// Unknown or not compiled-in transport.
    pub const EPROTONOSUPPORT: i32 = libc::EPROTONOSUPPORT;
    /// Operation not supported by the socket type.
    pub const ENOTSUP: i32 = libc::ENOTSUP;
    /// Not a (live) socket.
    pub const ENOTSOCK: i32 = libc::ENOTSOCK;
    /// Bad address / handle (`connect_peer` with IMMEDIATE, empty poller waiting forever).
    pub const EFAULT: i32 = libc::EFAULT;
    /// No route to the routing id.
    pub const EHOSTUNREACH: i32 = libc::EHOSTUNREACH;
    /// Resource temporarily unavailable (would block, timeout).
    pub const EAGAIN: i32 = libc::EAGAIN;
    /// Address in use.
    pub const EADDRINUSE: i32 = libc::EADDRINUSE;
    /// Address not available.
    pub const EADDRNOTAVAIL: i32 = libc::EADDRNOTAVAIL;
    /// Name (ipc path) too long.
    pub const ENAMETOOLONG: i32 = libc::ENAMETOOLONG;
    /// Message too long.
    pub const EMSGSIZE: i32 = libc::EMSGSIZE;
    /// No such endpoint (unbind/disconnect).
    pub const ENOENT: i32 = libc::ENOENT;
    /// Connection refused.
    pub const ECONNREFUSED: i32 = libc::ECONNREFUSED;
    /// Timed out.
    pub const ETIMEDOUT: i32 = libc::ETIMEDOUT;
    /// Out of buffer space.
    pub const ENOBUFS: i32 = libc::ENOBUFS;
    /// Interrupted.
    pub const EINTR: i32 = libc::EINTR;
    /// Generic I/O error.
    pub const EIO: i32 = libc::EIO;
    /// Operation not valid in the socket's current state (libzmq-native).
    pub const EFSM: i32 = HAUSNUMERO + 51;
    /// Transport not compatible with the socket type (libzmq-native).
    pub const ENOCOMPATPROTO: i32 = HAUSNUMERO + 52;
    /// Context terminated (libzmq-native).
    pub const ETERM: i32 = HAUSNUMERO + 53;
    /// No I/O thread available (libzmq-native).
    pub const EMTHREAD: i32 = HAUSNUMERO + 54;
}

/// What went wrong; [`Error::errno`] gives the value libzmq would report.
///
/// Each variant says whose fault it is. Peer faults (malformed bytes, wrong socket type,
/// oversized frames) never appear here: they close that one connection.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Malformed endpoint string. Caller fault. (EINVAL)
    #[error("invalid endpoint: {0}")]
    InvalidEndpoint(String),
    /// Bad option value, unknown option, multipart send on PEER, routing id 0. Caller fault.
    /// (EINVAL)
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// Unknown or not compiled-in transport scheme. Caller fault. (EPROTONOSUPPORT)
    #[error("unsupported transport: {0}")]
    UnsupportedTransport(String),
    /// Transport not allowed for this socket type (`udp://` on PEER). Caller fault.
    /// (ENOCOMPATPROTO)
    #[error("transport {0} is not compatible with this socket type")]
    IncompatibleTransport(String),
    /// The context was shut down or terminated. Fatal for its sockets. (ETERM)
    #[error("the context was terminated")]
    ContextTerminated,
    /// The socket is closed. Caller fault; fatal. (ENOTSOCK)
    #[error("the socket is closed")]
    SocketClosed,
    /// The context has no I/O thread for a non-inproc endpoint. Caller's configuration.
    /// (EMTHREAD)
    #[error("no I/O thread available")]
    NoIoThread,
    /// Not supported by this socket type (`connect_peer` on non-PEER, unimplemented types).
    /// Caller fault. (ENOTSUP)
    #[error("operation not supported by this socket type")]
    NotSupported,
    /// `connect_peer` with IMMEDIATE=1. Caller fault. (EFAULT)
    #[error("connect_peer requires IMMEDIATE to be off")]
    ImmediateSet,
    /// Invalid handle, e.g. waiting forever on an empty poller. Caller fault. (EFAULT)
    #[error("invalid context or handle")]
    InvalidContext,
    /// Routing id missing, unknown, or its peer is gone. Caller fault or a peer that left.
    /// (EHOSTUNREACH)
    #[error("no peer with this routing id")]
    HostUnreachable,
    /// Would block: full pipe with DONTWAIT, nothing to receive, SNDTIMEO/RCVTIMEO expired.
    /// Not a fault. (EAGAIN)
    #[error("the operation would block")]
    WouldBlock,
    /// Address (or inproc name) already bound. Environment or caller fault. (EADDRINUSE)
    #[error("address already in use")]
    AddrInUse,
    /// Address not local. Environment or caller fault. (EADDRNOTAVAIL)
    #[error("address not available")]
    AddrNotAvailable,
    /// ipc path too long. Caller fault. (ENAMETOOLONG)
    #[error("name too long")]
    NameTooLong,
    /// `unbind`/`disconnect` of an endpoint the socket does not have. Caller fault. (ENOENT)
    #[error("endpoint not found: {0}")]
    EndpointNotFound(String),
    /// The operating system refused something. Environment fault. (the OS errno, else EIO)
    #[error("I/O error")]
    Io(#[source] std::io::Error),
    /// Another failure of a lower layer. Environment fault. (EIO)
    #[error("internal error")]
    Other(#[source] zmq_sockets::Error),
}

impl Error {
    /// The libzmq errno value of this error (the one place this mapping lives).
    #[must_use]
    pub fn errno(&self) -> i32 {
        match self {
            Self::InvalidEndpoint(_) | Self::InvalidArgument(_) => errno::EINVAL,
            Self::UnsupportedTransport(_) => errno::EPROTONOSUPPORT,
            Self::IncompatibleTransport(_) => errno::ENOCOMPATPROTO,
            Self::ContextTerminated => errno::ETERM,
            Self::SocketClosed => errno::ENOTSOCK,
            Self::NoIoThread => errno::EMTHREAD,
            Self::NotSupported => errno::ENOTSUP,
            Self::ImmediateSet | Self::InvalidContext => errno::EFAULT,
            Self::HostUnreachable => errno::EHOSTUNREACH,
            Self::WouldBlock => errno::EAGAIN,
            Self::AddrInUse => errno::EADDRINUSE,
            Self::AddrNotAvailable => errno::EADDRNOTAVAIL,
            Self::NameTooLong => errno::ENAMETOOLONG,
            Self::EndpointNotFound(_) => errno::ENOENT,
            Self::Io(e) => e.raw_os_error().unwrap_or(errno::EIO),
            Self::Other(_) => errno::EIO,
        }
    }
}

impl From<zmq_sockets::Error> for Error {
    fn from(e: zmq_sockets::Error) -> Self {
        use zmq_sockets::Error as E;
        match e {
            E::InvalidEndpoint(s) => Self::InvalidEndpoint(s),
            E::InvalidArgument(s) => Self::InvalidArgument(s),
            E::UnsupportedTransport(s) => Self::UnsupportedTransport(s),
            E::IncompatibleTransport(s) => Self::IncompatibleTransport(s),
            E::ContextTerminated => Self::ContextTerminated,
            E::SocketClosed => Self::SocketClosed,
            E::NoIoThread => Self::NoIoThread,
            E::NotSupported => Self::NotSupported,
            E::ImmediateSet => Self::ImmediateSet,
            E::InvalidContext => Self::InvalidContext,
            E::HostUnreachable => Self::HostUnreachable,
            E::WouldBlock => Self::WouldBlock,
            E::AddrInUse => Self::AddrInUse,
            E::AddrNotAvailable => Self::AddrNotAvailable,
            E::NameTooLong => Self::NameTooLong,
            E::EndpointNotFound(s) => Self::EndpointNotFound(s),
            E::Io(e) => Self::Io(e),
            other => Self::Other(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errno_table_covers_every_variant() {
        let io = || std::io::Error::from_raw_os_error(libc::ECONNRESET);
        let table: Vec<(Error, i32)> = vec![
            (Error::InvalidEndpoint("x".into()), libc::EINVAL),
            (Error::InvalidArgument("x".into()), libc::EINVAL),
            (
                Error::UnsupportedTransport("foo".into()),
                libc::EPROTONOSUPPORT,
            ),
            (Error::IncompatibleTransport("udp".into()), 156_384_712 + 52),
            (Error::ContextTerminated, 156_384_712 + 53),
            (Error::SocketClosed, libc::ENOTSOCK),
            (Error::NoIoThread, 156_384_712 + 54),
            (Error::NotSupported, libc::ENOTSUP),
            (Error::ImmediateSet, libc::EFAULT),
            (Error::InvalidContext, libc::EFAULT),
            (Error::HostUnreachable, libc::EHOSTUNREACH),
            (Error::WouldBlock, libc::EAGAIN),
            (Error::AddrInUse, libc::EADDRINUSE),
            (Error::AddrNotAvailable, libc::EADDRNOTAVAIL),
            (Error::NameTooLong, libc::ENAMETOOLONG),
            (Error::EndpointNotFound("x".into()), libc::ENOENT),
            (Error::Io(io()), libc::ECONNRESET),
            (Error::Io(std::io::Error::other("no os code")), libc::EIO),
            (Error::Other(zmq_sockets::Error::Io(io())), libc::EIO),
        ];
        for (error, expected) in &table {
            assert_eq!(error.errno(), *expected, "{error:?}");
            // Exhaustiveness guard: adding a variant without a row here fails to compile.
            match error {
                Error::InvalidEndpoint(_)
                | Error::InvalidArgument(_)
                | Error::UnsupportedTransport(_)
                | Error::IncompatibleTransport(_)
                | Error::ContextTerminated
                | Error::SocketClosed
                | Error::NoIoThread
                | Error::NotSupported
                | Error::ImmediateSet
                | Error::InvalidContext
                | Error::HostUnreachable
                | Error::WouldBlock
                | Error::AddrInUse
                | Error::AddrNotAvailable
                | Error::NameTooLong
                | Error::EndpointNotFound(_)
                | Error::Io(_)
                | Error::Other(_) => {}
            }
        }
        assert_eq!(errno::EFSM, 156_384_763);
        assert_eq!(errno::ENOCOMPATPROTO, 156_384_764);
        assert_eq!(errno::ETERM, 156_384_765);
        assert_eq!(errno::EMTHREAD, 156_384_766);
    }

    #[test]
    fn socket_errors_convert_variant_for_variant() {
        use zmq_sockets::Error as E;
        let cases: Vec<(E, i32)> = vec![
            (E::InvalidEndpoint("x".into()), errno::EINVAL),
            (E::InvalidArgument("x".into()), errno::EINVAL),
            (E::UnsupportedTransport("x".into()), errno::EPROTONOSUPPORT),
            (E::IncompatibleTransport("x".into()), errno::ENOCOMPATPROTO),
            (E::ContextTerminated, errno::ETERM),
            (E::SocketClosed, errno::ENOTSOCK),
            (E::NoIoThread, errno::EMTHREAD),
            (E::NotSupported, errno::ENOTSUP),
            (E::ImmediateSet, errno::EFAULT),
            (E::InvalidContext, errno::EFAULT),
            (E::HostUnreachable, errno::EHOSTUNREACH),
            (E::WouldBlock, errno::EAGAIN),
            (E::AddrInUse, errno::EADDRINUSE),
            (E::AddrNotAvailable, errno::EADDRNOTAVAIL),
            (E::NameTooLong, errno::ENAMETOOLONG),
            (E::EndpointNotFound("x".into()), errno::ENOENT),
            (
                E::Io(std::io::Error::from_raw_os_error(libc::EMFILE)),
                libc::EMFILE,
            ),
        ];
        for (e, expected) in cases {
            let text = format!("{e:?}");
            assert_eq!(Error::from(e).errno(), expected, "{text}");
        }
    }

    /// Bind and connect failures of the transport, through the socket layer to the facade.
    #[test]
    fn transport_errors_map_to_libzmq_errno() {
        use zmq_transport::{EndpointError, TransportError as T};
        let cases: Vec<(T, i32)> = vec![
            (T::AddrInUse, errno::EADDRINUSE),
            (T::AddrNotAvailable, errno::EADDRNOTAVAIL),
            (T::NameTooLong, errno::ENAMETOOLONG),
            (
                T::Endpoint(EndpointError::Invalid("x".into())),
                errno::EINVAL,
            ),
            (
                T::Endpoint(EndpointError::UnsupportedTransport("x".into())),
                errno::EPROTONOSUPPORT,
            ),
            (T::Endpoint(EndpointError::NameTooLong), errno::ENAMETOOLONG),
            (
                T::Io(std::io::Error::from_raw_os_error(libc::EACCES)),
                libc::EACCES,
            ),
            (T::Io(std::io::Error::other("no os code")), errno::EIO),
            (T::Shutdown, errno::ETERM),
            // wss settings that cannot be used: a caller fault, not an internal error.
            (
                T::Tls("no certificate chain (ZMQ_WSS_CERT_PEM)".into()),
                errno::EINVAL,
            ),
        ];
        for (e, expected) in cases {
            let text = format!("{e:?}");
            let error = Error::from(zmq_sockets::Error::from(e));
            assert_eq!(error.errno(), expected, "{text}");
        }
        let tls = Error::from(zmq_sockets::Error::from(T::Tls("no key".into())));
        assert!(
            matches!(&tls, Error::InvalidArgument(why) if why.contains("TLS") && why.contains("no key")),
            "{tls:?}"
        );
    }
}
