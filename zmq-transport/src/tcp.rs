//! tcp specifics: address resolution (bind and connect), socket options, and socket creation.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV6, ToSocketAddrs};
use std::time::Duration;

use socket2::{Domain, Protocol, SockAddr, SockRef, Socket, TcpKeepalive, Type};

use crate::endpoint::{EndpointError, Host, TcpEndpoint};
use crate::options::{ConnOptions, TransportError};

/// Resolves a bind address (synchronously, on the caller's thread).
///
/// `*` is `0.0.0.0`, or `::` with `ipv6` (dual stack). Names are tried as an interface name first
/// (IPv6 interface addresses only, from `/proc/net/if_inet6`), then through the resolver.
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
            if ipv6 && let Some(addr) = interface_ipv6(name) {
                return Ok(SocketAddr::V6(SocketAddrV6::new(addr, port, 0, 0)));
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
    if let Some(source) = &tcp.source {
        if !ipv6 && needs_v6(&source.host) {
            return Err(
                EndpointError::Invalid("an IPv6 address needs the ipv6 option".into()).into(),
            );
        }
        if matches!(source.host, Host::Name(_)) && !ipv6 {
            // Interface names as IPv4 source addresses would need getifaddrs (unsafe FFI).
            return Err(TransportError::AddrNotAvailable);
        }
    }
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
                // No DNS for source addresses (libzmq); only IPv6 interface addresses.
                Host::Name(name) => interface_ipv6(name)
                    .map(|a| SocketAddr::V6(SocketAddrV6::new(a, port, 0, 0)))
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
    // libzmq tune_tcp_keepalives: -1 leaves the OS default; the parameters apply only when on.
    if opts.tcp_keepalive >= 0 {
        socket.set_keepalive(opts.tcp_keepalive != 0)?;
    }
    if opts.tcp_keepalive == 1 {
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
            socket.set_tcp_keepalive(&params)?;
        }
    }
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

/// The first IPv6 address of a network interface, from `/proc/net/if_inet6`.
fn interface_ipv6(name: &str) -> Option<Ipv6Addr> {
    let table = std::fs::read_to_string("/proc/net/if_inet6").ok()?;
    table.lines().find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() < 6 || fields.get(5) != Some(&name) {
            return None;
        }
        let hex = fields.first()?;
        u128::from_str_radix(hex, 16).ok().map(Ipv6Addr::from)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::endpoint::Endpoint;

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
