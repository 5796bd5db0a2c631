//! Frames survive the transport under any chunking: a raw client writes a valid ZMTP stream in
//! arbitrary pieces (`TCP_NODELAY`, one write per piece) and the listener delivers exactly the
//! messages that were encoded, in order.

#![cfg(feature = "tcp")]

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Instant;

use bytes::BytesMut;
use proptest::prelude::*;
use support::{PATIENCE, TestAcceptor, opts};
use zmq_transport::{Endpoint, IoThread, Listener};
use zmtp_codec::{Config, Message, Session, SocketType};

/// Completes a NULL handshake as a client over a blocking stream.
fn handshake(stream: &mut TcpStream) -> Session {
    let mut session = Session::new(Config::new(SocketType::PEER), Instant::now());
    let mut input = BytesMut::new();
    let mut buf = [0u8; 4096];
    while !session.is_ready() {
        while let Some(chunk) = session.poll_transmit() {
            stream.write_all(&chunk).unwrap();
        }
        let n = stream.read(&mut buf).unwrap();
        assert!(n > 0, "server closed during the handshake");
        input.extend_from_slice(&buf[..n]);
        session.handle_input(&mut input, Instant::now()).unwrap();
    }
    session
}

fn check(
    listener: &Listener,
    acceptor: &TestAcceptor,
    nth: usize,
    bodies: &[Vec<u8>],
    pieces: &[usize],
) {
    let addr = listener.endpoint().strip_prefix("tcp://").unwrap();
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_nodelay(true).unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut session = handshake(&mut stream);
    for body in bodies {
        session.send(Message::from(body.clone())).unwrap();
    }
    let mut wire = Vec::new();
    while let Some(chunk) = session.poll_transmit() {
        wire.extend_from_slice(&chunk);
    }
    let mut at = 0;
    for &piece in pieces.iter().cycle() {
        if at == wire.len() {
            break;
        }
        let end = (at + piece).min(wire.len());
        stream.write_all(&wire[at..end]).unwrap();
        stream.flush().unwrap();
        at = end;
    }
    let server = acceptor.peer(nth);
    for body in bodies {
        assert_eq!(server.recv().unwrap(), Message::from(body.clone()));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn any_chunking_delivers_the_same_messages(
        bodies in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..3000), 1..20),
        pieces in proptest::collection::vec(1usize..300, 1..10),
    ) {
        // One listener per case keeps the cases independent.
        let io = IoThread::spawn("server-io").unwrap();
        let acceptor = TestAcceptor::new(0, 0);
        let listener = io
            .handle()
            .bind(&Endpoint::parse_bind("tcp://127.0.0.1:*").unwrap(), opts(), acceptor.clone())
            .unwrap();
        check(&listener, &acceptor, 0, &bodies, &pieces);
    }
}
