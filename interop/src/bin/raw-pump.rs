//! `raw-pump`: the physical limit for `zpeer`'s benchmarks. No `ZeroMQ` at all: messages are a
//! big-endian u32 length prefix plus the body, moved over a plain tcp or unix stream socket
//! through a `BufWriter` / `BufReader`. Same command line, endpoints and output lines as `zpeer`
//! (`echo`, `thr-recv`, `thr-send`, `lat`), so a harness can swap the binaries.
#![allow(clippy::print_stdout, clippy::print_stderr, reason = "CLI")]

use std::io::{self, BufReader, BufWriter, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::thread;
use std::time::{Duration, Instant};

use interop::bench::{self, Command, DEFAULT_TIMEOUT, Failure};

const USAGE: &str = "\
usage: raw-pump <command> [arguments]

`zpeer`'s benchmark commands over plain byte streams (u32 length prefix + body), no ZeroMQ:
  echo ENDPOINT [--count N]
  thr-recv ENDPOINT --count N --size S [--timeout SECS]
  thr-send ENDPOINT --count N --size S
  lat ENDPOINT --count N --size S [--timeout SECS]
ENDPOINT is tcp://HOST:PORT (PORT * = any), ipc:///PATH or ipc://* (a fresh temporary path).
Binding commands print the resolved endpoint first. Results:
  thr size=S count=N msgs_per_s=X mb_per_s=Y
  lat size=S count=N avg_us=X p50_us=Y p99_us=Z
Errors about an endpoint exit with status 2, other failures with status 1.";

/// Buffer size of the `BufReader` / `BufWriter` around each stream.
const BUFFER: usize = 256 * 1024;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = match Command::parse(&args) {
        Ok(Some(command)) => command,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("raw-pump: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("raw-pump: {failure}");
            ExitCode::from(failure.exit_code())
        }
    }
}

fn run(command: Command) -> Result<(), Failure> {
    match command {
        Command::Echo { endpoint, count } => echo(&endpoint, count),
        Command::ThrRecv {
            endpoint,
            count,
            size,
            timeout,
        } => thr_recv(&endpoint, count, size, timeout),
        Command::ThrSend {
            endpoint,
            count,
            size,
        } => thr_send(&endpoint, count, size),
        Command::Lat {
            endpoint,
            count,
            size,
            timeout,
        } => lat(&endpoint, count, size, timeout),
        Command::ThrInproc { .. } | Command::LatInproc { .. } => Err(Failure::Endpoint {
            endpoint: "inproc".to_owned(),
            error: "raw-pump has no in-process transport (tcp and ipc only)".to_owned(),
        }),
        other => Err(Failure::Other(format!("unsupported command {other:?}"))),
    }
}

/// A parsed tcp or ipc endpoint.
#[derive(Debug)]
enum Endpoint {
    /// `tcp://HOST:PORT`; port 0 stands for `*`.
    Tcp { host: String, port: u16 },
    /// `ipc://PATH`; `None` stands for `ipc://*`.
    Ipc(Option<PathBuf>),
}

impl Endpoint {
    fn parse(endpoint: &str) -> Result<Self, Failure> {
        let invalid = |why: &str| Failure::Endpoint {
            endpoint: endpoint.to_owned(),
            error: why.to_owned(),
        };
        if let Some(address) = endpoint.strip_prefix("tcp://") {
            let (host, port) = address
                .rsplit_once(':')
                .ok_or_else(|| invalid("expected tcp://HOST:PORT"))?;
            let port = match port {
                "*" | "0" => 0,
                port => port
                    .parse()
                    .map_err(|_| invalid("the port is not a number"))?,
            };
            let host = match host {
                "*" => "0.0.0.0",
                host => host.trim_start_matches('[').trim_end_matches(']'),
            };
            if host.is_empty() {
                return Err(invalid("missing host"));
            }
            return Ok(Self::Tcp {
                host: host.to_owned(),
                port,
            });
        }
        if let Some(path) = endpoint.strip_prefix("ipc://") {
            return match path {
                "*" => Ok(Self::Ipc(None)),
                "" => Err(invalid("missing path")),
                path if path.starts_with('@') => {
                    Err(invalid("abstract ipc names are not supported"))
                }
                path => Ok(Self::Ipc(Some(PathBuf::from(path)))),
            };
        }
        Err(invalid("unsupported transport (tcp and ipc only)"))
    }
}

