//! Shared helpers for the transport integration tests: a recording acceptor and event sink, a
//! condition-variable waker, a client built from a connecter, and bounded waits.

#![allow(dead_code, reason = "each test file uses a different subset")]
#![allow(unreachable_pub, reason = "test support module")]

use std::io::Read;
use std::net::TcpStream;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use zmq_transport::{
    Acceptor, ConnOptions, Connecter, ConnectionEvents, DisconnectReason, Endpoint, IoHandle,
    IoThread, Link, Listener, PipeClosed, PipeReceiver, PipeSender, Wake, pipe,
};
use zmtp_codec::{Config, Message, PeerInfo, SocketType};

/// Upper bound of every wait in these tests; reaching it fails the test.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// Default options for a PEER endpoint.
pub fn opts() -> ConnOptions {
    ConnOptions::new(Config::new(SocketType::PEER))
}

/// A generation counter with a condition variable: `wake` bumps it, waiters wait for change.
#[derive(Default)]
pub struct Signal {
    generation: Mutex<u64>,
    cv: Condvar,
}

impl Signal {
    pub fn bump(&self) {
        *self.generation.lock().unwrap() += 1;
        self.cv.notify_all();
    }

    /// Waits until `pred` holds, re-checking on every bump; false after `timeout`.
    pub fn wait_for(&self, timeout: Duration, mut pred: impl FnMut() -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        let mut guard = self.generation.lock().unwrap();
        loop {
            if pred() {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            let seen = *guard;
            // Short slices guard against predicates that change without a bump.
            let slice = (deadline - now).min(Duration::from_millis(50));
            let (g, _) = self
                .cv
                .wait_timeout_while(guard, slice, |g| *g == seen)
                .unwrap();
            guard = g;
        }
    }
}

impl Wake for Signal {
    fn wake(&self) {
        self.bump();
    }
}

/// Records what a connection (or connecter) reports.
#[derive(Default)]
pub struct Events {
    pub handshakes: Mutex<Vec<PeerInfo>>,
    /// `remote` of each handshake.
    pub remotes: Mutex<Vec<String>>,
    /// `remote` of each `on_connected`.
    pub connected: Mutex<Vec<String>>,
    pub disconnects: Mutex<Vec<(DisconnectReason, bool)>>,
    /// `on_retry` calls: why, and the delay.
    pub retries: Mutex<Vec<(DisconnectReason, Duration)>>,
    pub signal: Signal,
}

impl Events {
    pub fn handshake_count(&self) -> usize {
        self.handshakes.lock().unwrap().len()
    }

    pub fn disconnect_count(&self) -> usize {
        self.disconnects.lock().unwrap().len()
    }

    pub fn wait_handshakes(&self, n: usize) {
        assert!(
            self.signal
                .wait_for(PATIENCE, || self.handshake_count() >= n),
            "expected {n} handshakes"
        );
    }

    pub fn wait_disconnects(&self, n: usize) {
        assert!(
            self.signal
                .wait_for(PATIENCE, || self.disconnect_count() >= n),
            "expected {n} disconnects"
        );
    }
}

impl ConnectionEvents for Events {
    fn on_connected(&self, remote: &str) {
        self.connected.lock().unwrap().push(remote.to_owned());
        self.signal.bump();
    }

    fn on_handshake(&self, peer: &PeerInfo, remote: &str) {
        self.remotes.lock().unwrap().push(remote.to_owned());
        self.handshakes.lock().unwrap().push(peer.clone());
        self.signal.bump();
    }

    fn on_disconnect(&self, reason: &DisconnectReason, will_reconnect: bool) {
        self.disconnects
            .lock()
            .unwrap()
            .push((reason.clone(), will_reconnect));
        self.signal.bump();
    }

    fn on_retry(&self, reason: &DisconnectReason, delay: Duration) {
        self.retries.lock().unwrap().push((reason.clone(), delay));
        self.signal.bump();
    }
}

/// The application side of one connection: sends into `outbound`, receives from `inbound`.
pub struct Peer {
    pub outbound: PipeSender,
    pub inbound: Mutex<PipeReceiver>,
    pub readable: Arc<Signal>,
    pub writable: Arc<Signal>,
    pub events: Arc<Events>,
}

impl Peer {
    /// Creates the pipes; returns the peer and the link for the transport.
    pub fn new(send_hwm: usize, recv_hwm: usize) -> (Self, Link) {
        let (out_tx, out_rx) = pipe(send_hwm);
        let (in_tx, in_rx) = pipe(recv_hwm);
        let readable = Arc::new(Signal::default());
        let writable = Arc::new(Signal::default());
        in_rx.set_waker(readable.clone());
        out_tx.set_waker(writable.clone());
        (
            Self {
                outbound: out_tx,
                inbound: Mutex::new(in_rx),
                readable,
                writable,
                events: Arc::new(Events::default()),
            },
            Link {
                outbound: out_rx,
                inbound: in_tx,
            },
        )
    }

