//! `zpeer`: a command-line tool around PEER sockets (echo server, ping, throughput, latency, demo).
#![forbid(unsafe_code)]
#![allow(clippy::print_stdout, clippy::print_stderr, reason = "CLI")]

use std::fmt;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use bytes::Bytes;
use zmq_peer::{Context, Error, Message, RoutingId, Socket, SocketType};

const USAGE: &str = "\
usage: zpeer <command> [arguments]

Endpoints: tcp://, ipc://, inproc:// (within one process), ws:// and wss://. A wss bind needs
--cert and --key; a wss connect needs --trust and/or --trust-system (see below).

commands:
  echo ENDPOINT [--count N] [--cert PEM_FILE --key PEM_FILE]
      bind a PEER socket, print the resolved endpoint, send every message back to its sender;
      stop after N messages (default: run forever)
  ping ENDPOINT [--count N] [--size S] [--timeout SECS] [WSS_TRUST]
      connect_peer, send N messages (default 1) of S octets (default 64) and check each echo;
      prints `ok N`; fails on a mismatch or when no echo arrives within SECS (default 10)
  thr-recv ENDPOINT --count N --size S [--timeout SECS] [--cert PEM_FILE --key PEM_FILE]
      bind, print the resolved endpoint, receive N messages of S octets and print
      `thr size=S count=N msgs_per_s=X mb_per_s=Y` (megabits per second, as libzmq's local_thr),
      timed from the first message
  thr-send ENDPOINT --count N --size S [WSS_TRUST]
      connect_peer and send N messages of S octets; waits until all are delivered (thr-recv
      acknowledges the N-th message with an empty message; LINGER -1 as a second line of defence)
  lat ENDPOINT --count N --size S [--timeout SECS] [WSS_TRUST]
      N round trips against `zpeer echo`; prints
      `lat size=S count=N avg_us=X p50_us=Y p99_us=Z`
  thr-inproc --count N --size S
      thr-recv and thr-send in one process over inproc (the sender on a second thread)
  lat-inproc --count N --size S [--timeout SECS]
      lat against an echo on a second thread of this process, over inproc
  peers-bind ENDPOINT --count N [--timeout SECS] [--cert PEM_FILE --key PEM_FILE]
      bind, print the resolved endpoint, wait for one message from each of N peers, then print
      `rss_kb=X` (this process's resident set) and acknowledge every peer
  peers-connect ENDPOINT --count N [--timeout SECS] [WSS_TRUST]
      one socket, N connect_peer calls to ENDPOINT, one 1-octet message per peer; waits for the
      acknowledgement of peers-bind (default up to 60 s)
  demo
      two PEER sockets in this process over inproc, ipc, tcp, ws (with the `ws` feature) and wss:
      endpoints, routing ids and round-trip times. For wss the demo makes a throwaway
      self-signed certificate for 127.0.0.1 in memory (feature `demo-tls`, on by default); built
      without it, the demo skips wss (use echo/ping with --cert/--key/--trust instead)

wss options (WSS_TRUST = [--trust PEM_FILE] [--trust-system] [--hostname NAME]):
  --cert PEM_FILE --key PEM_FILE
      (binding commands) the certificate chain (leaf first) and the private key the wss
      listener presents (ZMQ_WSS_CERT_PEM / ZMQ_WSS_KEY_PEM); give both or neither
  --trust PEM_FILE
      (connecting commands) the certificates trusted as roots (ZMQ_WSS_TRUST_PEM); a
      self-signed server certificate can be trusted directly
  --trust-system
      (connecting commands; a flag, no value) also trust the operating system's root
      certificates (ZMQ_WSS_TRUST_SYSTEM); a wss connect needs this and/or --trust
  --hostname NAME
      (connecting commands, with --trust or --trust-system) the name sent as SNI and checked
      against the server's certificate (ZMQ_WSS_HOSTNAME); without it the certificate chain is
      verified but its name is not checked, as libzmq does

Errors about an endpoint print `zpeer: <endpoint>: <error> (errno N)` and exit with status 2;
other failures exit with status 1.";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = match Command::parse(&args) {
        Ok(Some(command)) => command,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("zpeer: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match command.run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("zpeer: {failure}");
            ExitCode::from(failure.exit_code())
        }
    }
}

/// A parsed command line.
#[derive(Debug)]
enum Command {
    Echo {
        endpoint: String,
        count: Option<u64>,
        tls: ServerTls,
    },
    Ping {
        endpoint: String,
        count: u64,
        size: usize,
        timeout: Duration,
        tls: ClientTls,
    },
    ThrRecv {
        endpoint: String,
        count: u64,
        size: usize,
        timeout: Option<Duration>,
        tls: ServerTls,
    },
    ThrSend {
        endpoint: String,
        count: u64,
        size: usize,
        tls: ClientTls,
    },
    Lat {
        endpoint: String,
        count: u64,
        size: usize,
        timeout: Duration,
        tls: ClientTls,
    },
    ThrInproc {
        count: u64,
        size: usize,
    },
    LatInproc {
        count: u64,
        size: usize,
        timeout: Duration,
    },
    PeersBind {
        endpoint: String,
        count: u64,
        timeout: Option<Duration>,
        tls: ServerTls,
    },
    PeersConnect {
        endpoint: String,
        count: u64,
        timeout: Duration,
        tls: ClientTls,
    },
    Demo,
}

/// `--cert` / `--key` of a binding command: PEM files for a wss listener.
#[derive(Debug, Default)]
struct ServerTls {
    /// The certificate chain file and the private key file.
    files: Option<(PathBuf, PathBuf)>,
}

