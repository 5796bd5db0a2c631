//! Test-only interop harness: a real libzmq 4.3.5 (DRAFT API, ws on, wss off), built from source
//! by `zeromq-src` in `build.rs` and linked statically, driven against our crates.
//!
//! * [`ffi`]: hand-written bindings to libzmq and a small safe wrapper over them ([`Context`],
//!   [`Socket`], [`Msg`], [`Errno`]). It is the only module in the repository with `unsafe`.
//! * [`bench`]: the command line and result lines of the benchmark binaries `libzmq-peer`
//!   (libzmq PEER sockets) and `raw-pump` (plain tcp/ipc byte streams, no `ZeroMQ`), which mirror
//!   `zpeer`'s `thr-recv` / `thr-send` / `lat` / `echo` (see `interop/BENCH.md`).
//! * [`ZmtpStream`]: our sans-IO [`zmtp_codec::Session`] driven over a plain blocking byte
//!   stream ([`std::net::TcpStream`] or [`std::os::unix::net::UnixStream`]). Every read has a
//!   deadline, so a test talking to libzmq can fail but never hang.
//!
//! ```text
//!   tests/*.rs ──► ZmtpStream ──► zmtp_codec::Session (our bytes)
//!        │              │ TcpStream / UnixStream
//!        │              ▼
//!        └──────► ffi::Socket ──► libzmq 4.3.5 (their bytes)
//! ```
//!
//! The crate is `publish = false` and not a default workspace member; run it with
//! `cargo test -p interop` (`--release` makes the 1 MiB transfers quicker).

pub mod bench;
pub mod ffi;

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use zmtp_codec::{Config, Event, Message, PeerInfo, ProtocolError, SendError, Session};

pub use ffi::{Context, Errno, MonitorEvent, Msg, Socket};

/// How long any single [`ZmtpStream`] operation may wait for the peer by default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// A blocking byte stream [`ZmtpStream`] can drive: readable, writable, with timeouts.
pub trait Transport: Read + Write {
    /// Sets the timeout of the next blocking reads (`None` = block forever).
    ///
    /// # Errors
    /// The OS error, e.g. for a zero duration.
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()>;

    /// Sets the timeout of the next blocking writes (`None` = block forever).
    ///
    /// # Errors
    /// The OS error, e.g. for a zero duration.
    fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()>;
}

impl Transport for TcpStream {
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        Self::set_read_timeout(self, timeout)
    }

    fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        Self::set_write_timeout(self, timeout)
    }
}

impl Transport for UnixStream {
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        Self::set_read_timeout(self, timeout)
    }

    fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        Self::set_write_timeout(self, timeout)
    }
}

