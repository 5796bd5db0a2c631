//! The outgoing queue.
//!
//! Byte-stream framing: small frames batched into one buffer, large bodies as their own chunks so
//! the transport can hand them to `write_vectored` without copying. WebSocket framing (ZWS 2.0):
//! one [`WsTransmit`] per WebSocket message, payloads carved out of the same batch buffer so that
//! small messages share allocations.

use std::collections::VecDeque;

use bytes::{BufMut, Bytes, BytesMut};

use crate::command::Command;
use crate::frame::{FrameHeader, body_size};
use crate::greeting::Greeting;
use crate::ws::{self, WsTransmit};

/// Queue of encoded output, in wire order: every chunk in `chunks` precedes `batch`.
#[derive(Debug)]
pub(crate) struct Transmit {
    /// Finished chunks (flushed batches and large bodies).
    chunks: VecDeque<Bytes>,
    /// The batch being filled with small frames (in WebSocket mode: scratch space from which
    /// each payload is split off at once).
    batch: BytesMut,
    /// WebSocket mode: whole messages for the transport, in order.
    messages: VecDeque<WsTransmit>,
    /// Whether frames are queued as WebSocket messages instead of stream bytes.
    websocket: bool,
    /// Total octets queued (chunks + batch, or WebSocket payloads).
    len: usize,
    /// Bodies at least this long are queued as their own chunk.
    max_batch: usize,
}

impl Transmit {
    /// An empty byte-stream queue; bodies of `max_batch` octets or more are not copied.
    pub(crate) fn new(max_batch: usize) -> Self {
        Self {
            chunks: VecDeque::new(),
            batch: BytesMut::new(),
            messages: VecDeque::new(),
            websocket: false,
            len: 0,
            max_batch,
        }
    }

    /// An empty WebSocket (ZWS 2.0) queue.
    pub(crate) fn new_websocket() -> Self {
        Self {
            websocket: true,
            ..Self::new(0)
        }
    }

    /// Queues a greeting.
    pub(crate) fn push_greeting(&mut self, greeting: &Greeting) {
        self.reserve(crate::greeting::GREETING_LEN);
        let before = self.batch.len();
        greeting.encode(&mut self.batch);
        self.len += self.batch.len() - before;
    }

    /// Queues a command frame.
    pub(crate) fn push_command(&mut self, command: &Command) {
        if self.websocket {
            self.reserve(1 + command.encoded_len());
            self.batch.put_u8(ws::FLAG_COMMAND);
            command.encode(&mut self.batch);
            self.push_ws_payload();
            return;
        }
        self.reserve(crate::frame::MAX_HEADER_LEN + command.encoded_len());
        let before = self.batch.len();
        command.encode_frame(&mut self.batch);
        self.len += self.batch.len() - before;
    }

    /// Queues one data frame; a large body is queued as its own chunk (zero-copy).
    pub(crate) fn push_data(&mut self, more: bool, body: &Bytes) {
        if self.websocket {
            // The flag octet and the body must form one contiguous payload: the body is copied.
            self.reserve(1 + body.len());
            self.batch.put_u8(if more { ws::FLAG_MORE } else { 0 });
            self.batch.put_slice(body);
            self.push_ws_payload();
            return;
        }
        let header = FrameHeader::new(more, false, body_size(body));
        // An empty body never becomes a chunk of its own (a zero-length write helps nobody).
        if !body.is_empty() && body.len() >= self.max_batch {
            self.reserve(header.len());
            header.encode(&mut self.batch);
            let head = self.batch.split().freeze();
            self.chunks.push_back(head);
            self.chunks.push_back(body.clone());
        } else {
            self.reserve(header.len() + body.len());
            header.encode(&mut self.batch);
            self.batch.put_slice(body);
        }
        self.len += header.len() + body.len();
    }

    /// WebSocket mode: queues an empty ping (the heartbeat). Ignored in byte-stream mode.
    pub(crate) fn push_ws_ping(&mut self) {
        if self.websocket {
            self.messages.push_back(WsTransmit::Ping);
        }
    }

    /// Turns everything in the batch into one binary WebSocket message.
    fn push_ws_payload(&mut self) {
        let payload = self.batch.split().freeze();
        self.len += payload.len();
        self.messages.push_back(WsTransmit::Binary(payload));
    }

    /// Takes the next WebSocket message (`None` in byte-stream mode).
    pub(crate) fn poll_ws(&mut self) -> Option<WsTransmit> {
        let message = self.messages.pop_front()?;
        if let WsTransmit::Binary(payload) = &message {
            self.len -= payload.len();
        }
        Some(message)
    }

