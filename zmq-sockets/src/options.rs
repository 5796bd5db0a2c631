//! Socket options: libzmq 4.3.5 numbers, defaults and validation, and their translation into
//! the transport's per-endpoint settings and the codec's per-connection config.

use std::time::Duration;

use bytes::Bytes;
use zmq_transport::ConnOptions;
use zmtp_codec::{Config, Mechanism, Metadata, ReservedFlags};

use crate::{Error, SocketType};

/// libzmq option numbers (`ZMQ_*`), for [`Options::set_int`] and friends.
pub mod number {
    /// `ZMQ_AFFINITY`: I/O thread affinity bitmask (u64). Stored, not used for placement.
    pub const AFFINITY: i32 = 4;
    /// `ZMQ_ROUTING_ID`: 1..=255 octets, sent in the greeting padding length.
    pub const ROUTING_ID: i32 = 5;
    /// `ZMQ_SNDBUF`: kernel send buffer size, -1 = OS default.
    pub const SNDBUF: i32 = 11;
    /// `ZMQ_RCVBUF`: kernel receive buffer size, -1 = OS default.
    pub const RCVBUF: i32 = 12;
    /// `ZMQ_RCVMORE`: read-only, always 0 on PEER.
    pub const RCVMORE: i32 = 13;
    /// `ZMQ_FD`: thread-safe sockets have none (EINVAL).
    pub const FD: i32 = 14;
    /// `ZMQ_EVENTS`: read-only, `POLLIN`/`POLLOUT` bits.
    pub const EVENTS: i32 = 15;
    /// `ZMQ_TYPE`: read-only socket type number.
    pub const TYPE: i32 = 16;
    /// `ZMQ_LINGER`: ms to flush pending messages at close, -1 = forever.
    pub const LINGER: i32 = 17;
    /// `ZMQ_RECONNECT_IVL`: ms between reconnect attempts, -1 (or 0) = no reconnect.
    pub const RECONNECT_IVL: i32 = 18;
    /// `ZMQ_BACKLOG`: listen backlog.
    pub const BACKLOG: i32 = 19;
    /// `ZMQ_RECONNECT_IVL_MAX`: ms cap of the exponential backoff, 0 = fixed interval.
    pub const RECONNECT_IVL_MAX: i32 = 21;
    /// `ZMQ_MAXMSGSIZE`: largest inbound message in bytes (i64), -1 = unlimited.
    pub const MAXMSGSIZE: i32 = 22;
    /// `ZMQ_SNDHWM`: messages queued per outbound pipe, 0 = unlimited.
    pub const SNDHWM: i32 = 23;
    /// `ZMQ_RCVHWM`: messages queued per inbound pipe, 0 = unlimited.
    pub const RCVHWM: i32 = 24;
    /// `ZMQ_RCVTIMEO`: ms a blocking recv waits, -1 = forever.
    pub const RCVTIMEO: i32 = 27;
    /// `ZMQ_SNDTIMEO`: ms a blocking send waits, -1 = forever.
    pub const SNDTIMEO: i32 = 28;
    /// `ZMQ_LAST_ENDPOINT`: read-only string.
    pub const LAST_ENDPOINT: i32 = 32;
    /// `ZMQ_TCP_KEEPALIVE`: -1 = OS default, 0 = off, 1 = on.
    pub const TCP_KEEPALIVE: i32 = 34;
    /// `ZMQ_TCP_KEEPALIVE_CNT`: -1 = OS default.
    pub const TCP_KEEPALIVE_CNT: i32 = 35;
    /// `ZMQ_TCP_KEEPALIVE_IDLE`: seconds, -1 = OS default.
    pub const TCP_KEEPALIVE_IDLE: i32 = 36;
    /// `ZMQ_TCP_KEEPALIVE_INTVL`: seconds, -1 = OS default.
    pub const TCP_KEEPALIVE_INTVL: i32 = 37;
    /// `ZMQ_IMMEDIATE`: 0/1; must be 0 for `connect_peer`.
    pub const IMMEDIATE: i32 = 39;
    /// `ZMQ_IPV6`: 0/1.
    pub const IPV6: i32 = 42;
    /// `ZMQ_MECHANISM`: read-only, 0 = NULL, 1 = PLAIN.
    pub const MECHANISM: i32 = 43;
    /// `ZMQ_PLAIN_SERVER`: 0/1.
    pub const PLAIN_SERVER: i32 = 44;
    /// `ZMQ_PLAIN_USERNAME`: string.
    pub const PLAIN_USERNAME: i32 = 45;
    /// `ZMQ_PLAIN_PASSWORD`: string.
    pub const PLAIN_PASSWORD: i32 = 46;
    /// `ZMQ_TOS`: IP type of service.
    pub const TOS: i32 = 57;
    /// `ZMQ_HANDSHAKE_IVL`: ms to finish the handshake, 0 = no limit.
    pub const HANDSHAKE_IVL: i32 = 66;
    /// `ZMQ_HEARTBEAT_IVL`: ms between PINGs, 0 = off.
    pub const HEARTBEAT_IVL: i32 = 75;
    /// `ZMQ_HEARTBEAT_TTL`: ms (0..=6553599), stored in deciseconds.
    pub const HEARTBEAT_TTL: i32 = 76;
    /// `ZMQ_HEARTBEAT_TIMEOUT`: ms, -1 = use the interval.
    pub const HEARTBEAT_TIMEOUT: i32 = 77;
    /// `ZMQ_CONNECT_TIMEOUT`: ms per connect attempt, 0 = OS default.
    pub const CONNECT_TIMEOUT: i32 = 79;
    /// `ZMQ_TCP_MAXRT`: ms, `TCP_USER_TIMEOUT`, 0 = OS default.
    pub const TCP_MAXRT: i32 = 80;
    /// `ZMQ_THREAD_SAFE`: read-only, 1 for PEER/SERVER/CLIENT.
    pub const THREAD_SAFE: i32 = 81;
    /// `ZMQ_METADATA`: `"X-name:value"`, adds a READY property.
    pub const METADATA: i32 = 95;
    /// `ZMQ_IN_BATCH_SIZE`: engine read size.
    pub const IN_BATCH_SIZE: i32 = 101;
    /// `ZMQ_OUT_BATCH_SIZE`: engine write batch size.
    pub const OUT_BATCH_SIZE: i32 = 102;
    /// `ZMQ_WSS_KEY_PEM`: the wss server's private key, PEM.
    pub const WSS_KEY_PEM: i32 = 103;
    /// `ZMQ_WSS_CERT_PEM`: the wss server's certificate chain, PEM.
    pub const WSS_CERT_PEM: i32 = 104;
    /// `ZMQ_WSS_TRUST_PEM`: roots a wss client trusts, PEM.
    pub const WSS_TRUST_PEM: i32 = 105;
    /// `ZMQ_WSS_HOSTNAME`: the name a wss client sends (SNI) and checks in the server's
    /// certificate; empty (the default): the chain is verified but no name is checked.
    pub const WSS_HOSTNAME: i32 = 106;
    /// `ZMQ_WSS_TRUST_SYSTEM`: 0/1, a wss client also trusts the system roots.
    pub const WSS_TRUST_SYSTEM: i32 = 107;
    /// `ZMQ_RECONNECT_STOP`: bitmask of conditions that stop reconnecting.
    pub const RECONNECT_STOP: i32 = 109;
    /// `ZMQ_PRIORITY`: `SO_PRIORITY`.
    pub const PRIORITY: i32 = 112;
}

