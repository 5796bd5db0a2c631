//! Byte streams and listening sockets of the stream transports (tcp, ipc) as one mio source each.

use std::io::{self, IoSlice, Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};

use mio::event::Source;
use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};
use socket2::{SockRef, Socket};

use crate::options::ConnOptions;

/// A connected stream (or one whose connect is in progress).
#[derive(Debug)]
pub(crate) enum Stream {
    #[cfg(feature = "tcp")]
    Tcp(mio::net::TcpStream),
    #[cfg(feature = "ipc")]
    Unix(mio::net::UnixStream),
}

impl Stream {
    /// Wraps a tcp socket from socket2 (already non-blocking).
    #[cfg(feature = "tcp")]
    pub(crate) fn tcp(socket: Socket) -> Self {
        Self::Tcp(mio::net::TcpStream::from_std(std::net::TcpStream::from(
            OwnedFd::from(socket),
        )))
    }

    /// Wraps a Unix-domain socket from socket2 (already non-blocking).
    #[cfg(feature = "ipc")]
    pub(crate) fn unix(socket: Socket) -> Self {
        Self::Unix(mio::net::UnixStream::from_std(
            std::os::unix::net::UnixStream::from(OwnedFd::from(socket)),
        ))
    }

    /// The tcp socket inside (ws and wss run on tcp); `None` for other streams.
    #[cfg(feature = "ws")]
    pub(crate) fn into_tcp(self) -> Option<mio::net::TcpStream> {
        match self {
            Self::Tcp(s) => Some(s),
            #[cfg(feature = "ipc")]
            Self::Unix(_) => None,
        }
    }

    /// Reads into `buf`. Takes `&self`: a live stream is shared between its I/O thread, which
    /// reads and writes, and application threads writing to it directly (`crate::lane`).
    pub(crate) fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        match *self {
            #[cfg(feature = "tcp")]
            Self::Tcp(ref s) => Read::read(&mut &*s, buf),
            #[cfg(feature = "ipc")]
            Self::Unix(ref s) => Read::read(&mut &*s, buf),
        }
    }

    /// Writes from `bufs` in order (one `writev`); see [`Stream::read`] on `&self`.
    pub(crate) fn write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match *self {
            #[cfg(feature = "tcp")]
            Self::Tcp(ref s) => Write::write_vectored(&mut &*s, bufs),
            #[cfg(feature = "ipc")]
            Self::Unix(ref s) => Write::write_vectored(&mut &*s, bufs),
        }
    }

    /// Registers the stream again after [`Stream::deregister_shared`], through a shared
    /// reference.
    pub(crate) fn register_shared(
        &self,
        registry: &Registry,
        token: Token,
        interests: Interest,
    ) -> io::Result<()> {
        registry.register(&mut SourceFd(&self.raw_fd()), token, interests)
    }

    /// Changes the interest of a stream registered earlier, through a shared reference (by
    /// its descriptor, which is all epoll knows of it).
    pub(crate) fn reregister_shared(
        &self,
        registry: &Registry,
        token: Token,
        interests: Interest,
    ) -> io::Result<()> {
        registry.reregister(&mut SourceFd(&self.raw_fd()), token, interests)
    }

    /// Removes a stream registered earlier from the poll, through a shared reference.
    pub(crate) fn deregister_shared(&self, registry: &Registry) -> io::Result<()> {
        registry.deregister(&mut SourceFd(&self.raw_fd()))
    }

    fn raw_fd(&self) -> std::os::fd::RawFd {
        match *self {
            #[cfg(feature = "tcp")]
            Self::Tcp(ref s) => s.as_raw_fd(),
            #[cfg(feature = "ipc")]
            Self::Unix(ref s) => s.as_raw_fd(),
        }
    }

    /// Completion of a non-blocking connect: `Ok(true)` connected, `Ok(false)` still in
    /// progress, `Err` failed.
    pub(crate) fn connect_status(&self) -> io::Result<bool> {
        let (error, peer): (io::Result<Option<io::Error>>, io::Result<()>) = match *self {
            #[cfg(feature = "tcp")]
            Self::Tcp(ref s) => (s.take_error(), s.peer_addr().map(drop)),
            #[cfg(feature = "ipc")]
            Self::Unix(ref s) => (s.take_error(), s.peer_addr().map(drop)),
        };
        if let Some(err) = error? {
            return Err(err);
        }
        match peer {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(false),
            Err(e) => Err(e),
        }
    }
}

