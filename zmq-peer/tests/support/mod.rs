//! Shared helpers for the zmq-peer integration tests: the transport list, unique endpoints, bounded
//! waits and a hand-written ZMTP 3.1 peer over a plain `TcpStream`.
#![allow(
    dead_code,
    reason = "every test crate includes this module and uses a different subset of it"
)]

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{OnceLock, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use zmq_peer::{Context, Error, Message, RoutingId, Socket, SocketType};

/// Upper bound for every wait in the tests (receive timeouts, polls for a state change).
pub(crate) const WAIT: Duration = Duration::from_secs(5);

/// `WAIT` in milliseconds, for RCVTIMEO / SNDTIMEO.
pub(crate) const WAIT_MS: i32 = 5000;

/// The transports every parameterised suite runs over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Transport {
    /// `tcp://127.0.0.1:*`.
    Tcp,
    /// `ipc://<tempdir>/x`.
    IpcPath,
    /// `ipc://@<unique name>` (Linux abstract namespace).
    IpcAbstract,
    /// `inproc://<unique name>`, bound before the connect.
    InprocBindFirst,
    /// `inproc://<unique name>`, connected (and the first message queued) before the bind.
    InprocConnectFirst,
    /// `ws://127.0.0.1:*/peer` (ZWS 2.0; only with the `ws` feature).
    #[cfg(feature = "ws")]
    Ws,
    /// `wss://127.0.0.1:*/peer` (ZWS 2.0 over TLS; only with the `wss` feature). Sockets made
    /// with [`Transport::peer`] carry the process's [`test_cert`] and trust it.
    #[cfg(feature = "wss")]
    Wss,
}

/// Every transport, in the order the suites list them.
pub(crate) const ALL_TRANSPORTS: &[Transport] = &[
    Transport::Tcp,
    Transport::IpcPath,
    Transport::IpcAbstract,
    Transport::InprocBindFirst,
    Transport::InprocConnectFirst,
    #[cfg(feature = "ws")]
    Transport::Ws,
    #[cfg(feature = "wss")]
    Transport::Wss,
];

/// An endpoint to bind, plus whatever must live as long as it (the temp dir of an ipc path).
#[derive(Debug)]
pub(crate) struct TestEndpoint {
    /// The string given to `bind` (may contain a wildcard).
    pub(crate) bind: String,
    _dir: Option<tempfile::TempDir>,
}

impl Transport {
    /// A fresh, unique endpoint for this transport.
    pub(crate) fn endpoint(self) -> TestEndpoint {
        match self {
            Self::Tcp => TestEndpoint {
                bind: "tcp://127.0.0.1:*".to_owned(),
                _dir: None,
            },
            Self::IpcPath => {
                let dir = tempdir();
                let bind = format!("ipc://{}/x", dir.path().display());
                TestEndpoint {
                    bind,
                    _dir: Some(dir),
                }
            }
            Self::IpcAbstract => TestEndpoint {
                bind: format!("ipc://@{}", unique_name("zmq-peer-test")),
                _dir: None,
            },
            #[cfg(feature = "ws")]
            Self::Ws => TestEndpoint {
                bind: "ws://127.0.0.1:*/peer".to_owned(),
                _dir: None,
            },
            #[cfg(feature = "wss")]
            Self::Wss => TestEndpoint {
                bind: "wss://127.0.0.1:*/peer".to_owned(),
                _dir: None,
            },
            Self::InprocBindFirst | Self::InprocConnectFirst => TestEndpoint {
                bind: format!("inproc://{}", unique_name("peer")),
                _dir: None,
            },
        }
    }

    /// Whether the connect (and a first send) happens before the bind.
    pub(crate) fn connect_first(self) -> bool {
        self == Self::InprocConnectFirst
    }

    /// Whether messages carry connection metadata (`Socket-Type`, ...): every ZMTP transport.
    pub(crate) fn has_metadata(self) -> bool {
        !matches!(self, Self::InprocBindFirst | Self::InprocConnectFirst)
    }