/// Largest `ZMQ_HEARTBEAT_TTL` in ms: the value is sent in deciseconds in a u16.
pub const MAX_HEARTBEAT_TTL: i32 = 6_553_599;

/// The settable options of one socket, with libzmq 4.3.5 defaults.
///
/// Options are copied into each endpoint when it is bound or connected; later changes affect
/// only later endpoints (as in libzmq), except the time-outs, which every call reads afresh.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Options {
    /// `ZMQ_SNDHWM` (default 1000).
    pub sndhwm: i32,
    /// `ZMQ_RCVHWM` (default 1000).
    pub rcvhwm: i32,
    /// `ZMQ_LINGER` ms (default -1).
    pub linger: i32,
    /// `ZMQ_RECONNECT_IVL` ms (default 100).
    pub reconnect_ivl: i32,
    /// `ZMQ_RECONNECT_IVL_MAX` ms (default 0).
    pub reconnect_ivl_max: i32,
    /// `ZMQ_RECONNECT_STOP` bits (default 0).
    pub reconnect_stop: i32,
    /// `ZMQ_CONNECT_TIMEOUT` ms (default 0).
    pub connect_timeout: i32,
    /// `ZMQ_HANDSHAKE_IVL` ms (default 30000).
    pub handshake_ivl: i32,
    /// `ZMQ_MAXMSGSIZE` bytes (default -1).
    pub maxmsgsize: i64,
    /// `ZMQ_SNDTIMEO` ms (default -1).
    pub sndtimeo: i32,
    /// `ZMQ_RCVTIMEO` ms (default -1).
    pub rcvtimeo: i32,
    /// `ZMQ_IMMEDIATE` (default false).
    pub immediate: bool,
    /// `ZMQ_HEARTBEAT_IVL` ms (default 0).
    pub heartbeat_ivl: i32,
    /// `ZMQ_HEARTBEAT_TTL` in deciseconds (default 0).
    pub heartbeat_ttl_ds: u16,
    /// `ZMQ_HEARTBEAT_TIMEOUT` ms (default -1).
    pub heartbeat_timeout: i32,
    /// `ZMQ_TCP_KEEPALIVE` (default -1).
    pub tcp_keepalive: i32,
    /// `ZMQ_TCP_KEEPALIVE_CNT` (default -1).
    pub tcp_keepalive_cnt: i32,
    /// `ZMQ_TCP_KEEPALIVE_IDLE` (default -1).
    pub tcp_keepalive_idle: i32,
    /// `ZMQ_TCP_KEEPALIVE_INTVL` (default -1).
    pub tcp_keepalive_intvl: i32,
    /// `ZMQ_TCP_MAXRT` ms (default 0).
    pub tcp_maxrt: i32,
    /// `ZMQ_SNDBUF` (default -1).
    pub sndbuf: i32,
    /// `ZMQ_RCVBUF` (default -1).
    pub rcvbuf: i32,
    /// `ZMQ_BACKLOG` (default 100).
    pub backlog: i32,
    /// `ZMQ_IPV6` (default false).
    pub ipv6: bool,
    /// `ZMQ_TOS` (default 0).
    pub tos: i32,
    /// `ZMQ_PRIORITY` (default 0).
    pub priority: i32,
    /// `ZMQ_AFFINITY` (default 0).
    pub affinity: u64,
    /// `ZMQ_IN_BATCH_SIZE` (default 8192).
    pub in_batch_size: i32,
    /// `ZMQ_OUT_BATCH_SIZE` (default 8192).
    pub out_batch_size: i32,
    /// `ZMQ_ROUTING_ID` (default empty).
    pub routing_id: Bytes,
    /// `ZMQ_PLAIN_SERVER` (default false).
    pub plain_server: bool,
    /// `ZMQ_PLAIN_USERNAME` (default empty; non-empty selects PLAIN as client).
    pub plain_username: Bytes,
    /// `ZMQ_PLAIN_PASSWORD` (default empty).
    pub plain_password: Bytes,
    /// `ZMQ_METADATA` entries (`X-name`, value), sent in READY.
    pub metadata: Vec<(String, String)>,
    /// `ZMQ_WSS_KEY_PEM` (default none).
    pub wss_key_pem: Option<String>,
    /// `ZMQ_WSS_CERT_PEM` (default none).
    pub wss_cert_pem: Option<String>,
    /// `ZMQ_WSS_TRUST_PEM` (default none).
    pub wss_trust_pem: Option<String>,
    /// `ZMQ_WSS_HOSTNAME` (default none: no name check, only the chain is verified).
    pub wss_hostname: Option<String>,
    /// `ZMQ_WSS_TRUST_SYSTEM` (default false).
    pub wss_trust_system: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            sndhwm: 1000,
            rcvhwm: 1000,
            linger: -1,
            reconnect_ivl: 100,
            reconnect_ivl_max: 0,
            reconnect_stop: 0,
            connect_timeout: 0,
            handshake_ivl: 30_000,
            maxmsgsize: -1,
            sndtimeo: -1,
            rcvtimeo: -1,
            immediate: false,
            heartbeat_ivl: 0,
            heartbeat_ttl_ds: 0,
            heartbeat_timeout: -1,
            tcp_keepalive: -1,
            tcp_keepalive_cnt: -1,
            tcp_keepalive_idle: -1,
            tcp_keepalive_intvl: -1,
            tcp_maxrt: 0,
            sndbuf: -1,
            rcvbuf: -1,
            backlog: 100,
            ipv6: false,
            tos: 0,
            priority: 0,
            affinity: 0,
            in_batch_size: 8192,
            out_batch_size: 8192,
            routing_id: Bytes::new(),
            plain_server: false,
            plain_username: Bytes::new(),
            plain_password: Bytes::new(),
            metadata: Vec::new(),
            wss_key_pem: None,
            wss_cert_pem: None,
            wss_trust_pem: None,
            wss_hostname: None,
            wss_trust_system: false,
        }
    }
}

