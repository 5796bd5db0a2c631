//! `libzmq-peer`: `zpeer`'s benchmark commands (`echo`, `thr-recv`, `thr-send`, `lat`, plus
//! `thr-inproc` / `lat-inproc`) run on libzmq 4.3.5 PEER sockets, with the same command line and
//! the same output lines, so a harness can compare the two implementations.
#![allow(clippy::print_stdout, clippy::print_stderr, reason = "CLI")]

use std::fmt;
use std::process::ExitCode;
use std::thread;
use std::time::{Duration, Instant};

use interop::bench::{self, Command, DEFAULT_TIMEOUT, Failure};
use interop::ffi::{self, Context, Errno, Msg, Socket};

const USAGE: &str = "\
usage: libzmq-peer <command> [arguments]

The benchmark commands of `zpeer`, on libzmq 4.3.5 PEER sockets (tcp, ipc, inproc):
  echo ENDPOINT [--count N]
  thr-recv ENDPOINT --count N --size S [--timeout SECS]
  thr-send ENDPOINT --count N --size S
  lat ENDPOINT --count N --size S [--timeout SECS]
  thr-inproc --count N --size S
  lat-inproc --count N --size S
  peers-bind ENDPOINT --count N [--timeout SECS]
      wait for one message from each of N peers, print `rss_kb=X` (VmRSS), ack every peer
  peers-connect ENDPOINT --count N [--timeout SECS]
      one socket, N connect_peer, one 1-octet message each; wait for the ack (default 60 s)

Binding commands print the resolved endpoint first. Results:
  thr size=S count=N msgs_per_s=X mb_per_s=Y
  lat size=S count=N avg_us=X p50_us=Y p99_us=Z
  rss_kb=X
