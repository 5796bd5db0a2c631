//! The transport's direct lane (tcp and ipc): replies written, and messages read, by the
//! application thread itself. Whatever mix of direct writes, partial direct writes, direct
//! reads, hand-overs to the I/O thread and queued messages a request/reply exchange makes,
//! every message arrives once, whole and in order, in both directions; heartbeats and
//! disconnects are still handled while application threads read the socket.

mod support;

use std::thread;
use std::time::{Duration, Instant};

use zmq_peer::{Context, Message, MonitorEvent, RoutingId, Socket};

use support::{RawPeer, Transport, WAIT, msg, pair, peer, within};

const ROUNDS: u32 = 300;

/// A message of `round`'s burst: 8 octets of round and index, then filler up to `len`.
fn numbered(round: u32, index: u32, len: usize, to: RoutingId) -> Message {
    let mut body = Vec::with_capacity(len.max(8));
    body.extend_from_slice(&round.to_be_bytes());
    body.extend_from_slice(&index.to_be_bytes());
    body.resize(len.max(8), fill(round, index));
    msg(&body, to)
}

/// What round `round` answers with: a burst of 1 to 7 messages, small ones mostly, and every
/// 25th round one of 8 MiB first (more than a socket buffer takes in one write, so a direct
/// write of it is partial and the queued messages behind it must wait for its rest).
fn burst(round: u32) -> Vec<usize> {
    let mut sizes: Vec<usize> = (0..round % 7 + 1)
        .map(|i| 8 + (i as usize * 97) % 300)
        .collect();
    if round % 25 == 0 {
        sizes.insert(0, 8 << 20);
    }
    sizes
}

/// The filler octet of a message.
fn fill(round: u32, index: u32) -> u8 {
    (round ^ index).to_le_bytes()[0]
}

fn check(got: &Message, round: u32, index: u32, len: usize) {
    let body = got.as_bytes();
    assert_eq!(
        body.len(),
        len.max(8),
        "round {round} message {index}: length"
    );
    assert_eq!(
        (&body[..4], &body[4..8]),
        (&round.to_be_bytes()[..], &index.to_be_bytes()[..]),
        "round {round}: message {index} out of order"
    );
    assert!(
        body[8..].iter().all(|&b| b == fill(round, index)),
        "round {round} message {index}: body corrupted"
    );
}

/// `asker` sends one request per round; `answerer` receives it and sends the round's burst,
/// which `asker` checks; then the roles' directions swap for the reply's reply.
fn exchange(asker: &Socket, to_answerer: RoutingId, answerer: Socket, to_asker: RoutingId) {
    let server = thread::spawn(move || {
        for round in 0..ROUNDS {
            let request = answerer.recv().expect("answerer recv");
            check(&request, round, 0, 8);
            for (index, len) in (0_u32..).zip(burst(round)) {
                answerer
                    .send(numbered(round, index, len, to_asker))
                    .expect("answerer send");
            }
            // The asker's burst back, answered by this side's next request.
            for (index, len) in (0_u32..).zip(burst(round + 1)) {
                let got = answerer.recv().expect("answerer recv burst");
                check(&got, round + 1, index, len);
            }
        }
    });
    for round in 0..ROUNDS {
        asker
            .send(numbered(round, 0, 8, to_answerer))
            .expect("asker send");
        for (index, len) in (0_u32..).zip(burst(round)) {
            let got = asker.recv().expect("asker recv");
            check(&got, round, index, len);
        }
        for (index, len) in (0_u32..).zip(burst(round + 1)) {
            asker
                .send(numbered(round + 1, index, len, to_answerer))
                .expect("asker send burst");
        }
    }
    server.join().expect("answerer thread");
}

fn request_reply_keeps_order(transport: Transport) {
    within(
        Duration::from_secs(120),
        "request/reply exchange",
        move || {
            let ctx = Context::new();
            let p = pair(&ctx, transport);
            exchange(&p.connecter, p.to_binder, p.binder.clone(), p.to_connecter);
        },
    );
}

#[test]
fn request_reply_with_bursts_keeps_order_over_tcp() {
    request_reply_keeps_order(Transport::Tcp);
}

#[test]
fn request_reply_with_bursts_keeps_order_over_ipc() {
    request_reply_keeps_order(Transport::IpcPath);
}