impl ServerTls {
    /// Sets `ZMQ_WSS_CERT_PEM` / `ZMQ_WSS_KEY_PEM` on `socket` from the files, if given.
    fn apply(&self, socket: &Socket) -> Result<(), Failure> {
        if let Some((cert, key)) = &self.files {
            socket
                .set_wss_certificate(&read_pem(cert)?, &read_pem(key)?)
                .or_fail("setting WSS_CERT_PEM / WSS_KEY_PEM")?;
        }
        Ok(())
    }
}

/// `--trust` / `--trust-system` / `--hostname` of a connecting command: what a wss client
/// trusts and checks.
#[derive(Debug, Default)]
struct ClientTls {
    /// The trusted certificates.
    trust: Option<Pem>,
    /// Also trust the system's roots.
    trust_system: bool,
    /// The name to send as SNI and check in the certificate.
    hostname: Option<String>,
}

impl ClientTls {
    /// Sets `ZMQ_WSS_TRUST_PEM` / `ZMQ_WSS_TRUST_SYSTEM` / `ZMQ_WSS_HOSTNAME` on `socket`, if
    /// given.
    fn apply(&self, socket: &Socket) -> Result<(), Failure> {
        if let Some(trust) = &self.trust {
            socket
                .set_wss_trust_pem(&trust.text()?)
                .or_fail("setting WSS_TRUST_PEM")?;
        }
        if self.trust_system {
            socket
                .set_wss_trust_system(true)
                .or_fail("setting WSS_TRUST_SYSTEM")?;
        }
        if let Some(hostname) = &self.hostname {
            socket
                .set_wss_hostname(hostname)
                .or_fail("setting WSS_HOSTNAME")?;
        }
        Ok(())
    }
}

/// PEM text, or the file holding it.
#[derive(Debug)]
enum Pem {
    /// Read from this file when applied.
    File(PathBuf),
    /// Given in memory (the demo's certificate).
    Text(String),
}

impl Pem {
    /// The PEM text (reads the file).
    fn text(&self) -> Result<String, Failure> {
        match self {
            Self::File(path) => read_pem(path),
            Self::Text(text) => Ok(text.clone()),
        }
    }
}

/// The text of a PEM file.
fn read_pem(path: &std::path::Path) -> Result<String, Failure> {
    std::fs::read_to_string(path)
        .map_err(|error| Failure::Check(format!("reading {}: {error}", path.display())))
}

/// Why a command failed; decides the exit status.
#[derive(Debug)]
enum Failure {
    /// An operation on an endpoint (bind, connect) failed: exit status 2.
    Endpoint { endpoint: String, error: Error },
    /// Any other socket error: exit status 1.
    Socket { context: String, error: Error },
    /// A check failed (echo mismatch, timeout): exit status 1.
    Check(String),
}

impl Failure {
    fn exit_code(&self) -> u8 {
        match self {
            Self::Endpoint { .. } => 2,
            Self::Socket { .. } | Self::Check(_) => 1,
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Endpoint { endpoint, error } => {
                write!(f, "{endpoint}: {error} (errno {})", error.errno())
            }
            Self::Socket { context, error } => {
                write!(f, "{context}: {error} (errno {})", error.errno())
            }
            Self::Check(message) => f.write_str(message),
        }
    }
}

/// Attaches a description to a socket error.
trait OrFail<T> {
    fn or_fail(self, context: &str) -> Result<T, Failure>;
    /// `or_fail` for the message numbered `index`, formatting the context only on an error (a
    /// `format!` per message is a visible share of a small-message benchmark run).
    fn or_fail_at(self, what: &'static str, index: impl fmt::Display) -> Result<T, Failure>;
    fn or_endpoint(self, endpoint: &str) -> Result<T, Failure>;
}

impl<T> OrFail<T> for Result<T, Error> {
    fn or_fail(self, context: &str) -> Result<T, Failure> {
        self.map_err(|error| Failure::Socket {
            context: context.to_owned(),
            error,
        })
    }

    fn or_fail_at(self, what: &'static str, index: impl fmt::Display) -> Result<T, Failure> {
        self.map_err(|error| Failure::Socket {
            context: format!("{what} {index}"),
            error,
        })
    }

