//! Inbound backpressure: a tiny inbound high-water mark pauses reading and resumes it, and no
//! message is lost or reordered.

#![cfg(feature = "tcp")]

mod support;

use support::{TestAcceptor, connect, opts};
use zmq_transport::{Endpoint, IoThread};
use zmtp_codec::Message;

#[test]
fn tiny_inbound_hwm_pauses_and_resumes_reading() {
    const COUNT: u32 = 3000;
    const HWM: usize = 2;
    let server_io = IoThread::spawn("server-io").unwrap();
    let client_io = IoThread::spawn("client-io").unwrap();
    let acceptor = TestAcceptor::new(0, HWM);
    let listener = server_io
        .handle()
        .bind(
            &Endpoint::parse_bind("tcp://127.0.0.1:*").unwrap(),
            opts(),
            acceptor.clone(),
        )
        .unwrap();
    let (client, _connecter) = connect(&client_io.handle(), listener.endpoint(), opts(), 0, 0);
    for i in 0..COUNT {
        let mut body = i.to_be_bytes().to_vec();
        body.resize(1024, 0xAB);
        client.send(body);
    }
    let server = acceptor.peer(0);
    // The reader has not consumed anything: the inbound pipe fills to its mark and stays there.
    assert!(
        server
            .readable
            .wait_for(support::PATIENCE, || server.inbound.lock().unwrap().len()
                == HWM)
    );
    for i in 0..COUNT {
        assert!(
            server.inbound.lock().unwrap().len() <= HWM,
            "the transport never overfills"
        );
        let msg = server.recv().unwrap();
        let mut want = i.to_be_bytes().to_vec();
        want.resize(1024, 0xAB);
        assert_eq!(msg, Message::from(want), "message {i}");
    }
    // Round trip afterwards: reading resumed for good.
    client.send(Message::from(&b"after"[..]));
    assert_eq!(server.recv().unwrap(), Message::from(&b"after"[..]));
}

#[test]
fn paused_reader_pushes_back_on_the_sender() {
    const COUNT: u32 = 500;
    const SIZE: usize = 32 * 1024;
    let server_io = IoThread::spawn("server-io").unwrap();
    let client_io = IoThread::spawn("client-io").unwrap();
    // Small fixed kernel buffers (no autotuning), so what is in flight is bounded well below
    // the 16 MB the client queues.
    let mut options = opts();
    options.sndbuf = 64 * 1024;
    options.rcvbuf = 64 * 1024;
    let acceptor = TestAcceptor::new(0, 1);
    let listener = server_io
        .handle()
        .bind(
            &Endpoint::parse_bind("tcp://127.0.0.1:*").unwrap(),
            options.clone(),
            acceptor.clone(),
        )
        .unwrap();
    let (client, _connecter) = connect(&client_io.handle(), listener.endpoint(), options, 0, 0);
    let message = |i: u32| {
        let mut body = i.to_be_bytes().to_vec();
        body.resize(SIZE, 0x5A);
        Message::from(body)
    };
    for i in 0..COUNT {
        client.send(message(i));
    }
    let server = acceptor.peer(0);
    assert!(
        server
            .readable
            .wait_for(support::PATIENCE, || server.inbound.lock().unwrap().len()
                == 1)
    );
    // The server reads nothing more, so TCP pushes back: the client's queue stops draining
    // while still holding messages. (Were the server still reading into memory, the queue
    // would drain to zero and this would never hold.)
    let mut last = usize::MAX;
    let stalled = support::Signal::default().wait_for(support::PATIENCE, || {
        let now = client.outbound.len();
        let stable = now == last && now > 0;
        last = now;
        stable
    });
    assert!(
        stalled,
        "client queue drained: the server did not stop reading"
    );
    for i in 0..COUNT {
        assert_eq!(server.recv().unwrap(), message(i), "message {i}");
    }
}

#[test]
fn outbound_hwm_blocks_the_sender_until_the_transport_drains() {
    let server_io = IoThread::spawn("server-io").unwrap();
    let client_io = IoThread::spawn("client-io").unwrap();
    let acceptor = TestAcceptor::new(0, 0);
    let listener = server_io
        .handle()
        .bind(
            &Endpoint::parse_bind("tcp://127.0.0.1:*").unwrap(),
            opts(),
            acceptor.clone(),
        )
        .unwrap();
    // Outbound hwm 4: Peer::send waits on the sender-side waker whenever the pipe is full.
    let (client, _connecter) = connect(&client_io.handle(), listener.endpoint(), opts(), 4, 0);
    for i in 0..5000u32 {
        client.send(i.to_be_bytes().to_vec());
    }
    let server = acceptor.peer(0);
    for i in 0..5000u32 {
        assert_eq!(
            server.recv().unwrap(),
            Message::from(i.to_be_bytes().to_vec())
        );
    }
}
