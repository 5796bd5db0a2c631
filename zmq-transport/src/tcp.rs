//! tcp specifics: address resolution (bind and connect), socket options, and socket creation.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV6, ToSocketAddrs};
use std::time::Duration;

use socket2::{Domain, Protocol, SockAddr, SockRef, Socket, TcpKeepalive, Type};

use crate::endpoint::{EndpointError, Host, TcpEndpoint};
use crate::options::{ConnOptions, TransportError};

/// Resolves a bind address (synchronously, on the caller's thread).
///
/// `*` is `0.0.0.0`, or `::` with `ipv6` (dual stack). Names are tried as a network interface name
/// first (its first IPv4 address, or with `ipv6` its first IPv6 address), then through the
/// resolver, as libzmq's `ip_resolver_t::resolve` does for local addresses.
pub(crate) fn resolve_bind(tcp: &TcpEndpoint, ipv6: bool) -> Result<SocketAddr, TransportError> {
    if tcp.source.is_some() {
        return Err(EndpointError::Invalid(
            "a source address is only allowed when connecting".into(),
        )
        .into());
    }
    let port = tcp.port.unwrap_or(0);
    let ip = match &tcp.host {
        Host::Any if ipv6 => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        Host::Any => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        Host::Ip(ip) => {
            if ip.is_ipv6() && !ipv6 {
                // libzmq: an IPv6 literal without ZMQ_IPV6 does not resolve (ENODEV on bind).
                return Err(TransportError::AddrNotAvailable);
            }
            *ip
        }
        Host::ScopedIpv6 { addr, zone } => {
            if !ipv6 {
                return Err(TransportError::AddrNotAvailable);
            }
            let scope = zone_index(zone).ok_or(TransportError::AddrNotAvailable)?;
            return Ok(SocketAddr::V6(SocketAddrV6::new(*addr, port, 0, scope)));
        }
        Host::Name(name) => {
            // libzmq `ip_resolver_t::resolve`: "Try to resolve the string as a NIC name" before
            // `getaddrinfo` when the address is local (bind) or a source address.
            if let Some(addr) = interface_addr(name, port, ipv6) {
                return Ok(addr);
            }
            return lookup(name, port, ipv6).map_err(|_| TransportError::AddrNotAvailable);
        }
    };
    Ok(SocketAddr::new(ip, port))
}

/// Checks what can be checked of a connect address without touching the network.
pub(crate) fn validate_connect(tcp: &TcpEndpoint, ipv6: bool) -> Result<(), TransportError> {
    let needs_v6 = |host: &Host| match host {
        Host::Ip(ip) => ip.is_ipv6(),
        Host::ScopedIpv6 { .. } => true,
        Host::Any | Host::Name(_) => false,
    };
    if tcp.host == Host::Any || tcp.port.is_none() {
        return Err(EndpointError::Invalid("'*' is not allowed when connecting".into()).into());
    }
    if !ipv6 && needs_v6(&tcp.host) {
        return Err(EndpointError::Invalid("an IPv6 address needs the ipv6 option".into()).into());
    }
    if let Some(source) = &tcp.source
        && !ipv6
        && needs_v6(&source.host)
    {
        return Err(EndpointError::Invalid("an IPv6 address needs the ipv6 option".into()).into());
    }
    // Interface names (destination or source) are resolved with the rest on the I/O thread, as
    // libzmq defers all tcp resolution until a socket is opened.
    Ok(())
}

/// Resolves a connect address: `(destination, source)`. May block on DNS (called on the I/O
/// thread, as libzmq does).
pub(crate) fn resolve_connect(
    tcp: &TcpEndpoint,
    ipv6: bool,
) -> io::Result<(SocketAddr, Option<SocketAddr>)> {
    let port = tcp.port.unwrap_or(0);
    let dst = match &tcp.host {
        Host::Ip(ip) => SocketAddr::new(*ip, port),
        Host::ScopedIpv6 { addr, zone } => {
            let scope = zone_index(zone).ok_or_else(|| not_found("unknown IPv6 zone"))?;
            SocketAddr::V6(SocketAddrV6::new(*addr, port, 0, scope))
        }
        Host::Name(name) => lookup(name, port, ipv6)?,
        Host::Any => return Err(not_found("'*' cannot be connected to")),
    };
    let src = match &tcp.source {
        None => None,
        Some(source) => {
            let port = source.port.unwrap_or(0);
            Some(match &source.host {
                Host::Any if dst.is_ipv6() => SocketAddr::new(Ipv6Addr::UNSPECIFIED.into(), port),
                Host::Any => SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), port),
                Host::Ip(ip) => SocketAddr::new(*ip, port),
                Host::ScopedIpv6 { addr, zone } => {
                    let scope = zone_index(zone).ok_or_else(|| not_found("unknown IPv6 zone"))?;
                    SocketAddr::V6(SocketAddrV6::new(*addr, port, 0, scope))
                }
                // libzmq resolves a source address with `allow_dns (false)` and
                // `allow_nic_name (true)`: a name is an interface name or nothing.
                Host::Name(name) => interface_addr(name, port, ipv6)
                    .ok_or_else(|| not_found("unknown source interface"))?,
            })
        }
    };
    Ok((dst, src))
}