    fn or_endpoint(self, endpoint: &str) -> Result<T, Failure> {
        self.map_err(|error| Failure::Endpoint {
            endpoint: endpoint.to_owned(),
            error,
        })
    }
}

impl Command {
    /// Parses the arguments after the program name; `Ok(None)` asks for the usage text.
    fn parse(args: &[String]) -> Result<Option<Self>, String> {
        let Some((name, rest)) = args.split_first() else {
            return Err("missing command".to_owned());
        };
        if matches!(name.as_str(), "-h" | "--help" | "help") {
            return Ok(None);
        }
        let mut parsed = ParsedArgs::new(rest)?;
        if parsed.help {
            return Ok(None);
        }
        let command = match name.as_str() {
            "echo" => Self::Echo {
                endpoint: parsed.endpoint(name)?,
                count: parsed.take_number("count")?,
                tls: parsed.take_server_tls()?,
            },
            "ping" => Self::Ping {
                endpoint: parsed.endpoint(name)?,
                count: parsed.take_number("count")?.unwrap_or(1),
                size: parsed.take_size()?.unwrap_or(64),
                timeout: parsed.take_timeout()?.unwrap_or(Duration::from_secs(10)),
                tls: parsed.take_client_tls()?,
            },
            "thr-recv" => Self::ThrRecv {
                endpoint: parsed.endpoint(name)?,
                count: parsed.require_number("count")?,
                size: parsed.take_size()?.ok_or("--size is required")?,
                timeout: parsed.take_timeout()?,
                tls: parsed.take_server_tls()?,
            },
            "thr-send" => Self::ThrSend {
                endpoint: parsed.endpoint(name)?,
                count: parsed.require_number("count")?,
                size: parsed.take_size()?.ok_or("--size is required")?,
                tls: parsed.take_client_tls()?,
            },
            "lat" => Self::Lat {
                endpoint: parsed.endpoint(name)?,
                count: parsed.require_number("count")?,
                size: parsed.take_size()?.ok_or("--size is required")?,
                timeout: parsed.take_timeout()?.unwrap_or(Duration::from_secs(10)),
                tls: parsed.take_client_tls()?,
            },
            "thr-inproc" => Self::ThrInproc {
                count: parsed.require_number("count")?,
                size: parsed.take_size()?.ok_or("--size is required")?,
            },
            "lat-inproc" => Self::LatInproc {
                count: parsed.require_number("count")?,
                size: parsed.take_size()?.ok_or("--size is required")?,
                timeout: parsed.take_timeout()?.unwrap_or(Duration::from_secs(10)),
            },
            "peers-bind" => Self::PeersBind {
                endpoint: parsed.endpoint(name)?,
                count: parsed.require_number("count")?,
                timeout: parsed.take_timeout()?,
                tls: parsed.take_server_tls()?,
            },
            "peers-connect" => Self::PeersConnect {
                endpoint: parsed.endpoint(name)?,
                count: parsed.require_number("count")?,
                timeout: parsed.take_timeout()?.unwrap_or(Duration::from_secs(60)),
                tls: parsed.take_client_tls()?,
            },
            "demo" => Self::Demo,
            other => return Err(format!("unknown command `{other}`")),
        };
        parsed.finish(name)?;
        command.check_wss_options()?;
        Ok(Some(command))
    }

    /// A wss endpoint needs `--cert`/`--key` to bind and `--trust` and/or `--trust-system` to
    /// connect: say so up front rather than let the bind or the connection fail.
    fn check_wss_options(&self) -> Result<(), String> {
        let (endpoint, missing) = match self {
            Self::Echo { endpoint, tls, .. }
            | Self::ThrRecv { endpoint, tls, .. }
            | Self::PeersBind { endpoint, tls, .. } => (
                endpoint,
                tls.files
                    .is_none()
                    .then_some("a wss bind needs --cert PEM_FILE --key PEM_FILE"),
            ),
            Self::Ping { endpoint, tls, .. }
            | Self::ThrSend { endpoint, tls, .. }
            | Self::Lat { endpoint, tls, .. }
            | Self::PeersConnect { endpoint, tls, .. } => (
                endpoint,
                (tls.trust.is_none() && !tls.trust_system)
                    .then_some("a wss connect needs --trust PEM_FILE and/or --trust-system"),
            ),
            Self::ThrInproc { .. } | Self::LatInproc { .. } | Self::Demo => return Ok(()),
        };
        match missing {
            Some(what) if endpoint.starts_with("wss://") => Err(format!("{endpoint}: {what}")),
            _ => Ok(()),
        }
    }

    fn run(self) -> Result<(), Failure> {
        match self {
            Self::Echo {
                endpoint,
                count,
                tls,
            } => echo(&endpoint, count, &tls),
            Self::Ping {
                endpoint,
                count,
                size,
                timeout,
                tls,
            } => ping(&endpoint, count, size, timeout, &tls),
            Self::ThrRecv {
                endpoint,
                count,
                size,
                timeout,
                tls,
            } => thr_recv(&endpoint, count, size, timeout, &tls),
            Self::ThrSend {
                endpoint,
                count,
                size,
                tls,
            } => thr_send(&endpoint, count, size, &tls),
            Self::Lat {
                endpoint,
                count,
                size,
                timeout,
                tls,
            } => lat(&endpoint, count, size, timeout, &tls),
            Self::ThrInproc { count, size } => thr_inproc(count, size),
            Self::LatInproc {
                count,
                size,
                timeout,
            } => lat_inproc(count, size, timeout),
            Self::PeersBind {
                endpoint,
                count,
                timeout,
                tls,
            } => peers_bind(&endpoint, count, timeout, &tls),
            Self::PeersConnect {
                endpoint,
                count,
                timeout,
                tls,
            } => peers_connect(&endpoint, count, timeout, &tls),
            Self::Demo => demo(),
        }
    }
}

/// Options that are flags: `--name` alone, without a value.
const FLAGS: &[&str] = &["trust-system"];

/// Positional arguments, `--name value` / `--name=value` options and `--flag`s, consumed by the
/// parser.
#[derive(Debug)]
struct ParsedArgs {
    positional: Vec<String>,
    options: Vec<(String, String)>,
    help: bool,
}

impl ParsedArgs {
    fn new(args: &[String]) -> Result<Self, String> {
        let mut positional = Vec::new();
        let mut options = Vec::new();
        let mut help = false;
        let mut iter = args.iter();
        while let Some(arg) = iter.next() {
            if arg == "-h" || arg == "--help" {
                help = true;
            } else if let Some(option) = arg.strip_prefix("--") {
                let flag = option.split_once('=').map_or(option, |(name, _)| name);
                if FLAGS.contains(&flag) {
                    if flag != option {
                        return Err(format!("--{flag} takes no value"));
                    }
                    options.push((option.to_owned(), String::new()));
                    continue;
                }
                let (name, value) = match option.split_once('=') {
                    Some((name, value)) => (name.to_owned(), value.to_owned()),
                    None => {
                        let value = iter
                            .next()
                            .ok_or_else(|| format!("--{option} needs a value"))?;
                        (option.to_owned(), value.clone())
                    }
                };
                options.push((name, value));
            } else {
                positional.push(arg.clone());
            }
        }
        Ok(Self {
            positional,
            options,
            help,
        })
    }