/// A connected tcp or unix stream.
#[derive(Debug)]
enum Stream {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Stream {
    fn try_clone(&self) -> io::Result<Self> {
        match self {
            Self::Tcp(s) => s.try_clone().map(Self::Tcp),
            Self::Unix(s) => s.try_clone().map(Self::Unix),
        }
    }

    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        match self {
            Self::Tcp(s) => s.set_read_timeout(timeout),
            Self::Unix(s) => s.set_read_timeout(timeout),
        }
    }

    fn shutdown_write(&self) -> io::Result<()> {
        match self {
            Self::Tcp(s) => s.shutdown(Shutdown::Write),
            Self::Unix(s) => s.shutdown(Shutdown::Write),
        }
    }

    fn from_tcp(stream: TcpStream) -> io::Result<Self> {
        // libzmq sets TCP_NODELAY on every tcp connection; do the same.
        stream.set_nodelay(true)?;
        Ok(Self::Tcp(stream))
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Self::Tcp(s) => s.read(buf),
            Self::Unix(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Self::Tcp(s) => s.write(buf),
            Self::Unix(s) => s.write(buf),
        }
    }

    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        match self {
            Self::Tcp(s) => s.write_vectored(bufs),
            Self::Unix(s) => s.write_vectored(bufs),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A bound listener; an ipc listener removes its socket file when dropped (as libzmq does).
#[derive(Debug)]
enum Listener {
    Tcp(TcpListener),
    Unix(UnixListener, PathBuf),
}

impl Listener {
    /// Binds `endpoint` and prints the resolved endpoint as the first stdout line.
    fn bind_and_announce(endpoint: &str) -> Result<Self, Failure> {
        let failed = |error: io::Error| Failure::Endpoint {
            endpoint: endpoint.to_owned(),
            error: error.to_string(),
        };
        let (listener, resolved) = match Endpoint::parse(endpoint)? {
            Endpoint::Tcp { host, port } => {
                let listener = TcpListener::bind((host.as_str(), port)).map_err(failed)?;
                let address = listener.local_addr().map_err(failed)?;
                (Self::Tcp(listener), format!("tcp://{address}"))
            }
            Endpoint::Ipc(path) => {
                let path = path.unwrap_or_else(|| {
                    std::env::temp_dir().join(format!("{}.sock", bench::unique_name("raw-pump")))
                });
                // libzmq removes a socket file left behind by an earlier run before binding.
                remove_socket_file(&path);
                let listener = UnixListener::bind(&path).map_err(failed)?;
                let resolved = format!("ipc://{}", path.display());
                (Self::Unix(listener, path), resolved)
            }
        };
        bench::print_flushed(&resolved)?;
        Ok(listener)
    }

    /// Accepts one connection, waiting at most `timeout` (`None` = forever).
    fn accept(&self, timeout: Option<Duration>) -> Result<Stream, Failure> {
        let failed = |error: io::Error| Failure::Other(format!("accepting: {error}"));
        let deadline = timeout.map(|timeout| Instant::now() + timeout);
        self.set_nonblocking(deadline.is_some()).map_err(failed)?;
        loop {
            let accepted = match self {
                Self::Tcp(listener) => listener
                    .accept()
                    .and_then(|(stream, _)| Self::blocking(stream, TcpStream::set_nonblocking))
                    .and_then(Stream::from_tcp),
                Self::Unix(listener, _) => listener
                    .accept()
                    .and_then(|(stream, _)| Self::blocking(stream, UnixStream::set_nonblocking))
                    .map(Stream::Unix),
            };
            match accepted {
                Ok(stream) => return Ok(stream),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if deadline.is_some_and(|deadline| Instant::now() >= deadline) {
                        return Err(Failure::Other("nobody connected in time".to_owned()));
                    }
                    thread::sleep(Duration::from_millis(1));
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(failed(e)),
            }
        }
    }

    fn blocking<S>(stream: S, set: fn(&S, bool) -> io::Result<()>) -> io::Result<S> {
        set(&stream, false)?;
        Ok(stream)
    }

    fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        match self {
            Self::Tcp(listener) => listener.set_nonblocking(nonblocking),
            Self::Unix(listener, _) => listener.set_nonblocking(nonblocking),
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        if let Self::Unix(_, path) = self {
            remove_socket_file(path);
        }
    }
}

/// Removes a unix socket file; a missing file (or any other failure) is not an error here.
fn remove_socket_file(path: &Path) {
    // Best effort, as libzmq: a failure shows up at bind time anyway.
    let _ = std::fs::remove_file(path);
}

/// Connects to `endpoint`, retrying a refused or missing listener until `timeout` (libzmq
/// reconnects in the background; a plain socket has to retry).
fn connect(endpoint: &str, timeout: Duration) -> Result<Stream, Failure> {
    let failed = |error: io::Error| Failure::Endpoint {
        endpoint: endpoint.to_owned(),
        error: error.to_string(),
    };
    let parsed = Endpoint::parse(endpoint)?;
    let deadline = Instant::now() + timeout;
    loop {
        let connected = match &parsed {
            Endpoint::Tcp { port: 0, .. } | Endpoint::Ipc(None) => {
                return Err(Failure::Endpoint {
                    endpoint: endpoint.to_owned(),
                    error: "cannot connect to a wildcard endpoint".to_owned(),
                });
            }
            Endpoint::Tcp { host, port } => {
                TcpStream::connect((host.as_str(), *port)).and_then(Stream::from_tcp)
            }
            Endpoint::Ipc(Some(path)) => UnixStream::connect(path).map(Stream::Unix),
        };
        match connected {
            Ok(stream) => return Ok(stream),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::ConnectionRefused | io::ErrorKind::NotFound
                ) && Instant::now() < deadline =>
            {
                thread::sleep(Duration::from_millis(10));
            }
            Err(e) => return Err(failed(e)),
        }
    }
}

/// Writes one message: big-endian u32 length, then the body.
fn write_message(writer: &mut impl Write, body: &[u8]) -> io::Result<()> {
    let len = u32::try_from(body.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "message over 4 GiB"))?;
    writer.write_all(&len.to_be_bytes())?;
    writer.write_all(body)
}

