//! The thread-safe socket handle and its typed option accessors.

use zmq_sockets::options::number;

use crate::{Error, Message, Monitor, PollEvents, RoutingId, SocketType};

/// A thread-safe socket (PEER, SERVER or CLIENT).
///
/// Cheap to clone (a handle to one shared socket) and usable from many threads at once: no
/// call takes a socket-wide lock on the message paths. Dropping the last clone closes the
/// socket like [`Socket::close`].
#[derive(Clone, Debug)]
pub struct Socket {
    inner: zmq_sockets::Socket,
}

/// Generates a typed getter/setter pair over an integer option.
macro_rules! int_option {
    ($(#[$doc:meta])* $set:ident, $get:ident, $num:expr) => {
        $(#[$doc])*
        ///
        /// # Errors
        /// [`Error::InvalidArgument`] (EINVAL) for a value libzmq refuses;
        /// [`Error::SocketClosed`], [`Error::ContextTerminated`].
        pub fn $set(&self, value: i32) -> Result<(), Error> {
            self.set_option_int($num, value)
        }

        $(#[$doc])*
        ///
        /// # Errors
        /// [`Error::SocketClosed`], [`Error::ContextTerminated`].
        pub fn $get(&self) -> Result<i32, Error> {
            self.option_int($num)
        }
    };
}

/// Generates a typed getter/setter pair over a 0/1 option.
macro_rules! bool_option {
    ($(#[$doc:meta])* $set:ident, $get:ident, $num:expr) => {
        $(#[$doc])*
        ///
        /// # Errors
        /// [`Error::SocketClosed`], [`Error::ContextTerminated`].
        pub fn $set(&self, value: bool) -> Result<(), Error> {
            self.set_option_int($num, i32::from(value))
        }

        $(#[$doc])*
        ///
        /// # Errors
        /// [`Error::SocketClosed`], [`Error::ContextTerminated`].
        pub fn $get(&self) -> Result<bool, Error> {
            self.option_int($num).map(|v| v != 0)
        }
    };
}

impl Socket {
    pub(crate) fn from_inner(inner: zmq_sockets::Socket) -> Self {
        Self { inner }
    }

    pub(crate) fn inner(&self) -> &zmq_sockets::Socket {
        &self.inner
    }

    /// The socket's type.
    #[must_use]
    pub fn socket_type(&self) -> SocketType {
        self.inner.socket_type()
    }

    /// Accepts connections on `endpoint`: `tcp://127.0.0.1:*`, `ipc://*`, `ipc://@name`,
    /// `inproc://name`, `ws://127.0.0.1:*/path`, `wss://...`. Read the resolved address with
    /// [`Socket::last_endpoint`].
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] (EINVAL) for a wss bind without a usable certificate and
    /// key (set with [`Socket::set_wss_certificate`]; the text says what is wrong);
    /// [`Error::InvalidEndpoint`] (EINVAL), [`Error::UnsupportedTransport`]
    /// (EPROTONOSUPPORT), [`Error::IncompatibleTransport`] (ENOCOMPATPROTO),
    /// [`Error::AddrInUse`], [`Error::AddrNotAvailable`], [`Error::NameTooLong`],
    /// [`Error::NoIoThread`] (EMTHREAD), [`Error::ContextTerminated`] (ETERM),
    /// [`Error::SocketClosed`] (ENOTSOCK), [`Error::Io`].
    pub fn bind(&self, endpoint: &str) -> Result<(), Error> {
        Ok(self.inner.bind(endpoint)?)
    }

    /// Stops listening on a bound endpoint (as given or as resolved) and ends the connections
    /// accepted through it, as libzmq's `zmq_unbind`: their routing ids become unknown
    /// (EHOSTUNREACH) at once, messages queued for them are flushed within LINGER, and
    /// messages they already delivered stay readable. `inproc://` only releases the name.
    ///
    /// # Errors
    /// [`Error::EndpointNotFound`] (ENOENT) if not bound; [`Error::SocketClosed`],
    /// [`Error::ContextTerminated`].
    pub fn unbind(&self, endpoint: &str) -> Result<(), Error> {
        Ok(self.inner.unbind(endpoint)?)
    }

    /// Connects to `endpoint` in the background (with reconnects).
    ///
    /// # Errors
    /// As [`Socket::connect_peer`], except that every socket type may connect.
    pub fn connect(&self, endpoint: &str) -> Result<(), Error> {
        Ok(self.inner.connect(endpoint)?)
    }

    /// Connects to `endpoint` and returns the new connection's routing id at once (PEER only).
    /// Messages sent to it queue (up to SNDHWM) until the connection is up.
    ///
    /// # Errors
    /// [`Error::NotSupported`] (ENOTSUP) on a non-PEER socket; [`Error::ImmediateSet`]
    /// (EFAULT) with IMMEDIATE=1; [`Error::InvalidArgument`] (EINVAL) for a wss endpoint
    /// without usable trust settings; [`Error::InvalidEndpoint`] (EINVAL),
    /// [`Error::UnsupportedTransport`] (EPROTONOSUPPORT), [`Error::IncompatibleTransport`]
    /// (ENOCOMPATPROTO), [`Error::NameTooLong`] (ENAMETOOLONG) for bad endpoints;
    /// [`Error::NoIoThread`] (EMTHREAD); [`Error::ContextTerminated`] (ETERM);
    /// [`Error::SocketClosed`] (ENOTSOCK).
    pub fn connect_peer(&self, endpoint: &str) -> Result<RoutingId, Error> {
        Ok(self.inner.connect_peer(endpoint)?)
    }

    /// Tears down the connections made to `endpoint`; their routing ids become unknown.
    ///
    /// # Errors
    /// [`Error::EndpointNotFound`] (ENOENT) if not connected; [`Error::SocketClosed`],
    /// [`Error::ContextTerminated`].
    pub fn disconnect(&self, endpoint: &str) -> Result<(), Error> {
        Ok(self.inner.disconnect(endpoint)?)
    }

    /// `ZMQ_LAST_ENDPOINT`: the last bound (resolved) or connected (as given) endpoint.
    ///
    /// # Errors
    /// [`Error::SocketClosed`], [`Error::ContextTerminated`].
    pub fn last_endpoint(&self) -> Result<String, Error> {
        Ok(self.inner.last_endpoint()?)
    }

    /// Sends to the message's routing id, blocking while the peer's pipe is full (up to
    /// SNDTIMEO). Never drops a message on HWM.
    ///
    /// # Errors
    /// [`Error::HostUnreachable`] (EHOSTUNREACH) for a missing, unknown or gone routing id;
    /// [`Error::WouldBlock`] (EAGAIN) when SNDTIMEO expires; [`Error::ContextTerminated`],
    /// [`Error::SocketClosed`].
    pub fn send(&self, msg: Message) -> Result<(), Error> {
        Ok(self.inner.send(msg)?)
    }

    /// Sends without blocking (`ZMQ_DONTWAIT`).
    ///
    /// # Errors
    /// [`Error::WouldBlock`] (EAGAIN) when the pipe is full; otherwise as [`Socket::send`].
    pub fn try_send(&self, msg: Message) -> Result<(), Error> {
        Ok(self.inner.try_send(msg)?)
    }

    /// A `ZMQ_SNDMORE` send, which PEER, SERVER and CLIENT refuse.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] (EINVAL).
    pub fn send_more(&self, msg: Message) -> Result<(), Error> {
        Ok(self.inner.send_more(msg)?)
    }

    /// Receives the next message, fair-queued across peers, blocking up to RCVTIMEO. The
    /// message carries the sender's routing id and its connection's metadata.
    ///
    /// # Errors
    /// [`Error::WouldBlock`] (EAGAIN) when RCVTIMEO expires; [`Error::ContextTerminated`],
    /// [`Error::SocketClosed`].
    pub fn recv(&self) -> Result<Message, Error> {
        Ok(self.inner.recv()?)
    }

    /// Receives without blocking (`ZMQ_DONTWAIT`).
    ///
    /// # Errors
    /// [`Error::WouldBlock`] (EAGAIN) when nothing is waiting; otherwise as [`Socket::recv`].
    pub fn try_recv(&self) -> Result<Message, Error> {
        Ok(self.inner.try_recv()?)
    }

    /// Closes the socket for every clone (they then get [`Error::SocketClosed`], ENOTSOCK).
    /// Queued outbound messages get LINGER to be flushed.
    ///
    /// # Errors
    /// [`Error::SocketClosed`] if another clone already closed it.
    pub fn close(self) -> Result<(), Error> {
        Ok(self.inner.close()?)
    }

    /// Sets an integer option by libzmq number (`ZMQ_SNDHWM` = 23, ...).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] (EINVAL) for unknown/read-only options or bad values;
    /// [`Error::SocketClosed`], [`Error::ContextTerminated`].
    pub fn set_option_int(&self, option: i32, value: i32) -> Result<(), Error> {
        Ok(self.inner.set_option_int(option, value)?)
    }

    /// Reads an integer option by libzmq number: `ZMQ_TYPE` (16) → 19 for PEER,
    /// `ZMQ_THREAD_SAFE` (81) → 1, `ZMQ_RCVMORE` (13) → 0, `ZMQ_EVENTS` (15) → poll bits.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] (EINVAL) for unknown options and `ZMQ_FD` (14);
    /// [`Error::SocketClosed`], [`Error::ContextTerminated`].
    pub fn option_int(&self, option: i32) -> Result<i32, Error> {
        Ok(self.inner.option_int(option)?)
    }

    /// Sets a binary option by libzmq number (`ZMQ_ROUTING_ID`, `ZMQ_METADATA`, ...).
    ///
    /// # Errors
    /// As [`Socket::set_option_int`].
    pub fn set_option_bytes(&self, option: i32, value: &[u8]) -> Result<(), Error> {
        Ok(self.inner.set_option_bytes(option, value)?)
    }

    /// Reads a binary option by libzmq number (`ZMQ_ROUTING_ID`, `ZMQ_LAST_ENDPOINT`, ...).
    ///
    /// # Errors
    /// As [`Socket::option_int`].
    pub fn option_bytes(&self, option: i32) -> Result<bytes::Bytes, Error> {
        Ok(self.inner.option_bytes(option)?)
    }

    int_option!(
        /// `ZMQ_SNDHWM`: messages queued per peer before send blocks (default 1000, 0 = unlimited).
        set_sndhwm, sndhwm, number::SNDHWM
    );
    int_option!(
        /// `ZMQ_RCVHWM`: messages queued per peer before reading stops (default 1000).
        set_rcvhwm, rcvhwm, number::RCVHWM
    );
    int_option!(
        /// `ZMQ_LINGER`: ms to flush queued messages at close (default -1 = forever).
        set_linger, linger, number::LINGER
    );
    int_option!(
        /// `ZMQ_RECONNECT_IVL`: ms between reconnects (default 100; -1 or 0 = never).
        set_reconnect_ivl, reconnect_ivl, number::RECONNECT_IVL
    );
    int_option!(
        /// `ZMQ_RECONNECT_IVL_MAX`: ms cap of the exponential backoff (default 0 = fixed).
        set_reconnect_ivl_max, reconnect_ivl_max, number::RECONNECT_IVL_MAX
    );
    int_option!(
        /// `ZMQ_CONNECT_TIMEOUT`: ms per connect attempt (default 0 = OS).
        set_connect_timeout, connect_timeout, number::CONNECT_TIMEOUT
    );
    int_option!(
        /// `ZMQ_SNDTIMEO`: ms a blocking send waits (default -1 = forever).
        set_sndtimeo, sndtimeo, number::SNDTIMEO
    );
    int_option!(
        /// `ZMQ_RCVTIMEO`: ms a blocking recv waits (default -1 = forever).
        set_rcvtimeo, rcvtimeo, number::RCVTIMEO
    );
    int_option!(
        /// `ZMQ_HEARTBEAT_IVL`: ms between PINGs (default 0 = off).
        set_heartbeat_ivl, heartbeat_ivl, number::HEARTBEAT_IVL
    );
    int_option!(
        /// `ZMQ_HEARTBEAT_TTL`: ms (0..=6553599), reads back as `(v / 100) * 100`.
        set_heartbeat_ttl, heartbeat_ttl, number::HEARTBEAT_TTL
    );
    int_option!(
        /// `ZMQ_HEARTBEAT_TIMEOUT`: ms without traffic after a PING (default -1 = interval).
        set_heartbeat_timeout, heartbeat_timeout, number::HEARTBEAT_TIMEOUT
    );
    int_option!(
        /// `ZMQ_HANDSHAKE_IVL`: ms to complete the handshake (default 30000, 0 = no limit).
        set_handshake_ivl, handshake_ivl, number::HANDSHAKE_IVL
    );
    int_option!(
        /// `ZMQ_TCP_KEEPALIVE`: -1 = OS default, 0 = off, 1 = on.
        set_tcp_keepalive, tcp_keepalive, number::TCP_KEEPALIVE
    );
    int_option!(
        /// `ZMQ_TCP_KEEPALIVE_CNT` (default -1 = OS).
        set_tcp_keepalive_cnt, tcp_keepalive_cnt, number::TCP_KEEPALIVE_CNT
    );
    int_option!(
        /// `ZMQ_TCP_KEEPALIVE_IDLE`: seconds (default -1 = OS).
        set_tcp_keepalive_idle, tcp_keepalive_idle, number::TCP_KEEPALIVE_IDLE
    );
    int_option!(
        /// `ZMQ_TCP_KEEPALIVE_INTVL`: seconds (default -1 = OS).
        set_tcp_keepalive_intvl, tcp_keepalive_intvl, number::TCP_KEEPALIVE_INTVL
    );
    int_option!(
        /// `ZMQ_BACKLOG`: listen backlog (default 100).
        set_backlog, backlog, number::BACKLOG
    );
    int_option!(
        /// `ZMQ_SNDBUF`: kernel send buffer (default -1 = OS).
        set_sndbuf, sndbuf, number::SNDBUF
    );
    int_option!(
        /// `ZMQ_RCVBUF`: kernel receive buffer (default -1 = OS).
        set_rcvbuf, rcvbuf, number::RCVBUF
    );
    bool_option!(
        /// `ZMQ_IMMEDIATE` (default false; must stay false for `connect_peer`).
        set_immediate, immediate, number::IMMEDIATE
    );
    bool_option!(
        /// `ZMQ_IPV6` (default false).
        set_ipv6, ipv6, number::IPV6
    );

    /// `ZMQ_MAXMSGSIZE`: largest inbound message in bytes (default -1 = unlimited); a peer
    /// sending more is disconnected.
    ///
    /// # Errors
    /// [`Error::SocketClosed`], [`Error::ContextTerminated`].
    pub fn set_maxmsgsize(&self, value: i64) -> Result<(), Error> {
        Ok(self.inner.set_option_i64(number::MAXMSGSIZE, value)?)
    }

    /// `ZMQ_MAXMSGSIZE` (default -1).
    ///
    /// # Errors
    /// [`Error::SocketClosed`], [`Error::ContextTerminated`].
    pub fn maxmsgsize(&self) -> Result<i64, Error> {
        Ok(self.inner.option_i64(number::MAXMSGSIZE)?)
    }

    /// `ZMQ_ROUTING_ID`: 1..=255 octets (announced in the greeting; not used for routing by
    /// PEER).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] (EINVAL) for an empty or over-long id.
    pub fn set_routing_id(&self, value: &[u8]) -> Result<(), Error> {
        self.set_option_bytes(number::ROUTING_ID, value)
    }

    /// `ZMQ_ROUTING_ID` (default empty).
    ///
    /// # Errors
    /// [`Error::SocketClosed`], [`Error::ContextTerminated`].
    pub fn routing_id(&self) -> Result<bytes::Bytes, Error> {
        self.option_bytes(number::ROUTING_ID)
    }

    /// `ZMQ_METADATA`: adds an `X-name` property to the READY this socket sends.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] (EINVAL) unless `name` starts with `X-`.
    pub fn set_metadata(&self, name: &str, value: &str) -> Result<(), Error> {
        self.set_option_bytes(number::METADATA, format!("{name}:{value}").as_bytes())
    }

    /// `ZMQ_WSS_CERT_PEM` and `ZMQ_WSS_KEY_PEM`: the certificate chain (leaf first) and the
    /// private key a wss listener presents, PEM.
    ///
    /// # Errors
    /// [`Error::SocketClosed`], [`Error::ContextTerminated`].
    pub fn set_wss_certificate(&self, cert_chain_pem: &str, key_pem: &str) -> Result<(), Error> {
        self.set_option_bytes(number::WSS_CERT_PEM, cert_chain_pem.as_bytes())?;
        self.set_option_bytes(number::WSS_KEY_PEM, key_pem.as_bytes())
    }

    /// `ZMQ_WSS_TRUST_PEM`: root certificates a wss client trusts, PEM.
    ///
    /// # Errors
    /// [`Error::SocketClosed`], [`Error::ContextTerminated`].
    pub fn set_wss_trust_pem(&self, pem: &str) -> Result<(), Error> {
        self.set_option_bytes(number::WSS_TRUST_PEM, pem.as_bytes())
    }

    /// `ZMQ_WSS_HOSTNAME`: the name a wss client sends (SNI) and checks in the server's
    /// certificate. Unset or empty (the default), the chain is still verified against the
    /// trusted roots but no name is checked, as libzmq.
    ///
    /// # Errors
    /// [`Error::SocketClosed`], [`Error::ContextTerminated`].
    pub fn set_wss_hostname(&self, hostname: &str) -> Result<(), Error> {
        self.set_option_bytes(number::WSS_HOSTNAME, hostname.as_bytes())
    }

    bool_option!(
        /// `ZMQ_WSS_TRUST_SYSTEM`: a wss client also trusts the system's roots (default false).
        set_wss_trust_system, wss_trust_system, number::WSS_TRUST_SYSTEM
    );

    /// `POLLIN` if a message is waiting; `POLLOUT` always for PEER (as libzmq).
    #[must_use]
    pub fn events(&self) -> PollEvents {
        self.inner.events()
    }

    /// Starts monitoring this socket's connection events (libzmq's `zmq_socket_monitor`, as
    /// Rust values): listening, accepted, connected, handshake succeeded or failed (with a
    /// readable reason, e.g. `TLS error: invalid peer certificate: UnknownIssuer`),
    /// disconnected, connect retried, closed. See [`MonitorEvent`](crate::MonitorEvent) for
    /// the libzmq mapping.
    ///
    /// The monitor sees events from now on, holds at most
    /// [`MONITOR_CAPACITY`](crate::MONITOR_CAPACITY) of them (dropping the oldest), and ends
    /// with `MonitorStopped` when the socket closes. Several monitors may watch one socket.
    /// Monitoring costs nothing on the message paths.
    ///
    /// # Errors
    /// [`Error::SocketClosed`] (ENOTSOCK), [`Error::ContextTerminated`] (ETERM).
    pub fn monitor(&self) -> Result<Monitor, Error> {
        Ok(self.inner.monitor()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Context, errno};

    #[test]
    fn typed_options_round_trip_and_validate() {
        let ctx = Context::with_io_threads(0).unwrap();
        let s = ctx.socket(SocketType::Peer).unwrap();
        assert_eq!(s.sndhwm().unwrap(), 1000);
        assert_eq!(s.linger().unwrap(), -1);
        assert_eq!(s.heartbeat_timeout().unwrap(), -1);
        assert_eq!(s.handshake_ivl().unwrap(), 30_000);
        assert_eq!(s.maxmsgsize().unwrap(), -1);
        assert!(!s.immediate().unwrap());
        s.set_sndhwm(5).unwrap();
        assert_eq!(s.sndhwm().unwrap(), 5);
        s.set_heartbeat_ttl(99).unwrap();
        assert_eq!(s.heartbeat_ttl().unwrap(), 0);
        s.set_heartbeat_ttl(6_553_599).unwrap();
        assert_eq!(
            s.set_heartbeat_ttl(6_553_600).unwrap_err().errno(),
            errno::EINVAL
        );
        assert_eq!(s.set_linger(-2).unwrap_err().errno(), errno::EINVAL);
        s.set_maxmsgsize(1 << 33).unwrap();
        assert_eq!(s.maxmsgsize().unwrap(), 1 << 33);
        s.set_immediate(true).unwrap();
        assert!(s.immediate().unwrap());
        assert_eq!(
            s.connect_peer("inproc://x").unwrap_err().errno(),
            errno::EFAULT
        );
        s.set_ipv6(true).unwrap();
        assert!(s.ipv6().unwrap());
        s.set_routing_id(b"abc").unwrap();
        assert_eq!(&s.routing_id().unwrap()[..], b"abc");
        assert_eq!(
            s.set_metadata("Foo", "bar").unwrap_err().errno(),
            errno::EINVAL
        );
        s.set_metadata("X-Foo", "bar").unwrap();
        s.set_wss_certificate("CERT", "KEY").unwrap();
        s.set_wss_trust_pem("ROOTS").unwrap();
        s.set_wss_hostname("example.test").unwrap();
        s.set_wss_trust_system(true).unwrap();
        assert!(s.wss_trust_system().unwrap());
        assert_eq!(
            &s.option_bytes(number::WSS_HOSTNAME).unwrap()[..],
            b"example.test"
        );
        assert_eq!(s.option_int(16).unwrap(), 19);
        assert_eq!(s.option_int(81).unwrap(), 1);
        assert_eq!(s.option_int(13).unwrap(), 0);
        assert_eq!(s.option_int(14).unwrap_err().errno(), errno::EINVAL);
        assert_eq!(s.option_int(15).unwrap(), 2);
    }

    #[test]
    fn connect_peer_errno_values() {
        let ctx = Context::with_io_threads(0).unwrap();
        let server = ctx.socket(SocketType::Server).unwrap();
        assert_eq!(
            server.connect_peer("inproc://a").unwrap_err().errno(),
            errno::ENOTSUP
        );
        let s = ctx.socket(SocketType::Peer).unwrap();
        assert_eq!(
            s.connect_peer("foo://x").unwrap_err().errno(),
            errno::EPROTONOSUPPORT
        );
        assert_eq!(
            s.connect_peer("udp://127.0.0.1:1").unwrap_err().errno(),
            errno::ENOCOMPATPROTO
        );
        assert_eq!(
            s.connect_peer("tcp://localhost").unwrap_err().errno(),
            errno::EINVAL
        );
        assert_eq!(
            s.connect_peer("tcp://127.0.0.1:5555").unwrap_err().errno(),
            errno::EMTHREAD
        );
        let closed = s.clone();
        s.close().unwrap();
        assert_eq!(
            closed.connect_peer("inproc://a").unwrap_err().errno(),
            errno::ENOTSOCK
        );
        let t = ctx.socket(SocketType::Peer).unwrap();
        ctx.shutdown();
        assert_eq!(
            t.connect_peer("inproc://a").unwrap_err().errno(),
            errno::ETERM
        );
    }

    #[test]
    fn send_errno_values() {
        let ctx = Context::with_io_threads(0).unwrap();
        let s = ctx.socket(SocketType::Peer).unwrap();
        s.set_sndhwm(1).unwrap();
        let id = s.connect_peer("inproc://nobody").unwrap();
        assert_eq!(
            s.send(Message::from("x")).unwrap_err().errno(),
            errno::EHOSTUNREACH
        );
        assert_eq!(
            s.send_more(Message::with_routing_id("x", id))
                .unwrap_err()
                .errno(),
            errno::EINVAL
        );
        s.try_send(Message::with_routing_id("x", id)).unwrap();
        assert_eq!(
            s.try_send(Message::with_routing_id("x", id))
                .unwrap_err()
                .errno(),
            errno::EAGAIN
        );
        assert_eq!(s.try_recv().unwrap_err().errno(), errno::EAGAIN);
    }
}
