//! Connection life cycle: protocol errors end a connecter's link, timeouts reconnect it,
//! disabled reconnection, closing a connecter, linger and shutdown flushing.

#![cfg(feature = "tcp")]

mod support;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use support::{PATIENCE, TestAcceptor, body, connect, opts};
use zmq_transport::{ConnOptions, DisconnectReason, Endpoint, IoThread, TrySendError};
use zmtp_codec::{Config, Message, ProtocolError, Session, SocketType};

fn bind_local(
    io: &IoThread,
    options: ConnOptions,
    acceptor: Arc<TestAcceptor>,
) -> zmq_transport::Listener {
    io.handle()
        .bind(
            &Endpoint::parse_bind("tcp://127.0.0.1:*").unwrap(),
            options,
            acceptor,
        )
        .unwrap()
}

#[test]
fn protocol_error_ends_the_connecter_without_reconnect() {
    let server_io = IoThread::spawn("server-io").unwrap();
    let client_io = IoThread::spawn("client-io").unwrap();
    let acceptor = TestAcceptor::new(0, 0);
    // A PUB listener: PEER may not talk to it.
    let listener = bind_local(
        &server_io,
        ConnOptions::new(Config::new(SocketType::PUB)),
        acceptor.clone(),
    );
    let (client, _connecter) = connect(&client_io.handle(), listener.endpoint(), opts(), 0, 0);
    client.events.wait_disconnects(1);
    let (reason, will_reconnect) = client.events.disconnects.lock().unwrap()[0].clone();
    assert!(!will_reconnect);
    assert!(
        matches!(
            reason,
            DisconnectReason::Protocol(ProtocolError::IncompatibleSocketType { .. })
        ),
        "{reason:?}"
    );
    // The outbound pipe was closed: sends fail. The inbound pipe ended.
    assert!(matches!(
        client.outbound.try_send(Message::from(&b"x"[..])),
        Err(TrySendError::Closed(_))
    ));
    assert_eq!(client.recv(), None);
    assert_eq!(client.events.handshake_count(), 0);
    assert_eq!(acceptor.count(), 0);
}

/// A raw ZMTP peer on a plain socket: completes the handshake with a codec session, then goes
/// silent (reads and discards, never writes). Serves `connections` connections in turn.
fn silent_peer(connections: usize) -> (String, thread::JoinHandle<usize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("tcp://{}", listener.local_addr().unwrap());
    let handle = thread::spawn(move || {
        let mut served = 0;
        for _ in 0..connections {
            let (mut stream, _) = listener.accept().unwrap();
            stream.set_read_timeout(Some(PATIENCE)).unwrap();
            let mut session = Session::new(Config::new(SocketType::PEER), Instant::now());
            let mut input = BytesMut::new();
            let mut buf = [0u8; 4096];
            while !session.is_ready() {
                while let Some(chunk) = session.poll_transmit() {
                    stream.write_all(&chunk).unwrap();
                }
                let n = stream.read(&mut buf).unwrap();
                assert!(n > 0, "client closed during the handshake");
                input.extend_from_slice(&buf[..n]);
                session.handle_input(&mut input, Instant::now()).unwrap();
            }
            while let Some(chunk) = session.poll_transmit() {
                stream.write_all(&chunk).unwrap();
            }
            served += 1;
            // Silent from now on: wait for the client to give up on us.
            loop {
                match stream.read(&mut buf) {
                    Ok(0) => break,
                    Ok(_) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
                    Err(e) => panic!("client never gave up: {e}"),
                }
            }
        }
        served
    });
    (endpoint, handle)
}

#[test]
fn heartbeat_timeout_reconnects_with_the_same_link() {
    let (endpoint, server) = silent_peer(2);
    let client_io = IoThread::spawn("client-io").unwrap();
    let mut options = opts();
    options.codec.heartbeat_interval = Some(Duration::from_millis(50));
    options.codec.heartbeat_timeout = Some(Duration::from_millis(150));
    let (client, connecter) = connect(&client_io.handle(), &endpoint, options, 0, 0);
    client.events.wait_disconnects(2);
    let disconnects = client.events.disconnects.lock().unwrap().clone();
    for (reason, will_reconnect) in &disconnects[..2] {
        assert_eq!(
            *reason,
            DisconnectReason::Protocol(ProtocolError::HeartbeatTimeout)
        );
        assert!(*will_reconnect);
    }
    assert!(client.events.handshake_count() >= 2);
    drop(connecter);
    assert_eq!(server.join().unwrap(), 2);
}