impl Source for Stream {
    fn register(
        &mut self,
        registry: &Registry,
        token: Token,
        interests: Interest,
    ) -> io::Result<()> {
        match *self {
            #[cfg(feature = "tcp")]
            Self::Tcp(ref mut s) => s.register(registry, token, interests),
            #[cfg(feature = "ipc")]
            Self::Unix(ref mut s) => s.register(registry, token, interests),
        }
    }

    fn reregister(
        &mut self,
        registry: &Registry,
        token: Token,
        interests: Interest,
    ) -> io::Result<()> {
        match *self {
            #[cfg(feature = "tcp")]
            Self::Tcp(ref mut s) => s.reregister(registry, token, interests),
            #[cfg(feature = "ipc")]
            Self::Unix(ref mut s) => s.reregister(registry, token, interests),
        }
    }

    fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
        match *self {
            #[cfg(feature = "tcp")]
            Self::Tcp(ref mut s) => s.deregister(registry),
            #[cfg(feature = "ipc")]
            Self::Unix(ref mut s) => s.deregister(registry),
        }
    }
}

/// A listening socket.
#[derive(Debug)]
pub(crate) enum ListenSocket {
    #[cfg(feature = "tcp")]
    Tcp(mio::net::TcpListener),
    #[cfg(feature = "ipc")]
    Unix(mio::net::UnixListener),
}

impl ListenSocket {
    #[cfg(feature = "tcp")]
    pub(crate) fn tcp(socket: Socket) -> Self {
        Self::Tcp(mio::net::TcpListener::from_std(
            std::net::TcpListener::from(OwnedFd::from(socket)),
        ))
    }

    #[cfg(feature = "ipc")]
    pub(crate) fn unix(socket: Socket) -> Self {
        Self::Unix(mio::net::UnixListener::from_std(
            std::os::unix::net::UnixListener::from(OwnedFd::from(socket)),
        ))
    }

    /// Accepts one connection and tunes it; `None` for the remote string means "use the
    /// listener's endpoint" (ipc peers are unnamed).
    pub(crate) fn accept(&self, opts: &ConnOptions) -> io::Result<(Stream, Option<String>)> {
        match *self {
            #[cfg(feature = "tcp")]
            Self::Tcp(ref l) => {
                let (stream, addr) = l.accept()?;
                // A failure to tune is not worth refusing the connection over.
                let _ = crate::tcp::tune(&SockRef::from(&stream), opts);
                Ok((Stream::Tcp(stream), Some(crate::tcp::endpoint_string(addr))))
            }
            #[cfg(feature = "ipc")]
            Self::Unix(ref l) => {
                let (stream, _) = l.accept()?;
                let _ = buffers(&SockRef::from(&stream), opts);
                Ok((Stream::Unix(stream), None))
            }
        }
    }
}

impl Source for ListenSocket {
    fn register(
        &mut self,
        registry: &Registry,
        token: Token,
        interests: Interest,
    ) -> io::Result<()> {
        match *self {
            #[cfg(feature = "tcp")]
            Self::Tcp(ref mut s) => s.register(registry, token, interests),
            #[cfg(feature = "ipc")]
            Self::Unix(ref mut s) => s.register(registry, token, interests),
        }
    }

    fn reregister(
        &mut self,
        registry: &Registry,
        token: Token,
        interests: Interest,
    ) -> io::Result<()> {
        match *self {
            #[cfg(feature = "tcp")]
            Self::Tcp(ref mut s) => s.reregister(registry, token, interests),
            #[cfg(feature = "ipc")]
            Self::Unix(ref mut s) => s.reregister(registry, token, interests),
        }
    }

    fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
        match *self {
            #[cfg(feature = "tcp")]
            Self::Tcp(ref mut s) => s.deregister(registry),
            #[cfg(feature = "ipc")]
            Self::Unix(ref mut s) => s.deregister(registry),
        }
    }
}

/// Applies `SO_SNDBUF` / `SO_RCVBUF` when set (>= 0, as libzmq).
pub(crate) fn buffers(socket: &SockRef<'_>, opts: &ConnOptions) -> io::Result<()> {
    if let Ok(size) = usize::try_from(opts.sndbuf) {
        socket.set_send_buffer_size(size)?;
    }
    if let Ok(size) = usize::try_from(opts.rcvbuf) {
        socket.set_recv_buffer_size(size)?;
    }
    Ok(())
}
