//! Endpoint strings (`scheme://address`): parsing for bind and connect, and canonical printing.
//!
//! The rules follow libzmq 4.3.5 (PROTOCOL.md §7): the string is split at the first `://`; a
//! missing separator, an empty scheme or an empty address is invalid; an unknown scheme is an
//! unsupported transport. tcp connect addresses get libzmq's syntax check before anything else.
//! ws and wss addresses (`host:port[/path]`, PROTOCOL.md §6.1) are parsed when the `ws` / `wss`
//! features are compiled in.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr};
use std::path::PathBuf;

/// Known transport schemes (a closed set).
///
/// `Udp`, `Pgm`, `Epgm`, `Norm`, `Tipc` and `Vmci` are recognised but not implemented by this
/// crate: parsing such an endpoint gives [`EndpointError::UnsupportedTransport`]. `Ws` and `Wss`
/// are implemented behind the `ws` and `wss` cargo features (without them they are unsupported
/// too).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// `tcp://`
    Tcp,
    /// `ipc://` (Unix domain stream sockets)
    Ipc,
    /// `inproc://` (in-process, no I/O thread)
    Inproc,
    /// `ws://` (ZWS 2.0)
    Ws,
    /// `wss://` (ZWS 2.0 over TLS)
    Wss,
    /// `udp://`
    Udp,
    /// `pgm://`
    Pgm,
    /// `epgm://`
    Epgm,
    /// `norm://`
    Norm,
    /// `tipc://`
    Tipc,
    /// `vmci://`
    Vmci,
}

impl Scheme {
    /// Returns the scheme of an endpoint string.
    ///
    /// # Errors
    /// [`EndpointError::Invalid`] when the string has no `://`, or the scheme or the address is
    /// empty (checked first, as libzmq does); [`EndpointError::UnsupportedTransport`] when the
    /// scheme is not one of the known names (compared case-sensitively, as libzmq does).
    pub fn of(endpoint: &str) -> Result<Self, EndpointError> {
        split(endpoint).map(|(scheme, _)| scheme)
    }

    /// The scheme's name as written before `://`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Tcp => "tcp",
            Self::Ipc => "ipc",
            Self::Inproc => "inproc",
            Self::Ws => "ws",
            Self::Wss => "wss",
            Self::Udp => "udp",
            Self::Pgm => "pgm",
            Self::Epgm => "epgm",
            Self::Norm => "norm",
            Self::Tipc => "tipc",
            Self::Vmci => "vmci",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "tcp" => Self::Tcp,
            "ipc" => Self::Ipc,
            "inproc" => Self::Inproc,
            "ws" => Self::Ws,
            "wss" => Self::Wss,
            "udp" => Self::Udp,
            "pgm" => Self::Pgm,
            "epgm" => Self::Epgm,
            "norm" => Self::Norm,
            "tipc" => Self::Tipc,
            "vmci" => Self::Vmci,
            _ => return None,
        })
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A parsed endpoint of a transport this crate implements.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// `tcp://host:port` (optionally `tcp://source;host:port`).
    Tcp(TcpEndpoint),
    /// `ipc://path`, `ipc://@abstract` or `ipc://*`.
    Ipc(IpcEndpoint),
    /// `inproc://name`; the name is everything after `://` and is never empty.
    Inproc(String),
    /// `ws://host:port[/path]` (ZWS 2.0; parsed only with the `ws` feature).
    Ws(WsEndpoint),
    /// `wss://host:port[/path]` (ZWS 2.0 over TLS; parsed only with the `wss` feature).
    Wss(WsEndpoint),
}

impl Endpoint {
    /// Parses an endpoint for binding: allows the `*` host, a `*` or `0` port and `ipc://*`.
    ///
    /// # Errors
    /// [`EndpointError::Invalid`] for a malformed address (caller fault, `EINVAL`),
    /// [`EndpointError::UnsupportedTransport`] for an unknown or not compiled scheme
    /// (`EPROTONOSUPPORT`), [`EndpointError::NameTooLong`] for an ipc path over 107 bytes.
    pub fn parse_bind(s: &str) -> Result<Self, EndpointError> {
        parse(s, Side::Bind)
    }

    /// Parses an endpoint for connecting, with libzmq's connect-time syntax check (PROTOCOL.md
    /// §7.1): no `*` host or port, no `ipc://*`.
    ///
    /// # Errors
    /// As [`Endpoint::parse_bind`].
    pub fn parse_connect(s: &str) -> Result<Self, EndpointError> {
        parse(s, Side::Connect)
    }

