//! `libzmq-peer`: `zpeer`'s benchmark commands (`echo`, `thr-recv`, `thr-send`, `lat`, plus
//! `thr-inproc` / `lat-inproc`) run on libzmq 4.3.5 PEER sockets, with the same command line and
//! the same output lines, so a harness can compare the two implementations.
#![allow(clippy::print_stdout, clippy::print_stderr, reason = "CLI")]

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

Binding commands print the resolved endpoint first. Results:
  thr size=S count=N msgs_per_s=X mb_per_s=Y
  lat size=S count=N avg_us=X p50_us=Y p99_us=Z
Errors about an endpoint exit with status 2, other failures with status 1.";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
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
            .map_err(on_error(&format!("receiving message {index}")))?;
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
            .map_err(on_error(&format!("sending message {index}")))?;
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
            .map_err(on_error(&format!("sending message {index}")))?;
        let len = socket
            .recv_msg(&mut reply, 0)
            .map_err(on_error(&format!("receiving the echo of message {index}")))?;
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