impl Options {
    /// Sets an integer option by libzmq number, validating like libzmq 4.3.5.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for an unknown or read-only option or a value out of range.
    pub fn set_int(&mut self, option: i32, value: i32) -> Result<(), Error> {
        use number as n;
        let bad = || Error::InvalidArgument(format!("option {option}: value {value}"));
        let at_least = |min: i32| if value >= min { Ok(value) } else { Err(bad()) };
        let flag = || match value {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(bad()),
        };
        match option {
            n::SNDHWM => self.sndhwm = at_least(0)?,
            n::RCVHWM => self.rcvhwm = at_least(0)?,
            n::LINGER => self.linger = at_least(-1)?,
            n::RECONNECT_IVL => self.reconnect_ivl = at_least(-1)?,
            n::RECONNECT_IVL_MAX => self.reconnect_ivl_max = at_least(0)?,
            n::RECONNECT_STOP => self.reconnect_stop = at_least(0)?,
            n::CONNECT_TIMEOUT => self.connect_timeout = at_least(0)?,
            n::HANDSHAKE_IVL => self.handshake_ivl = at_least(0)?,
            n::MAXMSGSIZE => self.maxmsgsize = i64::from(value),
            n::SNDTIMEO => self.sndtimeo = at_least(-1)?,
            n::RCVTIMEO => self.rcvtimeo = at_least(-1)?,
            n::IMMEDIATE => self.immediate = flag()?,
            n::HEARTBEAT_IVL => self.heartbeat_ivl = at_least(0)?,
            n::HEARTBEAT_TTL => {
                // libzmq: "value = value / deciseconds_per_millisecond; if (value <= UINT16_MAX)".
                if !(0..=MAX_HEARTBEAT_TTL).contains(&value) {
                    return Err(bad());
                }
                self.heartbeat_ttl_ds = u16::try_from(value / 100).map_err(|_| bad())?;
            }
            n::HEARTBEAT_TIMEOUT => self.heartbeat_timeout = at_least(0)?,
            n::TCP_KEEPALIVE => {
                if !(-1..=1).contains(&value) {
                    return Err(bad());
                }
                self.tcp_keepalive = value;
            }
            n::TCP_KEEPALIVE_CNT => self.tcp_keepalive_cnt = at_least(-1)?,
            n::TCP_KEEPALIVE_IDLE => self.tcp_keepalive_idle = at_least(-1)?,
            n::TCP_KEEPALIVE_INTVL => self.tcp_keepalive_intvl = at_least(-1)?,
            n::TCP_MAXRT => self.tcp_maxrt = at_least(0)?,
            n::SNDBUF => self.sndbuf = at_least(-1)?,
            n::RCVBUF => self.rcvbuf = at_least(-1)?,
            n::BACKLOG => self.backlog = at_least(0)?,
            n::IPV6 => self.ipv6 = flag()?,
            n::TOS => self.tos = at_least(0)?,
            n::PRIORITY => self.priority = at_least(0)?,
            n::IN_BATCH_SIZE => self.in_batch_size = at_least(1)?,
            n::OUT_BATCH_SIZE => self.out_batch_size = at_least(1)?,
            n::WSS_TRUST_SYSTEM => self.wss_trust_system = flag()?,
            n::PLAIN_SERVER => {
                self.plain_server = flag()?;
                if self.plain_server {
                    self.plain_username.clear();
                }
            }
            _ => {
                return Err(Error::InvalidArgument(format!(
                    "option {option} is not settable"
                )));
            }
        }
        Ok(())
    }

