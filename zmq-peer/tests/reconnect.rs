//! Reconnection and routing-id lifetime (PROTOCOL.md §7.5, §9.4, §11.1 I): the connecter's id
//! survives a restart of the binder and messages sent meanwhile arrive later; the binder sees a
//! new id for a reconnected peer; a bind-side id becomes unreachable once its peer is gone.

mod support;

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::unix::net::UnixListener;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use zmq_peer::{Context, errno};

use support::{
    Transport, WAIT, accept_within, assert_errno, msg, pair, peer, tcp_addr, wait_host_unreachable,
    wait_until,
};

/// Binder closes, the connecter keeps sending (queued), a new binder on the same endpoint gets
/// those messages, and its reply reaches the connecter tagged with the original routing id.
fn binder_restart(transport: Transport) {
    let ctx = Context::new();
    let p = pair(&ctx, transport);
    let endpoint = p.endpoint.clone();
    let connecter = p.connecter.clone();
    let original = p.to_binder;
    p.binder.set_linger(0).expect("LINGER 0");
    p.binder.close().expect("close the first binder");

    // Prove that the connecter noticed the loss before sending again: its reconnect attempt
    // reaches a plain listener we put on the endpoint. (Otherwise the message could be handed to
    // the dying connection, where libzmq loses it too.)
    wait_for_reconnect_attempt(&endpoint);

    for i in 0_u8..3 {
        connecter
            .send(msg(&[b'd', i], original))
            .expect("send while the binder is down");
    }

    let binder = transport.peer(&ctx);
    binder
        .bind(&endpoint)
        .expect("bind again on the same endpoint");
    let mut new_id = None;
    for i in 0_u8..3 {
        let got = binder
            .recv()
            .expect("message queued while down is delivered");
        assert_eq!(got.as_bytes(), [b'd', i]);
        let id = got.routing_id().expect("routing id");
        assert_eq!(*new_id.get_or_insert(id), id, "one connection");
    }
    let new_id = new_id.expect("received something");
    binder.send(msg(b"reply", new_id)).expect("reply");
    let reply = connecter.recv().expect("reply reaches the connecter");
    assert_eq!(reply.as_bytes(), b"reply");
    assert_eq!(
        reply.routing_id(),
        Some(original),
        "connecter's routing id survived"
    );
}

/// Puts a plain listener on `endpoint` until one connection attempt arrives there. Binding is
/// retried: the closed socket may release the address a moment after `close` returned.
fn wait_for_reconnect_attempt(endpoint: &str) {
    let deadline = Instant::now() + WAIT;
    loop {
        assert!(
            Instant::now() < deadline,
            "no reconnect attempt reached {endpoint}"
        );
        if ["tcp://", "ws://", "wss://"]
            .iter()
            .any(|scheme| endpoint.starts_with(scheme))
        {
            let addr = tcp_addr(endpoint);
            let Ok(listener) = TcpListener::bind(addr) else {
                thread::sleep(Duration::from_millis(10));
                continue;
            };
            if accept_within(&listener, WAIT).is_some() {
                return;
            }
        } else if let Some(name) = endpoint.strip_prefix("ipc://@") {
            use std::os::linux::net::SocketAddrExt;
            let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())
                .expect("abstract address");
            let Ok(listener) = UnixListener::bind_addr(&addr) else {
                thread::sleep(Duration::from_millis(10));
                continue;
            };
            if accept_unix_within(&listener, WAIT, None) {
                return;
            }
        } else if let Some(path) = endpoint.strip_prefix("ipc://") {
            let path = std::path::Path::new(path);
            // libzmq leaves the socket file of a named bind behind; replace it.
            let _ = std::fs::remove_file(path);
            let Ok(listener) = UnixListener::bind(path) else {
                thread::sleep(Duration::from_millis(10));
                continue;
            };
            // If the closed socket removes its file late, our file is gone: bind again.
            if accept_unix_within(&listener, Duration::from_millis(500), Some(path)) {
                let _ = std::fs::remove_file(path);
                return;
            }
        } else {
            panic!("no reconnect for {endpoint}");
        }
    }
}