/// Why a [`ZmtpStream`] operation failed.
#[derive(thiserror::Error, Debug)]
#[non_exhaustive]
pub enum StreamError {
    /// The byte stream failed.
    #[error("i/o error: {0}")]
    Io(#[from] io::Error),
    /// Our session closed the connection (the codec's verdict on the peer's bytes).
    #[error("protocol error: {0}")]
    Protocol(#[from] ProtocolError),
    /// The session refused a message.
    #[error("send refused: {0:?}")]
    Send(SendError),
    /// The peer closed the stream (EOF or connection reset).
    #[error("the peer closed the connection")]
    Eof,
    /// Nothing decisive arrived before the deadline.
    #[error("timed out after {0:?}")]
    Timeout(Duration),
}

/// Our [`Session`] driven over a blocking [`Transport`]: the codec's bytes go to the stream, the
/// stream's bytes go to the codec, with a deadline on every wait.
#[derive(Debug)]
pub struct ZmtpStream<S> {
    stream: S,
    session: Session,
    input: BytesMut,
    events: VecDeque<Event>,
    timeout: Duration,
}

impl<S: Transport> ZmtpStream<S> {
    /// Starts a session with `config` over `stream` and writes our greeting at once.
    ///
    /// # Errors
    /// The I/O error if the stream cannot be configured or written.
    pub fn new(stream: S, config: Config) -> Result<Self, StreamError> {
        stream.set_write_timeout(Some(DEFAULT_TIMEOUT))?;
        let mut this = Self {
            stream,
            session: Session::new(config, Instant::now()),
            input: BytesMut::with_capacity(READ_CHUNK),
            events: VecDeque::new(),
            timeout: DEFAULT_TIMEOUT,
        };
        this.flush()?;
        Ok(this)
    }

    /// Changes how long each operation may wait (default [`DEFAULT_TIMEOUT`]).
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The codec session (to inspect its state).
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// The underlying stream.
    pub fn get_ref(&self) -> &S {
        &self.stream
    }

    /// Gives back the stream, the session and any bytes read but not yet consumed.
    pub fn into_parts(self) -> (S, Session, BytesMut) {
        (self.stream, self.session, self.input)
    }

    /// Runs the handshake until the session reports [`Event::HandshakeDone`]; events that came
    /// after it stay queued for [`ZmtpStream::recv`].
    ///
    /// # Errors
    /// [`StreamError::Protocol`] if the session rejects the peer, [`StreamError::Eof`] if the
    /// peer hangs up, [`StreamError::Timeout`] if the handshake does not finish in time.
    pub fn handshake(&mut self) -> Result<PeerInfo, StreamError> {
        let deadline = Instant::now() + self.timeout;
        loop {
            if let Some(pos) = self
                .events
                .iter()
                .position(|e| matches!(e, Event::HandshakeDone(_) | Event::Closed(_)))
            {
                match self.events.remove(pos) {
                    Some(Event::HandshakeDone(info)) => return Ok(info),
                    Some(Event::Closed(err)) => return Err(StreamError::Protocol(err)),
                    _ => {}
                }
            }
            self.pump(deadline)?;
        }
    }

    /// Queues `msg` in the session and writes it out.
    ///
    /// # Errors
    /// [`StreamError::Send`] if the session refuses it (e.g. handshake not done), or the I/O
    /// error of the write.
    pub fn send(&mut self, msg: Message) -> Result<(), StreamError> {
        self.session.send(msg).map_err(StreamError::Send)?;
        self.flush()
    }

    /// Waits for the next whole message, skipping heartbeat and other non-message events.
    ///
    /// # Errors
    /// [`StreamError::Protocol`] if the session closes, [`StreamError::Eof`] if the peer hangs
    /// up, [`StreamError::Timeout`] if no message arrives in time.
    pub fn recv(&mut self) -> Result<Message, StreamError> {
        let deadline = Instant::now() + self.timeout;
        loop {
            while let Some(event) = self.events.pop_front() {
                match event {
                    Event::Message(msg) => return Ok(msg),
                    Event::Closed(err) => return Err(StreamError::Protocol(err)),
                    _ => {}
                }
            }
            self.pump(deadline)?;
        }
    }

    /// Waits for the next session event of any kind.
    ///
    /// # Errors
    /// [`StreamError::Eof`] if the peer hangs up first, [`StreamError::Timeout`] if nothing
    /// happens in time, or the I/O error.
    pub fn next_event(&mut self) -> Result<Event, StreamError> {
        let deadline = Instant::now() + self.timeout;
        loop {
            if let Some(event) = self.events.pop_front() {
                return Ok(event);
            }
            self.pump(deadline)?;
        }
    }

    /// Reads and discards whatever the peer still sends until it closes the stream; returns how
    /// many bytes were discarded. Use it after the session has closed to observe the peer's
    /// reaction.
    ///
    /// # Errors
    /// [`StreamError::Timeout`] if the peer keeps the stream open past the deadline, or the I/O
    /// error.
    pub fn wait_peer_close(&mut self) -> Result<usize, StreamError> {
        let deadline = Instant::now() + self.timeout;
        let mut discarded = self.input.len();
        self.input.clear();
        let mut buf = vec![0_u8; READ_CHUNK];
        loop {
            let now = Instant::now();
            let left = deadline
                .checked_duration_since(now)
                .filter(|d| !d.is_zero())
                .ok_or(StreamError::Timeout(self.timeout))?;
            self.stream.set_read_timeout(Some(left))?;
            match self.stream.read(&mut buf) {
                Ok(0) => return Ok(discarded),
                Ok(n) => discarded += n,
                Err(e) if is_reset(&e) => return Ok(discarded),
                Err(e) if is_timeout(&e) || e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Writes everything the session has queued for the wire.
    fn flush(&mut self) -> Result<(), StreamError> {
        while let Some(chunk) = self.session.poll_transmit() {
            self.stream.write_all(&chunk)?;
        }
        self.stream.flush()?;
        Ok(())
    }

    /// Moves the session's pending events into our queue.
    fn drain_events(&mut self) {
        while let Some(event) = self.session.poll_event() {
            self.events.push_back(event);
        }
    }

    /// Waits (until the next session timer or `deadline`) for bytes from the peer, feeds them or
    /// the timer to the session, then flushes its output and collects its events.
    fn pump(&mut self, deadline: Instant) -> Result<(), StreamError> {
        let now = Instant::now();
        if now >= deadline {
            return Err(StreamError::Timeout(self.timeout));
        }
        if self.session.is_closed() {
            // A closed session queues Event::Closed; nothing more can come from it.
            self.drain_events();
            if self.events.is_empty() {
                return Err(StreamError::Protocol(ProtocolError::Closed));
            }
            return Ok(());
        }
        let wake = self
            .session
            .poll_timeout()
            .map_or(deadline, |t| t.min(deadline));
        let wait = wake
            .saturating_duration_since(now)
            .max(Duration::from_millis(1));
        self.stream.set_read_timeout(Some(wait))?;

        let start = self.input.len();
        self.input.resize(start + READ_CHUNK, 0);
        let read = self.stream.read(&mut self.input[start..]);
        let now = Instant::now();
        match read {
            Ok(0) => {
                self.input.truncate(start);
                return Err(StreamError::Eof);
            }
            Ok(n) => {
                self.input.truncate(start + n);
                // An error is also queued as Event::Closed, which is how callers see it.
                let _ = self.session.handle_input(&mut self.input, now);
            }
            Err(e) => {
                self.input.truncate(start);
                if is_reset(&e) {
                    return Err(StreamError::Eof);
                }
                if !(is_timeout(&e) || e.kind() == io::ErrorKind::Interrupted) {
                    return Err(e.into());
                }
            }
        }
        if self.session.poll_timeout().is_some_and(|t| t <= now) {
            // As above: a timeout error is queued as Event::Closed.
            let _ = self.session.handle_timeout(now);
        }
        self.flush()?;
        self.drain_events();
        Ok(())
    }
}

/// Accepts one connection on `listener` within `timeout`, returned in blocking mode.
///
/// The listener is switched to non-blocking mode and polled every millisecond (a bounded wait).
///
/// # Errors
/// [`StreamError::Timeout`] if nobody connects in time, or the I/O error.
pub fn accept_within(listener: &TcpListener, timeout: Duration) -> Result<TcpStream, StreamError> {
    listener.set_nonblocking(true)?;
    let deadline = Instant::now() + timeout;
    loop {
        match listener.accept() {
            Ok((stream, _)) => {
                stream.set_nonblocking(false)?;
                return Ok(stream);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                if Instant::now() >= deadline {
                    return Err(StreamError::Timeout(timeout));
                }
                std::thread::sleep(Duration::from_millis(1));
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
}

/// Bytes asked for per read from the stream.
const READ_CHUNK: usize = 64 * 1024;

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

fn is_reset(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted
    )
}

#[cfg(test)]
mod tests {
    use std::thread;

    use zmtp_codec::SocketType;

    use super::*;

    #[test]
    fn two_streams_handshake_and_exchange_over_a_socket_pair() {
        let (a, b) = UnixStream::pair().unwrap();
        let peer = thread::spawn(move || {
            let mut b = ZmtpStream::new(b, Config::new(SocketType::PEER)).unwrap();
            b.handshake().unwrap();
            let msg = b.recv().unwrap();
            b.send(msg).unwrap();
        });
        let mut a = ZmtpStream::new(a, Config::new(SocketType::PEER)).unwrap();
        let info = a.handshake().unwrap();
        assert_eq!(info.socket_type, Some(SocketType::PEER));
        let body = vec![7_u8; 300_000];
        a.send(Message::new(body.clone())).unwrap();
        assert_eq!(a.recv().unwrap().into_single().unwrap(), body);
        peer.join().unwrap();
    }

    #[test]
    fn silent_peer_times_out_instead_of_hanging() {
        let (a, _silent) = UnixStream::pair().unwrap();
        let mut a = ZmtpStream::new(a, Config::new(SocketType::PEER))
            .unwrap()
            .with_timeout(Duration::from_millis(50));
        assert!(matches!(a.handshake(), Err(StreamError::Timeout(_))));
    }

    #[test]
    fn peer_hang_up_is_eof() {
        let (a, b) = UnixStream::pair().unwrap();
        // The peer stops sending but keeps reading, so our greeting still goes out.
        b.shutdown(std::net::Shutdown::Write).unwrap();
        let mut a = ZmtpStream::new(a, Config::new(SocketType::PEER)).unwrap();
        assert!(matches!(a.handshake(), Err(StreamError::Eof)));
        drop(b);
    }
}