    /// Reads an integer option by libzmq number (socket-level read-only options such as
    /// `ZMQ_TYPE` are answered by the socket, not here).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for an unknown option, a non-integer option, or a
    /// `ZMQ_MAXMSGSIZE`/`ZMQ_AFFINITY` value that does not fit an `i32`.
    pub fn int(&self, option: i32) -> Result<i32, Error> {
        use number as n;
        Ok(match option {
            n::SNDHWM => self.sndhwm,
            n::RCVHWM => self.rcvhwm,
            n::LINGER => self.linger,
            n::RECONNECT_IVL => self.reconnect_ivl,
            n::RECONNECT_IVL_MAX => self.reconnect_ivl_max,
            n::RECONNECT_STOP => self.reconnect_stop,
            n::CONNECT_TIMEOUT => self.connect_timeout,
            n::HANDSHAKE_IVL => self.handshake_ivl,
            n::MAXMSGSIZE => i32::try_from(self.maxmsgsize)
                .map_err(|_| Error::InvalidArgument("MAXMSGSIZE does not fit an i32".into()))?,
            n::AFFINITY => i32::try_from(self.affinity)
                .map_err(|_| Error::InvalidArgument("AFFINITY does not fit an i32".into()))?,
            n::SNDTIMEO => self.sndtimeo,
            n::RCVTIMEO => self.rcvtimeo,
            n::IMMEDIATE => i32::from(self.immediate),
            n::HEARTBEAT_IVL => self.heartbeat_ivl,
            n::HEARTBEAT_TTL => i32::from(self.heartbeat_ttl_ds) * 100,
            n::HEARTBEAT_TIMEOUT => self.heartbeat_timeout,
            n::TCP_KEEPALIVE => self.tcp_keepalive,
            n::TCP_KEEPALIVE_CNT => self.tcp_keepalive_cnt,
            n::TCP_KEEPALIVE_IDLE => self.tcp_keepalive_idle,
            n::TCP_KEEPALIVE_INTVL => self.tcp_keepalive_intvl,
            n::TCP_MAXRT => self.tcp_maxrt,
            n::SNDBUF => self.sndbuf,
            n::RCVBUF => self.rcvbuf,
            n::BACKLOG => self.backlog,
            n::IPV6 => i32::from(self.ipv6),
            n::TOS => self.tos,
            n::PRIORITY => self.priority,
            n::IN_BATCH_SIZE => self.in_batch_size,
            n::OUT_BATCH_SIZE => self.out_batch_size,
            n::PLAIN_SERVER => i32::from(self.plain_server),
            n::WSS_TRUST_SYSTEM => i32::from(self.wss_trust_system),
            n::MECHANISM => i32::from(self.plain_server || !self.plain_username.is_empty()),
            _ => {
                return Err(Error::InvalidArgument(format!(
                    "option {option} is not an int"
                )));
            }
        })
    }

    /// Sets a 64-bit option (`ZMQ_MAXMSGSIZE`, `ZMQ_AFFINITY`); other numbers go through
    /// [`Options::set_int`] when the value fits an `i32`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for an unknown option or a value out of range.
    pub fn set_i64(&mut self, option: i32, value: i64) -> Result<(), Error> {
        match option {
            number::MAXMSGSIZE => self.maxmsgsize = value,
            number::AFFINITY => {
                self.affinity = u64::try_from(value)
                    .map_err(|_| Error::InvalidArgument(format!("AFFINITY {value}")))?;
            }
            _ => {
                let v = i32::try_from(value)
                    .map_err(|_| Error::InvalidArgument(format!("option {option}: {value}")))?;
                self.set_int(option, v)?;
            }
        }
        Ok(())
    }