    /// Whether the connection runs over TCP (so `Peer-Address` is the peer's IP).
    pub(crate) fn is_tcp_based(self) -> bool {
        match self {
            Self::Tcp => true,
            #[cfg(feature = "ws")]
            Self::Ws => true,
            #[cfg(feature = "wss")]
            Self::Wss => true,
            _ => false,
        }
    }

    /// Whether the connecter reconnects after the connection drops (stream transports).
    pub(crate) fn reconnects(self) -> bool {
        !matches!(self, Self::InprocBindFirst | Self::InprocConnectFirst)
    }

    /// A PEER socket as [`peer`] makes it, plus what this transport needs before a bind or a
    /// connect: for wss, the process's test certificate and key (to bind) and trust in that
    /// certificate (to connect), so one socket can do both.
    pub(crate) fn peer(self, ctx: &Context) -> Socket {
        let socket = peer(ctx);
        #[cfg(feature = "wss")]
        if self == Self::Wss {
            let cert = test_cert();
            socket
                .set_wss_certificate(&cert.cert_pem, &cert.key_pem)
                .expect("set WSS_CERT_PEM / WSS_KEY_PEM");
            socket
                .set_wss_trust_pem(&cert.cert_pem)
                .expect("set WSS_TRUST_PEM");
        }
        socket
    }

    /// A concrete endpoint (no wildcard) that nobody is bound to yet and that a later `bind`
    /// can take: an ephemeral tcp port the kernel just released (tcp, ws, wss), a path in a
    /// fresh temp dir, a unique abstract or inproc name. For "peer not there yet" tests,
    /// which connect first by nature; both inproc variants give an inproc name.
    pub(crate) fn unbound_endpoint(self) -> TestEndpoint {
        let bind = match self {
            Self::Tcp => format!("tcp://127.0.0.1:{}", unused_tcp_port()),
            Self::IpcPath => {
                let dir = tempdir();
                let bind = format!("ipc://{}/x", dir.path().display());
                return TestEndpoint {
                    bind,
                    _dir: Some(dir),
                };
            }
            Self::IpcAbstract => format!("ipc://@{}", unique_name("zmq-peer-test")),
            Self::InprocBindFirst | Self::InprocConnectFirst => {
                format!("inproc://{}", unique_name("peer"))
            }
            #[cfg(feature = "ws")]
            Self::Ws => format!("ws://127.0.0.1:{}/peer", unused_tcp_port()),
            #[cfg(feature = "wss")]
            Self::Wss => format!("wss://127.0.0.1:{}/peer", unused_tcp_port()),
        };
        TestEndpoint { bind, _dir: None }
    }

    /// A socket of `kind` with bounded send and receive timeouts, prepared for this transport
    /// as [`Transport::peer`] prepares a PEER (for wss: certificate, key and trust).
    pub(crate) fn socket(self, ctx: &Context, kind: SocketType) -> Socket {
        let socket = ctx.socket(kind).expect("create a socket");
        socket.set_rcvtimeo(WAIT_MS).expect("set RCVTIMEO");
        socket.set_sndtimeo(WAIT_MS).expect("set SNDTIMEO");
        #[cfg(feature = "wss")]
        if self == Self::Wss {
            let cert = test_cert();
            socket
                .set_wss_certificate(&cert.cert_pem, &cert.key_pem)
                .expect("set WSS_CERT_PEM / WSS_KEY_PEM");
            socket
                .set_wss_trust_pem(&cert.cert_pem)
                .expect("set WSS_TRUST_PEM");
        }
        socket
    }
}

/// A self-signed certificate for `127.0.0.1` and `localhost` and its private key, PEM.
#[derive(Debug)]
pub(crate) struct TestCert {
    /// The certificate (also what a client trusts).
    pub(crate) cert_pem: String,
    /// The private key (PKCS#8).
    pub(crate) key_pem: String,
}