    fn endpoint(&mut self, command: &str) -> Result<String, String> {
        if self.positional.is_empty() {
            return Err(format!("{command}: missing ENDPOINT"));
        }
        Ok(self.positional.remove(0))
    }

    fn take(&mut self, name: &str) -> Option<String> {
        let index = self.options.iter().position(|(n, _)| n == name)?;
        Some(self.options.remove(index).1)
    }

    /// Whether the flag `--name` was given.
    fn take_flag(&mut self, name: &str) -> bool {
        self.take(name).is_some()
    }

    fn take_number(&mut self, name: &str) -> Result<Option<u64>, String> {
        self.take(name)
            .map(|value| {
                value
                    .parse::<u64>()
                    .map_err(|_| format!("--{name}: `{value}` is not a number"))
            })
            .transpose()
    }

    fn require_number(&mut self, name: &str) -> Result<u64, String> {
        self.take_number(name)?
            .ok_or_else(|| format!("--{name} is required"))
    }

    fn take_size(&mut self) -> Result<Option<usize>, String> {
        self.take_number("size")?
            .map(|size| usize::try_from(size).map_err(|_| format!("--size {size} is too large")))
            .transpose()
    }

    fn take_timeout(&mut self) -> Result<Option<Duration>, String> {
        let Some(value) = self.take("timeout") else {
            return Ok(None);
        };
        let seconds: f64 = value
            .parse()
            .map_err(|_| format!("--timeout: `{value}` is not a number"))?;
        if !seconds.is_finite() || seconds <= 0.0 || seconds > 1.0e6 {
            return Err(format!("--timeout: `{value}` is out of range"));
        }
        Ok(Some(Duration::from_secs_f64(seconds)))
    }

    /// `--cert PEM_FILE --key PEM_FILE` (both or neither).
    fn take_server_tls(&mut self) -> Result<ServerTls, String> {
        match (self.take("cert"), self.take("key")) {
            (Some(cert), Some(key)) => Ok(ServerTls {
                files: Some((PathBuf::from(cert), PathBuf::from(key))),
            }),
            (None, None) => Ok(ServerTls::default()),
            (Some(_), None) => Err("--cert needs --key".to_owned()),
            (None, Some(_)) => Err("--key needs --cert".to_owned()),
        }
    }

    /// `[--trust PEM_FILE] [--trust-system] [--hostname NAME]`.
    fn take_client_tls(&mut self) -> Result<ClientTls, String> {
        let trust = self
            .take("trust")
            .map(|path| Pem::File(PathBuf::from(path)));
        let trust_system = self.take_flag("trust-system");
        let hostname = self.take("hostname");
        if trust.is_none() && !trust_system && hostname.is_some() {
            return Err("--hostname needs --trust or --trust-system".to_owned());
        }
        Ok(ClientTls {
            trust,
            trust_system,
            hostname,
        })
    }

