//! tcp end to end: two I/O threads, messages both ways, reconnect across a re-bind, hostile
//! clients (garbage, half a greeting).

#![cfg(feature = "tcp")]

mod support;

use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use support::{PATIENCE, TestAcceptor, body, connect, opts, read_until_closed};
use zmq_transport::{DisconnectReason, Endpoint, IoThread, TransportError};
use zmtp_codec::Message;

fn bind_ep(s: &str) -> Endpoint {
    Endpoint::parse_bind(s).unwrap()
}

#[test]
fn messages_both_ways_all_sizes() {
    let server_io = IoThread::spawn("server-io").unwrap();
    let client_io = IoThread::spawn("client-io").unwrap();
    let acceptor = TestAcceptor::new(0, 0);
    let listener = server_io
        .handle()
        .bind(&bind_ep("tcp://127.0.0.1:*"), opts(), acceptor.clone())
        .unwrap();
    let endpoint = listener.endpoint().to_owned();
    assert!(endpoint.starts_with("tcp://127.0.0.1:"), "{endpoint}");
    assert_ne!(endpoint, "tcp://127.0.0.1:0");

    let (client, _connecter) = connect(&client_io.handle(), &endpoint, opts(), 0, 0);
    // Queued before the connection exists: sent after the handshake.
    client.send(Message::from(&b"early"[..]));
    client.events.wait_handshakes(1);
    let server = acceptor.peer(0);
    assert!(acceptor.remotes.lock().unwrap()[0].starts_with("tcp://127.0.0.1:"));
    server.events.wait_handshakes(1);
    assert_eq!(server.recv().unwrap(), Message::from(&b"early"[..]));

    for (i, size) in [0usize, 1, 300, 100 * 1024].into_iter().enumerate() {
        let seed = u8::try_from(i).unwrap();
        client.send(body(size, seed));
        server.send(body(size, seed + 100));
        assert_eq!(server.recv().unwrap(), Message::from(body(size, seed)));
        assert_eq!(
            client.recv().unwrap(),
            Message::from(body(size, seed + 100))
        );
    }

    // Many small messages in a burst keep their order.
    for i in 0..2000u32 {
        client.send(i.to_be_bytes().to_vec());
    }
    for i in 0..2000u32 {
        assert_eq!(
            server.recv().unwrap(),
            Message::from(i.to_be_bytes().to_vec())
        );
    }
    drop(listener);
    server_io.shutdown();
    client_io.shutdown();
}

/// Read buffers are reused once no body points into them any more: bodies the application
/// still holds must never be overwritten by later reads, whatever mix of large (read in place)
/// and small frames follows.
#[test]
fn held_bodies_survive_read_buffer_reuse() {
    const SIZES: [usize; 6] = [100 * 1024, 64 * 1024, 10, 40 * 1024, 3000, 70 * 1024];
    let (server_io, client_io) = (IoThread::spawn("s").unwrap(), IoThread::spawn("c").unwrap());
    let acceptor = TestAcceptor::new(0, 0);
    let listener = support::bind(&server_io, "tcp://127.0.0.1:*", opts(), &acceptor);
    let (client, _connecter) = connect(&client_io.handle(), listener.endpoint(), opts(), 0, 0);
    let want = |i: usize| body(SIZES[i % SIZES.len()], u8::try_from(i % 256).unwrap());
    let server = {
        client.send(want(0));
        let server = acceptor.peer(0);
        assert_eq!(server.recv().unwrap(), Message::from(want(0)));
        server
    };
    let mut held = Vec::new();
    for round in 0..8 {
        // Sent in bursts, so that reads carry several frames and large ones arrive in pieces.
        for i in 1 + round * 30..1 + (round + 1) * 30 {
            client.send(want(i));
        }
        for i in 1 + round * 30..1 + (round + 1) * 30 {
            let got = server.recv().unwrap();
            assert_eq!(got, Message::from(want(i)), "message {i}");
            // Keep every third body (pinning its buffer); drop the others (freeing theirs).
            if i % 3 == 0 {
                held.push((i, got));
            }
        }
    }
    for (i, got) in &held {
        assert_eq!(
            *got,
            Message::from(want(*i)),
            "held message {i} was overwritten"
        );
    }
    drop(listener);
    server_io.shutdown();
    client_io.shutdown();
}

#[test]
fn connecter_link_survives_rebind_on_same_port() {
    let server_io = IoThread::spawn("server-io").unwrap();
    let client_io = IoThread::spawn("client-io").unwrap();
    let first = TestAcceptor::new(0, 0);
    let listener = server_io
        .handle()
        .bind(&bind_ep("tcp://127.0.0.1:*"), opts(), first.clone())
        .unwrap();
    let endpoint = listener.endpoint().to_owned();

    let (client, _connecter) = connect(&client_io.handle(), &endpoint, opts(), 0, 0);
    client.send(Message::from(&b"one"[..]));
    assert_eq!(first.peer(0).recv().unwrap(), Message::from(&b"one"[..]));

    // The server socket closes: unbind, then its side of the accepted connection ends (nothing
    // left to flush). The connecter sees the stream end and plans a reconnect with the same
    // link.
    listener.close();
    first.peer(0).close(None);
    client.events.wait_disconnects(1);
    let (reason, will_reconnect) = client.events.disconnects.lock().unwrap()[0].clone();
    assert!(will_reconnect, "{reason:?}");
    assert!(matches!(reason, DisconnectReason::Io(_)), "{reason:?}");
    // The accepted side's link is finished.
    let old = first.peer(0);
    old.events.wait_disconnects(1);
    assert_eq!(
        old.events.disconnects.lock().unwrap()[0],
        (DisconnectReason::Closed, false)
    );
    assert_eq!(
        old.recv(),
        None,
        "inbound pipe ends after a final disconnect"
    );

    // Queued while nothing listens.
    for i in 0..10u8 {
        client.send(vec![i; 10]);
    }

    let second = TestAcceptor::new(0, 0);
    // Listener::close freed the port before returning: the re-bind succeeds at once.
    let _listener = server_io
        .handle()
        .bind(&bind_ep(&endpoint), opts(), second.clone())
        .unwrap();
    let server = second.peer(0);
    for i in 0..10u8 {
        assert_eq!(server.recv().unwrap(), Message::from(vec![i; 10]));
    }
    client.events.wait_handshakes(2);
    // And the reverse direction works on the re-attached link.
    server.send(Message::from(&b"back"[..]));
    assert_eq!(client.recv().unwrap(), Message::from(&b"back"[..]));
}