/// Accepts one connection within `limit` (stops early if `path` is given and disappears).
fn accept_unix_within(
    listener: &UnixListener,
    limit: Duration,
    path: Option<&std::path::Path>,
) -> bool {
    listener.set_nonblocking(true).expect("nonblocking");
    let deadline = Instant::now() + limit;
    loop {
        match listener.accept() {
            Ok(_) => return true,
            Err(error) if error.kind() == ErrorKind::WouldBlock => {
                if Instant::now() >= deadline || path.is_some_and(|p| !p.exists()) {
                    return false;
                }
                thread::sleep(Duration::from_millis(5));
            }
            Err(error) => panic!("accept: {error}"),
        }
    }
}

#[test]
fn binder_restart_tcp() {
    binder_restart(Transport::Tcp);
}

#[test]
fn binder_restart_ipc_path() {
    binder_restart(Transport::IpcPath);
}

#[test]
fn binder_restart_ipc_abstract() {
    binder_restart(Transport::IpcAbstract);
}

#[cfg(feature = "ws")]
#[test]
fn binder_restart_ws() {
    binder_restart(Transport::Ws);
}

#[cfg(feature = "wss")]
#[test]
fn binder_restart_wss() {
    binder_restart(Transport::Wss);
}

/// A TCP forwarder whose connections can be cut, to break a connection without closing either
/// socket.
struct Proxy {
    endpoint: String,
    accepted: Arc<AtomicUsize>,
    streams: Arc<Mutex<Vec<TcpStream>>>,
    stop: Arc<AtomicBool>,
}

impl Proxy {
    fn start(upstream: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("proxy listener");
        listener.set_nonblocking(true).expect("nonblocking");
        let endpoint = format!("tcp://{}", listener.local_addr().expect("addr"));
        let upstream = tcp_addr(upstream).to_owned();
        let accepted = Arc::new(AtomicUsize::new(0));
        let streams = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (accepted2, streams2, stop2) = (accepted.clone(), streams.clone(), stop.clone());
        thread::spawn(move || {
            while !stop2.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((client, _)) => {
                        client.set_nonblocking(false).expect("blocking");
                        let server = TcpStream::connect(&upstream).expect("proxy upstream");
                        let mut list = streams2.lock().expect("lock");
                        list.push(client.try_clone().expect("clone"));
                        list.push(server.try_clone().expect("clone"));
                        drop(list);
                        pump(
                            client.try_clone().expect("clone"),
                            server.try_clone().expect("c"),
                        );
                        pump(server, client);
                        accepted2.fetch_add(1, Ordering::SeqCst);
                    }
                    Err(error) if error.kind() == ErrorKind::WouldBlock => {
                        thread::sleep(Duration::from_millis(5));
                    }
                    Err(error) => panic!("proxy accept: {error}"),
                }
            }
        });
        Self {
            endpoint,
            accepted,
            streams,
            stop,
        }
    }

    /// Shuts down every forwarded connection (both directions, both sides).
    fn cut(&self) {
        for stream in self.streams.lock().expect("lock").drain(..) {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.cut();
    }
}

fn pump(mut from: TcpStream, mut to: TcpStream) {
    thread::spawn(move || {
        let mut buf = [0_u8; 16 * 1024];
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if to.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            }
        }
        let _ = to.shutdown(Shutdown::Both);
        let _ = from.shutdown(Shutdown::Both);
    });
}