/// A new self-signed certificate for `names` (IP addresses become IP subject alternative names).
pub(crate) fn self_signed(names: &[&str]) -> TestCert {
    let names: Vec<String> = names.iter().map(|name| (*name).to_owned()).collect();
    let certified = rcgen::generate_simple_self_signed(names).expect("generate a certificate");
    TestCert {
        cert_pem: certified.cert.pem(),
        key_pem: certified.key_pair.serialize_pem(),
    }
}

/// The one test certificate of this process (made on first use), for `127.0.0.1` and
/// `localhost`.
pub(crate) fn test_cert() -> &'static TestCert {
    static CERT: OnceLock<TestCert> = OnceLock::new();
    CERT.get_or_init(|| self_signed(&["127.0.0.1", "localhost"]))
}

/// The body the suites below share: one `#[test]` per wire transport (tcp, ipc path and
/// abstract, ws, wss), then one per `$name => $variant` given, each calling
/// `$runner(Transport::$variant)`.
#[allow(
    unused_macros,
    reason = "not every test crate runs a per-transport suite"
)]
macro_rules! transport_tests {
    (@each $runner:path; $($(#[$attr:meta])* $name:ident => $variant:ident,)*) => {
        $(
            $(#[$attr])*
            #[test]
            fn $name() {
                $runner($crate::support::Transport::$variant);
            }
        )*
    };
    ($runner:path; $($name:ident => $variant:ident,)*) => {
        $crate::support::transport_tests!(@each $runner;
            tcp => Tcp,
            ipc_path => IpcPath,
            ipc_abstract => IpcAbstract,
            #[cfg(feature = "ws")]
            ws => Ws,
            #[cfg(feature = "wss")]
            wss => Wss,
            $($name => $variant,)*
        );
    };
}
#[allow(
    unused_imports,
    reason = "not every test crate runs a per-transport suite"
)]
pub(crate) use transport_tests;

/// Generates one `#[test]` per transport, each calling `$runner(transport)`.
#[allow(
    unused_macros,
    reason = "not every test crate runs a per-transport suite"
)]
macro_rules! transport_suite {
    ($runner:path) => {
        $crate::support::transport_tests!($runner;
            inproc_bind_first => InprocBindFirst,
            inproc_connect_first => InprocConnectFirst,
        );
    };
}
#[allow(
    unused_imports,
    reason = "not every test crate runs a per-transport suite"
)]
pub(crate) use transport_suite;

/// Like `transport_suite!` without the inproc bind-first case, for tests whose peer is not
/// there yet when the connect happens: over inproc that is connect-before-bind by nature, so one
/// inproc test (`inproc_connect_first`) covers it. Use with [`Transport::unbound_endpoint`].
#[allow(
    unused_macros,
    reason = "not every test crate runs a per-transport suite"
)]
macro_rules! unbound_peer_suite {
    ($runner:path) => {
        $crate::support::transport_tests!($runner;
            inproc_connect_first => InprocConnectFirst,
        );
    };
}
#[allow(
    unused_imports,
    reason = "not every test crate runs a per-transport suite"
)]
pub(crate) use unbound_peer_suite;

/// Like `transport_suite!` for the transports that carry ZMTP on the wire (tcp, ipc path and
/// abstract, ws, wss): the ones with a handshake, socket-type check and bytes a peer can break.
/// inproc links socket cores directly and has none of these.
#[allow(
    unused_macros,
    reason = "not every test crate runs a per-transport suite"
)]
macro_rules! wire_suite {
    ($runner:path) => {
        $crate::support::transport_tests!($runner;);
    };
}
#[allow(
    unused_imports,
    reason = "not every test crate runs a per-transport suite"
)]
pub(crate) use wire_suite;

/// A name no other test (in this or another test process) uses.
pub(crate) fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// A new temporary directory (removed when dropped).
pub(crate) fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("zpt")
        .tempdir()
        .expect("create a temp dir")
}

/// `ipc://<dir>/<name>`.
pub(crate) fn ipc_endpoint(dir: &Path, name: &str) -> String {
    format!("ipc://{}/{name}", dir.display())
}