#[test]
fn garbage_client_is_dropped_and_listener_keeps_serving() {
    let server_io = IoThread::spawn("server-io").unwrap();
    let client_io = IoThread::spawn("client-io").unwrap();
    let acceptor = TestAcceptor::new(0, 0);
    let listener = server_io
        .handle()
        .bind(&bind_ep("tcp://127.0.0.1:*"), opts(), acceptor.clone())
        .unwrap();
    let addr = listener
        .endpoint()
        .strip_prefix("tcp://")
        .unwrap()
        .to_owned();

    let mut raw = TcpStream::connect(&addr).unwrap();
    raw.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let got = read_until_closed(&mut raw);
    // The server's greeting may or may not have gone out before it noticed; nothing else did.
    assert!(got.len() <= 64, "{} bytes", got.len());
    assert_eq!(acceptor.count(), 0);

    let (client, _connecter) = connect(&client_io.handle(), listener.endpoint(), opts(), 0, 0);
    client.send(Message::from(&b"still works"[..]));
    assert_eq!(
        acceptor.peer(0).recv().unwrap(),
        Message::from(&b"still works"[..])
    );
}

#[test]
fn half_greeting_is_dropped_after_handshake_timeout() {
    let server_io = IoThread::spawn("server-io").unwrap();
    let acceptor = TestAcceptor::new(0, 0);
    let mut options = opts();
    options.codec.handshake_timeout = Some(Duration::from_millis(200));
    let listener = server_io
        .handle()
        .bind(&bind_ep("tcp://127.0.0.1:*"), options, acceptor.clone())
        .unwrap();
    let addr = listener
        .endpoint()
        .strip_prefix("tcp://")
        .unwrap()
        .to_owned();

    let mut raw = TcpStream::connect(&addr).unwrap();
    // Signature and the first version octet: a plausible start that never completes.
    raw.write_all(&[0xFF, 0, 0, 0, 0, 0, 0, 0, 1, 0x7F, 3])
        .unwrap();
    let started = Instant::now();
    let got = read_until_closed(&mut raw);
    assert!(started.elapsed() < PATIENCE);
    assert_eq!(got.len(), 64, "only our greeting went out");
    assert_eq!(got[0], 0xFF);
    assert_eq!(acceptor.count(), 0);
}

#[test]
fn refused_connect_retries_until_listener_appears() {
    // Find a free port, release it, and connect to it before anything listens.
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let client_io = IoThread::spawn("client-io").unwrap();
    let server_io = IoThread::spawn("server-io").unwrap();
    let endpoint = format!("tcp://127.0.0.1:{port}");
    let (client, connecter) = connect(&client_io.handle(), &endpoint, opts(), 0, 0);
    client.send(Message::from(&b"patient"[..]));
    let acceptor = TestAcceptor::new(0, 0);
    let _listener = server_io
        .handle()
        .bind(&bind_ep(&endpoint), opts(), acceptor.clone())
        .unwrap();
    assert_eq!(
        acceptor.peer(0).recv().unwrap(),
        Message::from(&b"patient"[..])
    );
    // Refused attempts are retried silently.
    assert_eq!(client.events.disconnect_count(), 0);

    // Closing the connecter while connected keeps the connection; closing the outbound pipe
    // then flushes and ends it.
    connecter.close();
    client.send(Message::from(&b"last"[..]));
    client.outbound.close(None);
    let server = acceptor.peer(0);
    assert_eq!(server.recv().unwrap(), Message::from(&b"last"[..]));
    client.events.wait_disconnects(1);
    assert_eq!(
        client.events.disconnects.lock().unwrap()[0],
        (DisconnectReason::Closed, false)
    );
    assert_eq!(client.recv(), None);
    server.events.wait_disconnects(1);
}

#[test]
fn bind_errors() {
    let io = IoThread::spawn("io").unwrap();
    let acceptor = TestAcceptor::new(0, 0);
    let listener = io
        .handle()
        .bind(&bind_ep("tcp://127.0.0.1:*"), opts(), acceptor.clone())
        .unwrap();
    assert!(matches!(
        io.handle()
            .bind(&bind_ep(listener.endpoint()), opts(), acceptor.clone()),
        Err(TransportError::AddrInUse)
    ));
    assert!(matches!(
        io.handle()
            .bind(&bind_ep("tcp://192.0.2.1:*"), opts(), acceptor.clone()),
        Err(TransportError::AddrNotAvailable)
    ));
    let any = io
        .handle()
        .bind(&bind_ep("tcp://*:*"), opts(), acceptor.clone())
        .unwrap();
    assert!(
        any.endpoint().starts_with("tcp://0.0.0.0:"),
        "{}",
        any.endpoint()
    );
    let handle = io.handle();
    io.shutdown();
    assert!(matches!(
        handle.bind(&bind_ep("tcp://127.0.0.1:*"), opts(), acceptor),
        Err(TransportError::Shutdown)
    ));
}