    /// Reads a 64-bit option (`ZMQ_MAXMSGSIZE`, `ZMQ_AFFINITY`) or any integer option widened.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for an unknown option.
    pub fn i64(&self, option: i32) -> Result<i64, Error> {
        match option {
            number::MAXMSGSIZE => Ok(self.maxmsgsize),
            number::AFFINITY => i64::try_from(self.affinity)
                .map_err(|_| Error::InvalidArgument("AFFINITY does not fit an i64".into())),
            _ => self.int(option).map(i64::from),
        }
    }

    /// Sets a binary/string option (`ZMQ_ROUTING_ID`, `ZMQ_PLAIN_USERNAME`,
    /// `ZMQ_PLAIN_PASSWORD`, `ZMQ_METADATA`).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for an unknown option or an invalid value (routing id not
    /// 1..=255 octets, credentials over 255 octets, metadata not `X-name:value`).
    pub fn set_bytes(&mut self, option: i32, value: &[u8]) -> Result<(), Error> {
        let bad = |what: &str| Error::InvalidArgument(format!("option {option}: {what}"));
        match option {
            number::ROUTING_ID => {
                if value.is_empty() || value.len() > 255 {
                    return Err(bad("routing id must be 1..=255 octets"));
                }
                self.routing_id = Bytes::copy_from_slice(value);
            }
            number::PLAIN_USERNAME | number::PLAIN_PASSWORD => {
                if value.len() > 255 {
                    return Err(bad("longer than 255 octets"));
                }
                let value = Bytes::copy_from_slice(value);
                if option == number::PLAIN_USERNAME {
                    // libzmq: a username selects PLAIN as client; an empty one selects NULL.
                    self.plain_server = false;
                    self.plain_username = value;
                } else {
                    self.plain_password = value;
                }
            }
            number::METADATA => {
                let text = std::str::from_utf8(value).map_err(|_| bad("not UTF-8"))?;
                let (name, val) = text
                    .split_once(':')
                    .ok_or_else(|| bad("expected X-name:value"))?;
                // libzmq: `key.compare (0, 2, "X-") == 0 && key.length () <= UCHAR_MAX`.
                let valid_name = name.len() > 2
                    && name.len() <= 255
                    && name.starts_with("X-")
                    && name.bytes().all(|b| b.is_ascii_graphic());
                if !valid_name {
                    return Err(bad("metadata name must be X-<name>"));
                }
                if let Some(entry) = self.metadata.iter_mut().find(|(n, _)| n == name) {
                    val.clone_into(&mut entry.1);
                } else {
                    self.metadata.push((name.to_owned(), val.to_owned()));
                }
            }
            number::WSS_KEY_PEM
            | number::WSS_CERT_PEM
            | number::WSS_TRUST_PEM
            | number::WSS_HOSTNAME => {
                let text = std::str::from_utf8(value).map_err(|_| bad("not UTF-8"))?;
                // An empty string clears the setting.
                let text = (!text.is_empty()).then(|| text.to_owned());
                match option {
                    number::WSS_KEY_PEM => self.wss_key_pem = text,
                    number::WSS_CERT_PEM => self.wss_cert_pem = text,
                    number::WSS_TRUST_PEM => self.wss_trust_pem = text,
                    _ => self.wss_hostname = text,
                }
            }
            _ => return Err(bad("not a binary option")),
        }
        Ok(())
    }

    /// Reads a binary option (`ZMQ_ROUTING_ID`, `ZMQ_PLAIN_USERNAME`, `ZMQ_PLAIN_PASSWORD`).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for an unknown or non-binary option.
    pub fn bytes(&self, option: i32) -> Result<Bytes, Error> {
        match option {
            number::ROUTING_ID => Ok(self.routing_id.clone()),
            number::PLAIN_USERNAME => Ok(self.plain_username.clone()),
            number::PLAIN_PASSWORD => Ok(self.plain_password.clone()),
            number::WSS_KEY_PEM => Ok(text_bytes(self.wss_key_pem.as_ref())),
            number::WSS_CERT_PEM => Ok(text_bytes(self.wss_cert_pem.as_ref())),
            number::WSS_TRUST_PEM => Ok(text_bytes(self.wss_trust_pem.as_ref())),
            number::WSS_HOSTNAME => Ok(text_bytes(self.wss_hostname.as_ref())),
            _ => Err(Error::InvalidArgument(format!(
                "option {option} is not binary"
            ))),
        }
    }

    /// `ZMQ_SNDTIMEO` as a wait bound: `None` = forever.
    #[must_use]
    pub fn send_timeout(&self) -> Option<Duration> {
        millis(self.sndtimeo)
    }

    /// `ZMQ_RCVTIMEO` as a wait bound: `None` = forever.
    #[must_use]
    pub fn recv_timeout(&self) -> Option<Duration> {
        millis(self.rcvtimeo)
    }

    /// `ZMQ_LINGER` as the pipe close bound: `None` = flush forever.
    #[must_use]
    pub fn linger_duration(&self) -> Option<Duration> {
        millis(self.linger)
    }