    fn finish(self, command: &str) -> Result<(), String> {
        if let Some(extra) = self.positional.first() {
            return Err(format!("{command}: unexpected argument `{extra}`"));
        }
        if let Some((name, _)) = self.options.first() {
            return Err(format!("{command}: unknown option --{name}"));
        }
        Ok(())
    }
}

/// A new PEER socket in `ctx`.
fn peer_socket(ctx: &Context) -> Result<Socket, Failure> {
    ctx.socket(SocketType::Peer)
        .or_fail("creating a PEER socket")
}

/// Milliseconds for RCVTIMEO / SNDTIMEO, saturating at `i32::MAX`.
fn millis(duration: Duration) -> i32 {
    i32::try_from(duration.as_millis()).unwrap_or(i32::MAX)
}

/// Prints `line` on stdout and flushes, so a parent process reading a pipe sees it at once.
fn print_flushed(line: &str) -> Result<(), Failure> {
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{line}")
        .and_then(|()| stdout.flush())
        .map_err(|error| Failure::Check(format!("writing to stdout: {error}")))
}

/// Binds a PEER socket (with the wss certificate, if given) and prints its resolved endpoint as
/// the first stdout line.
fn bind_and_announce(ctx: &Context, endpoint: &str, tls: &ServerTls) -> Result<Socket, Failure> {
    let socket = peer_socket(ctx)?;
    tls.apply(&socket)?;
    socket.bind(endpoint).or_endpoint(endpoint)?;
    let resolved = socket
        .last_endpoint()
        .or_fail("reading the bound endpoint")?;
    print_flushed(&resolved)?;
    Ok(socket)
}

/// Closes `socket` and terminates `ctx`, which waits for queued messages per LINGER.
fn finish(ctx: Context, socket: Socket) -> Result<(), Failure> {
    socket.close().or_fail("closing the socket")?;
    ctx.term().or_fail("terminating the context")
}

fn echo(endpoint: &str, count: Option<u64>, tls: &ServerTls) -> Result<(), Failure> {
    let ctx = Context::new();
    let socket = bind_and_announce(&ctx, endpoint, tls)?;
    echo_loop(&socket, count)?;
    finish(ctx, socket)
}

/// Sends every received message back to its sender; returns after `count` messages.
fn echo_loop(socket: &Socket, count: Option<u64>) -> Result<(), Failure> {
    let mut echoed = 0_u64;
    while count.is_none_or(|count| echoed < count) {
        let message = socket.recv().or_fail("receiving")?;
        echoed += 1;
        // The received message carries its sender's routing id: sending it replies.
        match socket.send(message) {
            Ok(()) => {}
            // A peer that left meanwhile is no reason to stop serving the others.
            Err(error) if error.errno() == zmq_peer::errno::EHOSTUNREACH => {
                eprintln!("zpeer: echo: sender gone, reply dropped ({error})");
            }
            Err(error) => {
                return Err(Failure::Socket {
                    context: "sending the echo".into(),
                    error,
                });
            }
        }
    }
    Ok(())
}

/// The payload of message `index`: `size` octets, distinct for distinct indexes as far as
/// `size` allows (the index is spelled out in the first eight octets).
fn payload(index: u64, size: usize) -> Vec<u8> {
    let mut body: Vec<u8> = (0..size)
        .map(|i| {
            let mixed = (index.wrapping_mul(31)).wrapping_add(u64::try_from(i).unwrap_or(0));
            mixed.to_le_bytes()[0]
        })
        .collect();
    let index_bytes = index.to_le_bytes();
    let prefix = size.min(index_bytes.len());
    body[..prefix].copy_from_slice(&index_bytes[..prefix]);
    body
}

/// Connects a PEER socket (with the wss trust, if given) with the given receive timeout and
/// returns it with the peer's id.
fn connect(
    ctx: &Context,
    endpoint: &str,
    timeout: Duration,
    tls: &ClientTls,
) -> Result<(Socket, RoutingId), Failure> {
    let socket = peer_socket(ctx)?;
    tls.apply(&socket)?;
    socket
        .set_rcvtimeo(millis(timeout))
        .or_fail("setting RCVTIMEO")?;
    socket
        .set_sndtimeo(millis(timeout))
        .or_fail("setting SNDTIMEO")?;
    let routing_id = socket.connect_peer(endpoint).or_endpoint(endpoint)?;
    Ok((socket, routing_id))
}

/// Receives one echo, mapping a timeout to a readable failure.
fn recv_echo(socket: &Socket, index: u64, timeout: Duration) -> Result<Message, Failure> {
    socket.recv().map_err(|error| {
        if is_timeout(&error) {
            Failure::Check(format!(
                "no echo of message {index} within {}s",
                timeout.as_secs_f64()
            ))
        } else {
            Failure::Socket {
                context: "receiving the echo".to_owned(),
                error,
            }
        }
    })
}

fn ping(
    endpoint: &str,
    count: u64,
    size: usize,
    timeout: Duration,
    tls: &ClientTls,
) -> Result<(), Failure> {
    let ctx = Context::new();
    let (socket, routing_id) = connect(&ctx, endpoint, timeout, tls)?;
    for index in 0..count {
        let body = payload(index, size);
        socket
            .send(Message::with_routing_id(body.clone(), routing_id))
            .map_err(|error| send_failure(error, index, timeout))?;
        let echo = recv_echo(&socket, index, timeout)?;
        if echo.routing_id() != Some(routing_id) {
            return Err(Failure::Check(format!(
                "echo of message {index} came from routing id {:?}, expected {}",
                echo.routing_id().map(RoutingId::get),
                routing_id.get()
            )));
        }
        if echo.as_bytes() != body.as_slice() {
            return Err(Failure::Check(format!(
                "echo of message {index} differs ({} octets sent, {} received)",
                body.len(),
                echo.len()
            )));
        }
    }
    socket.set_linger(0).or_fail("setting LINGER")?;
    finish(ctx, socket)?;
    print_flushed(&format!("ok {count}"))
}

fn send_failure(error: Error, index: u64, timeout: Duration) -> Failure {
    if is_timeout(&error) {
        Failure::Check(format!(
            "message {index} could not be queued within {}s",
            timeout.as_secs_f64()
        ))
    } else {
        Failure::Socket {
            context: format!("sending message {index}"),
            error,
        }
    }
}

/// Whether `error` is an expired RCVTIMEO / SNDTIMEO (`EAGAIN`).
fn is_timeout(error: &Error) -> bool {
    error.errno() == zmq_peer::errno::EAGAIN
}

fn thr_recv(
    endpoint: &str,
    count: u64,
    size: usize,
    timeout: Option<Duration>,
    tls: &ServerTls,
) -> Result<(), Failure> {
    let ctx = Context::new();
    let socket = bind_and_announce(&ctx, endpoint, tls)?;
    if let Some(timeout) = timeout {
        socket
            .set_rcvtimeo(millis(timeout))
            .or_fail("setting RCVTIMEO")?;
    }
    let (elapsed, last_sender) = receive_counted(&socket, count, size)?;
    // Delivery ack: the sender waits for it before closing (see interop/BENCH.md). Best
    // effort: a vanished sender must not hold this process up beyond a short LINGER.
    if let Some(sender) = last_sender {
        let _ = socket.try_send(Message::with_routing_id(Bytes::new(), sender));
    }
    socket.set_linger(ACK_LINGER_MS).or_fail("setting LINGER")?;
    print_flushed(&thr_line(count, size, elapsed))?;
    finish(ctx, socket)
}

/// LINGER for a delivery ack: long enough to flush it, short enough not to hang on a gone peer.
const ACK_LINGER_MS: i32 = 1000;

/// How long `thr-send` waits for the receiver's ack before relying on LINGER alone.
const ACK_WAIT: Duration = Duration::from_secs(10);

/// Receives `count` messages of `size` octets. Returns the time from the first message to the
/// last and the routing id of the last message's sender.
fn receive_counted(
    socket: &Socket,
    count: u64,
    size: usize,
) -> Result<(Duration, Option<RoutingId>), Failure> {
    let mut started = None;
    let mut last_sender = None;
    for index in 0..count {
        let message = socket.recv().map_err(|error| {
            if is_timeout(&error) {
                Failure::Check(format!("message {index} did not arrive in time"))
            } else {
                Failure::Socket {
                    context: "receiving".to_owned(),
                    error,
                }
            }
        })?;
        started.get_or_insert_with(Instant::now);
        if message.len() != size {
            return Err(Failure::Check(format!(
                "message {index} has {} octets, expected {size}",
                message.len()
            )));
        }
        last_sender = message.routing_id();
    }
    let elapsed = started.map_or(Duration::ZERO, |started| started.elapsed());
    Ok((elapsed, last_sender))
}

/// `thr size=S count=N msgs_per_s=X mb_per_s=Y` (megabits per second, as libzmq's `local_thr`).
fn thr_line(count: u64, size: usize, elapsed: Duration) -> String {
    let seconds = elapsed.as_secs_f64().max(1e-6);
    let msgs_per_s = count_f64(count) / seconds;
    let mb_per_s = msgs_per_s * count_f64(u64::try_from(size).unwrap_or(u64::MAX)) * 8.0 / 1e6;
    format!("thr size={size} count={count} msgs_per_s={msgs_per_s:.0} mb_per_s={mb_per_s:.3}")
}

#[allow(
    clippy::cast_precision_loss,
    reason = "statistics; counts far below 2^52"
)]
fn count_f64(value: u64) -> f64 {
    value as f64
}