    /// Whether nothing at all is queued (a ping has no octets but is still pending).
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0 && self.messages.is_empty()
    }

    /// Takes the next chunk for the wire (`None` in WebSocket mode).
    pub(crate) fn poll(&mut self) -> Option<Bytes> {
        if self.websocket {
            return None;
        }
        let chunk = match self.chunks.pop_front() {
            Some(chunk) => chunk,
            None if self.batch.is_empty() => return None,
            None => self.batch.split().freeze(),
        };
        self.len -= chunk.len();
        Some(chunk)
    }

    /// Octets queued.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Makes room for `additional` octets, growing in steps of at least [`BATCH_CAPACITY`] so
    /// that small frames do not allocate one by one. Once the chunks handed out earlier are
    /// dropped, `BytesMut::reserve` reuses their memory.
    fn reserve(&mut self, additional: usize) {
        if self.batch.capacity() - self.batch.len() < additional {
            self.batch.reserve(additional.max(BATCH_CAPACITY));
        }
    }
}

/// Minimum growth step of the batch buffer.
const BATCH_CAPACITY: usize = 16 * 1024;

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(tx: &mut Transmit) -> Vec<Bytes> {
        std::iter::from_fn(|| tx.poll()).collect()
    }

    #[test]
    fn small_frames_share_one_chunk() {
        let mut tx = Transmit::new(8192);
        tx.push_data(true, &Bytes::from_static(b"A"));
        tx.push_data(false, &Bytes::from_static(b"B"));
        assert_eq!(tx.len(), 6);
        let chunks = drain(&mut tx);
        assert_eq!(
            chunks,
            vec![Bytes::from_static(&[0x01, 0x01, 0x41, 0x00, 0x01, 0x42])]
        );
        assert_eq!(tx.len(), 0);
        assert_eq!(tx.poll(), None);
    }

    #[test]
    fn large_bodies_are_not_copied() {
        let mut tx = Transmit::new(16);
        let big = Bytes::from(vec![9_u8; 16]);
        tx.push_data(false, &Bytes::from_static(b"x"));
        tx.push_data(false, &big);
        tx.push_data(false, &Bytes::from_static(b"y"));
        assert_eq!(tx.len(), 3 + 2 + 16 + 3);
        let chunks = drain(&mut tx);
        assert_eq!(chunks.len(), 3);
        assert_eq!(&chunks[0][..], &[0x00, 0x01, b'x', 0x00, 0x10]);
        assert_eq!(chunks[1].as_ptr(), big.as_ptr());
        assert_eq!(&chunks[2][..], &[0x00, 0x01, b'y']);
        assert_eq!(tx.len(), 0);
    }

    #[test]
    fn empty_bodies_stay_in_the_batch_even_with_max_batch_zero() {
        let mut tx = Transmit::new(0);
        tx.push_data(false, &Bytes::new());
        tx.push_data(false, &Bytes::from_static(b"z"));
        let chunks = drain(&mut tx);
        assert_eq!(chunks.len(), 2);
        assert_eq!(&chunks[0][..], &[0x00, 0x00, 0x00, 0x01]);
        assert_eq!(&chunks[1][..], b"z");
    }

    #[test]
    fn websocket_mode_queues_one_payload_per_frame() {
        let mut tx = Transmit::new_websocket();
        assert!(tx.is_empty());
        tx.push_data(true, &Bytes::from_static(b"A"));
        tx.push_data(false, &Bytes::new());
        tx.push_command(&Command::Pong {
            context: Bytes::new(),
        });
        tx.push_ws_ping();
        tx.push_data(false, &Bytes::from(vec![7_u8; 20_000]));
        assert_eq!(tx.len(), 2 + 1 + 6 + 20_001);
        assert!(!tx.is_empty());
        assert_eq!(tx.poll(), None);
        let msgs: Vec<WsTransmit> = std::iter::from_fn(|| tx.poll_ws()).collect();
        let mut big = vec![0_u8];
        big.extend_from_slice(&[7; 20_000]);
        assert_eq!(
            msgs,
            [
                WsTransmit::Binary(Bytes::from_static(&[0x01, b'A'])),
                WsTransmit::Binary(Bytes::from_static(&[0x00])),
                WsTransmit::Binary(Bytes::from_static(b"\x02\x04PONG")),
                WsTransmit::Ping,
                WsTransmit::Binary(Bytes::from(big)),
            ]
        );
        assert!(tx.is_empty());
        assert_eq!(tx.len(), 0);
    }

    #[test]
    fn stream_mode_ignores_pings_and_has_no_ws_output() {
        let mut tx = Transmit::new(8192);
        tx.push_ws_ping();
        tx.push_data(false, &Bytes::from_static(b"x"));
        assert_eq!(tx.poll_ws(), None);
        assert_eq!(tx.poll(), Some(Bytes::from_static(&[0x00, 0x01, b'x'])));
        assert!(tx.is_empty());
    }
}