    /// The pipe HWM for outbound messages (0 = unlimited).
    #[must_use]
    pub fn send_hwm(&self) -> usize {
        usize::try_from(self.sndhwm).unwrap_or(0)
    }

    /// The pipe HWM for inbound messages (0 = unlimited).
    #[must_use]
    pub fn recv_hwm(&self) -> usize {
        usize::try_from(self.rcvhwm).unwrap_or(0)
    }

    /// The codec configuration of a connection made by a socket of type `kind`.
    #[must_use]
    pub fn codec_config(&self, kind: SocketType) -> Config {
        let mut config = Config::new(kind.zmtp());
        config.mechanism = if self.plain_server {
            Mechanism::PlainServer
        } else if !self.plain_username.is_empty() {
            Mechanism::PlainClient {
                username: self.plain_username.clone(),
                password: self.plain_password.clone(),
            }
        } else {
            Mechanism::Null
        };
        let mut metadata = Metadata::new();
        for (name, value) in &self.metadata {
            metadata.insert(
                Bytes::copy_from_slice(name.as_bytes()),
                Bytes::copy_from_slice(value.as_bytes()),
            );
        }
        config.metadata = metadata;
        config.identity = (!self.routing_id.is_empty()).then(|| self.routing_id.clone());
        config.max_message_size = u64::try_from(self.maxmsgsize).ok();
        // PEER, SERVER and CLIENT are single-part types: libzmq drops multipart messages whole.
        config.drop_multipart = kind.is_supported();
        // libzmq's decoder ignores reserved flag bits 3..7 (PROTOCOL.md §2.3, §11.1 G); so do
        // sockets, so that a peer libzmq accepts is never dropped by us.
        config.reserved_flags = ReservedFlags::Ignore;
        config.heartbeat_interval = positive_millis(self.heartbeat_ivl);
        config.heartbeat_ttl = Duration::from_millis(u64::from(self.heartbeat_ttl_ds) * 100);
        // -1 = "use the interval"; an explicit 0 disables the timeout while PINGs still go out.
        config.heartbeat_timeout = u64::try_from(self.heartbeat_timeout)
            .ok()
            .map(Duration::from_millis);
        config.handshake_timeout = positive_millis(self.handshake_ivl);
        if let Ok(batch) = usize::try_from(self.out_batch_size) {
            config.max_batch = batch;
        }
        config
    }

    /// The transport settings of an endpoint bound or connected by a socket of type `kind`.
    #[must_use]
    pub fn conn_options(&self, kind: SocketType) -> ConnOptions {
        let mut opts = ConnOptions::new(self.codec_config(kind));
        // libzmq: RECONNECT_IVL -1 (or 0) disables reconnection.
        opts.reconnect_ivl = positive_millis(self.reconnect_ivl);
        opts.reconnect_ivl_max = positive_millis(self.reconnect_ivl_max);
        opts.connect_timeout = positive_millis(self.connect_timeout);
        opts.tcp_keepalive = self.tcp_keepalive;
        opts.tcp_keepalive_cnt = self.tcp_keepalive_cnt;
        opts.tcp_keepalive_idle = self.tcp_keepalive_idle;
        opts.tcp_keepalive_intvl = self.tcp_keepalive_intvl;
        opts.ipv6 = self.ipv6;
        opts.backlog = self.backlog;
        opts.sndbuf = self.sndbuf;
        opts.rcvbuf = self.rcvbuf;
        opts.tls.key_pem.clone_from(&self.wss_key_pem);
        opts.tls.cert_chain_pem.clone_from(&self.wss_cert_pem);
        opts.tls.trust_pem.clone_from(&self.wss_trust_pem);
        opts.tls.hostname.clone_from(&self.wss_hostname);
        opts.tls.trust_system = self.wss_trust_system;
        opts
    }
}

/// An optional text option as bytes (empty when unset).
fn text_bytes(text: Option<&String>) -> Bytes {
    text.map_or_else(Bytes::new, |t| Bytes::copy_from_slice(t.as_bytes()))
}

/// `-1` → `None` (forever), `n >= 0` → `n` ms.
fn millis(v: i32) -> Option<Duration> {
    u64::try_from(v).ok().map(Duration::from_millis)
}

/// `n > 0` → `n` ms, anything else → `None` (off).
fn positive_millis(v: i32) -> Option<Duration> {
    u64::try_from(v)
        .ok()
        .filter(|&v| v > 0)
        .map(Duration::from_millis)
}

#[cfg(test)]
mod tests {
    use super::number as n;
    use super::*;