/// Creates a listening socket: `SO_REUSEADDR`, dual stack for `::`, non-blocking.
pub(crate) fn listen(addr: SocketAddr, opts: &ConnOptions) -> io::Result<Socket> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    if addr.is_ipv6() {
        // libzmq enables dual stack (IPV6_V6ONLY off) when ZMQ_IPV6 is set.
        socket.set_only_v6(false)?;
    }
    socket.set_nonblocking(true)?;
    socket.bind(&SockAddr::from(addr))?;
    socket.listen(opts.backlog.max(1))?;
    Ok(socket)
}

/// Starts a non-blocking connect. Returns the socket and whether it completed at once.
pub(crate) fn connect(
    dst: SocketAddr,
    src: Option<SocketAddr>,
    opts: &ConnOptions,
) -> io::Result<(Socket, bool)> {
    let socket = Socket::new(Domain::for_address(dst), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_nonblocking(true)?;
    tune(&SockRef::from(&socket), opts)?;
    if let Some(src) = src {
        socket.set_reuse_address(true)?;
        socket.bind(&SockAddr::from(src))?;
    }
    match socket.connect(&SockAddr::from(dst)) {
        Ok(()) => Ok((socket, true)),
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => Ok((socket, false)),
        Err(e) => Err(e),
    }
}

/// Applies `TCP_NODELAY` (always, as libzmq), keepalive and buffer sizes to a tcp socket.
pub(crate) fn tune(socket: &SockRef<'_>, opts: &ConnOptions) -> io::Result<()> {
    socket.set_nodelay(true)?;
    crate::stream::buffers(socket, opts)?;
    // libzmq `tune_tcp_keepalives`: "All values = -1 means skip and leave it for OS". With
    // TCP_KEEPALIVE at 0 or 1 it sets SO_KEEPALIVE, then each of TCP_KEEPCNT, TCP_KEEPIDLE and
    // TCP_KEEPINTVL that is not -1 (also when keepalive is off).
    if opts.tcp_keepalive < 0 {
        return Ok(());
    }
    let mut params = TcpKeepalive::new();
    let mut any = false;
    if let Ok(idle) = u64::try_from(opts.tcp_keepalive_idle) {
        params = params.with_time(Duration::from_secs(idle));
        any = true;
    }
    if let Ok(intvl) = u64::try_from(opts.tcp_keepalive_intvl) {
        params = params.with_interval(Duration::from_secs(intvl));
        any = true;
    }
    if let Ok(cnt) = u32::try_from(opts.tcp_keepalive_cnt) {
        params = params.with_retries(cnt);
        any = true;
    }
    if any {
        // socket2 turns SO_KEEPALIVE on here; the line below settles it.
        socket.set_tcp_keepalive(&params)?;
    }
    socket.set_keepalive(opts.tcp_keepalive != 0)?;
    Ok(())
}

/// The endpoint string of a bound or peer address: `tcp://127.0.0.1:5555`, `tcp://[::]:5555`.
pub(crate) fn endpoint_string(addr: SocketAddr) -> String {
    match addr {
        SocketAddr::V4(v4) => format!("tcp://{}:{}", v4.ip(), v4.port()),
        // Without the scope id, as libzmq prints it.
        SocketAddr::V6(v6) => format!("tcp://[{}]:{}", v6.ip(), v6.port()),
    }
}

fn lookup(name: &str, port: u16, ipv6: bool) -> io::Result<SocketAddr> {
    let mut first_v6 = None;
    for addr in (name, port).to_socket_addrs()? {
        if addr.is_ipv4() {
            return Ok(addr);
        }
        if ipv6 && first_v6.is_none() {
            first_v6 = Some(addr);
        }
    }
    first_v6.ok_or_else(|| not_found("name has no usable address"))
}

fn not_found(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::NotFound, what.to_owned())
}

