//! The PLAIN mechanism (RFC 24): HELLO, WELCOME, INITIATE, READY.
//!
//! ```text
//! C: HELLO    = 04 LL 05 "HELLO" <u8 user-len> user <u8 pass-len> pass
//! S: WELCOME  = 04 08 07 "WELCOME"                         | or ERROR
//! C: INITIATE = 04 LL 08 "INITIATE" <metadata>
//! S: READY    = 04 LL 05 "READY" <metadata>                | or ERROR
//! ```
//!
//! The server does not talk to a ZAP handler: the application decides through
//! [`Event::PlainHello`](crate::Event::PlainHello) and
//! [`Session::accept_plain`](crate::Session::accept_plain).

use bytes::Bytes;

use super::{Step, unexpected};
use crate::command::{self, Command};
use crate::transmit::Transmit;
use crate::{Metadata, ProtocolError};

/// PLAIN client state.
#[derive(Debug)]
pub(crate) struct Client {
    /// Credentials for HELLO.
    username: Bytes,
    /// Credentials for HELLO.
    password: Bytes,
    /// Where the client is.
    state: ClientState,
}

/// Steps of the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClientState {
    /// Greeting not complete yet.
    Idle,
    /// HELLO sent.
    AwaitWelcome,
    /// INITIATE sent.
    AwaitReady,
    /// READY received.
    Done,
}

impl Client {
    /// Before the greeting exchange.
    pub(crate) fn new(username: Bytes, password: Bytes) -> Self {
        Self {
            username,
            password,
            state: ClientState::Idle,
        }
    }

    /// Queues HELLO (RFC 24: "The client SHALL send a HELLO command").
    pub(crate) fn start(&mut self, tx: &mut Transmit) {
        tx.push_command(&Command::Hello {
            username: self.username.clone(),
            password: self.password.clone(),
        });
        self.state = ClientState::AwaitWelcome;
    }

    /// WELCOME -> send INITIATE; READY -> done.
    pub(crate) fn on_command(
        &mut self,
        name: Bytes,
        data: Bytes,
        ours: &Metadata,
        tx: &mut Transmit,
    ) -> Result<Step, ProtocolError> {
        match (self.state, name.as_ref()) {
            (ClientState::AwaitWelcome, command::WELCOME) => {
                Command::decode_parts(name, data)?;
                tx.push_command(&Command::Initiate(ours.clone()));
                self.state = ClientState::AwaitReady;
                Ok(Step::Continue)
            }
            (ClientState::AwaitReady, command::READY) => match Command::decode_parts(name, data)? {
                Command::Ready(metadata) => {
                    self.state = ClientState::Done;
                    Ok(Step::Done {
                        metadata,
                        user_id: None,
                    })
                }
                other => Err(unexpected(Bytes::copy_from_slice(other.name()))),
            },
            _ => Err(unexpected(name)),
        }
    }
}

/// PLAIN server state.
#[derive(Debug)]
pub(crate) struct Server {
    /// Where the server is.
    state: ServerState,
}

/// Steps of the server.
#[derive(Debug)]
enum ServerState {
    /// Waiting for HELLO.
    AwaitHello,
    /// HELLO received; the application has been asked.
    AwaitDecision {
        /// The user name, kept as the peer's user id.
        username: Bytes,
    },
    /// WELCOME sent.
    AwaitInitiate {
        /// The accepted user name.
        username: Bytes,
    },
    /// INITIATE received.
    Done,
    /// Credentials refused.
    Refused,
}

impl Server {
    /// Before the greeting exchange.
    pub(crate) fn new() -> Self {
        Self {
            state: ServerState::AwaitHello,
        }
    }

    /// HELLO -> ask the application; INITIATE -> done.
    pub(crate) fn on_command(&mut self, name: Bytes, data: Bytes) -> Result<Step, ProtocolError> {
        match (&self.state, name.as_ref()) {
            (ServerState::AwaitHello, command::HELLO) => match Command::decode_parts(name, data)? {
                Command::Hello { username, password } => {
                    self.state = ServerState::AwaitDecision {
                        username: username.clone(),
                    };
                    Ok(Step::AskApp { username, password })
                }
                other => Err(unexpected(Bytes::copy_from_slice(other.name()))),
            },
            (ServerState::AwaitInitiate { username }, command::INITIATE) => {
                let user_id = Some(username.clone());
                match Command::decode_parts(name, data)? {
                    Command::Initiate(metadata) => {
                        self.state = ServerState::Done;
                        Ok(Step::Done { metadata, user_id })
                    }
                    other => Err(unexpected(Bytes::copy_from_slice(other.name()))),
                }
            }
            // Includes anything sent while the application is still deciding: the client must
            // wait for WELCOME (RFC 24).
            _ => Err(unexpected(name)),
        }
    }

    /// Accept -> WELCOME; refuse -> ERROR "400" and fail.
    pub(crate) fn decide(
        &mut self,
        accept: bool,
        tx: &mut Transmit,
    ) -> Result<bool, ProtocolError> {
        let username = match &self.state {
            ServerState::AwaitDecision { username } => username.clone(),
            _ => return Ok(false),
        };
        if accept {
            tx.push_command(&Command::Welcome);
            self.state = ServerState::AwaitInitiate { username };
            Ok(true)
        } else {
            // libzmq's PLAIN server answers a ZAP status 400 with ERROR "400" (PROTOCOL.md §3.3).
            tx.push_command(&Command::Error {
                reason: Bytes::from_static(b"400"),
            });
            self.state = ServerState::Refused;
            Err(ProtocolError::AuthenticationFailed)
        }
    }

    /// Queues READY once the client's metadata has been accepted.
    pub(crate) fn finish(&mut self, ours: &Metadata, tx: &mut Transmit) {
        tx.push_command(&Command::Ready(ours.clone()));
    }
}