/// A tcp endpoint on 127.0.0.1 nobody listens on (a port the kernel just handed out and released).
pub(crate) fn unused_tcp_endpoint() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    let port = listener.local_addr().expect("local addr").port();
    format!("tcp://127.0.0.1:{port}")
}

/// A tcp port on 127.0.0.1 nobody listens on (one the kernel just handed out and released).
pub(crate) fn unused_tcp_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    listener.local_addr().expect("local addr").port()
}

/// The `host:port` part of a `tcp://host:port` or `ws[s]://host:port/path` endpoint.
pub(crate) fn tcp_addr(endpoint: &str) -> &str {
    if let Some(rest) = endpoint
        .strip_prefix("ws://")
        .or_else(|| endpoint.strip_prefix("wss://"))
    {
        return rest.split_once('/').map_or(rest, |(addr, _)| addr);
    }
    endpoint
        .strip_prefix("tcp://")
        .unwrap_or_else(|| panic!("not a tcp endpoint: {endpoint}"))
}

/// A PEER socket with bounded send and receive timeouts.
pub(crate) fn peer(ctx: &Context) -> Socket {
    let socket = ctx.socket(SocketType::Peer).expect("create a PEER socket");
    socket.set_rcvtimeo(WAIT_MS).expect("set RCVTIMEO");
    socket.set_sndtimeo(WAIT_MS).expect("set SNDTIMEO");
    socket
}

/// A message with `body`, addressed to `routing_id`.
pub(crate) fn msg(body: &[u8], routing_id: RoutingId) -> Message {
    let mut message = Message::from(body);
    message.set_routing_id(routing_id);
    message
}

/// Asserts that `result` failed with `errno`, naming `what` in the failure message.
#[track_caller]
pub(crate) fn assert_errno<T: std::fmt::Debug>(result: Result<T, Error>, errno: i32, what: &str) {
    match result {
        Ok(value) => panic!("{what}: expected errno {errno}, got Ok({value:?})"),
        Err(error) => {
            assert_eq!(
                error.errno(),
                errno,
                "{what}: expected errno {errno}, got {error:?}"
            );
        }
    }
}

/// A bound PEER socket and a second PEER connected to it, with the message exchange done that
/// tells the binder its id for the connecter.
#[derive(Debug)]
pub(crate) struct Pair {
    /// The socket that bound.
    pub(crate) binder: Socket,
    /// The socket that called `connect_peer`.
    pub(crate) connecter: Socket,
    /// The binder's resolved endpoint.
    pub(crate) endpoint: String,
    /// The connecter's routing id for the binder (returned by `connect_peer`).
    pub(crate) to_binder: RoutingId,
    /// The binder's routing id for the connecter (learnt from the first received message).
    pub(crate) to_connecter: RoutingId,
    _endpoint: TestEndpoint,
}

/// Binds and connects two PEER sockets over `transport` (in the order it asks for) and exchanges
/// one message so that both sides know each other's routing id.
pub(crate) fn pair(ctx: &Context, transport: Transport) -> Pair {
    pair_in(ctx, ctx, transport)
}

/// Like [`pair`], with the binder and the connecter in (possibly) different contexts; inproc
/// needs both in one context.
pub(crate) fn pair_in(binder_ctx: &Context, connecter_ctx: &Context, transport: Transport) -> Pair {
    let test_endpoint = transport.endpoint();
    let binder = transport.peer(binder_ctx);
    let connecter = transport.peer(connecter_ctx);
    let (endpoint, to_binder) = if transport.connect_first() {
        let to_binder = connecter
            .connect_peer(&test_endpoint.bind)
            .expect("connect_peer");
        connecter
            .send(msg(b"hello", to_binder))
            .expect("queue hello before the bind");
        binder.bind(&test_endpoint.bind).expect("bind");
        (binder.last_endpoint().expect("last_endpoint"), to_binder)
    } else {
        binder.bind(&test_endpoint.bind).expect("bind");
        let endpoint = binder.last_endpoint().expect("last_endpoint");
        let to_binder = connecter.connect_peer(&endpoint).expect("connect_peer");
        connecter
            .send(msg(b"hello", to_binder))
            .expect("send hello");
        (endpoint, to_binder)
    };
    let hello = binder.recv().expect("binder receives hello");
    assert_eq!(hello.as_bytes(), b"hello");
    let to_connecter = hello
        .routing_id()
        .expect("received message carries a routing id");
    Pair {
        binder,
        connecter,
        endpoint,
        to_binder,
        to_connecter,
        _endpoint: test_endpoint,
    }
}