/// The index of an interface for an IPv6 zone id: a number, or a name looked up in sysfs.
fn zone_index(zone: &str) -> Option<u32> {
    if let Ok(n) = zone.parse::<u32>() {
        return Some(n);
    }
    if zone.is_empty() || zone.contains('/') || zone.starts_with('.') {
        return None;
    }
    std::fs::read_to_string(format!("/sys/class/net/{zone}/ifindex"))
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// The address of the network interface `name` with `port`, as libzmq's `resolve_nic_name`
/// finds it: the first address of the interface in the family the IPV6 option selects (IPv4
/// without it, IPv6 with it). A link-local IPv6 address keeps the interface as its scope.
/// `None` when there is no such interface or address, or the interface list cannot be read
/// (libzmq then falls back to DNS where DNS is allowed).
fn interface_addr(name: &str, port: u16, ipv6: bool) -> Option<SocketAddr> {
    let interfaces = if_addrs::get_if_addrs().ok()?;
    interfaces
        .iter()
        .filter(|interface| interface.name == name)
        .find_map(|interface| match interface.ip() {
            IpAddr::V4(v4) if !ipv6 => Some(SocketAddr::new(v4.into(), port)),
            IpAddr::V6(v6) if ipv6 => {
                let scope = if v6.is_unicast_link_local() {
                    interface.index.unwrap_or(0)
                } else {
                    0
                };
                Some(SocketAddr::V6(SocketAddrV6::new(v6, port, 0, scope)))
            }
            _ => None,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::endpoint::Endpoint;
    use crate::stream::{ListenSocket, Stream};

    fn tcp(s: &str) -> TcpEndpoint {
        match Endpoint::parse_bind(s)
            .or_else(|_| Endpoint::parse_connect(s))
            .unwrap()
        {
            Endpoint::Tcp(t) => t,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn bind_resolution() {
        assert_eq!(
            resolve_bind(&tcp("tcp://*:5555"), false).unwrap(),
            "0.0.0.0:5555".parse().unwrap()
        );
        assert_eq!(
            resolve_bind(&tcp("tcp://*:*"), true).unwrap(),
            "[::]:0".parse().unwrap()
        );
        assert!(matches!(
            resolve_bind(&tcp("tcp://[::1]:1"), false),
            Err(TransportError::AddrNotAvailable)
        ));
        assert_eq!(
            resolve_bind(&tcp("tcp://localhost:7"), false).unwrap(),
            "127.0.0.1:7".parse().unwrap()
        );
    }

    #[test]
    fn connect_validation_and_resolution() {
        assert!(validate_connect(&tcp("tcp://[::1]:5"), false).is_err());
        assert!(validate_connect(&tcp("tcp://[::1]:5"), true).is_ok());
        assert_eq!(
            resolve_connect(&tcp("tcp://127.0.0.1:0;127.0.0.1:9"), false).unwrap(),
            (
                "127.0.0.1:9".parse().unwrap(),
                Some("127.0.0.1:0".parse().unwrap())
            )
        );
        assert_eq!(zone_index("7"), Some(7));
        assert_eq!(zone_index("../x"), None);
    }

    /// Whether `::1` is configured on `lo` (it is on Linux unless IPv6 is disabled).
    fn has_ipv6_loopback() -> bool {
        if_addrs::get_if_addrs()
            .unwrap()
            .iter()
            .any(|i| i.name == "lo" && i.ip() == IpAddr::V6(Ipv6Addr::LOCALHOST))
    }

    #[test]
    fn interface_names_come_before_dns() {
        // The loopback interface: its IPv4 address, or with the IPV6 option its IPv6 address.
        assert_eq!(
            resolve_bind(&tcp("tcp://lo:5555"), false).unwrap(),
            "127.0.0.1:5555".parse().unwrap()
        );
        if has_ipv6_loopback() {
            assert_eq!(
                resolve_bind(&tcp("tcp://lo:*"), true).unwrap(),
                "[::1]:0".parse().unwrap()
            );
        }
        // A name that is no interface goes to the resolver.
        assert_eq!(
            resolve_bind(&tcp("tcp://localhost:7"), false).unwrap(),
            "127.0.0.1:7".parse().unwrap()
        );
        assert_eq!(interface_addr("no-such-nic0", 1, false), None);

        // Source addresses: an interface name, never DNS.
        let nic_source = tcp("tcp://lo:0;127.0.0.1:9");
        assert!(validate_connect(&nic_source, false).is_ok());
        assert_eq!(
            resolve_connect(&nic_source, false).unwrap(),
            (
                "127.0.0.1:9".parse().unwrap(),
                Some("127.0.0.1:0".parse().unwrap())
            )
        );
        assert_eq!(
            resolve_connect(&tcp("tcp://lo:4242;127.0.0.1:9"), false)
                .unwrap()
                .1,
            Some("127.0.0.1:4242".parse().unwrap())
        );
        let dns_source = tcp("tcp://localhost:0;127.0.0.1:9");
        assert_eq!(
            resolve_connect(&dns_source, false).unwrap_err().kind(),
            io::ErrorKind::NotFound
        );
    }

    /// Accepts one connection on `listener` (polled; the connect is in flight).
    fn accept_one(listener: &ListenSocket, opts: &ConnOptions) -> Stream {
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        loop {
            match listener.accept(opts) {
                Ok((stream, _)) => return stream,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    assert!(std::time::Instant::now() < deadline, "no connection");
                    std::thread::sleep(Duration::from_millis(2));
                }
                Err(e) => panic!("accept: {e}"),
            }
        }
    }

    /// What `tune` left on a socket: `(TCP_NODELAY, SO_KEEPALIVE, TCP_KEEPIDLE, TCP_KEEPINTVL,
    /// TCP_KEEPCNT)`, read back with getsockopt.
    fn tuning(socket: &SockRef<'_>) -> (bool, bool, Duration, Duration, u32) {
        (
            socket.nodelay().unwrap(),
            socket.keepalive().unwrap(),
            socket.keepalive_time().unwrap(),
            socket.keepalive_interval().unwrap(),
            socket.keepalive_retries().unwrap(),
        )
    }

    /// Both ends of a loopback connection made by `connect` and `ListenSocket::accept` with
    /// `opts`, tuned as the I/O threads tune them.
    fn tuned_pair(opts: &ConnOptions) -> [(bool, bool, Duration, Duration, u32); 2] {
        let socket = listen("127.0.0.1:0".parse().unwrap(), opts).unwrap();
        let addr = socket.local_addr().unwrap().as_socket().unwrap();
        let listener = ListenSocket::tcp(socket);
        let (connected, _) = connect(addr, None, opts).unwrap();
        let accepted = accept_one(&listener, opts);
        let Stream::Tcp(accepted) = &accepted else {
            panic!("a tcp listener accepts tcp streams");
        };
        [
            tuning(&SockRef::from(&connected)),
            tuning(&SockRef::from(accepted)),
        ]
    }

    #[test]
    fn nodelay_and_keepalive_options_read_back_on_both_ends() {
        let mut opts = ConnOptions::new(zmtp_codec::Config::new(zmtp_codec::SocketType::PEER));
        opts.tcp_keepalive = 1;
        opts.tcp_keepalive_idle = 7;
        opts.tcp_keepalive_intvl = 3;
        opts.tcp_keepalive_cnt = 4;
        for (end, got) in ["connected", "accepted"].iter().zip(tuned_pair(&opts)) {
            assert_eq!(
                got,
                (
                    true,
                    true,
                    Duration::from_secs(7),
                    Duration::from_secs(3),
                    4
                ),
                "{end}"
            );
        }

        // Keepalive off: SO_KEEPALIVE is cleared, and (as libzmq) the parameters given are
        // still set.
        opts.tcp_keepalive = 0;
        opts.tcp_keepalive_idle = 9;
        opts.tcp_keepalive_intvl = -1;
        opts.tcp_keepalive_cnt = -1;
        let defaults = tuned_pair(&ConnOptions::new(zmtp_codec::Config::new(
            zmtp_codec::SocketType::PEER,
        )));
        for (end, (got, default)) in ["connected", "accepted"]
            .iter()
            .zip(tuned_pair(&opts).into_iter().zip(defaults))
        {
            assert!(got.0, "{end}: TCP_NODELAY is always on");
            assert!(!got.1, "{end}: SO_KEEPALIVE off");
            assert_eq!(got.2, Duration::from_secs(9), "{end}: TCP_KEEPIDLE");
            assert_eq!(
                (got.3, got.4),
                (default.3, default.4),
                "{end}: -1 = untouched"
            );
            // All -1 (the defaults): only TCP_NODELAY is set, the rest stays as the OS made it.
            assert!(default.0, "{end}: TCP_NODELAY is always on");
            assert!(!default.1, "{end}: SO_KEEPALIVE stays off (the OS default)");
        }
    }

    #[test]
    fn endpoint_strings() {
        assert_eq!(
            endpoint_string("127.0.0.1:41337".parse().unwrap()),
            "tcp://127.0.0.1:41337"
        );
        assert_eq!(
            endpoint_string("[::]:5555".parse().unwrap()),
            "tcp://[::]:5555"
        );
    }
}
