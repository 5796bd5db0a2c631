//! The NULL mechanism (RFC 23): both sides send READY right after the greeting.

use bytes::Bytes;

use super::{Step, unexpected};
use crate::command::{self, Command};
use crate::transmit::Transmit;
use crate::{Metadata, ProtocolError};

/// NULL handshake state.
#[derive(Debug)]
pub(crate) struct Null {
    /// Whether the peer's READY arrived.
    done: bool,
}

impl Null {
    /// Before the greeting exchange.
    pub(crate) fn new() -> Self {
        Self { done: false }
    }

    /// Queues our READY. libzmq sends it as soon as the greeting exchange is complete, without
    /// waiting for the peer's (PROTOCOL.md §3.2, §15.6), so we do too.
    pub(crate) fn start(&mut self, ours: &Metadata, tx: &mut Transmit) {
        tx.push_command(&Command::Ready(ours.clone()));
    }

    /// Expects exactly one READY.
    pub(crate) fn on_command(&mut self, name: Bytes, data: Bytes) -> Result<Step, ProtocolError> {
        // libzmq `null_mechanism_t::process_handshake_command`: anything but READY/ERROR, or a
        // second READY, is ZMQ_PROTOCOL_ERROR_ZMTP_UNEXPECTED_COMMAND.
        if self.done || name.as_ref() != command::READY {
            return Err(unexpected(name));
        }
        match Command::decode_parts(name, data)? {
            Command::Ready(metadata) => {
                self.done = true;
                Ok(Step::Done {
                    metadata,
                    user_id: None,
                })
            }
            other => Err(unexpected(Bytes::copy_from_slice(other.name()))),
        }
    }
}
