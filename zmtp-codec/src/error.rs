//! Error types: what went wrong while decoding bytes, running a connection or sending.
//!
//! Errors are split by operation family and each variant says whose fault it is and whether it
//! is fatal, following STYLE.md §3. Every [`ProtocolError`] is connection-scoped: it closes one
//! [`Session`](crate::Session) and nothing else.

use bytes::Bytes;

use crate::{Framing, MechanismName, Message, SocketType};

/// Malformed bytes: a wire structure that cannot be decoded.
///
/// Always the peer's fault when it comes out of a [`Session`](crate::Session), and always fatal
/// for that connection (the session closes). "Need more bytes" is never a `DecodeError`; it is
/// [`Decode::Incomplete`](crate::Decode::Incomplete) or `Ok(None)`.
#[non_exhaustive]
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// The greeting does not start with a ZMTP 3.x signature (`0xFF`, 8 octets, an octet with
    /// bit 0 set): the peer speaks unversioned ZMTP 1.0, or not ZMTP at all.
    #[error("greeting signature is not ZMTP 3.x (legacy ZMTP 1.0 or not ZMTP)")]
    BadSignature,
    /// The greeting announces a legacy major version (0 = ZMTP 1.0 style, 1 = ZMTP 2.0).
    #[error("greeting announces legacy ZMTP major version {major}")]
    UnsupportedVersion {
        /// The major version octet received.
        major: u8,
    },
    /// A frame's flags octet has one of the reserved bits 3..7 set (RFC 23: they must be zero).
    #[error("frame flags {0:#04x} use reserved bits")]
    ReservedFlags(u8),
    /// A frame header claims a body larger than the configured limit.
    #[error("frame of {size} octets exceeds the limit of {limit} octets")]
    FrameTooLarge {
        /// The size claimed by the header.
        size: u64,
        /// The limit in force.
        limit: u64,
    },
    /// A command frame has the MORE flag set (RFC 23: commands are always single frames).
    #[error("command frame has the MORE flag set")]
    CommandWithMore,
    /// A command body is malformed; the text names the command or the defect.
    #[error("malformed command: {0}")]
    MalformedCommand(&'static str),
    /// A metadata block (READY or INITIATE body) is malformed: a property does not fit or octets
    /// are left over.
    #[error("malformed metadata")]
    MalformedMetadata,
    /// A ZWS 2.0 binary WebSocket message with an empty payload: not even the flag octet
    /// (libzmq rejects it too, PROTOCOL.md §6.4).
    #[error("empty ZWS message (no flag octet)")]
    EmptyWsMessage,
}