fn thr_send(endpoint: &str, count: u64, size: usize, tls: &ClientTls) -> Result<(), Failure> {
    let ctx = Context::new();
    let socket = peer_socket(&ctx)?;
    tls.apply(&socket)?;
    // Wait as long as it takes for every queued message to be delivered.
    socket.set_linger(-1).or_fail("setting LINGER")?;
    let routing_id = socket.connect_peer(endpoint).or_endpoint(endpoint)?;
    send_counted(&socket, routing_id, count, size)?;
    socket
        .set_rcvtimeo(millis(ACK_WAIT))
        .or_fail("setting RCVTIMEO")?;
    match socket.recv() {
        Ok(_) => {}
        Err(error) if is_timeout(&error) => eprintln!(
            "zpeer: thr-send: no delivery ack within {}s; relying on LINGER",
            ACK_WAIT.as_secs()
        ),
        Err(error) => {
            return Err(Failure::Socket {
                context: "waiting for the delivery ack".to_owned(),
                error,
            });
        }
    }
    finish(ctx, socket)
}

/// Sends `count` messages of `size` octets of `0x5A` (one shared body, no copy per message).
fn send_counted(
    socket: &Socket,
    routing_id: RoutingId,
    count: u64,
    size: usize,
) -> Result<(), Failure> {
    let body = Bytes::from(vec![0x5A; size]);
    for index in 0..count {
        socket
            .send(Message::with_routing_id(body.clone(), routing_id))
            .or_fail_at("sending message", index)?;
    }
    Ok(())
}

fn lat(
    endpoint: &str,
    count: u64,
    size: usize,
    timeout: Duration,
    tls: &ClientTls,
) -> Result<(), Failure> {
    if count == 0 {
        return Err(Failure::Check("--count must be at least 1".to_owned()));
    }
    let ctx = Context::new();
    let (socket, routing_id) = connect(&ctx, endpoint, timeout, tls)?;
    let samples = round_trips(&socket, routing_id, count, size, timeout)?;
    socket.set_linger(0).or_fail("setting LINGER")?;
    finish(ctx, socket)?;
    print_flushed(&lat_line(count, size, samples))
}

/// `count` timed round trips of `size` octets of `0xA5` to `routing_id` (an echo).
fn round_trips(
    socket: &Socket,
    routing_id: RoutingId,
    count: u64,
    size: usize,
    timeout: Duration,
) -> Result<Vec<Duration>, Failure> {
    let body = Bytes::from(vec![0xA5; size]);
    let mut samples = Vec::with_capacity(usize::try_from(count).unwrap_or(0));
    for index in 0..count {
        let started = Instant::now();
        socket
            .send(Message::with_routing_id(body.clone(), routing_id))
            .map_err(|error| send_failure(error, index, timeout))?;
        let echo = recv_echo(socket, index, timeout)?;
        samples.push(started.elapsed());
        if echo.len() != size || echo.routing_id() != Some(routing_id) {
            return Err(Failure::Check(format!(
                "echo of message {index} is not the message sent"
            )));
        }
    }
    Ok(samples)
}

/// `lat size=S count=N avg_us=X p50_us=Y p99_us=Z` from the round-trip times.
fn lat_line(count: u64, size: usize, mut samples: Vec<Duration>) -> String {
    samples.sort_unstable();
    let total: Duration = samples.iter().sum();
    let avg = total.as_secs_f64() * 1e6 / count_f64(count.max(1));
    format!(
        "lat size={size} count={count} avg_us={avg:.1} p50_us={:.1} p99_us={:.1}",
        percentile_us(&samples, 50),
        percentile_us(&samples, 99)
    )
}

