//! Security mechanisms: the name carried in the greeting, the configured role, and the
//! handshake state machines that run between the greeting and the first message.
//!
//! Only NULL (RFC 23) and PLAIN (RFC 24) are implemented. CURVE and GSSAPI are recognised by
//! name and refused with [`ProtocolError::UnsupportedMechanism`].

mod null;
mod plain;

use bytes::Bytes;

use crate::command::{self, Command};
use crate::transmit::Transmit;
use crate::{Metadata, ProtocolError};

/// A security mechanism name as carried in the greeting (an open set).
///
/// On the wire the name is NUL-padded to 20 octets; this type holds it without the padding.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct MechanismName(Bytes);

impl MechanismName {
    /// `NULL` (RFC 23): no security.
    pub const NULL: Self = Self(Bytes::from_static(b"NULL"));
    /// `PLAIN` (RFC 24): clear-text user name and password.
    pub const PLAIN: Self = Self(Bytes::from_static(b"PLAIN"));
    /// `CURVE` (RFC 25/26): not implemented by this codec.
    pub const CURVE: Self = Self(Bytes::from_static(b"CURVE"));
    /// `GSSAPI` (RFC 38): not implemented by this codec.
    pub const GSSAPI: Self = Self(Bytes::from_static(b"GSSAPI"));

    /// Wraps a mechanism name (without NUL padding).
    pub fn new(name: impl Into<Bytes>) -> Self {
        Self(name.into())
    }

    /// The name without NUL padding.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Whether this codec implements the mechanism (NULL or PLAIN).
    pub fn is_supported(&self) -> bool {
        *self == Self::NULL || *self == Self::PLAIN
    }
}

/// Which mechanism, in which role, this side runs.
///
/// The role comes only from local configuration, as in libzmq: the greeting's as-server flag
/// is neither sent nor read (PROTOCOL.md §15.1).
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mechanism {
    /// NULL: no authentication; both sides send READY right after the greeting.
    Null,
    /// PLAIN client: sends HELLO with these credentials.
    PlainClient {
        /// User name (at most 255 octets are sent).
        username: Bytes,
        /// Password (at most 255 octets are sent).
        password: Bytes,
    },
    /// PLAIN server: receives HELLO and lets the application decide
    /// ([`Event::PlainHello`](crate::Event::PlainHello), then
    /// [`Session::accept_plain`](crate::Session::accept_plain)).
    PlainServer,
}

impl Mechanism {
    /// The name announced in the greeting.
    pub fn name(&self) -> MechanismName {
        match self {
            Self::Null => MechanismName::NULL,
            Self::PlainClient { .. } | Self::PlainServer => MechanismName::PLAIN,
        }
    }
}

/// What a handshake step asks of the session.
#[derive(Debug)]
pub(crate) enum Step {
    /// Keep reading commands.
    Continue,
    /// PLAIN server: ask the application about these credentials.
    AskApp {
        /// User name from HELLO.
        username: Bytes,
        /// Password from HELLO.
        password: Bytes,
    },
    /// The peer's side of the handshake is complete; the session checks the metadata and
    /// then calls [`Handshake::finish`].
    Done {
        /// The peer's metadata (READY or INITIATE).
        metadata: Metadata,
        /// The authenticated user (PLAIN server), if any.
        user_id: Option<Bytes>,
    },
}

/// The running handshake of one session.
#[derive(Debug)]
pub(crate) enum Handshake {
    /// NULL, both roles.
    Null(null::Null),
    /// PLAIN client role.
    PlainClient(plain::Client),
    /// PLAIN server role.
    PlainServer(plain::Server),
}

impl Handshake {
    /// The state machine for `mechanism`, before anything was sent.
    pub(crate) fn new(mechanism: &Mechanism) -> Self {
        match mechanism {
            Mechanism::Null => Self::Null(null::Null::new()),
            Mechanism::PlainClient { username, password } => {
                Self::PlainClient(plain::Client::new(username.clone(), password.clone()))
            }
            Mechanism::PlainServer => Self::PlainServer(plain::Server::new()),
        }
    }