    #[test]
    fn defaults_match_libzmq() {
        let o = Options::default();
        let expect = [
            (n::SNDHWM, 1000),
            (n::RCVHWM, 1000),
            (n::LINGER, -1),
            (n::RECONNECT_IVL, 100),
            (n::RECONNECT_IVL_MAX, 0),
            (n::CONNECT_TIMEOUT, 0),
            (n::HANDSHAKE_IVL, 30_000),
            (n::MAXMSGSIZE, -1),
            (n::SNDTIMEO, -1),
            (n::RCVTIMEO, -1),
            (n::IMMEDIATE, 0),
            (n::HEARTBEAT_IVL, 0),
            (n::HEARTBEAT_TTL, 0),
            (n::HEARTBEAT_TIMEOUT, -1),
            (n::TCP_KEEPALIVE, -1),
            (n::TCP_KEEPALIVE_CNT, -1),
            (n::TCP_KEEPALIVE_IDLE, -1),
            (n::TCP_KEEPALIVE_INTVL, -1),
            (n::TCP_MAXRT, 0),
            (n::SNDBUF, -1),
            (n::RCVBUF, -1),
            (n::BACKLOG, 100),
            (n::IPV6, 0),
            (n::TOS, 0),
            (n::MECHANISM, 0),
            (n::IN_BATCH_SIZE, 8192),
            (n::OUT_BATCH_SIZE, 8192),
        ];
        for (option, value) in expect {
            assert_eq!(o.int(option).unwrap(), value, "option {option}");
        }
        assert_eq!(o.i64(n::MAXMSGSIZE).unwrap(), -1);
        assert!(o.bytes(n::ROUTING_ID).unwrap().is_empty());
    }

    #[test]
    fn validation_rejects_out_of_range() {
        let mut o = Options::default();
        for (option, bad) in [
            (n::SNDHWM, -1),
            (n::RCVHWM, -5),
            (n::LINGER, -2),
            (n::RECONNECT_IVL, -2),
            (n::RECONNECT_IVL_MAX, -1),
            (n::SNDTIMEO, -2),
            (n::RCVTIMEO, -2),
            (n::IMMEDIATE, 2),
            (n::HEARTBEAT_IVL, -1),
            (n::HEARTBEAT_TTL, -1),
            (n::HEARTBEAT_TTL, 6_553_600),
            (n::HEARTBEAT_TIMEOUT, -1),
            (n::TCP_KEEPALIVE, 2),
            (n::TCP_KEEPALIVE_CNT, -2),
            (n::IPV6, -1),
            (n::HANDSHAKE_IVL, -1),
            (n::OUT_BATCH_SIZE, 0),
            (n::TYPE, 19),
            (n::EVENTS, 1),
            (9999, 0),
        ] {
            assert!(
                matches!(o.set_int(option, bad), Err(Error::InvalidArgument(_))),
                "option {option} accepted {bad}"
            );
        }
        assert_eq!(
            o,
            Options::default(),
            "a rejected value must not change anything"
        );
    }

    #[test]
    fn set_then_get_round_trips() {
        let mut o = Options::default();
        for (option, value) in [
            (n::SNDHWM, 0),
            (n::RCVHWM, 7),
            (n::LINGER, 0),
            (n::RECONNECT_IVL, -1),
            (n::RECONNECT_IVL_MAX, 5000),
            (n::SNDTIMEO, 100),
            (n::RCVTIMEO, 0),
            (n::IMMEDIATE, 1),
            (n::HEARTBEAT_IVL, 100),
            (n::HEARTBEAT_TIMEOUT, 0),
            (n::IPV6, 1),
            (n::MAXMSGSIZE, 4096),
        ] {
            o.set_int(option, value).unwrap();
            assert_eq!(o.int(option).unwrap(), value, "option {option}");
        }
    }

    #[test]
    fn heartbeat_ttl_is_stored_in_deciseconds() {
        let mut o = Options::default();
        o.set_int(n::HEARTBEAT_TTL, 99).unwrap();
        assert_eq!(o.int(n::HEARTBEAT_TTL).unwrap(), 0);
        o.set_int(n::HEARTBEAT_TTL, 1234).unwrap();
        assert_eq!(o.int(n::HEARTBEAT_TTL).unwrap(), 1200);
        o.set_int(n::HEARTBEAT_TTL, MAX_HEARTBEAT_TTL).unwrap();
        assert_eq!(o.int(n::HEARTBEAT_TTL).unwrap(), 6_553_500);
        assert_eq!(o.heartbeat_ttl_ds, u16::MAX);
    }

    #[test]
    fn i64_and_bytes_options() {
        let mut o = Options::default();
        o.set_i64(n::MAXMSGSIZE, 1 << 40).unwrap();
        assert_eq!(o.i64(n::MAXMSGSIZE).unwrap(), 1 << 40);
        assert!(matches!(
            o.int(n::MAXMSGSIZE),
            Err(Error::InvalidArgument(_))
        ));
        assert!(o.set_i64(n::SNDHWM, 1 << 40).is_err());
        o.set_i64(n::SNDHWM, 5).unwrap();
        assert_eq!(o.sndhwm, 5);

        assert!(o.set_bytes(n::ROUTING_ID, b"").is_err());
        assert!(o.set_bytes(n::ROUTING_ID, &[1; 256]).is_err());
        o.set_bytes(n::ROUTING_ID, b"abc").unwrap();
        assert_eq!(&o.bytes(n::ROUTING_ID).unwrap()[..], b"abc");

        assert!(o.set_bytes(n::METADATA, b"Foo:bar").is_err());
        assert!(o.set_bytes(n::METADATA, b"X-foo").is_err());
        assert!(o.set_bytes(n::METADATA, b"x-foo:bar").is_err());
        o.set_bytes(n::METADATA, b"X-foo:bar").unwrap();
        o.set_bytes(n::METADATA, b"X-foo:baz").unwrap();
        assert_eq!(o.metadata, [("X-foo".to_owned(), "baz".to_owned())]);

        o.set_bytes(n::PLAIN_USERNAME, b"admin").unwrap();
        assert_eq!(o.int(n::MECHANISM).unwrap(), 1);
        o.set_bytes(n::PLAIN_USERNAME, b"").unwrap();
        assert_eq!(o.int(n::MECHANISM).unwrap(), 0);
        assert!(o.set_bytes(n::SNDHWM, b"1").is_err());
    }

