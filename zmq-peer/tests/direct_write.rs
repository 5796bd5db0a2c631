//! Replies written by the application thread itself (the transport's direct lane, tcp and ipc):
//! whatever mix of direct writes, partial direct writes and queued messages a request/reply
//! exchange makes, every message arrives once, whole and in order, in both directions.

mod support;

use std::thread;
use std::time::Duration;

use zmq_peer::{Message, RoutingId, Socket};

use support::{Transport, msg, pair, within};

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
            let ctx = zmq_peer::Context::new();
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
