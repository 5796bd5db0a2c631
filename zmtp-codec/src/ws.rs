//! ZWS 2.0 (RFC 45) as libzmq 4.3.5 speaks it: sub-protocol negotiation and the units a
//! [`Session`](crate::Session) in [`Framing::WebSocket`](crate::Framing::WebSocket) mode
//! exchanges with its transport.
//!
//! The transport does the HTTP upgrade and the WebSocket framing (masking, control frames); the
//! codec owns everything ZeroMQ-specific (PROTOCOL.md §6):
//!
//! * the `Sec-WebSocket-Protocol` values: [`offer`] (client), [`select`] (server) and
//!   [`accept_response`] (client, checking the server's choice);
//! * one ZMTP frame per binary WebSocket message, whose payload is one flag octet
//!   ([`FLAG_MORE`], [`FLAG_COMMAND`]) followed by the frame body, with no length field:
//!   [`Session::handle_ws_message`](crate::Session::handle_ws_message) in,
//!   [`Session::poll_ws_transmit`](crate::Session::poll_ws_transmit) out;
//! * heartbeats as empty WebSocket pings ([`WsTransmit::Ping`]) instead of ZMTP PING commands.
//!
//! ```text
//!  one binary WebSocket message (payload):
//! +------+------------------------------+
//! | flag | frame body (any length)      |     flag: 0x00 final, 0x01 MORE, 0x02 COMMAND
//! +------+------------------------------+
//! ```

use bytes::Bytes;

use crate::{Mechanism, MechanismName};

/// Payload flag bit: another frame of the same message follows.
pub const FLAG_MORE: u8 = 0x01;
/// Payload flag bit: the body is a command. Note 0x02, whereas the ZMTP command bit is 0x04.
pub const FLAG_COMMAND: u8 = 0x02;

/// The ZWS 2.0 sub-protocol a WebSocket connection runs, as negotiated in
/// `Sec-WebSocket-Protocol` (PROTOCOL.md §6.3).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WsProtocol {
    /// `ZWS2.0/NULL`: the NULL mechanism (READY commands), with the socket-type check.
    Zws20Null,
    /// `ZWS2.0/PLAIN`: the PLAIN mechanism (HELLO, WELCOME, INITIATE, READY).
    Zws20Plain,
    /// `ZWS2.0`: no mechanism. Each side first sends its routing id as a plain final message;
    /// the received one is discarded and the socket type is not checked.
    Zws20Bare,
}

impl WsProtocol {
    /// The sub-protocol token as it appears in `Sec-WebSocket-Protocol`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Zws20Null => ZWS20_NULL,
            Self::Zws20Plain => ZWS20_PLAIN,
            Self::Zws20Bare => ZWS20,
        }
    }

    /// The sub-protocol named exactly `token` (case-sensitive, like libzmq), if it is one this
    /// codec implements.
    pub fn parse(token: &str) -> Option<Self> {
        match token {
            ZWS20_NULL => Some(Self::Zws20Null),
            ZWS20_PLAIN => Some(Self::Zws20Plain),
            ZWS20 => Some(Self::Zws20Bare),
            _ => None,
        }
    }

    /// The mechanism this sub-protocol runs: NULL for `ZWS2.0/NULL` and for bare `ZWS2.0`
    /// (which only a NULL socket accepts), PLAIN for `ZWS2.0/PLAIN`.
    pub fn mechanism_name(self) -> MechanismName {
        match self {
            Self::Zws20Null | Self::Zws20Bare => MechanismName::NULL,
            Self::Zws20Plain => MechanismName::PLAIN,
        }
    }

    /// Whether a socket configured with `mechanism` may run this sub-protocol.
    pub fn fits(self, mechanism: &Mechanism) -> bool {
        self.mechanism_name() == mechanism.name()
    }
}

impl std::fmt::Display for WsProtocol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One unit for the WebSocket transport, from
/// [`Session::poll_ws_transmit`](crate::Session::poll_ws_transmit).
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WsTransmit {
    /// Send one unfragmented binary WebSocket message with this payload (flag octet + body).
    Binary(Bytes),
    /// Send a WebSocket ping with an empty payload: the heartbeat form libzmq uses over ws
    /// instead of a ZMTP PING command (PROTOCOL.md §6.6).
    Ping,
}