Errors about an endpoint exit with status 2, other failures with status 1.";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match peers_command(&args) {
        None => {}
        Some(Err(message)) => {
            eprintln!("libzmq-peer: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
        Some(Ok(Ok(()))) => return ExitCode::SUCCESS,
        Some(Ok(Err(failure))) => {
            eprintln!("libzmq-peer: {failure}");
            return ExitCode::from(failure.exit_code());
        }
    }
    let command = match Command::parse(&args) {
        Ok(Some(command)) => command,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("libzmq-peer: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("libzmq-peer: {failure}");
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
        Command::ThrInproc { count, size } => thr_inproc(count, size),
        Command::LatInproc { count, size } => lat_inproc(count, size),
        other => Err(Failure::Other(format!("unsupported command {other:?}"))),
    }
}

/// Maps a libzmq error of an endpoint operation (exit status 2).
fn on_endpoint(endpoint: &str) -> impl FnOnce(Errno) -> Failure {
    move |error| Failure::Endpoint {
        endpoint: endpoint.to_owned(),
        error: error.to_string(),
    }
}

/// [`on_error`] for the message numbered `index`: the context is only formatted on an error
/// (a `format!` per message would be a visible share of a small-message run).
fn on_error_at(what: &'static str, index: impl fmt::Display) -> impl FnOnce(Errno) -> Failure {
    move |error| on_error(&format!("{what} {index}"))(error)
}

/// Maps any other libzmq error (exit status 1); an expired timeout reads as such.
fn on_error(context: &str) -> impl FnOnce(Errno) -> Failure {
    move |error| {
        if error == Errno::EAGAIN {
            Failure::Other(format!("{context}: timed out ({error})"))
        } else {
            Failure::Other(format!("{context}: {error}"))
        }
    }
}

fn peer_socket(ctx: &Context) -> Result<Socket, Failure> {
    ctx.socket(ffi::PEER)
        .map_err(on_error("creating a PEER socket"))
}

/// Binds a PEER socket and prints its resolved endpoint as the first stdout line.
fn bind_and_announce(ctx: &Context, endpoint: &str) -> Result<Socket, Failure> {
    let mut socket = peer_socket(ctx)?;
    socket.bind(endpoint).map_err(on_endpoint(endpoint))?;
    let resolved = socket
        .last_endpoint()
        .map_err(on_error("reading the bound endpoint"))?;
    bench::print_flushed(&resolved)?;
    Ok(socket)
}

/// Connects a PEER socket with bounded send and receive; returns it with the peer's id.
fn connect(ctx: &Context, endpoint: &str, timeout: Duration) -> Result<(Socket, u32), Failure> {
    let mut socket = peer_socket(ctx)?;
    set_timeouts(&mut socket, timeout)?;
    let routing_id = socket
        .connect_peer(endpoint)
        .map_err(on_endpoint(endpoint))?;
    Ok((socket, routing_id))
}

fn set_timeouts(socket: &mut Socket, timeout: Duration) -> Result<(), Failure> {
    socket
        .set_int_option(ffi::RCVTIMEO, bench::millis(timeout))
        .map_err(on_error("setting RCVTIMEO"))?;
    socket
        .set_int_option(ffi::SNDTIMEO, bench::millis(timeout))
        .map_err(on_error("setting SNDTIMEO"))
}

/// A message of `size` octets of `fill` addressed to `routing_id`, to be [`Msg::share`]d.
fn template(size: usize, fill: u8, routing_id: u32) -> Result<Msg, Failure> {
    let mut msg = Msg::with_data(&vec![fill; size]).map_err(on_error("building a message"))?;
    msg.set_routing_id(routing_id)
        .map_err(on_error("setting the routing id"))?;
    Ok(msg)
}

fn echo(endpoint: &str, count: Option<u64>) -> Result<(), Failure> {
    // A blocky context: sockets linger forever, so the last echo is flushed before exiting (a
    // connection that is gone drops its queue, so this cannot hang on a vanished peer).
    let ctx = Context::new_blocky().map_err(on_error("creating the context"))?;
    let mut socket = bind_and_announce(&ctx, endpoint)?;
    let mut msg = Msg::new().map_err(on_error("building a message"))?;
    let mut echoed = 0_u64;
    while count.is_none_or(|count| echoed < count) {
        socket
            .recv_msg(&mut msg, 0)
            .map_err(on_error("receiving"))?;
        // The received message carries its sender's routing id: sending it replies.
        socket
            .send_msg(&mut msg, 0)
            .map_err(on_error("sending the echo"))?;
        echoed += 1;
    }
    drop(socket);
    drop(ctx);
    Ok(())
}

fn thr_recv(
    endpoint: &str,
    count: u64,
    size: usize,
    timeout: Option<Duration>,
) -> Result<(), Failure> {
    let ctx = Context::new().map_err(on_error("creating the context"))?;
    let mut socket = bind_and_announce(&ctx, endpoint)?;
    if let Some(timeout) = timeout {
        socket
            .set_int_option(ffi::RCVTIMEO, bench::millis(timeout))
            .map_err(on_error("setting RCVTIMEO"))?;
    }
    let (elapsed, sender) = receive_all(&mut socket, count, size)?;
    if let Some(sender) = sender {
        // The delivery ack (BENCH.md): one empty message back to the sender, so that it closes
        // only after everything arrived. A sender that does not wait for it may be gone
        // already, so failures are ignored, and LINGER is bounded for the same reason.
        let _ = socket.send_to(sender, &[], ffi::DONTWAIT);
        socket
            .set_int_option(ffi::LINGER, ACK_LINGER_MS)
            .map_err(on_error("setting LINGER"))?;
    }
    drop(socket);
    drop(ctx);
    bench::print_flushed(&bench::thr_line(size, count, elapsed))
}

/// How long the receiver's close waits to flush the delivery ack, in milliseconds.
const ACK_LINGER_MS: i32 = 1000;

/// Receives `count` messages of `size` octets; returns the time from the first to the last
/// and the routing id of the last sender (`None` if `count` is 0).
fn receive_all(
    socket: &mut Socket,
    count: u64,
    size: usize,
) -> Result<(Duration, Option<u32>), Failure> {
    let mut msg = Msg::new().map_err(on_error("building a message"))?;
    let mut started = None;
    for index in 0..count {
        let len = socket
            .recv_msg(&mut msg, 0)
            .map_err(on_error_at("receiving message", index))?;
        started.get_or_insert_with(Instant::now);
        if len != size {
            return Err(Failure::Other(format!(
                "message {index} has {len} octets, expected {size}"
            )));
        }
    }
    let elapsed = started.map_or(Duration::ZERO, |started| started.elapsed());
    Ok((elapsed, (count > 0).then(|| msg.routing_id())))
}

fn thr_send(endpoint: &str, count: u64, size: usize) -> Result<(), Failure> {
    // A blocky context and LINGER -1: dropping the context (zmq_ctx_term) waits until every
    // queued message has been written to the connection.
    let ctx = Context::new_blocky().map_err(on_error("creating the context"))?;
    let mut socket = peer_socket(&ctx)?;
    socket
        .set_int_option(ffi::LINGER, -1)
        .map_err(on_error("setting LINGER"))?;
    let routing_id = socket
        .connect_peer(endpoint)
        .map_err(on_endpoint(endpoint))?;
    send_all(&mut socket, routing_id, count, size)?;
    if count > 0 {
        wait_for_ack(&mut socket)?;
    }
    drop(socket);
    drop(ctx);
    Ok(())
}

/// Waits for the receiver's delivery ack (BENCH.md). LINGER alone is not enough: a libzmq
/// 4.3.5 receiver over ipc that is stalled on RCVHWM drops what is still in the kernel buffer
/// when the sender hangs up. A receiver that sends no ack (an older `zpeer`) costs
/// [`DEFAULT_TIMEOUT`], after which LINGER -1 is all there is.
fn wait_for_ack(socket: &mut Socket) -> Result<(), Failure> {
    socket
        .set_int_option(ffi::RCVTIMEO, bench::millis(DEFAULT_TIMEOUT))
        .map_err(on_error("setting RCVTIMEO"))?;
    match socket.recv(0) {
        Ok(_) => Ok(()),
        Err(Errno::EAGAIN) => {
            eprintln!(
                "libzmq-peer: no delivery ack within {}s; relying on LINGER",
                DEFAULT_TIMEOUT.as_secs()
            );
            Ok(())
        }
        Err(error) => Err(on_error("waiting for the delivery ack")(error)),
    }
}

/// Sends `count` messages of `size` octets to `routing_id`, blocking on HWM.
fn send_all(socket: &mut Socket, routing_id: u32, count: u64, size: usize) -> Result<(), Failure> {
    let mut body = template(size, 0x5A, routing_id)?;
    for index in 0..count {
        let mut msg = body.share().map_err(on_error("sharing a message"))?;
        socket
            .send_msg(&mut msg, 0)
            .map_err(on_error_at("sending message", index))?;
    }
    Ok(())
}

fn lat(endpoint: &str, count: u64, size: usize, timeout: Duration) -> Result<(), Failure> {
    let ctx = Context::new().map_err(on_error("creating the context"))?;
    let (mut socket, routing_id) = connect(&ctx, endpoint, timeout)?;
    let mut samples = round_trips(&mut socket, routing_id, count, size)?;
    drop(socket);
    drop(ctx);
    bench::print_flushed(&bench::lat_line(size, &mut samples))
}

/// Times `count` round trips of `size` octets to the echo at `routing_id`.
fn round_trips(
    socket: &mut Socket,
    routing_id: u32,
    count: u64,
    size: usize,
) -> Result<Vec<Duration>, Failure> {
    let mut body = template(size, 0xA5, routing_id)?;
    let mut reply = Msg::new().map_err(on_error("building a message"))?;
    let mut samples = Vec::with_capacity(usize::try_from(count).unwrap_or(0));
    for index in 0..count {
        let mut msg = body.share().map_err(on_error("sharing a message"))?;
        let started = Instant::now();
        socket
            .send_msg(&mut msg, 0)
            .map_err(on_error_at("sending message", index))?;
        let len = socket
            .recv_msg(&mut reply, 0)
            .map_err(on_error_at("receiving the echo of message", index))?;
        samples.push(started.elapsed());
        if len != size || reply.routing_id() != routing_id {
            return Err(Failure::Other(format!(
                "echo of message {index} is not the message sent"
            )));
        }
    }
    Ok(samples)
}

/// A bound receiver and a connected sender in one context over a fresh inproc endpoint.
fn inproc_pair(ctx: &Context) -> Result<(Socket, Socket, u32), Failure> {
    let endpoint = format!("inproc://{}", bench::unique_name("libzmq-peer"));
    let mut binder = peer_socket(ctx)?;
    binder.bind(&endpoint).map_err(on_endpoint(&endpoint))?;
    let (connecter, routing_id) = connect(ctx, &endpoint, DEFAULT_TIMEOUT)?;
    Ok((binder, connecter, routing_id))
}

fn thr_inproc(count: u64, size: usize) -> Result<(), Failure> {
    let ctx = Context::new().map_err(on_error("creating the context"))?;
    let (mut receiver, mut sender, routing_id) = inproc_pair(&ctx)?;
    set_timeouts(&mut receiver, DEFAULT_TIMEOUT)?;
    let sending = thread::spawn(move || send_all(&mut sender, routing_id, count, size));
    // One process: the receiver counts everything, so no delivery ack is needed.
    let received = receive_all(&mut receiver, count, size);
    let sent = sending
        .join()
        .map_err(|_| Failure::Other("the sending thread panicked".to_owned()))?;
    let (elapsed, _) = received?;
    sent?;
    drop(receiver);
    drop(ctx);
    bench::print_flushed(&bench::thr_line(size, count, elapsed))
}

fn lat_inproc(count: u64, size: usize) -> Result<(), Failure> {
    let ctx = Context::new().map_err(on_error("creating the context"))?;
    let (mut echoer, mut client, routing_id) = inproc_pair(&ctx)?;
    set_timeouts(&mut echoer, DEFAULT_TIMEOUT)?;
    let echoing = thread::spawn(move || -> Result<(), Failure> {
        let mut msg = Msg::new().map_err(on_error("building a message"))?;
        for _ in 0..count {
            echoer
                .recv_msg(&mut msg, 0)
                .map_err(on_error("echo: receiving"))?;
            echoer
                .send_msg(&mut msg, 0)
                .map_err(on_error("echo: sending"))?;
        }
        Ok(())
    });
    let samples = round_trips(&mut client, routing_id, count, size);
    let echoed = echoing
        .join()
        .map_err(|_| Failure::Other("the echo thread panicked".to_owned()))?;
    let mut samples = samples?;
    echoed?;
    drop(client);
    drop(ctx);
    bench::print_flushed(&bench::lat_line(size, &mut samples))
}

/// The arguments of `peers-bind` / `peers-connect`, parsed here: the shared grammar of
/// `interop::bench` only covers the commands `raw-pump` has as well.
#[derive(Debug, PartialEq)]
struct PeersArgs {
    endpoint: String,
    count: u64,
    timeout: Option<Duration>,
}

impl PeersArgs {
    /// Parses `ENDPOINT --count N [--timeout SECS]` (options also as `--name=value`).
    fn parse(command: &str, args: &[String]) -> Result<Self, String> {
        let mut endpoint = None;
        let mut count = None;
        let mut timeout = None;
        let mut iter = args.iter();
        while let Some(arg) = iter.next() {
            let Some(option) = arg.strip_prefix("--") else {
                if endpoint.replace(arg.clone()).is_some() {
                    return Err(format!("{command}: unexpected argument `{arg}`"));
                }
                continue;
            };
            let (name, value) = match option.split_once('=') {
                Some((name, value)) => (name, value.to_owned()),
                None => (
                    option,
                    iter.next()
                        .ok_or_else(|| format!("--{option} needs a value"))?
                        .clone(),
                ),
            };
            match name {
                "count" => {
                    count = Some(
                        value
                            .parse::<u64>()
                            .map_err(|_| format!("--count: `{value}` is not a number"))?,
                    );
                }
                "timeout" => {
                    let seconds: f64 = value
                        .parse()
                        .map_err(|_| format!("--timeout: `{value}` is not a number"))?;
                    if !seconds.is_finite() || seconds <= 0.0 || seconds > 1.0e6 {
                        return Err(format!("--timeout: `{value}` is out of range"));
                    }
                    timeout = Some(Duration::from_secs_f64(seconds));
                }
                other => return Err(format!("{command}: unknown option --{other}")),
            }
        }
        Ok(Self {
            endpoint: endpoint.ok_or_else(|| format!("{command}: missing ENDPOINT"))?,
            count: count.ok_or("--count is required")?,
            timeout,
        })
    }
}

/// Runs `peers-bind` / `peers-connect` if `args` names one of them.
fn peers_command(args: &[String]) -> Option<Result<Result<(), Failure>, String>> {
    let (name, rest) = args.split_first()?;
    let bind = match name.as_str() {
        "peers-bind" => true,
        "peers-connect" => false,
        _ => return None,
    };
    Some(PeersArgs::parse(name, rest).map(|parsed| {
        if bind {
            peers_bind(&parsed)
        } else {
            peers_connect(&parsed)
        }
    }))
}

/// Binds, waits for one message from each of `count` peers, prints `rss_kb=X` (this process's
/// resident set while every peer is connected and idle), then acknowledges every peer.
fn peers_bind(args: &PeersArgs) -> Result<(), Failure> {
    // A blocky context: dropping it waits (up to LINGER) for the acknowledgements to leave.
    let ctx = Context::new_blocky().map_err(on_error("creating the context"))?;
    let mut socket = bind_and_announce(&ctx, &args.endpoint)?;
    if let Some(timeout) = args.timeout {
        socket
            .set_int_option(ffi::RCVTIMEO, bench::millis(timeout))
            .map_err(on_error("setting RCVTIMEO"))?;
    }
    let mut peers = Vec::with_capacity(usize::try_from(args.count).unwrap_or(0));
    for index in 0..args.count {
        let (peer, _) = socket
            .recv(0)
            .map_err(on_error_at("receiving the message of peer", index))?;
        peers.push(peer);
    }
    let rss_kb = resident_set_kb()?;
    bench::print_flushed(&format!("rss_kb={rss_kb}"))?;
    for peer in peers {
        // Best effort: a peer that is gone needs no acknowledgement.
        let _ = socket.send_to(peer, &[], ffi::DONTWAIT);
    }
    socket
        .set_int_option(ffi::LINGER, ACK_LINGER_MS)
        .map_err(on_error("setting LINGER"))?;
    drop(socket);
    drop(ctx);
    Ok(())
}

/// One socket, `count` `connect_peer` calls, one 1-octet message per peer; then waits for the
/// acknowledgement of `peers-bind` (default up to 60 s).
fn peers_connect(args: &PeersArgs) -> Result<(), Failure> {
    let timeout = args.timeout.unwrap_or(Duration::from_secs(60));
    let ctx = Context::new().map_err(on_error("creating the context"))?;
    let mut socket = peer_socket(&ctx)?;
    set_timeouts(&mut socket, timeout)?;
    let mut peers = Vec::with_capacity(usize::try_from(args.count).unwrap_or(0));
    for _ in 0..args.count {
        peers.push(
            socket
                .connect_peer(&args.endpoint)
                .map_err(on_endpoint(&args.endpoint))?,
        );
    }
    for (index, peer) in peers.iter().enumerate() {
        socket
            .send_to(*peer, &[0x01], 0)
            .map_err(on_error_at("sending the message of peer", index))?;
    }
    // Stay connected until peers-bind has measured (its acknowledgement), then leave.
    match socket.recv(0) {
        Ok(_) => {}
        Err(error) if error == Errno::EAGAIN => eprintln!(
            "libzmq-peer: peers-connect: no ack within {}s",
            timeout.as_secs_f64()
        ),
        Err(error) => return Err(on_error("waiting for the ack")(error)),
    }
    drop(socket);
    drop(ctx);
    Ok(())
}

/// This process's resident set size in KiB (`VmRSS` of `/proc/self/status`).
fn resident_set_kb() -> Result<u64, Failure> {
    let status = std::fs::read_to_string("/proc/self/status")
        .map_err(|error| Failure::Other(format!("reading /proc/self/status: {error}")))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kb| kb.parse().ok())
        .ok_or_else(|| Failure::Other("no VmRSS in /proc/self/status".to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn parses_the_peers_commands() {
        assert_eq!(
            PeersArgs::parse("peers-bind", &args("tcp://127.0.0.1:* --count 1000")),
            Ok(PeersArgs {
                endpoint: "tcp://127.0.0.1:*".to_owned(),
                count: 1000,
                timeout: None,
            })
        );
        assert_eq!(
            PeersArgs::parse(
                "peers-connect",
                &args("--count=5 --timeout 2.5 ipc:///tmp/x")
            ),
            Ok(PeersArgs {
                endpoint: "ipc:///tmp/x".to_owned(),
                count: 5,
                timeout: Some(Duration::from_millis(2500)),
            })
        );
        assert!(peers_command(&args("thr-inproc --count 1 --size 1")).is_none());
        assert!(matches!(
            peers_command(&args("peers-bind --count 1")),
            Some(Err(_))
        ));
    }

    #[test]
    fn rejects_bad_peers_arguments() {
        for line in [
            "tcp://a:1",
            "tcp://a:1 --count x",
            "tcp://a:1 --count 1 --timeout 0",
            "tcp://a:1 --count 1 --size 3",
            "tcp://a:1 tcp://b:2 --count 1",
            "tcp://a:1 --count",
        ] {
            assert!(
                PeersArgs::parse("peers-bind", &args(line)).is_err(),
                "{line}"
            );
        }
    }

    #[test]
    fn reads_its_own_resident_set() {
        assert!(resident_set_kb().unwrap() > 0);
    }
}