    /// Called once the greeting exchange is complete: queues the first command, if this role
    /// speaks first.
    pub(crate) fn start(&mut self, ours: &Metadata, tx: &mut Transmit) {
        match self {
            Self::Null(m) => m.start(ours, tx),
            Self::PlainClient(m) => m.start(tx),
            Self::PlainServer(_) => {}
        }
    }

    /// Handles one command frame body received during the handshake.
    ///
    /// # Errors
    ///
    /// [`ProtocolError::PeerError`] for an ERROR, [`ProtocolError::UnexpectedCommand`] for a
    /// command not allowed now, [`ProtocolError::Decode`] for a malformed one.
    pub(crate) fn on_command(
        &mut self,
        body: &Bytes,
        ours: &Metadata,
        tx: &mut Transmit,
    ) -> Result<Step, ProtocolError> {
        let (name, data) = command::split_name(body)?;
        // RFC 23: "The peer SHALL treat an incoming ERROR command as fatal, and act by closing
        // the connection"; it may come at any point of the handshake.
        if name.as_ref() == command::ERROR {
            return match Command::decode_parts(name, data)? {
                Command::Error { reason } => Err(ProtocolError::PeerError { reason }),
                _ => Err(ProtocolError::UnexpectedCommand(Bytes::from_static(
                    command::ERROR,
                ))),
            };
        }
        match self {
            Self::Null(m) => m.on_command(name, data),
            Self::PlainClient(m) => m.on_command(name, data, ours, tx),
            Self::PlainServer(m) => m.on_command(name, data),
        }
    }

    /// Applies the application's PLAIN decision. Does nothing unless a PLAIN server is waiting
    /// for one; returns whether it was applied.
    ///
    /// # Errors
    ///
    /// [`ProtocolError::AuthenticationFailed`] when refusing (an ERROR "400" is queued first).
    pub(crate) fn decide(
        &mut self,
        accept: bool,
        tx: &mut Transmit,
    ) -> Result<bool, ProtocolError> {
        match self {
            Self::PlainServer(m) => m.decide(accept, tx),
            Self::Null(_) | Self::PlainClient(_) => Ok(false),
        }
    }

    /// Called after the peer's metadata passed the session's checks: queues what this role
    /// sends last (the PLAIN server's READY).
    pub(crate) fn finish(&mut self, ours: &Metadata, tx: &mut Transmit) {
        match self {
            Self::PlainServer(m) => m.finish(ours, tx),
            Self::Null(_) | Self::PlainClient(_) => {}
        }
    }
}

/// The error for a command that is not allowed at this point.
pub(crate) fn unexpected(name: Bytes) -> ProtocolError {
    ProtocolError::UnexpectedCommand(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(Mechanism::Null.name(), MechanismName::NULL);
        assert_eq!(Mechanism::PlainServer.name(), MechanismName::PLAIN);
        assert_eq!(
            Mechanism::PlainClient {
                username: Bytes::new(),
                password: Bytes::new()
            }
            .name(),
            MechanismName::PLAIN
        );
        assert!(MechanismName::NULL.is_supported());
        assert!(MechanismName::PLAIN.is_supported());
        assert!(!MechanismName::CURVE.is_supported());
        assert!(!MechanismName::GSSAPI.is_supported());
        assert_eq!(MechanismName::new(&b"NULL"[..]), MechanismName::NULL);
        assert_eq!(MechanismName::CURVE.as_bytes(), b"CURVE");
    }

    #[test]
    fn error_during_handshake_is_peer_error() {
        let mut hs = Handshake::new(&Mechanism::Null);
        let mut tx = Transmit::new(8192);
        let md = Metadata::new();
        hs.start(&md, &mut tx);
        let err = hs
            .on_command(&Bytes::from_static(b"\x05ERROR\x03400"), &md, &mut tx)
            .unwrap_err();
        assert_eq!(
            err,
            ProtocolError::PeerError {
                reason: Bytes::from_static(b"400")
            }
        );
    }
}