/// Runs `f` on a helper thread and returns its result, failing the test if it takes longer than
/// `limit` (a hang is the failure mode being guarded against).
#[track_caller]
pub(crate) fn within<T, F>(limit: Duration, what: &str, f: F) -> T
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let (tx, rx) = mpsc::channel();
    let handle = thread::spawn(move || {
        // The receiver may have given up already; nothing to do then.
        let _ = tx.send(f());
    });
    match rx.recv_timeout(limit) {
        Ok(value) => {
            handle.join().expect("helper thread");
            value
        }
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("{what} did not finish within {limit:?}"),
        Err(mpsc::RecvTimeoutError::Disconnected) => match handle.join() {
            Err(panic) => std::panic::resume_unwind(panic),
            Ok(()) => panic!("{what}: helper thread ended without a result"),
        },
    }
}

/// Polls `condition` every few milliseconds until it holds, failing the test after `limit`.
#[track_caller]
pub(crate) fn wait_until(limit: Duration, what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !condition() {
        assert!(
            Instant::now() < deadline,
            "{what}: not reached within {limit:?}"
        );
        thread::sleep(Duration::from_millis(5));
    }
}

/// Keeps sending small messages to `routing_id` until the socket answers `EHOSTUNREACH`
/// (`EAGAIN` is tolerated meanwhile: the pipe may still be shutting down). Receives pending
/// messages with `try_recv` between attempts, as libzmq needs the receive path to run, and
/// returns them.
#[track_caller]
pub(crate) fn wait_host_unreachable(
    socket: &Socket,
    routing_id: RoutingId,
    limit: Duration,
) -> Vec<Message> {
    let ehostunreach = zmq_peer::errno::EHOSTUNREACH;
    let eagain = zmq_peer::errno::EAGAIN;
    let deadline = Instant::now() + limit;
    let mut drained = Vec::new();
    loop {
        match socket.try_send(msg(b"probe", routing_id)) {
            Err(error) if error.errno() == ehostunreach => return drained,
            Err(error) if error.errno() == eagain => {}
            Ok(()) => {}
            Err(error) => panic!("sending to a dead peer: unexpected error {error:?}"),
        }
        while let Ok(message) = socket.try_recv() {
            drained.push(message);
        }
        assert!(
            Instant::now() < deadline,
            "routing id {routing_id:?} still reachable after {limit:?}"
        );
        thread::sleep(Duration::from_millis(10));
    }
}

// ---------------------------------------------------------------------------------------------
// A hand-written ZMTP 3.1 peer (PROTOCOL.md §1.1, §2, §3.2).

/// The 64-octet greeting of a libzmq PEER with the NULL mechanism (PROTOCOL.md §1.1).
pub(crate) const GREETING: [u8; 64] = {
    let mut g = [0_u8; 64];
    g[0] = 0xFF;
    g[8] = 0x01;
    g[9] = 0x7F;
    g[10] = 0x03;
    g[11] = 0x01;
    g[12] = b'N';
    g[13] = b'U';
    g[14] = b'L';
    g[15] = b'L';
    g
};

/// The 28-octet READY command of a libzmq PEER (PROTOCOL.md §3.2).
pub(crate) const PEER_READY: [u8; 28] = [
    0x04, 0x1A, 0x05, b'R', b'E', b'A', b'D', b'Y', 0x0B, b'S', b'o', b'c', b'k', b'e', b't', b'-',
    b'T', b'y', b'p', b'e', 0x00, 0x00, 0x00, 0x04, b'P', b'E', b'E', b'R',
];