    /// Queues a message, waiting (bounded) for room if the pipe is full.
    pub fn send(&self, msg: impl Into<Message>) {
        let mut msg = msg.into();
        let deadline = Instant::now() + PATIENCE;
        loop {
            match self.outbound.try_send(msg) {
                Ok(()) => return,
                Err(zmq_transport::TrySendError::Full(back)) => {
                    msg = back;
                    let left = deadline.saturating_duration_since(Instant::now());
                    assert!(!left.is_zero(), "send stayed blocked");
                    self.writable
                        .wait_for(left, || self.outbound.len() < self.outbound.hwm());
                }
                Err(e) => panic!("send failed: {e}"),
            }
        }
    }

    /// What a socket does on close: no more sends; the connection flushes what is queued per
    /// `linger` (`None` = until done), then ends.
    pub fn close(&self, linger: Option<Duration>) {
        self.outbound.close(linger);
    }

    /// Receives one message (bounded wait); `None` on end-of-stream.
    pub fn recv(&self) -> Option<Message> {
        let mut got = None;
        let ok =
            self.readable
                .wait_for(PATIENCE, || match self.inbound.lock().unwrap().try_recv() {
                    Ok(Some(msg)) => {
                        got = Some(Some(msg));
                        true
                    }
                    Ok(None) => false,
                    Err(PipeClosed) => {
                        got = Some(None);
                        true
                    }
                });
        assert!(ok, "no message within {PATIENCE:?}");
        got.unwrap()
    }
}

/// An acceptor that hands out fresh pipes and keeps the application side for the test.
pub struct TestAcceptor {
    pub send_hwm: usize,
    pub recv_hwm: usize,
    pub refuse: bool,
    pub peers: Mutex<Vec<Arc<Peer>>>,
    pub remotes: Mutex<Vec<String>>,
    /// `on_accepted` calls (before the handshake).
    pub accepted: Mutex<Vec<String>>,
    /// `on_handshake_failed` calls.
    pub failed: Mutex<Vec<(String, DisconnectReason)>>,
    pub signal: Signal,
}

impl TestAcceptor {
    pub fn new(send_hwm: usize, recv_hwm: usize) -> Arc<Self> {
        Arc::new(Self {
            send_hwm,
            recv_hwm,
            refuse: false,
            peers: Mutex::new(Vec::new()),
            remotes: Mutex::new(Vec::new()),
            accepted: Mutex::new(Vec::new()),
            failed: Mutex::new(Vec::new()),
            signal: Signal::default(),
        })
    }

    pub fn count(&self) -> usize {
        self.peers.lock().unwrap().len()
    }

    /// Waits (bounded) for the `n`-th accepted peer (0-based).
    pub fn peer(&self, n: usize) -> Arc<Peer> {
        assert!(
            self.signal.wait_for(PATIENCE, || self.count() > n),
            "no accepted peer #{n}"
        );
        self.peers.lock().unwrap()[n].clone()
    }
}

impl Acceptor for TestAcceptor {
    fn on_accepted(&self, remote: &str) {
        self.accepted.lock().unwrap().push(remote.to_owned());
        self.signal.bump();
    }

    fn on_handshake_failed(&self, remote: &str, reason: &DisconnectReason) {
        self.failed
            .lock()
            .unwrap()
            .push((remote.to_owned(), reason.clone()));
        self.signal.bump();
    }

    fn on_accept(
        &self,
        _peer: &PeerInfo,
        remote: &str,
    ) -> Option<(Link, Arc<dyn ConnectionEvents>)> {
        if self.refuse {
            return None;
        }
        let (peer, link) = Peer::new(self.send_hwm, self.recv_hwm);
        let events: Arc<dyn ConnectionEvents> = peer.events.clone();
        self.peers.lock().unwrap().push(Arc::new(peer));
        self.remotes.lock().unwrap().push(remote.to_owned());
        self.signal.bump();
        Some((link, events))
    }
}

/// Binds `ep` on `io` with `acceptor`.
pub fn bind(
    io: &IoThread,
    ep: &str,
    options: ConnOptions,
    acceptor: &Arc<TestAcceptor>,
) -> Listener {
    io.handle()
        .bind(
            &Endpoint::parse_bind(ep).unwrap(),
            options,
            acceptor.clone(),
        )
        .unwrap()
}

/// Connects a fresh peer to `endpoint`.
pub fn connect(
    io: &IoHandle,
    endpoint: &str,
    options: ConnOptions,
    send_hwm: usize,
    recv_hwm: usize,
) -> (Arc<Peer>, Connecter) {
    let (peer, link) = Peer::new(send_hwm, recv_hwm);
    let ep = Endpoint::parse_connect(endpoint).unwrap();
    let events: Arc<dyn ConnectionEvents> = peer.events.clone();
    let connecter = io.connect(&ep, options, link, events).unwrap();
    (Arc::new(peer), connecter)
}

/// A message of `len` bytes with a recognisable pattern.
pub fn body(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| seed.wrapping_add(u8::try_from(i % 251).unwrap()))
        .collect()
}

/// Reads from a raw client until the server closes the connection (bounded by [`PATIENCE`]).
pub fn read_until_closed(stream: &mut TcpStream) -> Vec<u8> {
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return got,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return got,
            Err(e) => panic!("server did not close the connection: {e}"),
        }
    }
}