/// A bound and a connected PEER socket over a fresh inproc name in `ctx`.
fn inproc_pair(
    ctx: &Context,
    timeout: Option<Duration>,
) -> Result<(Socket, Socket, RoutingId), Failure> {
    let endpoint = format!("inproc://zpeer-{}", std::process::id());
    let binder = peer_socket(ctx)?;
    if let Some(timeout) = timeout {
        binder
            .set_rcvtimeo(millis(timeout))
            .or_fail("setting RCVTIMEO")?;
    }
    binder.bind(&endpoint).or_endpoint(&endpoint)?;
    let connecter = peer_socket(ctx)?;
    if let Some(timeout) = timeout {
        connecter
            .set_rcvtimeo(millis(timeout))
            .or_fail("setting RCVTIMEO")?;
        connecter
            .set_sndtimeo(millis(timeout))
            .or_fail("setting SNDTIMEO")?;
    }
    let routing_id = connecter.connect_peer(&endpoint).or_endpoint(&endpoint)?;
    Ok((binder, connecter, routing_id))
}

/// Joins a helper thread, turning its panic into a failure.
fn join<T>(handle: std::thread::JoinHandle<Result<T, Failure>>, what: &str) -> Result<T, Failure> {
    handle
        .join()
        .map_err(|_| Failure::Check(format!("the {what} thread panicked")))?
}

fn thr_inproc(count: u64, size: usize) -> Result<(), Failure> {
    let ctx = Context::new();
    let (receiver, sender, routing_id) = inproc_pair(&ctx, None)?;
    let sending = std::thread::spawn(move || {
        send_counted(&sender, routing_id, count, size)?;
        Ok(sender)
    });
    let (elapsed, _) = receive_counted(&receiver, count, size)?;
    let sender = join(sending, "sender")?;
    print_flushed(&thr_line(count, size, elapsed))?;
    sender.close().or_fail("closing")?;
    finish(ctx, receiver)
}

fn lat_inproc(count: u64, size: usize, timeout: Duration) -> Result<(), Failure> {
    if count == 0 {
        return Err(Failure::Check("--count must be at least 1".to_owned()));
    }
    let ctx = Context::new();
    let (echo_socket, client, routing_id) = inproc_pair(&ctx, Some(timeout))?;
    let echoing = std::thread::spawn(move || {
        echo_loop(&echo_socket, Some(count))?;
        Ok(echo_socket)
    });
    let samples = round_trips(&client, routing_id, count, size, timeout)?;
    let echo_socket = join(echoing, "echo")?;
    print_flushed(&lat_line(count, size, samples))?;
    echo_socket.close().or_fail("closing")?;
    finish(ctx, client)
}

fn peers_bind(
    endpoint: &str,
    count: u64,
    timeout: Option<Duration>,
    tls: &ServerTls,
) -> Result<(), Failure> {
    let ctx = Context::new();
    let socket = bind_and_announce(&ctx, endpoint, tls)?;
    if let Some(timeout) = timeout {
        socket
            .set_rcvtimeo(millis(timeout))
            .or_fail("setting RCVTIMEO")?;
    }
    let mut peers = Vec::with_capacity(usize::try_from(count).unwrap_or(0));
    for index in 0..count {
        let message = socket.recv().map_err(|error| {
            if is_timeout(&error) {
                Failure::Check(format!(
                    "the message of peer {index} did not arrive in time"
                ))
            } else {
                Failure::Socket {
                    context: "receiving".to_owned(),
                    error,
                }
            }
        })?;
        peers.extend(message.routing_id());
    }
    // Measured while every peer is still connected and idle.
    let rss_kb = resident_set_kb()?;
    print_flushed(&format!("rss_kb={rss_kb}"))?;
    for peer in peers {
        let _ = socket.try_send(Message::with_routing_id(Bytes::new(), peer));
    }
    socket.set_linger(ACK_LINGER_MS).or_fail("setting LINGER")?;
    finish(ctx, socket)
}

fn peers_connect(
    endpoint: &str,
    count: u64,
    timeout: Duration,
    tls: &ClientTls,
) -> Result<(), Failure> {
    let ctx = Context::new();
    let socket = peer_socket(&ctx)?;
    tls.apply(&socket)?;
    socket
        .set_sndtimeo(millis(timeout))
        .or_fail("setting SNDTIMEO")?;
    let mut peers = Vec::with_capacity(usize::try_from(count).unwrap_or(0));
    for _ in 0..count {
        peers.push(socket.connect_peer(endpoint).or_endpoint(endpoint)?);
    }
    for (index, peer) in peers.iter().enumerate() {
        socket
            .send(Message::with_routing_id(Bytes::from_static(&[0x01]), *peer))
            .or_fail_at("sending the message of peer", index)?;
    }
    // Stay connected until peers-bind has measured (its ack), then leave.
    socket
        .set_rcvtimeo(millis(timeout))
        .or_fail("setting RCVTIMEO")?;
    match socket.recv() {
        Ok(_) => {}
        Err(error) if is_timeout(&error) => eprintln!(
            "zpeer: peers-connect: no ack within {}s",
            timeout.as_secs_f64()
        ),
        Err(error) => {
            return Err(Failure::Socket {
                context: "waiting for the ack".to_owned(),
                error,
            });
        }
    }
    finish(ctx, socket)
}

/// This process's resident set size in KiB (`VmRSS` of `/proc/self/status`).
fn resident_set_kb() -> Result<u64, Failure> {
    let status = std::fs::read_to_string("/proc/self/status")
        .map_err(|error| Failure::Check(format!("reading /proc/self/status: {error}")))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kb| kb.parse().ok())
        .ok_or_else(|| Failure::Check("no VmRSS in /proc/self/status".to_owned()))
}