    /// The transport scheme of this endpoint.
    pub fn scheme(&self) -> Scheme {
        match self {
            Self::Tcp(_) => Scheme::Tcp,
            Self::Ipc(_) => Scheme::Ipc,
            Self::Inproc(_) => Scheme::Inproc,
            Self::Ws(_) => Scheme::Ws,
            Self::Wss(_) => Scheme::Wss,
        }
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Tcp(tcp) => write!(f, "tcp://{tcp}"),
            Self::Ipc(ipc) => write!(f, "ipc://{ipc}"),
            Self::Inproc(name) => write!(f, "inproc://{name}"),
            Self::Ws(ws) => write!(f, "ws://{ws}"),
            Self::Wss(ws) => write!(f, "wss://{ws}"),
        }
    }
}

/// The host part of a tcp address.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Host {
    /// `*`: every interface (bind only).
    Any,
    /// A DNS name or a network interface name, resolved when used.
    Name(String),
    /// An IP literal (IPv6 printed in brackets).
    Ip(IpAddr),
    /// An IPv6 literal with a zone id, e.g. `[fe80::1%eth0]`; the zone is a name or a number.
    ScopedIpv6 {
        /// The address.
        addr: Ipv6Addr,
        /// The zone: an interface name or a numeric scope id.
        zone: String,
    },
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Any => f.write_str("*"),
            Self::Name(name) => f.write_str(name),
            Self::Ip(IpAddr::V4(v4)) => write!(f, "{v4}"),
            Self::Ip(IpAddr::V6(v6)) => write!(f, "[{v6}]"),
            Self::ScopedIpv6 { addr, zone } => write!(f, "[{addr}%{zone}]"),
        }
    }
}

/// A tcp address: `host:port`, with an optional source address for connects.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TcpEndpoint {
    /// Host to bind to or connect to.
    pub host: Host,
    /// Port; `None` is `*` (an ephemeral port, bind only).
    pub port: Option<u16>,
    /// Source address of a connect (`tcp://src;dst`), numeric or an interface name.
    pub source: Option<TcpSource>,
}

impl fmt::Display for TcpEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(source) = &self.source {
            write!(f, "{source};")?;
        }
        write_host_port(f, &self.host, self.port)
    }
}

/// The source part of `tcp://src;dst`: local address (or interface) and optional port.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TcpSource {
    /// Local address or interface name (never resolved through DNS).
    pub host: Host,
    /// Local port; `None` (`*`) or `Some(0)` lets the system choose.
    pub port: Option<u16>,
}

impl fmt::Display for TcpSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_host_port(f, &self.host, self.port)
    }
}

/// A ws or wss address: `host:port[/path]` (PROTOCOL.md §6.1).
///
/// Bind accepts `*` for the host (every interface) and for the port (ephemeral); interface
/// names and bracketed IPv6 literals work as for tcp. The path defaults to `/` and is kept
/// whole: libzmq 4.3.5 keeps only the last segment of a multi-segment path (`ws://h:1/a/b`
/// requests `GET /b`, and binding such a path fails), a bug fixed upstream after 4.3.5 (libzmq
/// PR #4909). We send and report the full path. The server side ignores the request path, as
/// libzmq does.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct WsEndpoint {
    /// Host to bind to or connect to.
    pub host: Host,
    /// Port; `None` is `*` (an ephemeral port, bind only).
    pub port: Option<u16>,
    /// The HTTP request path, starting with `/` (default `/`). Only RFC 3986 path and query
    /// characters are allowed: `A-Z a-z 0-9 - . _ ~ ! $ & ' ( ) * + , ; = : @ / % ?`.
    pub path: String,
}

impl WsEndpoint {
    /// The tcp address underneath (host and port, no source).
    #[cfg(feature = "ws")]
    pub(crate) fn tcp(&self) -> TcpEndpoint {
        TcpEndpoint {
            host: self.host.clone(),
            port: self.port,
            source: None,
        }
    }
}

impl fmt::Display for WsEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_host_port(f, &self.host, self.port)?;
        f.write_str(&self.path)
    }
}

/// An ipc (Unix domain socket) address.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum IpcEndpoint {
    /// A file system path, absolute or relative to the working directory.
    Path(PathBuf),
    /// A Linux abstract-namespace name (`ipc://@name`), without the `@`.
    Abstract(Vec<u8>),
    /// `ipc://*`: a fresh private directory with a `socket` file in it (bind only).
    Wildcard,
}

impl fmt::Display for IpcEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Path(path) => write!(f, "{}", path.display()),
            Self::Abstract(name) => write!(f, "@{}", String::from_utf8_lossy(name)),
            Self::Wildcard => f.write_str("*"),
        }
    }
}