    #[test]
    fn codec_config_carries_the_options() {
        let mut o = Options::default();
        o.set_int(n::HEARTBEAT_IVL, 100).unwrap();
        o.set_int(n::HEARTBEAT_TTL, 1234).unwrap();
        o.set_int(n::HANDSHAKE_IVL, 0).unwrap();
        o.set_i64(n::MAXMSGSIZE, 10).unwrap();
        o.set_bytes(n::METADATA, b"X-a:b").unwrap();
        let c = o.codec_config(SocketType::Peer);
        assert_eq!(c.socket_type.as_bytes(), b"PEER");
        assert!(c.drop_multipart);
        assert_eq!(c.heartbeat_interval, Some(Duration::from_millis(100)));
        assert_eq!(c.heartbeat_ttl, Duration::from_millis(1200));
        assert_eq!(c.heartbeat_timeout, None);
        assert_eq!(c.handshake_timeout, None);
        assert_eq!(c.max_message_size, Some(10));
        assert_eq!(c.metadata.get("X-a").map(|v| &v[..]), Some(&b"b"[..]));
        assert_eq!(c.identity, None);
        assert!(matches!(c.mechanism, Mechanism::Null));

        let d = Options::default().codec_config(SocketType::Peer);
        assert_eq!(d.handshake_timeout, Some(Duration::from_secs(30)));
        assert_eq!(d.max_message_size, None);
        assert_eq!(d.heartbeat_interval, None);
    }

    #[test]
    fn conn_options_carry_the_options() {
        let mut o = Options::default();
        let c = o.conn_options(SocketType::Peer);
        assert_eq!(c.reconnect_ivl, Some(Duration::from_millis(100)));
        assert_eq!(c.reconnect_ivl_max, None);
        assert_eq!(c.connect_timeout, None);
        o.set_int(n::RECONNECT_IVL, -1).unwrap();
        o.set_int(n::RECONNECT_IVL_MAX, 400).unwrap();
        o.set_int(n::IPV6, 1).unwrap();
        o.set_int(n::TCP_KEEPALIVE, 1).unwrap();
        let c = o.conn_options(SocketType::Peer);
        assert_eq!(c.reconnect_ivl, None);
        assert_eq!(c.reconnect_ivl_max, Some(Duration::from_millis(400)));
        assert!(c.ipv6);
        assert_eq!(c.tcp_keepalive, 1);
        assert_eq!(c.tls.key_pem, None);

        o.set_bytes(n::WSS_CERT_PEM, b"CERT").unwrap();
        o.set_bytes(n::WSS_KEY_PEM, b"KEY").unwrap();
        o.set_bytes(n::WSS_TRUST_PEM, b"ROOTS").unwrap();
        o.set_bytes(n::WSS_HOSTNAME, b"example.test").unwrap();
        o.set_int(n::WSS_TRUST_SYSTEM, 1).unwrap();
        let c = o.conn_options(SocketType::Peer);
        assert_eq!(c.tls.cert_chain_pem.as_deref(), Some("CERT"));
        assert_eq!(c.tls.key_pem.as_deref(), Some("KEY"));
        assert_eq!(c.tls.trust_pem.as_deref(), Some("ROOTS"));
        assert_eq!(c.tls.hostname.as_deref(), Some("example.test"));
        assert!(c.tls.trust_system);
        assert_eq!(&o.bytes(n::WSS_HOSTNAME).unwrap()[..], b"example.test");
        o.set_bytes(n::WSS_HOSTNAME, b"").unwrap();
        assert_eq!(o.wss_hostname, None);
        assert!(o.set_bytes(n::WSS_KEY_PEM, &[0xff]).is_err());
    }

    #[test]
    fn timeouts_and_hwms() {
        let mut o = Options::default();
        assert_eq!(o.send_timeout(), None);
        assert_eq!(o.recv_timeout(), None);
        assert_eq!(o.linger_duration(), None);
        assert_eq!(o.send_hwm(), 1000);
        o.set_int(n::SNDTIMEO, 0).unwrap();
        o.set_int(n::LINGER, 250).unwrap();
        o.set_int(n::RCVHWM, 0).unwrap();
        assert_eq!(o.send_timeout(), Some(Duration::ZERO));
        assert_eq!(o.linger_duration(), Some(Duration::from_millis(250)));
        assert_eq!(o.recv_hwm(), 0);
    }
}