/// The `pct`-th percentile (nearest rank) of sorted `samples`, in microseconds.
fn percentile_us(samples: &[Duration], pct: usize) -> f64 {
    let rank = (samples.len() * pct).div_ceil(100).max(1);
    samples
        .get(rank - 1)
        .map_or(0.0, |sample| sample.as_secs_f64() * 1e6)
}

/// A temporary directory for the demo's ipc endpoint, removed on drop.
#[derive(Debug)]
struct DemoDir(PathBuf);

impl DemoDir {
    fn create() -> Result<Self, Failure> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let path = std::env::temp_dir().join(format!("zpeer-demo-{}-{nanos}", std::process::id()));
        std::fs::create_dir(&path)
            .map_err(|error| Failure::Check(format!("creating {}: {error}", path.display())))?;
        Ok(Self(path))
    }
}

impl Drop for DemoDir {
    fn drop(&mut self) {
        // Best effort: a leftover directory in the temp dir is harmless.
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn demo() -> Result<(), Failure> {
    let dir = DemoDir::create()?;
    let ctx = Context::new();
    let mut endpoints = vec![
        (
            "inproc",
            format!("inproc://zpeer-demo-{}", std::process::id()),
        ),
        ("ipc", format!("ipc://{}/demo.sock", dir.0.display())),
        ("tcp", "tcp://127.0.0.1:*".to_owned()),
    ];
    if cfg!(feature = "ws") {
        endpoints.push(("ws", "ws://127.0.0.1:*/demo".to_owned()));
    }
    for (name, endpoint) in &endpoints {
        demo_transport(&ctx, name, endpoint, None)?;
    }
    demo_wss(&ctx)?;
    ctx.term().or_fail("terminating the context")
}

/// The demo's wss round, with a self-signed certificate for 127.0.0.1 made in memory.
#[cfg(feature = "demo-tls")]
fn demo_wss(ctx: &Context) -> Result<(), Failure> {
    let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()])
        .map_err(|error| Failure::Check(format!("making a demo certificate: {error}")))?;
    let cert_pem = certified.cert.pem();
    let key_pem = certified.key_pair.serialize_pem();
    demo_transport(
        ctx,
        "wss",
        "wss://127.0.0.1:*/demo",
        Some((&cert_pem, &key_pem)),
    )
}

/// Built without `demo-tls` there is no certificate to use: say how to run wss instead.
#[cfg(not(feature = "demo-tls"))]
fn demo_wss(_ctx: &Context) -> Result<(), Failure> {
    print_flushed(
        "wss: skipped (built without the `demo-tls` feature); run `zpeer echo wss://... --cert C \
         --key K` and `zpeer ping ... --trust C`",
    )
}

/// Round trips between two PEER sockets over `endpoint`; for wss, `tls` is the certificate and
/// key the binder presents (and the connecter trusts).
fn demo_transport(
    ctx: &Context,
    name: &str,
    endpoint: &str,
    tls: Option<(&str, &str)>,
) -> Result<(), Failure> {
    const ROUNDS: u8 = 5;
    let timeout = Duration::from_secs(5);
    let binder = peer_socket(ctx)?;
    let mut client_tls = ClientTls::default();
    if let Some((cert_pem, key_pem)) = tls {
        binder
            .set_wss_certificate(cert_pem, key_pem)
            .or_fail("setting WSS_CERT_PEM / WSS_KEY_PEM")?;
        client_tls.trust = Some(Pem::Text(cert_pem.to_owned()));
    }
    binder
        .set_rcvtimeo(millis(timeout))
        .or_fail("setting RCVTIMEO")?;
    binder.bind(endpoint).or_endpoint(endpoint)?;
    let resolved = binder
        .last_endpoint()
        .or_fail("reading the bound endpoint")?;
    let (connecter, to_binder) = connect(ctx, &resolved, timeout, &client_tls)?;
    print_flushed(&format!("{name}: endpoint {resolved}"))?;

    let mut to_connecter = None;
    let mut times = Vec::new();
    for round in 0..ROUNDS {
        let started = Instant::now();
        let body = format!("ping {round}");
        connecter
            .send(Message::with_routing_id(
                body.clone().into_bytes(),
                to_binder,
            ))
            .or_fail("sending")?;
        let request = recv_echo(&binder, u64::from(round), timeout)?;
        let sender = request
            .routing_id()
            .ok_or_else(|| Failure::Check("received a message without a routing id".to_owned()))?;
        to_connecter.get_or_insert(sender);
        binder
            .send(Message::with_routing_id(request.into_bytes(), sender))
            .or_fail("replying")?;
        let reply = recv_echo(&connecter, u64::from(round), timeout)?;
        times.push(started.elapsed());
        if reply.as_bytes() != body.as_bytes() || reply.routing_id() != Some(to_binder) {
            return Err(Failure::Check(format!(
                "{name}: round {round} came back altered"
            )));
        }
    }
    let to_connecter = to_connecter.map_or(0, RoutingId::get);
    print_flushed(&format!(
        "{name}: connecter knows the binder as routing id {}, binder knows the connecter as {}",
        to_binder.get(),
        to_connecter
    ))?;
    let times: Vec<String> = times
        .iter()
        .map(|t| format!("{:.1}", t.as_secs_f64() * 1e6))
        .collect();
    print_flushed(&format!("{name}: round trips (us): {}", times.join(" ")))?;
    binder.close().or_fail("closing")?;
    connecter.close().or_fail("closing")
}