/// Why an endpoint string was refused.
#[non_exhaustive]
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
pub enum EndpointError {
    /// The endpoint is malformed (caller fault; `EINVAL`). Carries a short explanation.
    #[error("invalid endpoint: {0}")]
    Invalid(String),
    /// The scheme is unknown or its transport is not compiled in (caller fault;
    /// `EPROTONOSUPPORT`). Carries the scheme as written.
    #[error("unsupported transport: {0}")]
    UnsupportedTransport(String),
    /// An ipc path is longer than 107 bytes (caller fault; `ENAMETOOLONG`).
    #[error("ipc path too long (max {MAX_IPC_PATH} bytes)")]
    NameTooLong,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Side {
    Bind,
    Connect,
}

fn invalid(why: impl Into<String>) -> EndpointError {
    EndpointError::Invalid(why.into())
}

fn write_host_port(f: &mut fmt::Formatter<'_>, host: &Host, port: Option<u16>) -> fmt::Result {
    match port {
        Some(port) => write!(f, "{host}:{port}"),
        None => write!(f, "{host}:*"),
    }
}

/// Splits `scheme://address` as libzmq's `parse_uri` + `check_protocol` do.
fn split(endpoint: &str) -> Result<(Scheme, &str), EndpointError> {
    let Some((scheme, address)) = endpoint.split_once("://") else {
        return Err(invalid("missing '://'"));
    };
    if scheme.is_empty() {
        return Err(invalid("empty scheme"));
    }
    if address.is_empty() {
        return Err(invalid("empty address"));
    }
    match Scheme::from_name(scheme) {
        Some(known) => Ok((known, address)),
        None => Err(EndpointError::UnsupportedTransport(scheme.to_owned())),
    }
}

fn parse(s: &str, side: Side) -> Result<Endpoint, EndpointError> {
    let (scheme, address) = split(s)?;
    match scheme {
        #[cfg(feature = "tcp")]
        Scheme::Tcp => parse_tcp(address, side).map(Endpoint::Tcp),
        #[cfg(feature = "ipc")]
        Scheme::Ipc => parse_ipc(address, side).map(Endpoint::Ipc),
        #[cfg(feature = "inproc")]
        Scheme::Inproc => Ok(Endpoint::Inproc(address.to_owned())),
        #[cfg(feature = "ws")]
        Scheme::Ws => parse_ws(address, side).map(Endpoint::Ws),
        #[cfg(feature = "wss")]
        Scheme::Wss => parse_ws(address, side).map(Endpoint::Wss),
        other => Err(EndpointError::UnsupportedTransport(
            other.as_str().to_owned(),
        )),
    }
}

/// libzmq's connect-time check of a tcp address (PROTOCOL.md §7.1): "the first character must be
/// alphanumeric, `[` or `:`; the rest may only contain alphanumerics and `. - : % ; [ ] _ *`; and
/// the character right after the last `:` must be a digit".
fn check_connect_syntax(address: &str) -> Result<(), EndpointError> {
    let bytes = address.as_bytes();
    let Some(&first) = bytes.first() else {
        return Err(invalid("empty address"));
    };
    if !(first.is_ascii_alphanumeric() || first == b'[' || first == b':') {
        return Err(invalid(
            "tcp address must start with an alphanumeric, '[' or ':'",
        ));
    }
    if let Some(bad) = bytes
        .iter()
        .find(|&&c| !(c.is_ascii_alphanumeric() || b".-:%;[]_*".contains(&c)))
    {
        return Err(invalid(format!(
            "character {:?} not allowed in a tcp address",
            char::from(*bad)
        )));
    }
    let Some(colon) = address.rfind(':') else {
        return Err(invalid("tcp address needs a port"));
    };
    match bytes.get(colon + 1) {
        Some(c) if c.is_ascii_digit() => Ok(()),
        _ => Err(invalid("tcp port must be a number")),
    }
}

fn parse_tcp(address: &str, side: Side) -> Result<TcpEndpoint, EndpointError> {
    if side == Side::Connect {
        check_connect_syntax(address)?;
    }
    // libzmq takes everything before the last ';' as the source address.
    let (source, dst) = match address.rsplit_once(';') {
        Some((src, dst)) => {
            if side == Side::Bind {
                return Err(invalid("a source address is only allowed when connecting"));
            }
            let (host, port) = parse_host_port(src, true)?;
            (Some(TcpSource { host, port }), dst)
        }
        None => (None, address),
    };
    let (host, port) = parse_host_port(dst, side == Side::Bind)?;
    if side == Side::Connect && (host == Host::Any || port.is_none()) {
        return Err(invalid("'*' is not allowed when connecting"));
    }
    Ok(TcpEndpoint { host, port, source })
}

/// Parses `host:port` where the port follows the last ':'; `*` allowed when `bindable`.
fn parse_host_port(s: &str, bindable: bool) -> Result<(Host, Option<u16>), EndpointError> {
    let Some((host, port)) = s.rsplit_once(':') else {
        return Err(invalid("tcp address needs ':port'"));
    };
    let port = match port {
        "*" if bindable => None,
        _ if !port.is_empty() && port.bytes().all(|c| c.is_ascii_digit()) => Some(
            port.parse::<u16>()
                .map_err(|_| invalid("tcp port out of range"))?,
        ),
        _ => return Err(invalid("tcp port must be a number or '*'")),
    };
    Ok((parse_host(host, bindable)?, port))
}

fn parse_host(host: &str, bindable: bool) -> Result<Host, EndpointError> {
    if host.is_empty() {
        return Err(invalid("empty tcp host"));
    }
    if host == "*" {
        return if bindable {
            Ok(Host::Any)
        } else {
            Err(invalid("'*' host is not allowed when connecting"))
        };
    }
    // libzmq strips one pair of brackets around an IPv6 literal.
    let (inner, bracketed) = match host.strip_prefix('[') {
        Some(rest) => match rest.strip_suffix(']') {
            Some(inner) => (inner, true),
            None => return Err(invalid("unbalanced '[' in tcp host")),
        },
        None => (host, false),
    };
    if inner.is_empty() {
        return Err(invalid("empty tcp host"));
    }
    if let Some((addr, zone)) = inner.split_once('%') {
        let addr = addr
            .parse::<Ipv6Addr>()
            .map_err(|_| invalid("a zone id needs an IPv6 address"))?;
        if zone.is_empty() || zone.contains(['%', '[', ']']) {
            return Err(invalid("bad IPv6 zone id"));
        }
        return Ok(Host::ScopedIpv6 {
            addr,
            zone: zone.to_owned(),
        });
    }
    if let Ok(ip) = inner.parse::<IpAddr>() {
        return Ok(Host::Ip(ip));
    }
    if bracketed {
        return Err(invalid("brackets need an IPv6 address"));
    }
    if inner.contains(['[', ']', ';', '/']) || inner.chars().any(char::is_whitespace) {
        return Err(invalid("bad tcp host name"));
    }
    Ok(Host::Name(inner.to_owned()))
}

/// Parses `host:port[/path]`: the path starts at the first `/` (hosts and IPv6 literals never
/// contain one).
#[cfg(feature = "ws")]
fn parse_ws(address: &str, side: Side) -> Result<WsEndpoint, EndpointError> {
    let (host_port, path) = match address.find('/') {
        Some(at) => address.split_at(at),
        None => (address, "/"),
    };
    if let Some(bad) = path.bytes().find(|&c| !is_path_char(c)) {
        return Err(invalid(format!(
            "character {:?} not allowed in a ws path",
            char::from(bad)
        )));
    }
    let (host, port) = parse_host_port(host_port, side == Side::Bind)?;
    if side == Side::Connect && (host == Host::Any || port.is_none()) {
        return Err(invalid("'*' is not allowed when connecting"));
    }
    Ok(WsEndpoint {
        host,
        port,
        path: path.to_owned(),
    })
}

/// RFC 3986 `pchar`, `/` and `?` (a ws path may carry a query).
#[cfg(feature = "ws")]
fn is_path_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/%?".contains(&c)
}