/// Reads one message into `body`; `Ok(false)` on a clean end of stream before a message.
fn read_message(reader: &mut impl Read, body: &mut Vec<u8>) -> io::Result<bool> {
    let mut prefix = [0_u8; 4];
    match reader.read_exact(&mut prefix) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(false),
        Err(e) => return Err(e),
    }
    let len = usize::try_from(u32::from_be_bytes(prefix))
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "message too large"))?;
    body.resize(len, 0);
    reader.read_exact(body)?;
    Ok(true)
}

/// [`on_io`] for the message numbered `index`: the context is only formatted on an error.
fn on_io_at(what: &'static str, index: u64) -> impl FnOnce(io::Error) -> Failure {
    move |error| on_io(&format!("{what} {index}"))(error)
}

/// Maps an I/O error while moving messages; a read timeout reads as such.
fn on_io(context: &str) -> impl FnOnce(io::Error) -> Failure {
    move |error| {
        if matches!(
            error.kind(),
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
        ) {
            Failure::Other(format!("{context}: timed out"))
        } else {
            Failure::Other(format!("{context}: {error}"))
        }
    }
}

/// A buffered reader and writer over the two halves of `stream`.
fn split(stream: Stream) -> Result<(BufReader<Stream>, BufWriter<Stream>), Failure> {
    let writer = stream
        .try_clone()
        .map_err(on_io("duplicating the stream"))?;
    Ok((
        BufReader::with_capacity(BUFFER, stream),
        BufWriter::with_capacity(BUFFER, writer),
    ))
}