/// A READY command announcing `socket_type` (short frame; `socket_type` is at most 200 octets).
pub(crate) fn ready_command(socket_type: &str) -> Vec<u8> {
    let mut body = vec![0x05];
    body.extend_from_slice(b"READY");
    body.push(0x0B);
    body.extend_from_slice(b"Socket-Type");
    let len = u32::try_from(socket_type.len()).expect("short socket type");
    body.extend_from_slice(&len.to_be_bytes());
    body.extend_from_slice(socket_type.as_bytes());
    let mut frame = vec![0x04, u8::try_from(body.len()).expect("short READY body")];
    frame.extend_from_slice(&body);
    frame
}

/// One ZMTP frame as read from the wire.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RawFrame {
    /// The flags octet.
    pub(crate) flags: u8,
    /// The body.
    pub(crate) body: Vec<u8>,
}

impl RawFrame {
    /// Whether the COMMAND flag is set.
    pub(crate) fn is_command(&self) -> bool {
        self.flags & 0x04 != 0
    }
}

/// A raw TCP connection speaking ZMTP by hand.
#[derive(Debug)]
pub(crate) struct RawPeer {
    /// The connection.
    pub(crate) stream: TcpStream,
}

impl RawPeer {
    /// Connects to a `tcp://host:port` endpoint.
    pub(crate) fn connect(endpoint: &str) -> Self {
        let stream = TcpStream::connect(tcp_addr(endpoint)).expect("raw tcp connect");
        Self::from_stream(stream)
    }

    /// Wraps an accepted or connected stream (sets a read timeout of `WAIT`).
    pub(crate) fn from_stream(stream: TcpStream) -> Self {
        stream.set_nodelay(true).expect("TCP_NODELAY");
        stream.set_read_timeout(Some(WAIT)).expect("read timeout");
        stream.set_write_timeout(Some(WAIT)).expect("write timeout");
        Self { stream }
    }

    /// Writes `bytes` completely.
    pub(crate) fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("raw write");
    }

    /// Writes `bytes`, ignoring errors (for peers the other side may already have dropped).
    pub(crate) fn send_lossy(&mut self, bytes: &[u8]) {
        let _ = self.stream.write_all(bytes);
    }

    /// Reads exactly `n` octets (fails the test after `WAIT`).
    pub(crate) fn read_exact(&mut self, n: usize) -> Vec<u8> {
        let mut buf = vec![0; n];
        self.stream.read_exact(&mut buf).expect("raw read");
        buf
    }

    /// Reads the other side's 64-octet greeting and checks the parts every ZMTP 3 greeting has.
    pub(crate) fn read_greeting(&mut self) -> Vec<u8> {
        let greeting = self.read_exact(64);
        assert_eq!(greeting[0], 0xFF, "signature octet 0");
        assert_eq!(greeting[9] & 0x01, 0x01, "signature octet 9 bit 0");
        assert_eq!(greeting[10], 0x03, "major version");
        assert_eq!(&greeting[12..32], &GREETING[12..32], "mechanism NULL");
        greeting
    }

    /// Reads one frame (short or long form).
    pub(crate) fn read_frame(&mut self) -> RawFrame {
        let head = self.read_exact(2);
        let flags = head[0];
        let size = if flags & 0x02 != 0 {
            let mut size = [0_u8; 8];
            size[0] = head[1];
            size[1..].copy_from_slice(&self.read_exact(7));
            usize::try_from(u64::from_be_bytes(size)).expect("frame size fits usize")
        } else {
            usize::from(head[1])
        };
        let body = self.read_exact(size);
        RawFrame { flags, body }
    }

    /// Sends greeting and a READY announcing `socket_type`, then reads the other side's greeting
    /// and READY (which must announce PEER). Returns the greeting and READY frame received.
    pub(crate) fn handshake(&mut self, socket_type: &str) -> (Vec<u8>, RawFrame) {
        self.send(&GREETING);
        self.send(&ready_command(socket_type));
        let greeting = self.read_greeting();
        let ready = self.read_frame();
        assert!(
            ready.is_command(),
            "first frame after the greeting is a command: {ready:?}"
        );
        assert!(
            ready.body.starts_with(b"\x05READY"),
            "READY expected, got {ready:?}"
        );
        (greeting, ready)
    }

    /// Reads until the other side closes the connection (EOF or reset), failing the test if that
    /// does not happen within `limit`. Returns every octet read before the close.
    pub(crate) fn expect_closed(&mut self, limit: Duration) -> Vec<u8> {
        self.stream
            .set_read_timeout(Some(Duration::from_millis(50)))
            .expect("read timeout");
        expect_closed(&mut self.stream, limit)
    }
}