#[test]
fn no_reconnect_when_disabled() {
    let server_io = IoThread::spawn("server-io").unwrap();
    let client_io = IoThread::spawn("client-io").unwrap();
    let acceptor = TestAcceptor::new(0, 0);
    let listener = bind_local(&server_io, opts(), acceptor.clone());
    let mut options = opts();
    options.reconnect_ivl = None;
    let (client, _connecter) = connect(&client_io.handle(), listener.endpoint(), options, 0, 0);
    client.send(Message::from(&b"hi"[..]));
    let server = acceptor.peer(0);
    assert_eq!(server.recv().unwrap(), Message::from(&b"hi"[..]));
    server.send(Message::from(&b"queued before the drop"[..]));
    // Let it reach the client's inbound pipe (unread) before the connection drops.
    assert!(
        client
            .readable
            .wait_for(PATIENCE, || client.inbound.lock().unwrap().len() == 1)
    );
    // The server socket closes: unbind and end its side of the accepted connection.
    listener.close();
    server.close(None);
    client.events.wait_disconnects(1);
    let (reason, will_reconnect) = client.events.disconnects.lock().unwrap()[0].clone();
    assert!(!will_reconnect, "{reason:?}");
    // What arrived before the drop is still delivered, then end-of-stream.
    assert_eq!(
        client.recv().unwrap(),
        Message::from(&b"queued before the drop"[..])
    );
    assert_eq!(client.recv(), None);
    assert!(client.outbound.is_closed());
}