/// A request/reply pair with heartbeats every 20 ms, pausing up to 30 ms between exchanges (so
/// reads go back and forth between the application threads and the I/O threads, and PINGs
/// meet both): the connection stays up and every exchange completes.
#[test]
fn heartbeats_keep_a_request_reply_alive_across_pauses() {
    within(Duration::from_secs(60), "paused request/reply", || {
        let ctx = Context::new();
        let binder = peer(&ctx);
        let connecter = peer(&ctx);
        for socket in [&binder, &connecter] {
            socket.set_heartbeat_ivl(20).expect("IVL");
            socket.set_heartbeat_timeout(1000).expect("TIMEOUT");
        }
        binder.bind("tcp://127.0.0.1:*").expect("bind");
        let monitor = connecter.monitor().expect("monitor");
        let to_binder = connecter
            .connect_peer(&binder.last_endpoint().expect("endpoint"))
            .expect("connect_peer");
        let answerer = thread::spawn(move || {
            for round in 0..60_u32 {
                let request = binder.recv().expect("request");
                let to = request.routing_id().expect("routing id");
                binder.send(numbered(round, 1, 8, to)).expect("reply");
            }
            // Kept open until the connection was checked.
            binder
        });
        for round in 0..60_u32 {
            connecter
                .send(numbered(round, 0, 8, to_binder))
                .expect("request");
            check(&connecter.recv().expect("reply"), round, 1, 8);
            thread::sleep(Duration::from_millis(u64::from(round % 4) * 10));
        }
        let _binder = answerer.join().expect("answerer");
        while let Some(event) = monitor.recv_timeout(Duration::ZERO) {
            assert!(
                !matches!(event, MonitorEvent::Disconnected { .. }),
                "the connection dropped: {event:?}"
            );
        }
    });
}

/// A PING written together with a message while the application waits for it: the message
/// arrives, and the PONG comes back (the command went to the session, whoever read it).
#[test]
fn a_ping_that_arrives_with_a_message_is_answered() {
    let ctx = Context::new();
    let socket = peer(&ctx);
    socket.bind("tcp://127.0.0.1:*").expect("bind");
    let mut raw = RawPeer::connect(&socket.last_endpoint().expect("endpoint"));
    raw.handshake("PEER");
    raw.send(b"\x00\x05first");
    assert_eq!(socket.recv().expect("first").as_bytes(), b"first");
    for round in 0..20_u8 {
        let receiver = socket.clone();
        let waiting = thread::spawn(move || receiver.recv().expect("message"));
        // Most of these land while the receiver spins and reads the socket itself.
        thread::sleep(Duration::from_micros(u64::from(round) * 5));
        let mut bytes = b"\x04\x07\x04PING\x00\x00\x00\x01".to_vec();
        bytes.push(round);
        raw.send(&bytes);
        assert_eq!(waiting.join().expect("receiver").as_bytes(), [round]);
        let pong = raw.read_frame();
        assert!(pong.is_command(), "round {round}: {pong:?}");
        assert_eq!(pong.body, b"\x04PONG", "round {round}");
    }
}

/// A peer that goes away in the middle of a request/reply exchange (its process would have
/// died) is seen going: the disconnect is reported in bounded time.
#[test]
fn a_peer_that_goes_away_mid_exchange_is_noticed() {
    within(Duration::from_secs(60), "disconnect", || {
        let ctx = Context::new();
        let p = pair(&ctx, Transport::Tcp);
        let monitor = p.connecter.monitor().expect("monitor");
        let binder = p.binder.clone();
        let to_connecter = p.to_connecter;
        let answerer = thread::spawn(move || {
            for round in 0..100_u32 {
                let request = binder.recv().expect("request");
                check(&request, round, 0, 8);
                binder
                    .send(numbered(round, 1, 8, to_connecter))
                    .expect("reply");
            }
        });
        for round in 0..100_u32 {
            p.connecter
                .send(numbered(round, 0, 8, p.to_binder))
                .expect("request");
            check(&p.connecter.recv().expect("reply"), round, 1, 8);
        }
        answerer.join().expect("answerer");
        // The connecter waits for more while the binder's side goes away.
        let receiver = p.connecter.clone();
        let waiting = thread::spawn(move || receiver.recv());
        thread::sleep(Duration::from_millis(5));
        p.binder.set_linger(0).expect("linger");
        drop(p.binder);
        let start = Instant::now();
        loop {
            let left = WAIT.saturating_sub(start.elapsed());
            match monitor.recv_timeout(left) {
                Some(MonitorEvent::Disconnected { .. }) => break,
                Some(_) => {}
                None => panic!("no disconnect reported within {WAIT:?}"),
            }
        }
        // The waiting receive ends with its timeout (RCVTIMEO of the test sockets).
        assert!(waiting.join().expect("receiver").is_err());
    });
}