/// Reads `reader` (a raw connection with a short read timeout) until the other side closes it
/// (EOF or reset), failing the test if that does not happen within `limit`. Returns every octet
/// read before the close.
pub(crate) fn expect_closed(reader: &mut impl Read, limit: Duration) -> Vec<u8> {
    let deadline = Instant::now() + limit;
    let mut seen = Vec::new();
    let mut buf = [0_u8; 4096];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => return seen,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
            Err(error)
                if matches!(
                    error.kind(),
                    ErrorKind::ConnectionReset
                        | ErrorKind::ConnectionAborted
                        | ErrorKind::BrokenPipe
                ) =>
            {
                return seen;
            }
            Err(error)
                if matches!(
                    error.kind(),
                    ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                ) => {}
            Err(error) => panic!("raw read: {error}"),
        }
        assert!(
            Instant::now() < deadline,
            "connection still open after {limit:?} (read {} octets)",
            seen.len()
        );
    }
}

/// Splits a captured byte stream into ZMTP frames (a trailing partial frame is ignored).
pub(crate) fn parse_frames(mut bytes: &[u8]) -> Vec<RawFrame> {
    let mut frames = Vec::new();
    while bytes.len() >= 2 {
        let flags = bytes[0];
        let (size, header) = if flags & 0x02 != 0 {
            if bytes.len() < 9 {
                break;
            }
            let mut size = [0_u8; 8];
            size.copy_from_slice(&bytes[1..9]);
            (
                usize::try_from(u64::from_be_bytes(size)).expect("size fits usize"),
                9,
            )
        } else {
            (usize::from(bytes[1]), 2)
        };
        if bytes.len() < header + size {
            break;
        }
        frames.push(RawFrame {
            flags,
            body: bytes[header..header + size].to_vec(),
        });
        bytes = &bytes[header + size..];
    }
    frames
}