#[cfg(feature = "ipc")]
fn parse_ipc(address: &str, side: Side) -> Result<IpcEndpoint, EndpointError> {
    // libzmq: the path must fit in sun_path with its terminating NUL (107 bytes on Linux).
    if address.len() > MAX_IPC_PATH {
        return Err(EndpointError::NameTooLong);
    }
    if address == "*" {
        return match side {
            Side::Bind => Ok(IpcEndpoint::Wildcard),
            Side::Connect => Err(invalid("ipc://* is only allowed when binding")),
        };
    }
    if let Some(name) = address.strip_prefix('@') {
        if name.is_empty() {
            return Err(invalid("ipc://@ needs a name"));
        }
        return Ok(IpcEndpoint::Abstract(name.as_bytes().to_vec()));
    }
    if address.contains('\0') {
        return Err(invalid("NUL in ipc path"));
    }
    Ok(IpcEndpoint::Path(PathBuf::from(address)))
}

/// Longest ipc path libzmq accepts on Linux: `sizeof(sun_path) - 1`.
pub(crate) const MAX_IPC_PATH: usize = 107;

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use proptest::prelude::*;

    use super::*;

    fn tcp(host: Host, port: Option<u16>) -> Endpoint {
        Endpoint::Tcp(TcpEndpoint {
            host,
            port,
            source: None,
        })
    }

    #[allow(
        clippy::needless_pass_by_value,
        reason = "reads better at the call sites"
    )]
    fn is_invalid<T: fmt::Debug>(r: Result<T, EndpointError>) -> bool {
        matches!(r, Err(EndpointError::Invalid(_)))
    }

    #[test]
    fn general_split_rules() {
        assert!(is_invalid(Endpoint::parse_bind("tcp:/x")));
        assert!(is_invalid(Endpoint::parse_bind("127.0.0.1:5555")));
        assert!(is_invalid(Endpoint::parse_bind("://x")));
        assert!(is_invalid(Endpoint::parse_bind("tcp://")));
        assert!(is_invalid(Endpoint::parse_connect("tcp://")));
        assert!(is_invalid(Endpoint::parse_bind("inproc://")));
        // Empty address wins over an unknown scheme, as in libzmq.
        assert!(is_invalid(Endpoint::parse_bind("foo://")));
        assert_eq!(
            Endpoint::parse_bind("foo://x"),
            Err(EndpointError::UnsupportedTransport("foo".into()))
        );
        assert_eq!(
            Endpoint::parse_connect("TCP://127.0.0.1:5"),
            Err(EndpointError::UnsupportedTransport("TCP".into()))
        );
        let mut unsupported = vec!["udp", "pgm", "epgm", "norm", "tipc", "vmci"];
        if cfg!(not(feature = "ws")) {
            unsupported.push("ws");
        }
        if cfg!(not(feature = "wss")) {
            unsupported.push("wss");
        }
        for s in unsupported {
            let ep = format!("{s}://127.0.0.1:5555");
            assert_eq!(
                Endpoint::parse_connect(&ep),
                Err(EndpointError::UnsupportedTransport(s.into()))
            );
            assert_eq!(Scheme::of(&ep).unwrap().as_str(), s);
        }
        assert_eq!(Scheme::of("tcp://x:1"), Ok(Scheme::Tcp));
        assert_eq!(Scheme::of("inproc://x"), Ok(Scheme::Inproc));
        assert!(is_invalid(Scheme::of("inproc:x")));
    }

    #[cfg(feature = "tcp")]
    #[test]
    fn tcp_einval_list_from_protocol_7_1() {
        for s in [
            "tcp://127.0.0.1",
            "tcp://127.0.0.1:*",
            "tcp://*:5555",
            "tcp://",
            "tcp://a/b:55",
        ] {
            assert!(is_invalid(Endpoint::parse_connect(s)), "{s}");
        }
        // Paths are not supported (no RFC 37 resource).
        assert!(is_invalid(Endpoint::parse_connect(
            "tcp://host:55/resource"
        )));
        assert!(is_invalid(Endpoint::parse_connect("tcp://-host:55")));
        assert!(is_invalid(Endpoint::parse_connect("tcp://host:x55")));
        assert!(is_invalid(Endpoint::parse_connect("tcp://host:70000")));
        assert!(is_invalid(Endpoint::parse_bind("tcp://127.0.0.1")));
        assert!(is_invalid(Endpoint::parse_bind("tcp://127.0.0.1:x")));
        assert!(is_invalid(Endpoint::parse_bind("tcp://:5555")));
        assert!(is_invalid(Endpoint::parse_bind("tcp://[::1:5555")));
    }

    #[cfg(feature = "tcp")]
    #[test]
    fn tcp_table_from_protocol_7_1() {
        let lo = Host::Ip(IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert_eq!(
            Endpoint::parse_bind("tcp://127.0.0.1:5555"),
            Ok(tcp(lo.clone(), Some(5555)))
        );
        assert_eq!(
            Endpoint::parse_connect("tcp://127.0.0.1:5555"),
            Ok(tcp(lo.clone(), Some(5555)))
        );
        assert_eq!(
            Endpoint::parse_bind("tcp://*:5555"),
            Ok(tcp(Host::Any, Some(5555)))
        );
        assert_eq!(Endpoint::parse_bind("tcp://*:*"), Ok(tcp(Host::Any, None)));
        assert_eq!(
            Endpoint::parse_bind("tcp://127.0.0.1:*"),
            Ok(tcp(lo.clone(), None))
        );
        assert_eq!(
            Endpoint::parse_bind("tcp://127.0.0.1:0"),
            Ok(tcp(lo.clone(), Some(0)))
        );
        // Port 0 passes the connect syntax check.
        assert_eq!(
            Endpoint::parse_connect("tcp://127.0.0.1:0"),
            Ok(tcp(lo, Some(0)))
        );
        assert_eq!(
            Endpoint::parse_bind("tcp://eth0:5555"),
            Ok(tcp(Host::Name("eth0".into()), Some(5555)))
        );
        assert_eq!(
            Endpoint::parse_connect("tcp://hostname:5555"),
            Ok(tcp(Host::Name("hostname".into()), Some(5555)))
        );
        let v6 = Host::Ip(IpAddr::V6(Ipv6Addr::LOCALHOST));
        assert_eq!(
            Endpoint::parse_bind("tcp://[::1]:5555"),
            Ok(tcp(v6.clone(), Some(5555)))
        );
        assert_eq!(
            Endpoint::parse_connect("tcp://[::1]:5555"),
            Ok(tcp(v6.clone(), Some(5555)))
        );
        // An unbracketed IPv6 literal: the port follows the last ':'.
        assert_eq!(
            Endpoint::parse_connect("tcp://::1:5555"),
            Ok(tcp(v6, Some(5555)))
        );
        let scoped = Host::ScopedIpv6 {
            addr: "fe80::1".parse().unwrap(),
            zone: "eth0".into(),
        };
        assert_eq!(
            Endpoint::parse_connect("tcp://[fe80::1%eth0]:5555"),
            Ok(tcp(scoped.clone(), Some(5555)))
        );
        assert_eq!(
            Endpoint::parse_bind("tcp://[fe80::1%eth0]:5555"),
            Ok(tcp(scoped, Some(5555)))
        );
        assert_eq!(
            Endpoint::parse_connect("tcp://192.168.1.17:0;192.168.1.1:5555"),
            Ok(Endpoint::Tcp(TcpEndpoint {
                host: Host::Ip("192.168.1.1".parse().unwrap()),
                port: Some(5555),
                source: Some(TcpSource {
                    host: Host::Ip("192.168.1.17".parse().unwrap()),
                    port: Some(0),
                }),
            }))
        );
        assert_eq!(
            Endpoint::parse_connect("tcp://eth1:0;server1:5555"),
            Ok(Endpoint::Tcp(TcpEndpoint {
                host: Host::Name("server1".into()),
                port: Some(5555),
                source: Some(TcpSource {
                    host: Host::Name("eth1".into()),
                    port: Some(0),
                }),
            }))
        );
        assert!(is_invalid(Endpoint::parse_bind(
            "tcp://192.168.1.17:0;192.168.1.1:5555"
        )));
        assert!(is_invalid(Endpoint::parse_connect(
            "tcp://eth1;server1:5555"
        )));
    }

    #[cfg(feature = "tcp")]
    #[test]
    fn tcp_display() {
        for s in [
            "tcp://127.0.0.1:5555",
            "tcp://*:*",
            "tcp://*:5555",
            "tcp://[::1]:5555",
            "tcp://[fe80::1%eth0]:7",
            "tcp://eth1:0;server1:5555",
            "tcp://1.2.3.4:*;[::1]:9",
        ] {
            let ep = Endpoint::parse_bind(s).or_else(|_| Endpoint::parse_connect(s));
            assert_eq!(ep.unwrap().to_string(), s);
        }
        assert_eq!(
            Endpoint::parse_connect("tcp://::1:5555")
                .unwrap()
                .to_string(),
            "tcp://[::1]:5555"
        );
    }

    #[cfg(feature = "ipc")]
    #[test]
    fn ipc_table_from_protocol_7_2() {
        assert_eq!(
            Endpoint::parse_bind("ipc:///abs/path"),
            Ok(Endpoint::Ipc(IpcEndpoint::Path("/abs/path".into())))
        );
        assert_eq!(
            Endpoint::parse_connect("ipc://rel/path"),
            Ok(Endpoint::Ipc(IpcEndpoint::Path("rel/path".into())))
        );
        assert_eq!(
            Endpoint::parse_bind("ipc://@name"),
            Ok(Endpoint::Ipc(IpcEndpoint::Abstract(b"name".to_vec())))
        );
        assert!(is_invalid(Endpoint::parse_bind("ipc://@")));
        assert!(is_invalid(Endpoint::parse_connect("ipc://@")));
        assert_eq!(
            Endpoint::parse_bind("ipc://*"),
            Ok(Endpoint::Ipc(IpcEndpoint::Wildcard))
        );
        assert!(is_invalid(Endpoint::parse_connect("ipc://*")));
        let ok = format!("ipc:///{}", "a".repeat(106));
        assert!(Endpoint::parse_bind(&ok).is_ok());
        let long = format!("ipc:///{}", "a".repeat(107));
        assert_eq!(Endpoint::parse_bind(&long), Err(EndpointError::NameTooLong));
        assert_eq!(
            Endpoint::parse_connect(&long),
            Err(EndpointError::NameTooLong)
        );
        let long_abstract = format!("ipc://@{}", "a".repeat(107));
        assert_eq!(
            Endpoint::parse_bind(&long_abstract),
            Err(EndpointError::NameTooLong)
        );
        for s in [
            "ipc:///abs/path",
            "ipc://rel/path",
            "ipc://@name",
            "ipc://*",
        ] {
            assert_eq!(Endpoint::parse_bind(s).unwrap().to_string(), s);
        }
    }

    #[cfg(feature = "inproc")]
    #[test]
    fn inproc_table_from_protocol_7_3() {
        assert_eq!(
            Endpoint::parse_bind("inproc://any thing/:*@"),
            Ok(Endpoint::Inproc("any thing/:*@".into()))
        );
        assert_eq!(
            Endpoint::parse_connect("inproc://x"),
            Ok(Endpoint::Inproc("x".into()))
        );
        // Split at the *first* "://".
        assert_eq!(
            Endpoint::parse_connect("inproc://a://b"),
            Ok(Endpoint::Inproc("a://b".into()))
        );
        assert_eq!(
            Endpoint::parse_connect("inproc://x").unwrap().to_string(),
            "inproc://x"
        );
        assert_eq!(
            Endpoint::parse_connect("inproc://x").unwrap().scheme(),
            Scheme::Inproc
        );
    }

    fn name() -> impl Strategy<Value = String> {
        "[a-z][a-z0-9_.-]{0,12}"
    }

    fn ip() -> impl Strategy<Value = Host> {
        prop_oneof![
            any::<[u8; 4]>().prop_map(|o| Host::Ip(IpAddr::from(o))),
            any::<[u16; 8]>().prop_map(|s| Host::Ip(IpAddr::from(s))),
            (any::<[u16; 8]>(), prop_oneof![name(), "[0-9]{1,3}"]).prop_map(|(s, zone)| {
                Host::ScopedIpv6 {
                    addr: Ipv6Addr::from(s),
                    zone,
                }
            }),
        ]
    }

    fn connect_host() -> impl Strategy<Value = Host> {
        prop_oneof![ip(), name().prop_map(Host::Name)]
    }

    fn bind_host() -> impl Strategy<Value = Host> {
        prop_oneof![Just(Host::Any), connect_host()]
    }

    fn connect_endpoint() -> impl Strategy<Value = Endpoint> {
        prop_oneof![
            (
                connect_host(),
                any::<u16>(),
                proptest::option::of((ip(), proptest::option::of(any::<u16>())))
            )
                .prop_map(|(host, port, source)| Endpoint::Tcp(TcpEndpoint {
                    host,
                    port: Some(port),
                    source: source.map(|(host, port)| TcpSource { host, port }),
                })),
            "(/[a-zA-Z0-9_.-]{1,20}){1,4}".prop_map(|p| Endpoint::Ipc(IpcEndpoint::Path(p.into()))),
            "[a-zA-Z0-9_.-]{1,20}(/[a-zA-Z0-9_.-]{1,20}){0,3}"
                .prop_filter("not ipc wildcard", |p| p != "*")
                .prop_map(|p| Endpoint::Ipc(IpcEndpoint::Path(p.into()))),
            "[ -~]{1,40}".prop_map(|n| Endpoint::Ipc(IpcEndpoint::Abstract(n.into_bytes()))),
            "[ -~]{1,40}".prop_map(Endpoint::Inproc),
        ]
    }

    fn bind_endpoint() -> impl Strategy<Value = Endpoint> {
        prop_oneof![
            (bind_host(), proptest::option::of(any::<u16>()))
                .prop_map(|(host, port)| tcp(host, port)),
            Just(Endpoint::Ipc(IpcEndpoint::Wildcard)),
            connect_endpoint().prop_filter("no source on bind", |e| !matches!(
                e,
                Endpoint::Tcp(TcpEndpoint {
                    source: Some(_),
                    ..
                })
            )),
        ]
    }

    #[cfg(feature = "ws")]
    fn ws(host: Host, port: Option<u16>, path: &str) -> WsEndpoint {
        WsEndpoint {
            host,
            port,
            path: path.to_owned(),
        }
    }

    #[cfg(feature = "ws")]
    #[test]
    fn ws_table_from_protocol_6_1() {
        let lo = Host::Ip(IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert_eq!(
            Endpoint::parse_connect("ws://127.0.0.1:5555"),
            Ok(Endpoint::Ws(ws(lo.clone(), Some(5555), "/")))
        );
        // The whole multi-segment path is kept (libzmq 4.3.5 keeps only "/b").
        assert_eq!(
            Endpoint::parse_connect("ws://127.0.0.1:5555/a/b"),
            Ok(Endpoint::Ws(ws(lo.clone(), Some(5555), "/a/b")))
        );
        assert_eq!(
            Endpoint::parse_bind("ws://*:*/roundtrip"),
            Ok(Endpoint::Ws(ws(Host::Any, None, "/roundtrip")))
        );
        assert_eq!(
            Endpoint::parse_bind("ws://127.0.0.1:*/a/b"),
            Ok(Endpoint::Ws(ws(lo, None, "/a/b")))
        );
        assert_eq!(
            Endpoint::parse_bind("ws://[::1]:7/x?y=1"),
            Ok(Endpoint::Ws(ws(
                Host::Ip(IpAddr::V6(Ipv6Addr::LOCALHOST)),
                Some(7),
                "/x?y=1"
            )))
        );
        assert_eq!(
            Endpoint::parse_bind("ws://eth0:80"),
            Ok(Endpoint::Ws(ws(Host::Name("eth0".into()), Some(80), "/")))
        );
        for s in [
            "ws://*:5555",
            "ws://127.0.0.1:*",
            "ws://127.0.0.1",
            "ws://127.0.0.1/x",
            "ws://127.0.0.1:x/",
            "ws://:5/",
            "ws://h:5/a b",
            "ws://h:5/a#b",
            "ws://h:5/\"\"",
        ] {
            assert!(is_invalid(Endpoint::parse_connect(s)), "{s}");
        }
        assert!(is_invalid(Endpoint::parse_bind("ws://h:5/a b")));
        assert_eq!(
            Endpoint::parse_bind("ws://*:1").unwrap().scheme(),
            Scheme::Ws
        );
        assert_eq!(
            Endpoint::parse_connect("ws://h:1").unwrap().to_string(),
            "ws://h:1/"
        );
        assert_eq!(
            Endpoint::parse_bind("ws://*:*/a/b").unwrap().to_string(),
            "ws://*:*/a/b"
        );
    }

    #[cfg(feature = "wss")]
    #[test]
    fn wss_parses_like_ws() {
        assert_eq!(
            Endpoint::parse_connect("wss://localhost:443/p"),
            Ok(Endpoint::Wss(ws(
                Host::Name("localhost".into()),
                Some(443),
                "/p"
            )))
        );
        assert_eq!(
            Endpoint::parse_bind("wss://*:*").unwrap().to_string(),
            "wss://*:*/"
        );
        assert_eq!(
            Endpoint::parse_bind("wss://*:*").unwrap().scheme(),
            Scheme::Wss
        );
    }

    #[cfg(feature = "ws")]
    fn ws_path() -> impl Strategy<Value = String> {
        "(/[a-zA-Z0-9_.~!$&'()*+,;=:@%?-]{0,10}){1,4}"
    }

    #[cfg(feature = "ws")]
    fn ws_connect_endpoint() -> impl Strategy<Value = Endpoint> {
        (connect_host(), any::<u16>(), ws_path(), any::<bool>()).prop_map(
            |(host, port, path, secure)| {
                let ep = ws(host, Some(port), &path);
                if secure && cfg!(feature = "wss") {
                    Endpoint::Wss(ep)
                } else {
                    Endpoint::Ws(ep)
                }
            },
        )
    }

    #[cfg(feature = "ws")]
    fn ws_bind_endpoint() -> impl Strategy<Value = Endpoint> {
        (
            bind_host(),
            proptest::option::of(any::<u16>()),
            ws_path(),
            any::<bool>(),
        )
            .prop_map(|(host, port, path, secure)| {
                let ep = ws(host, port, &path);
                if secure && cfg!(feature = "wss") {
                    Endpoint::Wss(ep)
                } else {
                    Endpoint::Ws(ep)
                }
            })
    }

    #[cfg(feature = "ws")]
    proptest! {
        #[test]
        fn ws_connect_round_trip(ep in ws_connect_endpoint()) {
            let printed = ep.to_string();
            prop_assert_eq!(Endpoint::parse_connect(&printed), Ok(ep), "{}", printed);
        }

        #[test]
        fn ws_bind_round_trip(ep in ws_bind_endpoint()) {
            let printed = ep.to_string();
            prop_assert_eq!(Endpoint::parse_bind(&printed), Ok(ep), "{}", printed);
        }
    }

    /// What parsing the printed `ep` gives: `ep` again, or `UnsupportedTransport` when its
    /// scheme is not compiled in.
    fn reparsed(ep: Endpoint) -> Result<Endpoint, EndpointError> {
        let compiled = match ep.scheme() {
            Scheme::Tcp => cfg!(feature = "tcp"),
            Scheme::Ipc => cfg!(feature = "ipc"),
            Scheme::Inproc => cfg!(feature = "inproc"),
            _ => true,
        };
        if compiled {
            Ok(ep)
        } else {
            Err(EndpointError::UnsupportedTransport(
                ep.scheme().as_str().to_owned(),
            ))
        }
    }

    proptest! {
        #[test]
        fn connect_round_trip(ep in connect_endpoint()) {
            let printed = ep.to_string();
            prop_assert_eq!(Endpoint::parse_connect(&printed), reparsed(ep), "{}", printed);
        }

        #[test]
        fn bind_round_trip(ep in bind_endpoint()) {
            let printed = ep.to_string();
            prop_assert_eq!(Endpoint::parse_bind(&printed), reparsed(ep), "{}", printed);
        }

        #[test]
        fn arbitrary_strings_never_panic(s in "[ -~]{0,40}") {
            // Whatever parses prints to something that parses the same way.
            if let Ok(ep) = Endpoint::parse_bind(&s) {
                prop_assert_eq!(Endpoint::parse_bind(&ep.to_string()), Ok(ep));
            }
            if let Ok(ep) = Endpoint::parse_connect(&s) {
                prop_assert_eq!(Endpoint::parse_connect(&ep.to_string()), Ok(ep));
            }
        }
    }
}