/// Why a connection ended.
///
/// Returned once by [`Session::handle_input`](crate::Session::handle_input) or
/// [`Session::handle_timeout`](crate::Session::handle_timeout) and queued as
/// [`Event::Closed`](crate::Event::Closed). Each variant says whose fault it is; only timeouts
/// are worth a reconnect ([`ProtocolError::is_reconnectable`]).
#[non_exhaustive]
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
pub enum ProtocolError {
    /// The peer sent bytes that cannot be decoded. Peer's fault; fatal.
    #[error("malformed input from peer: {0}")]
    Decode(#[from] DecodeError),
    /// The peer speaks legacy ZMTP 1.0 (`major` 0) or 2.0 (`major` 1), which this codec does not
    /// implement. Peer's fault (from our point of view); fatal, do not reconnect.
    #[error("peer speaks unsupported ZMTP major version {major}")]
    UnsupportedVersion {
        /// 0 for unversioned ZMTP 1.0, otherwise the major version octet received.
        major: u8,
    },
    /// The peer's greeting names a different security mechanism. Configuration mismatch; fatal,
    /// do not reconnect (libzmq treats it as a protocol error).
    #[error("mechanism mismatch: ours {ours:?}, theirs {theirs:?}")]
    MechanismMismatch {
        /// Our mechanism.
        ours: MechanismName,
        /// The peer's mechanism.
        theirs: MechanismName,
    },
    /// The peer asked for a mechanism this codec does not implement (CURVE, GSSAPI).
    /// Configuration mismatch; fatal.
    #[error("unsupported security mechanism {0:?}")]
    UnsupportedMechanism(MechanismName),
    /// The peer's `Socket-Type` may not talk to ours (PROTOCOL.md §5.1). Configuration
    /// mismatch; fatal, do not reconnect (libzmq does not retry either).
    #[error("socket type {theirs:?} is not compatible with {ours:?}")]
    IncompatibleSocketType {
        /// Our socket type.
        ours: SocketType,
        /// The peer's socket type.
        theirs: SocketType,
    },
    /// The peer sent a command that is not allowed at this point of the handshake (the payload
    /// is the command name). Peer's fault; fatal.
    #[error("unexpected command {0:?}")]
    UnexpectedCommand(Bytes),
    /// The peer sent a data frame before the handshake completed. Peer's fault; fatal.
    #[error("data frame received before the handshake completed")]
    UnexpectedData,
    /// A message (all frames together) or a command exceeds `max_message_size`, judged from the
    /// frame headers before any body is buffered. Peer's fault; fatal.
    #[error("message exceeds the limit of {limit} octets")]
    MessageTooLarge {
        /// The limit in force.
        limit: u64,
    },
    /// The peer sent an ERROR command. Peer's decision; fatal, and RFC 23 forbids reconnecting
    /// with the same credentials.
    #[error("peer sent ERROR {reason:?}")]
    PeerError {
        /// The reason text the peer gave (for example `400`).
        reason: Bytes,
    },
    /// Our PLAIN server refused the client's credentials (an ERROR was sent). Fatal.
    #[error("PLAIN authentication failed")]
    AuthenticationFailed,
    /// The greeting and security handshake did not finish within `handshake_timeout`.
    /// Reconnectable.
    #[error("handshake timed out")]
    HandshakeTimeout,
    /// No traffic arrived within the heartbeat timeout after our PING, or within the TTL the
    /// peer announced in its PING. Reconnectable.
    #[error("heartbeat timed out")]
    HeartbeatTimeout,
    /// The session was closed locally with [`Session::close`](crate::Session::close).
    #[error("session closed locally")]
    Closed,
    /// The caller used the input method of the other framing mode:
    /// [`Session::handle_input`](crate::Session::handle_input) on a WebSocket session or
    /// [`Session::handle_ws_message`](crate::Session::handle_ws_message) on a byte-stream one.
    /// Caller's bug, not the peer's: nothing is consumed and, unlike every other variant, the
    /// session is left as it was (not closed, no [`Event::Closed`](crate::Event::Closed)).
    #[error("input for the wrong framing mode (session uses {configured:?})")]
    FramingMismatch {
        /// The framing the session was configured with.
        configured: Framing,
    },
}

impl ProtocolError {
    /// Whether a connecting side should reconnect after this error.
    ///
    /// True only for the two timeouts, as in libzmq: every other error is a protocol or
    /// configuration error that a reconnect would repeat. (Transport-level EOFs are reported by
    /// the transport itself.)
    pub fn is_reconnectable(&self) -> bool {
        matches!(self, Self::HandshakeTimeout | Self::HeartbeatTimeout)
    }
}

/// Why [`Session::send`](crate::Session::send) refused a message. The message is handed back
/// untouched in every variant, so the caller never loses it.
#[non_exhaustive]
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// The handshake has not completed yet; keep the message and retry after
    /// [`Event::HandshakeDone`](crate::Event::HandshakeDone). Caller's timing; not fatal.
    #[error("handshake not complete")]
    NotReady(Message),
    /// The session is closed; the message was not queued. Fatal for this session.
    #[error("session closed")]
    Closed(Message),
}

impl SendError {
    /// Takes back the message that could not be sent.
    pub fn into_message(self) -> Message {
        match self {
            Self::NotReady(msg) | Self::Closed(msg) => msg,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_timeouts_are_reconnectable() {
        assert!(ProtocolError::HandshakeTimeout.is_reconnectable());
        assert!(ProtocolError::HeartbeatTimeout.is_reconnectable());
        assert!(!ProtocolError::Closed.is_reconnectable());
        assert!(!ProtocolError::AuthenticationFailed.is_reconnectable());
        assert!(!ProtocolError::Decode(DecodeError::BadSignature).is_reconnectable());
        assert!(!ProtocolError::MessageTooLarge { limit: 1 }.is_reconnectable());
        assert!(
            !ProtocolError::FramingMismatch {
                configured: Framing::Stream
            }
            .is_reconnectable()
        );
    }

    #[test]
    fn send_error_returns_the_message() {
        let msg = Message::new(&b"keep me"[..]);
        assert_eq!(SendError::NotReady(msg.clone()).into_message(), msg);
        assert_eq!(SendError::Closed(msg.clone()).into_message(), msg);
    }

    #[test]
    fn decode_errors_convert() {
        let err: ProtocolError = DecodeError::ReservedFlags(0x08).into();
        assert_eq!(err, ProtocolError::Decode(DecodeError::ReservedFlags(0x08)));
        assert_eq!(
            err.to_string(),
            "malformed input from peer: frame flags 0x08 use reserved bits"
        );
    }
}