#[test]
fn closing_an_unconnected_connecter_ends_its_link() {
    let port = {
        let probe = TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let client_io = IoThread::spawn("client-io").unwrap();
    let (client, connecter) = connect(
        &client_io.handle(),
        &format!("tcp://127.0.0.1:{port}"),
        opts(),
        0,
        0,
    );
    client.send(Message::from(&b"never sent"[..]));
    connecter.close();
    client.events.wait_disconnects(1);
    assert_eq!(
        client.events.disconnects.lock().unwrap()[0],
        (DisconnectReason::Closed, false)
    );
    assert!(client.outbound.is_closed());
    assert_eq!(client.recv(), None);
}

#[test]
fn linger_deadline_drops_an_unconnected_connecter() {
    let port = {
        let probe = TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let client_io = IoThread::spawn("client-io").unwrap();
    let (client, _connecter) = connect(
        &client_io.handle(),
        &format!("tcp://127.0.0.1:{port}"),
        opts(),
        0,
        0,
    );
    client.send(Message::from(&b"never sent"[..]));
    let started = Instant::now();
    client.outbound.close(Some(Duration::from_millis(100)));
    client.events.wait_disconnects(1);
    assert!(started.elapsed() >= Duration::from_millis(100));
    assert_eq!(
        client.events.disconnects.lock().unwrap()[0],
        (DisconnectReason::Closed, false)
    );
}

#[test]
fn shutdown_flushes_lingering_connections() {
    let server_io = IoThread::spawn("server-io").unwrap();
    let client_io = IoThread::spawn("client-io").unwrap();
    let acceptor = TestAcceptor::new(0, 0);
    let listener = bind_local(&server_io, opts(), acceptor.clone());
    let (client, connecter) = connect(&client_io.handle(), listener.endpoint(), opts(), 0, 0);
    client.events.wait_handshakes(1);
    for i in 0..2000u32 {
        client.send(vec![u8::try_from(i % 256).unwrap(); 1000]);
    }
    client.outbound.close(None);
    drop(connecter);
    client_io.shutdown();
    let server = acceptor.peer(0);
    for i in 0..2000u32 {
        assert_eq!(
            server.recv().unwrap(),
            Message::from(vec![u8::try_from(i % 256).unwrap(); 1000])
        );
    }
    assert!(!client.events.disconnects.lock().unwrap()[0].1);
}

#[test]
fn refused_accept_closes_the_connection() {
    let server_io = IoThread::spawn("server-io").unwrap();
    let client_io = IoThread::spawn("client-io").unwrap();
    let acceptor = Arc::new(TestAcceptor {
        refuse: true,
        ..Arc::into_inner(TestAcceptor::new(0, 0)).unwrap()
    });
    let listener = bind_local(&server_io, opts(), acceptor.clone());
    let (client, _connecter) = connect(&client_io.handle(), listener.endpoint(), opts(), 0, 0);
    // The client completes its handshake, then sees the stream end and reconnects.
    client.events.wait_disconnects(1);
    let (reason, will_reconnect) = client.events.disconnects.lock().unwrap()[0].clone();
    assert!(will_reconnect, "{reason:?}");
    assert_eq!(acceptor.count(), 0);
}

/// A server connection with `count` messages of `len` bytes on their way to a client whose
/// I/O thread stopped reading (inbound HWM 1, nothing received yet): then the listener closes
/// (unbind). Returns the server and client sides.
fn unbind_while_sending(
    server_io: &IoThread,
    client_io: &IoThread,
    count: u8,
    len: usize,
) -> (
    Arc<support::Peer>,
    Arc<support::Peer>,
    zmq_transport::Connecter,
) {
    // Small kernel buffers: loopback autotuning may otherwise let the kernel absorb tens of MiB
    // (tcp_rmem's maximum here is 32 MiB), and "the rest is stuck" would depend on it.
    let mut server_opts = opts();
    server_opts.sndbuf = 64 * 1024;
    let mut client_opts = opts();
    client_opts.rcvbuf = 64 * 1024;
    let acceptor = TestAcceptor::new(0, 0);
    let listener = bind_local(server_io, server_opts, acceptor.clone());
    let (client, connecter) = connect(&client_io.handle(), listener.endpoint(), client_opts, 0, 1);
    client.send(Message::from(&b"hello"[..]));
    let server = acceptor.peer(0);
    assert_eq!(server.recv().unwrap(), Message::from(&b"hello"[..]));
    for seed in 0..count {
        server.send(body(len, seed));
    }
    // The first message fills the client's inbound pipe: the rest is stuck on the server side.
    assert!(
        client
            .readable
            .wait_for(PATIENCE, || client.inbound.lock().unwrap().len() == 1)
    );
    listener.close();
    (server, client, connecter)
}

#[test]
fn closing_the_listener_lets_accepted_connections_flush() {
    let server_io = IoThread::spawn("server-io").unwrap();
    let client_io = IoThread::spawn("client-io").unwrap();
    let (server, client, _connecter) = unbind_while_sending(&server_io, &client_io, 4, 8 << 20);
    // The socket closes with LINGER -1 after the unbind: everything still arrives.
    server.close(None);
    for seed in 0..4 {
        let got = client
            .recv()
            .expect("message lost after the listener closed");
        assert!(got == Message::from(body(8 << 20, seed)), "message {seed}");
    }
    // Flushed: the accepted connection then ends.
    server.events.wait_disconnects(1);
    assert_eq!(
        server.events.disconnects.lock().unwrap()[0],
        (DisconnectReason::Closed, false)
    );
}

#[test]
fn closing_the_listener_keeps_attached_connections_usable() {
    let server_io = IoThread::spawn("server-io").unwrap();
    let client_io = IoThread::spawn("client-io").unwrap();
    let (server, client, _connecter) = unbind_while_sending(&server_io, &client_io, 1, 10);
    assert_eq!(client.recv().unwrap(), Message::from(body(10, 0)));
    for i in 0..100_u8 {
        server.send(vec![i]);
        assert_eq!(client.recv().unwrap(), Message::from(vec![i]));
        client.send(vec![i]);
        assert_eq!(server.recv().unwrap(), Message::from(vec![i]));
    }
    assert_eq!(server.events.disconnect_count(), 0);
    assert_eq!(client.events.disconnect_count(), 0);
}

#[test]
fn zero_linger_after_unbind_ends_the_connection_at_once() {
    let server_io = IoThread::spawn("server-io").unwrap();
    let client_io = IoThread::spawn("client-io").unwrap();
    let (server, client, _connecter) = unbind_while_sending(&server_io, &client_io, 4, 8 << 20);
    // The client never reads: only LINGER 0 can end the connection now.
    server.close(Some(Duration::ZERO));
    server.events.wait_disconnects(1);
    assert_eq!(
        server.events.disconnects.lock().unwrap()[0],
        (DisconnectReason::Closed, false)
    );
    // The client gets what was on the wire before, then the stream ends (it is not reading
    // meanwhile, so it learns of the end only once it reads again).
    assert_eq!(client.recv().unwrap(), Message::from(body(8 << 20, 0)));
    let ended = client.events.signal.wait_for(PATIENCE, || {
        while let Ok(Some(_)) = client.inbound.lock().unwrap().try_recv() {}
        client.events.disconnect_count() >= 1
    });
    assert!(ended, "the client never saw the stream end");
}

#[test]
fn bounded_linger_after_unbind_gives_up_on_a_peer_that_does_not_read() {
    let server_io = IoThread::spawn("server-io").unwrap();
    let client_io = IoThread::spawn("client-io").unwrap();
    let (server, _client, _connecter) = unbind_while_sending(&server_io, &client_io, 4, 8 << 20);
    let started = Instant::now();
    server.close(Some(Duration::from_millis(200)));
    server.events.wait_disconnects(1);
    assert!(started.elapsed() >= Duration::from_millis(200));
    assert_eq!(
        server.events.disconnects.lock().unwrap()[0],
        (DisconnectReason::Closed, false)
    );
}

#[test]
fn closing_the_listener_ends_connections_still_in_their_handshake() {
    let server_io = IoThread::spawn("server-io").unwrap();
    let acceptor = TestAcceptor::new(0, 0);
    let listener = bind_local(&server_io, opts(), acceptor.clone());
    let addr = listener
        .endpoint()
        .strip_prefix("tcp://")
        .unwrap()
        .to_owned();
    // A raw client that never sends its greeting.
    let mut raw = std::net::TcpStream::connect(addr).unwrap();
    raw.set_read_timeout(Some(PATIENCE)).unwrap();
    // The server's greeting shows that the connection was accepted.
    let mut first = [0_u8; 1];
    assert_eq!(raw.read(&mut first).unwrap(), 1);
    listener.close();
    let mut buf = [0_u8; 256];
    loop {
        match raw.read(&mut buf) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
            Err(e) => panic!("the handshaking connection was not closed: {e}"),
        }
    }
    assert_eq!(acceptor.count(), 0);
}