/// Accepts one connection on a non-blocking-polled `listener` within `limit`, or `None`.
pub(crate) fn accept_within(listener: &TcpListener, limit: Duration) -> Option<TcpStream> {
    listener
        .set_nonblocking(true)
        .expect("nonblocking listener");
    let deadline = Instant::now() + limit;
    loop {
        match listener.accept() {
            Ok((stream, _)) => {
                stream.set_nonblocking(false).expect("blocking stream");
                return Some(stream);
            }
            Err(error) if error.kind() == ErrorKind::WouldBlock => {
                if Instant::now() >= deadline {
                    return None;
                }
                thread::sleep(Duration::from_millis(5));
            }
            Err(error) => panic!("accept: {error}"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// A hand-written ZWS 2.0 client (PROTOCOL.md §6.2, §6.4): plain bytes over a `TcpStream`, as
// zmq-transport's ws tests do, without a WebSocket library.

/// The sub-protocols a libzmq NULL client offers (PROTOCOL.md §6.2).
pub(crate) const ZWS_NULL_PROTOCOLS: &str = "ZWS2.0/NULL,ZWS2.0";

/// The READY a PEER sends over ZWS: the COMMAND flag octet `0x02`, then the ZMTP command body.
pub(crate) const ZWS_PEER_READY: &[u8] = b"\x02\x05READY\x0bSocket-Type\x00\x00\x00\x04PEER";

/// The READY of a `socket_type` socket as a ZWS message payload: the COMMAND flag `0x02`, then
/// the same command body as over ZMTP.
pub(crate) fn zws_ready(socket_type: &str) -> Vec<u8> {
    let mut payload = vec![0x02];
    payload.extend_from_slice(&ready_command(socket_type)[2..]);
    payload
}

/// The WebSocket opcode of a text message (RFC 6455 §5.2).
pub(crate) const WS_TEXT: u8 = 0x1;
/// The WebSocket opcode of a binary message (RFC 6455 §5.2).
pub(crate) const WS_BINARY: u8 = 0x2;

/// A well-formed HTTP upgrade request for `path` on `host` as libzmq's client writes it
/// (PROTOCOL.md §6.2), offering `protocols`.
pub(crate) fn ws_upgrade_request(host: &str, path: &str, protocols: &str) -> Vec<u8> {
    format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: {protocols}\r\n\
         Sec-WebSocket-Version: 13\r\n\r\n"
    )
    .into_bytes()
}

/// The mask of every frame [`ws_client_frame`] makes (a client must mask; any key will do).
pub(crate) const WS_MASK: [u8; 4] = [0x37, 0xFA, 0x21, 0x3D];

/// One final client-to-server WebSocket frame with `opcode`, masked with [`WS_MASK`], carrying
/// `payload` (RFC 6455 §5.2).
pub(crate) fn ws_client_frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    let len = u64::try_from(payload.len()).expect("length fits u64");
    let mut frame = ws_frame_header(opcode, len, true);
    frame.extend(
        payload
            .iter()
            .enumerate()
            .map(|(i, octet)| octet ^ WS_MASK[i % 4]),
    );
    frame
}

/// The header of a final WebSocket frame with `opcode` announcing `len` payload octets; with
/// `masked`, followed by [`WS_MASK`]. The length is a claim: the payload may never follow.
pub(crate) fn ws_frame_header(opcode: u8, len: u64, masked: bool) -> Vec<u8> {
    let mask_bit = if masked { 0x80 } else { 0 };
    let mut header = vec![0x80 | opcode];
    match len {
        0..=125 => header.push(mask_bit | u8::try_from(len).expect("<= 125")),
        126..=0xFFFF => {
            header.push(mask_bit | 126);
            header.extend_from_slice(&u16::try_from(len).expect("<= 0xFFFF").to_be_bytes());
        }
        _ => {
            header.push(mask_bit | 127);
            header.extend_from_slice(&len.to_be_bytes());
        }
    }
    if masked {
        header.extend_from_slice(&WS_MASK);
    }
    header
}

impl RawPeer {
    /// Connects to a `ws://host:port/path` endpoint and completes the HTTP upgrade offering
    /// the NULL sub-protocols; the server's READY is left unread.
    pub(crate) fn connect_ws(endpoint: &str) -> Self {
        let mut raw = Self::connect(endpoint);
        let addr = tcp_addr(endpoint);
        raw.send(&ws_upgrade_request(addr, "/peer", ZWS_NULL_PROTOCOLS));
        let head = raw.read_http_head();
        assert!(head.starts_with("HTTP/1.1 101 "), "upgrade refused: {head}");
        raw
    }

    /// Reads an HTTP response head, up to and including the empty line.
    pub(crate) fn read_http_head(&mut self) -> String {
        let mut head = Vec::new();
        while !head.ends_with(b"\r\n\r\n") {
            head.extend_from_slice(&self.read_exact(1));
            assert!(head.len() < 64 * 1024, "endless HTTP head");
        }
        String::from_utf8(head).expect("an ASCII HTTP head")
    }
}

/// A host name that never resolves and never reaches the network: its first label is 64
/// octets, over DNS's 63-octet limit, so the system resolver refuses it before sending any query
/// (tests only talk to loopback).
pub(crate) const UNRESOLVABLE_HOST: &str =
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.invalid";