/// The `Sec-WebSocket-Protocol` value a client with `mechanism` offers, exactly as libzmq
/// sends it: NULL -> `ZWS2.0/NULL,ZWS2.0`, PLAIN (either role) -> `ZWS2.0/PLAIN`.
pub fn offer(mechanism: &Mechanism) -> &'static str {
    match mechanism {
        Mechanism::Null => "ZWS2.0/NULL,ZWS2.0",
        Mechanism::PlainClient { .. } | Mechanism::PlainServer => ZWS20_PLAIN,
    }
}

/// Server side: picks the sub-protocol from the client's `Sec-WebSocket-Protocol` value.
///
/// Walks the comma-separated list in the client's order, removes one leading space from each
/// entry (nothing else is trimmed, as in libzmq) and takes the first entry our mechanism
/// accepts: NULL accepts `ZWS2.0/NULL` or bare `ZWS2.0`, PLAIN (either role) `ZWS2.0/PLAIN`.
/// Names are compared case-sensitively. `None` means libzmq would close the connection without
/// an HTTP reply.
///
/// Since libzmq clients list `ZWS2.0/NULL` first, a libzmq NULL client always ends up on
/// `ZWS2.0/NULL`, never on bare `ZWS2.0` (on which a libzmq peer with heartbeats aborts,
/// PROTOCOL.md §6.6).
pub fn select(mechanism: &Mechanism, offered: &str) -> Option<WsProtocol> {
    offered
        .split(',')
        .map(|entry| entry.strip_prefix(' ').unwrap_or(entry))
        .filter_map(WsProtocol::parse)
        .find(|protocol| protocol.fits(mechanism))
}

/// Client side: whether the server's chosen `Sec-WebSocket-Protocol` value is one our
/// mechanism can run, and which.
///
/// The value must be a single sub-protocol (surrounding HTTP whitespace is ignored): NULL
/// accepts `ZWS2.0/NULL` or `ZWS2.0`, PLAIN `ZWS2.0/PLAIN`.
pub fn accept_response(mechanism: &Mechanism, chosen: &str) -> Option<WsProtocol> {
    WsProtocol::parse(chosen.trim_matches([' ', '\t'])).filter(|protocol| protocol.fits(mechanism))
}

/// `ZWS2.0/NULL`.
const ZWS20_NULL: &str = "ZWS2.0/NULL";
/// `ZWS2.0/PLAIN`.
const ZWS20_PLAIN: &str = "ZWS2.0/PLAIN";
/// Bare `ZWS2.0`.
const ZWS20: &str = "ZWS2.0";

#[cfg(test)]
mod tests {
    use super::*;

    fn plain_client() -> Mechanism {
        Mechanism::PlainClient {
            username: Bytes::from_static(b"u"),
            password: Bytes::from_static(b"p"),
        }
    }

    #[test]
    fn tokens_round_trip() {
        for p in [
            WsProtocol::Zws20Null,
            WsProtocol::Zws20Plain,
            WsProtocol::Zws20Bare,
        ] {
            assert_eq!(WsProtocol::parse(p.as_str()), Some(p));
            assert_eq!(p.to_string(), p.as_str());
        }
        assert_eq!(WsProtocol::parse("zws2.0/null"), None);
        assert_eq!(WsProtocol::parse("ZWS2.0/CURVE"), None);
        assert_eq!(WsProtocol::parse(""), None);
    }

    #[test]
    fn fits_mechanisms() {
        assert!(WsProtocol::Zws20Null.fits(&Mechanism::Null));
        assert!(WsProtocol::Zws20Bare.fits(&Mechanism::Null));
        assert!(!WsProtocol::Zws20Plain.fits(&Mechanism::Null));
        assert!(WsProtocol::Zws20Plain.fits(&Mechanism::PlainServer));
        assert!(WsProtocol::Zws20Plain.fits(&plain_client()));
        assert!(!WsProtocol::Zws20Bare.fits(&Mechanism::PlainServer));
    }

    #[test]
    fn select_skips_only_one_space() {
        assert_eq!(select(&Mechanism::Null, "  ZWS2.0/NULL"), None);
        assert_eq!(select(&Mechanism::Null, "ZWS2.0/NULL "), None);
        // libzmq's strtok skips empty entries; they never match here either.
        assert_eq!(
            select(&Mechanism::Null, ",,ZWS2.0/NULL"),
            Some(WsProtocol::Zws20Null)
        );
        assert_eq!(
            select(&plain_client(), "ZWS2.0/PLAIN"),
            Some(WsProtocol::Zws20Plain)
        );
    }
}
