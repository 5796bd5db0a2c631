//! Connect attempts: resolve the endpoint (on the I/O thread) and start a non-blocking connect.
//! The reconnect cycle itself lives in [`crate::connection`].

use std::io;

use crate::endpoint::Endpoint;
use crate::options::{ConnOptions, TransportError};
use crate::stream::Stream;

/// Starts one connect attempt. Returns the stream and whether it is already connected.
///
/// Name resolution may block (tcp host names go through the system resolver on the I/O thread,
/// as libzmq does).
pub(crate) fn start(endpoint: &Endpoint, opts: &ConnOptions) -> io::Result<(Stream, bool)> {
    match endpoint {
        #[cfg(feature = "tcp")]
        Endpoint::Tcp(tcp) => {
            let (dst, src) = crate::tcp::resolve_connect(tcp, opts.ipv6)?;
            let (socket, done) = crate::tcp::connect(dst, src, opts)?;
            Ok((Stream::tcp(socket), done))
        }
        #[cfg(feature = "ws")]
        Endpoint::Ws(ws) | Endpoint::Wss(ws) => {
            let (dst, src) = crate::tcp::resolve_connect(&ws.tcp(), opts.ipv6)?;
            let (socket, done) = crate::tcp::connect(dst, src, opts)?;
            Ok((Stream::tcp(socket), done))
        }
        #[cfg(feature = "ipc")]
        Endpoint::Ipc(ipc) => {
            let addr = crate::ipc::connect_addr(ipc).map_err(into_io)?;
            let (socket, done) = crate::ipc::connect(&addr, opts)?;
            Ok((Stream::unix(socket), done))
        }
        _ => Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "transport not handled by the I/O thread",
        )),
    }
}

/// Checks a connect endpoint synchronously (everything but the network).
pub(crate) fn validate(endpoint: &Endpoint, opts: &ConnOptions) -> Result<(), TransportError> {
    match endpoint {
        #[cfg(feature = "tcp")]
        Endpoint::Tcp(tcp) => crate::tcp::validate_connect(tcp, opts.ipv6),
        #[cfg(feature = "ws")]
        Endpoint::Ws(ws) => validate_ws(&ws.tcp(), opts),
        #[cfg(feature = "wss")]
        Endpoint::Wss(ws) => validate_ws(&ws.tcp(), opts),
        #[cfg(feature = "ipc")]
        Endpoint::Ipc(ipc) => crate::ipc::connect_addr(ipc).map(drop),
        other => Err(crate::endpoint::EndpointError::UnsupportedTransport(
            other.scheme().as_str().to_owned(),
        )
        .into()),
    }
}

/// Checks a ws / wss connect address, resolving its host name now.
///
/// Unlike tcp, libzmq resolves a ws host synchronously inside `zmq_connect`, so a name that
/// does not resolve is `EINVAL` at once (PROTOCOL.md §6.1); each attempt resolves it again on
/// the I/O thread. Numeric addresses need no lookup.
#[cfg(feature = "ws")]
fn validate_ws(
    tcp: &crate::endpoint::TcpEndpoint,
    opts: &ConnOptions,
) -> Result<(), TransportError> {
    crate::tcp::validate_connect(tcp, opts.ipv6)?;
    crate::tcp::resolve_connect(tcp, opts.ipv6)
        .map(drop)
        .map_err(|err| {
            crate::endpoint::EndpointError::Invalid(format!("cannot resolve {}: {err}", tcp.host))
                .into()
        })
}

#[cfg(feature = "ipc")]
fn into_io(err: TransportError) -> io::Error {
    match err {
        TransportError::Io(e) => e,
        other => io::Error::new(io::ErrorKind::InvalidInput, other.to_string()),
    }
}