fn echo(endpoint: &str, count: Option<u64>) -> Result<(), Failure> {
    let listener = Listener::bind_and_announce(endpoint)?;
    let mut body = Vec::new();
    let mut echoed = 0_u64;
    // One connection at a time: when a client hangs up, wait for the next one.
    while count.is_none_or(|count| echoed < count) {
        let (mut reader, mut writer) = split(listener.accept(None)?)?;
        while count.is_none_or(|count| echoed < count) {
            if !read_message(&mut reader, &mut body).map_err(on_io("receiving"))? {
                break;
            }
            write_message(&mut writer, &body)
                .and_then(|()| writer.flush())
                .map_err(on_io("sending the echo"))?;
            echoed += 1;
        }
    }
    Ok(())
}

fn thr_recv(
    endpoint: &str,
    count: u64,
    size: usize,
    timeout: Option<Duration>,
) -> Result<(), Failure> {
    let listener = Listener::bind_and_announce(endpoint)?;
    let stream = listener.accept(timeout)?;
    stream
        .set_read_timeout(timeout)
        .map_err(on_io("setting the read timeout"))?;
    let mut reader = BufReader::with_capacity(BUFFER, stream);
    let mut body = Vec::with_capacity(size);
    let mut started = None;
    for index in 0..count {
        if !read_message(&mut reader, &mut body).map_err(on_io_at("receiving message", index))? {
            return Err(Failure::Other(format!(
                "receiving message {index}: the sender hung up"
            )));
        }
        started.get_or_insert_with(Instant::now);
        if body.len() != size {
            return Err(Failure::Other(format!(
                "message {index} has {} octets, expected {size}",
                body.len()
            )));
        }
    }
    let elapsed = started.map_or(Duration::ZERO, |started| started.elapsed());
    // Closing the connection tells the sender that everything arrived.
    drop(reader);
    drop(listener);
    bench::print_flushed(&bench::thr_line(size, count, elapsed))
}

fn thr_send(endpoint: &str, count: u64, size: usize) -> Result<(), Failure> {
    let (mut reader, mut writer) = split(connect(endpoint, DEFAULT_TIMEOUT)?)?;
    let body = vec![0x5A_u8; size];
    for index in 0..count {
        write_message(&mut writer, &body).map_err(on_io_at("sending message", index))?;
    }
    writer.flush().map_err(on_io("sending"))?;
    writer
        .get_ref()
        .shutdown_write()
        .map_err(on_io("shutting down the sending half"))?;
    // Delivery: the receiver closes its end only after reading every message.
    let mut rest = Vec::new();
    reader
        .read_to_end(&mut rest)
        .map_err(on_io("waiting for the receiver to finish"))?;
    Ok(())
}

fn lat(endpoint: &str, count: u64, size: usize, timeout: Duration) -> Result<(), Failure> {
    let stream = connect(endpoint, timeout)?;
    stream
        .set_read_timeout(Some(timeout))
        .map_err(on_io("setting the read timeout"))?;
    let (mut reader, mut writer) = split(stream)?;
    let body = vec![0xA5_u8; size];
    let mut reply = Vec::with_capacity(size);
    let mut samples = Vec::with_capacity(usize::try_from(count).unwrap_or(0));
    for index in 0..count {
        let started = Instant::now();
        write_message(&mut writer, &body)
            .and_then(|()| writer.flush())
            .map_err(on_io_at("sending message", index))?;
        if !read_message(&mut reader, &mut reply)
            .map_err(on_io_at("receiving the echo of message", index))?
        {
            return Err(Failure::Other(format!(
                "receiving the echo of message {index}: the echo hung up"
            )));
        }
        samples.push(started.elapsed());
        // As `zpeer lat`: the length is checked, the content is not (no memcmp in the timing).
        if reply.len() != size {
            return Err(Failure::Other(format!(
                "echo of message {index} is not the message sent"
            )));
        }
    }
    bench::print_flushed(&bench::lat_line(size, &mut samples))
}