#[test]
fn connection_cut_keeps_connecter_id_and_gives_binder_a_new_one() {
    let ctx = Context::new();
    let binder = peer(&ctx);
    binder.bind("tcp://127.0.0.1:*").expect("bind");
    let proxy = Proxy::start(&binder.last_endpoint().expect("last_endpoint"));
    let connecter = peer(&ctx);
    let to_binder = connecter
        .connect_peer(&proxy.endpoint)
        .expect("connect_peer via proxy");

    connecter.send(msg(b"one", to_binder)).expect("send one");
    let got = binder.recv().expect("recv one");
    assert_eq!(got.as_bytes(), b"one");
    let first_id = got.routing_id().expect("routing id");
    binder.send(msg(b"r1", first_id)).expect("reply one");
    assert_eq!(
        connecter.recv().expect("recv r1").routing_id(),
        Some(to_binder)
    );

    proxy.cut();
    // The connecter reconnects through the proxy on its own.
    wait_until(WAIT, "reconnect through the proxy", || {
        proxy.accepted.load(Ordering::SeqCst) >= 2
    });

    connecter
        .send(msg(b"two", to_binder))
        .expect("same routing id after the reconnect");
    let got = binder.recv().expect("recv two");
    assert_eq!(got.as_bytes(), b"two");
    let second_id = got.routing_id().expect("routing id");
    assert_ne!(
        second_id, first_id,
        "binder sees the reconnected peer under a new id"
    );

    // The old bind-side id is gone.
    wait_host_unreachable(&binder, first_id, WAIT);

    binder.send(msg(b"r2", second_id)).expect("reply two");
    let reply = connecter.recv().expect("recv r2");
    assert_eq!(reply.as_bytes(), b"r2");
    assert_eq!(reply.routing_id(), Some(to_binder));
}

/// Bind side: once a connected peer closes, sends to its id end in `EHOSTUNREACH` (never block),
/// while messages it sent before leaving can still be received.
fn peer_gone_is_unreachable(transport: Transport) {
    let ctx = Context::new();
    let p = pair(&ctx, transport);
    p.connecter
        .send(msg(b"last words", p.to_binder))
        .expect("send");
    p.connecter.close().expect("close the connecter");
    let got = p
        .binder
        .recv()
        .expect("message sent before the close is still delivered");
    assert_eq!(got.as_bytes(), b"last words");
    p.binder.set_sndtimeo(0).expect("SNDTIMEO 0");
    wait_host_unreachable(&p.binder, p.to_connecter, WAIT);
    p.binder.set_sndtimeo(-1).expect("SNDTIMEO -1");
    let binder = p.binder.clone();
    let rid = p.to_connecter;
    support::within(WAIT, "send to a gone peer", move || {
        assert_errno(
            binder.send(msg(b"x", rid)),
            errno::EHOSTUNREACH,
            "blocking send to gone peer",
        );
    });
}

mod peer_gone {
    crate::support::transport_suite!(super::peer_gone_is_unreachable);
}

/// `disconnect` on the connect side destroys that routing id on both ends.
fn disconnect_destroys_the_routing_id(transport: Transport) {
    let ctx = Context::new();
    let p = pair(&ctx, transport);
    p.binder.send(msg(b"r", p.to_connecter)).expect("reply");
    assert_eq!(p.connecter.recv().expect("recv").as_bytes(), b"r");
    p.connecter.disconnect(&p.endpoint).expect("disconnect");
    wait_host_unreachable(&p.connecter, p.to_binder, WAIT);
    let drained = wait_host_unreachable(&p.binder, p.to_connecter, WAIT);
    assert!(
        drained.is_empty(),
        "nothing arrives after the disconnect: {drained:?}"
    );
    assert_errno(
        p.connecter.disconnect(&p.endpoint),
        errno::ENOENT,
        "second disconnect",
    );
}

mod disconnect {
    crate::support::transport_suite!(super::disconnect_destroys_the_routing_id);
}

#[test]
fn reconnect_ivl_option() {
    let ctx = Context::new();
    let socket = peer(&ctx);
    assert_eq!(socket.reconnect_ivl().expect("RECONNECT_IVL"), 100);
    socket.set_reconnect_ivl(-1).expect("RECONNECT_IVL -1");
    assert_eq!(socket.reconnect_ivl().expect("RECONNECT_IVL"), -1);
    assert_errno(
        socket.set_reconnect_ivl(-2),
        errno::EINVAL,
        "RECONNECT_IVL -2",
    );
}
