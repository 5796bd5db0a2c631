//! Transport-layer fuzz target bodies: endpoint strings and the ZWS 2.0 (WebSocket) framing path.
//!
//! `transport_endpoint` feeds arbitrary strings to `zmq_transport::Endpoint`'s parsers and checks
//! that whatever parses prints to a string that parses back to the same endpoint, with the scheme
//! `Scheme::of` reports. `transport_ws_framing` runs arbitrary client bytes through tungstenite's
//! protocol engine (server role, as `zmq-transport` configures it) into a ZWS 2.0 `Session`, and
//! checks a structured round trip: messages encoded by one ws session, framed and masked by a
//! tungstenite client, chunked, and decoded by a tungstenite server and a second session, arrive
//! exactly as sent.

use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

use arbitrary::{Arbitrary, Unstructured};
use bytes::{Buf, Bytes, BytesMut};
use tungstenite::protocol::{Message as WsMessage, Role as WsRole, WebSocket, WebSocketConfig};
use zmq_transport::{Endpoint, EndpointError, Scheme};
use zmtp_codec::command::Command;
use zmtp_codec::ws::{FLAG_COMMAND, FLAG_MORE, WsProtocol, WsTransmit};
use zmtp_codec::{Config, Event, Framing, Message, ProtocolError, Session, SocketType};

/// Endpoint parsing: never panics; a parsed endpoint prints to a string that parses (the same
/// way) to an equal endpoint and prints identically again; the scheme agrees with
/// `Scheme::of`, and a string `Scheme::of` refuses is refused by both parsers with that error.
///
/// The input is taken as UTF-8 (invalid sequences replaced), since endpoints are `&str`.
pub fn transport_endpoint(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let scheme = Scheme::of(&text);
    let parsers: [(&str, Parser); 2] = [
        ("bind", Endpoint::parse_bind),
        ("connect", Endpoint::parse_connect),
    ];
    for (side, parse) in parsers {
        match parse(&text) {
            Ok(endpoint) => {
                assert_eq!(
                    scheme.as_ref().ok(),
                    Some(&endpoint.scheme()),
                    "{side} {text:?}: scheme"
                );
                let printed = endpoint.to_string();
                assert_eq!(
                    Scheme::of(&printed),
                    Ok(endpoint.scheme()),
                    "{side} {text:?} printed as {printed:?}"
                );
                let again = parse(&printed);
                assert_eq!(
                    again.as_ref(),
                    Ok(&endpoint),
                    "{side} {text:?} printed as {printed:?}"
                );
                if let Ok(again) = again {
                    assert_eq!(
                        again.to_string(),
                        printed,
                        "{side} {text:?}: unstable print"
                    );
                }
            }
            Err(err) => {
                assert!(!err.to_string().is_empty());
                if let Err(scheme_err) = &scheme {
                    assert_eq!(&err, scheme_err, "{side} {text:?}: split error differs");
                }
            }
        }
    }
}

/// `Endpoint::parse_bind` or `Endpoint::parse_connect`.
type Parser = fn(&str) -> Result<Endpoint, EndpointError>;

/// ZWS 2.0 framing: arbitrary client bytes through tungstenite's server engine into a
/// WebSocket-mode session, then a structured round trip through a client/server pair.
///
/// Raw half, input layout (mirrored by `xtask/src/seeds.rs`): octet 0 holds option bits
/// (bits 0-1 max message size: 65536, 0, 64 or 1024 octets; bit 2 the server accepts unmasked
/// frames; bit 3 heartbeats; bit 4 drop multipart; bit 5 bare `ZWS2.0` instead of
/// `ZWS2.0/NULL`); octet 1 is the read size (0 reads all at once); the rest is the byte stream
/// the client sends after the HTTP upgrade. Checks: no panic, tungstenite never yields a binary
/// payload over the limit plus the flag octet, the session never delivers a message over the
/// limit, every error is typed and closes the session with `Event::Closed`, and everything the
/// server writes back is well-formed ZWS (unmasked binary messages with a valid flag octet and
/// decodable commands, or control frames).
///
/// Structured half: the same input, read by `arbitrary`, as messages both ways over a handshaken
/// `ZWS2.0/NULL` pair, under any chunking of the two byte streams; both sides receive exactly
/// what the other sent.
pub fn transport_ws_framing(data: &[u8]) {
    let _ = run_ws_raw(data);
    if let Ok(case) = WsPairCase::arbitrary_take_rest(Unstructured::new(data)) {
        ws_pair(&case);
    }
}

/// How much the ws target advances the clock per WebSocket read.
const WS_STEP: Duration = Duration::from_millis(250);

/// An in-memory byte stream: reads take from `input` (at most `chunk` octets per call when
/// `chunk > 0`, `WouldBlock` once it is empty); writes append to `output`.
#[derive(Debug, Default)]
struct Wire {
    input: BytesMut,
    chunk: usize,
    output: Vec<u8>,
}

impl Read for Wire {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.input.is_empty() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let mut n = buf.len().min(self.input.len());
        if self.chunk > 0 {
            n = n.min(self.chunk);
        }
        buf[..n].copy_from_slice(&self.input[..n]);
        self.input.advance(n);
        Ok(n)
    }
}

impl Write for Wire {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.output.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Options decoded from the first two input octets of the raw ws half.
#[derive(Clone, Copy, Debug)]
struct WsOptions {
    limit: u64,
    accept_unmasked: bool,
    heartbeat: bool,
    drop_multipart: bool,
    bare: bool,
    chunk: usize,
}

impl WsOptions {
    fn parse(flags: u8, chunk: u8) -> Self {
        Self {
            limit: match flags & 0b11 {
                0 => 65_536,
                1 => 0,
                2 => 64,
                _ => 1024,
            },
            accept_unmasked: flags & 0x04 != 0,
            heartbeat: flags & 0x08 != 0,
            drop_multipart: flags & 0x10 != 0,
            bare: flags & 0x20 != 0,
            chunk: usize::from(chunk),
        }
    }

    /// The WebSocket payload limit: the body limit plus the flag octet, as the transport sets
    /// it for both messages and frames.
    fn payload_limit(&self) -> usize {
        usize::try_from(self.limit + 1).unwrap_or(usize::MAX)
    }

    fn ws_config(&self) -> WebSocketConfig {
        WebSocketConfig::default()
            .read_buffer_size(4096)
            .max_message_size(Some(self.payload_limit()))
            .max_frame_size(Some(self.payload_limit()))
            .accept_unmasked_frames(self.accept_unmasked)
    }

    fn config(&self) -> Config {
        let mut config = Config::new(SocketType::PEER);
        config.framing = Framing::WebSocket(if self.bare {
            WsProtocol::Zws20Bare
        } else {
            WsProtocol::Zws20Null
        });
        config.max_message_size = Some(self.limit);
        config.drop_multipart = self.drop_multipart;
        if self.heartbeat {
            config.heartbeat_interval = Some(Duration::from_secs(1));
            config.heartbeat_timeout = Some(Duration::from_secs(2));
        }
        config.handshake_timeout = Some(Duration::from_secs(30));
        config
    }
}

/// What the raw ws half saw, for the unit tests below.
#[derive(Debug, Default)]
struct WsOutcome {
    handshake_done: bool,
    messages: Vec<Message>,
    closed: Option<ProtocolError>,
    ws_error: Option<String>,
}

/// Drives tungstenite (server role) and a ws session over arbitrary client bytes.
fn run_ws_raw(data: &[u8]) -> WsOutcome {
    let Some((&[flags, chunk], stream)) = data.split_first_chunk::<2>() else {
        return WsOutcome::default();
    };
    let options = WsOptions::parse(flags, chunk);
    let start = Instant::now();
    let wire = Wire {
        input: BytesMut::from(stream),
        chunk: options.chunk,
        output: Vec::new(),
    };
    let mut ws = WebSocket::from_raw_socket(wire, WsRole::Server, Some(options.ws_config()));
    let mut probe = WsProbe {
        session: Session::new(options.config(), start),
        options,
        errors: 0,
        closed_event: false,
        outcome: WsOutcome::default(),
    };
    probe.drain(&mut ws);

    let mut now = start;
    // Every successful read takes at least a two-octet frame header off the input.
    for _ in 0..stream.len() + 8 {
        now += WS_STEP;
        match ws.read() {
            Ok(WsMessage::Binary(payload)) => {
                assert!(
                    payload.len() <= options.payload_limit(),
                    "tungstenite passed a {}-octet payload with a limit of {}",
                    payload.len(),
                    options.payload_limit()
                );
                if !probe.session.is_closed() {
                    let result = probe.session.handle_ws_message(payload, now);
                    probe.result(result.is_err());
                }
            }
            Ok(WsMessage::Ping(_) | WsMessage::Pong(_)) => probe.session.handle_ws_traffic(now),
            // The transport ends the connection on text; on close it flushes the reply and
            // ends too, but reading on shows what tungstenite does with more input.
            Ok(WsMessage::Text(_)) => break,
            Ok(WsMessage::Close(_) | WsMessage::Frame(_)) => {}
            Err(tungstenite::Error::Io(err)) if err.kind() == io::ErrorKind::WouldBlock => {
                if ws.get_ref().input.is_empty() {
                    break;
                }
            }
            Err(err) => {
                let text = err.to_string();
                assert!(!text.is_empty());
                probe.outcome.ws_error = Some(text);
                break;
            }
        }
        probe.tick(now);
        probe.drain(&mut ws);
    }
    for _ in 0..4 {
        now += Duration::from_secs(10);
        probe.tick(now);
        probe.drain(&mut ws);
    }
    if probe.errors > 0 {
        assert!(probe.closed_event, "an error without Event::Closed");
    }
    check_server_output(&ws.get_ref().output);
    probe.outcome
}

/// The session of the raw ws half plus everything observed from it.
struct WsProbe {
    session: Session,
    options: WsOptions,
    errors: usize,
    closed_event: bool,
    outcome: WsOutcome,
}

impl WsProbe {
    /// Records a `handle_*` outcome: an error is returned once and closes the session.
    fn result(&mut self, failed: bool) {
        if failed {
            self.errors += 1;
            assert_eq!(self.errors, 1, "an error returned twice");
            assert!(self.session.is_closed(), "an error left the session open");
        }
    }

    fn tick(&mut self, now: Instant) {
        if self.session.is_closed() {
            return;
        }
        if self
            .session
            .poll_timeout()
            .is_some_and(|deadline| deadline <= now)
        {
            let result = self.session.handle_timeout(now);
            self.result(result.is_err());
        }
    }

    /// Takes the session's events, echoes messages back, and hands its output to tungstenite.
    fn drain(&mut self, ws: &mut WebSocket<Wire>) {
        let mut echo = Vec::new();
        while let Some(event) = self.session.poll_event() {
            assert!(!self.closed_event, "an event after Closed: {event:?}");
            match event {
                Event::HandshakeDone(_) => {
                    assert!(!self.outcome.handshake_done, "HandshakeDone twice");
                    self.outcome.handshake_done = true;
                }
                Event::Message(message) => {
                    assert!(
                        self.outcome.handshake_done,
                        "a message before HandshakeDone"
                    );
                    assert!(
                        message.len() as u64 <= self.options.limit,
                        "a {}-octet message past the {}-octet limit",
                        message.len(),
                        self.options.limit
                    );
                    if self.options.drop_multipart {
                        assert!(!message.is_multipart(), "a multipart message got through");
                    }
                    echo.push(message.clone());
                    self.outcome.messages.push(message);
                }
                Event::Closed(err) => {
                    assert!(self.session.is_closed());
                    self.closed_event = true;
                    self.outcome.closed = Some(err);
                }
                Event::PlainHello { .. } => panic!("PLAIN traffic on a NULL ws session"),
                _ => assert!(self.outcome.handshake_done, "traffic before HandshakeDone"),
            }
        }
        for message in echo {
            if self.session.is_ready() {
                assert!(
                    self.session.send(message).is_ok(),
                    "send refused when ready"
                );
            }
        }
        assert!(
            self.session.poll_transmit().is_none(),
            "byte-stream output from a ws session"
        );
        while let Some(unit) = self.session.poll_ws_transmit() {
            let message = match unit {
                WsTransmit::Binary(payload) => WsMessage::Binary(payload),
                WsTransmit::Ping => WsMessage::Ping(Bytes::new()),
                other => panic!("unknown ws unit {other:?}"),
            };
            // After a close or a protocol error tungstenite refuses writes with a typed error,
            // which the transport turns into a disconnect.
            if let Err(err) = ws.write(message) {
                assert!(!err.to_string().is_empty());
            }
        }
        if let Err(err) = ws.flush() {
            assert!(!err.to_string().is_empty());
        }
    }
}

/// Parses what the server side wrote as a tungstenite client would, and checks it is ZWS:
/// binary messages carry a flag octet (final, MORE or COMMAND, never both of the latter) and
/// decodable command bodies; anything else is a control frame.
fn check_server_output(output: &[u8]) {
    let wire = Wire {
        input: BytesMut::from(output),
        chunk: 0,
        output: Vec::new(),
    };
    let config = WebSocketConfig::default()
        .read_buffer_size(4096)
        .max_message_size(None)
        .max_frame_size(None);
    let mut client = WebSocket::from_raw_socket(wire, WsRole::Client, Some(config));
    loop {
        match client.read() {
            Ok(WsMessage::Binary(payload)) => {
                let Some((&flag, body)) = payload.split_first() else {
                    panic!("an empty binary message from the server");
                };
                assert!(
                    flag == 0 || flag == FLAG_MORE || flag == FLAG_COMMAND,
                    "flag {flag:#04x}"
                );
                if flag == FLAG_COMMAND {
                    let body = Bytes::copy_from_slice(body);
                    assert!(Command::decode(&body).is_ok(), "a bad command {body:02x?}");
                }
            }
            Ok(WsMessage::Ping(_) | WsMessage::Pong(_) | WsMessage::Close(_)) => {}
            Ok(other) => panic!("the server wrote {other:?}"),
            Err(tungstenite::Error::Io(err)) if err.kind() == io::ErrorKind::WouldBlock => {
                return;
            }
            Err(tungstenite::Error::ConnectionClosed) => return,
            Err(err) => panic!("the server wrote malformed WebSocket: {err}"),
        }
    }
}

/// Structured input of the round-trip half of [`transport_ws_framing`].
#[derive(Debug, Arbitrary)]
struct WsPairCase {
    to_server: Vec<Message>,
    to_client: Vec<Message>,
    chunks: Vec<u8>,
}

/// Handshakes a ws client and server session through two tungstenite engines joined by
/// in-memory byte streams, and checks that messages sent either way arrive exactly.
fn ws_pair(case: &WsPairCase) {
    let now = Instant::now();
    let mut client = WsSide::new(WsRole::Client, now);
    let mut server = WsSide::new(WsRole::Server, now);
    let mut chunks = case.chunks.iter().map(|&size| usize::from(size)).cycle();
    let mut chunk_size = move || chunks.next().filter(|&size| size > 0);

    client.outbox.extend(case.to_server.iter().cloned());
    server.outbox.extend(case.to_client.iter().cloned());
    let budget = 64 + wire_size(case) * 2;
    for _ in 0..budget {
        client.flush(now);
        server.flush(now);
        let moved = client.pump(&mut server, now, &mut chunk_size)
            | server.pump(&mut client, now, &mut chunk_size);
        if !moved
            && client.outbox.is_empty()
            && server.outbox.is_empty()
            && client.ready
            && server.ready
        {
            break;
        }
    }
    assert!(
        client.ready && server.ready,
        "the ws handshake did not complete"
    );
    assert!(!client.session.is_closed() && !server.session.is_closed());
    assert_eq!(server.inbox, case.to_server);
    assert_eq!(client.inbox, case.to_client);
}

/// One side of [`ws_pair`]: a session and the tungstenite engine carrying its messages.
struct WsSide {
    ws: WebSocket<Wire>,
    session: Session,
    /// Bytes written by this side and not yet delivered to the other.
    in_flight: BytesMut,
    outbox: Vec<Message>,
    inbox: Vec<Message>,
    ready: bool,
}

impl WsSide {
    fn new(role: WsRole, now: Instant) -> Self {
        let mut config = Config::new(SocketType::PEER);
        config.framing = Framing::WebSocket(WsProtocol::Zws20Null);
        let ws_config = WebSocketConfig::default().read_buffer_size(4096);
        Self {
            ws: WebSocket::from_raw_socket(Wire::default(), role, Some(ws_config)),
            session: Session::new(config, now),
            in_flight: BytesMut::new(),
            outbox: Vec::new(),
            inbox: Vec::new(),
            ready: false,
        }
    }

    /// Sends queued messages once ready and moves the session's output through tungstenite.
    fn flush(&mut self, now: Instant) {
        self.events(now);
        if self.session.is_ready() {
            for message in self.outbox.drain(..) {
                assert!(self.session.send(message).is_ok());
            }
        }
        while let Some(unit) = self.session.poll_ws_transmit() {
            let message = match unit {
                WsTransmit::Binary(payload) => WsMessage::Binary(payload),
                WsTransmit::Ping => WsMessage::Ping(Bytes::new()),
                other => panic!("unknown ws unit {other:?}"),
            };
            let result = self.ws.write(message);
            assert!(result.is_ok(), "{result:?}");
        }
        let result = self.ws.flush();
        assert!(result.is_ok(), "{result:?}");
        let output = std::mem::take(&mut self.ws.get_mut().output);
        self.in_flight.extend_from_slice(&output);
    }

    /// Moves one chunk of this side's bytes to `other`, which reads every whole message.
    fn pump(
        &mut self,
        other: &mut Self,
        now: Instant,
        chunk_size: &mut impl FnMut() -> Option<usize>,
    ) -> bool {
        if self.in_flight.is_empty() {
            return false;
        }
        let size = chunk_size()
            .unwrap_or(self.in_flight.len())
            .min(self.in_flight.len());
        other
            .ws
            .get_mut()
            .input
            .extend_from_slice(&self.in_flight.split_to(size));
        loop {
            match other.ws.read() {
                Ok(WsMessage::Binary(payload)) => {
                    let result = other.session.handle_ws_message(payload, now);
                    assert!(result.is_ok(), "valid traffic was refused: {result:?}");
                }
                Ok(WsMessage::Ping(_) | WsMessage::Pong(_)) => other.session.handle_ws_traffic(now),
                Err(tungstenite::Error::Io(err)) if err.kind() == io::ErrorKind::WouldBlock => {
                    break;
                }
                other => panic!("unexpected ws read {other:?}"),
            }
        }
        other.events(now);
        true
    }

    fn events(&mut self, _now: Instant) {
        while let Some(event) = self.session.poll_event() {
            match event {
                Event::HandshakeDone(_) => self.ready = true,
                Event::Message(message) => self.inbox.push(message),
                Event::Closed(err) => panic!("a ws session closed: {err}"),
                _ => {}
            }
        }
    }
}

/// A generous bound on the octets the messages of `case` take on the wire (14 octets of
/// WebSocket header and one flag octet per frame).
fn wire_size(case: &WsPairCase) -> usize {
    let messages = case.to_server.iter().chain(&case.to_client);
    messages
        .map(|message| {
            message
                .frames()
                .iter()
                .map(|frame| frame.len() + 15)
                .sum::<usize>()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// PROTOCOL.md §6.4: READY of a PEER as a ZWS payload (flag 0x02, then the command body).
    const READY_PAYLOAD: &[u8] = b"\x02\x05READY\x0bSocket-Type\x00\x00\x00\x04PEER";
    const MASK: [u8; 4] = [0x37, 0xFA, 0x21, 0x3D];

    /// One client WebSocket binary frame with a short payload, masked or not.
    fn frame(payload: &[u8], masked: bool) -> Vec<u8> {
        let length = u8::try_from(payload.len()).unwrap();
        assert!(length <= 125);
        if !masked {
            return [&[0x82, length][..], payload].concat();
        }
        let mut out = vec![0x82, 0x80 | length];
        out.extend(MASK);
        out.extend(payload.iter().zip(MASK.iter().cycle()).map(|(b, m)| b ^ m));
        out
    }

    fn input(flags: u8, chunk: u8, parts: &[Vec<u8>]) -> Vec<u8> {
        [vec![flags, chunk], parts.concat()].concat()
    }

    #[test]
    fn endpoint_examples_round_trip() {
        for s in [
            "tcp://127.0.0.1:5555",
            "tcp://*:*",
            "tcp://[fe80::1%eth0]:5555",
            "tcp://192.168.1.17:0;192.168.1.1:5555",
            "tcp://::1:5555",
            "ipc://@name",
            "ipc://*",
            "inproc://a://b",
            "ws://*:*/roundtrip",
            "wss://localhost:443/p",
            "tcp://a/b:55",
            "foo://x",
            "",
        ] {
            transport_endpoint(s.as_bytes());
        }
        transport_endpoint(b"inproc://\xff\xfe");
    }

    #[test]
    fn masked_ready_then_one_byte_is_delivered_bytewise_or_at_once() {
        for chunk in [0, 1, 3] {
            let outcome = run_ws_raw(&input(
                0,
                chunk,
                &[frame(READY_PAYLOAD, true), frame(b"\x00\x01", true)],
            ));
            assert!(outcome.handshake_done, "chunk {chunk}: {outcome:?}");
            assert_eq!(outcome.messages, vec![Message::new(vec![1])]);
            assert_eq!(outcome.closed, None);
        }
    }

    #[test]
    fn unmasked_client_frames_need_the_option() {
        let parts = [frame(READY_PAYLOAD, false), frame(b"\x00\x01", false)];
        let refused = run_ws_raw(&input(0, 0, &parts));
        assert!(!refused.handshake_done);
        assert!(refused.ws_error.is_some());
        let accepted = run_ws_raw(&input(0x04, 0, &parts));
        assert!(accepted.handshake_done);
        assert_eq!(accepted.messages.len(), 1);
    }

    #[test]
    fn over_limit_and_bad_flags_are_typed_errors() {
        // Limit 64: a 100-octet body is refused by tungstenite (payload limit 65).
        let long = [vec![0x00], vec![7; 100]].concat();
        let mut big = vec![0x82, 0x80 | 126, 0, u8::try_from(long.len()).unwrap()];
        big.extend(MASK);
        big.extend(long.iter().zip(MASK.iter().cycle()).map(|(b, m)| b ^ m));
        let limited = run_ws_raw(&input(0x02, 0, &[frame(READY_PAYLOAD, true), big]));
        assert!(limited.handshake_done);
        assert!(limited.messages.is_empty());
        assert!(limited.ws_error.is_some(), "{limited:?}");

        // Flag 0x03 (COMMAND with MORE) closes the session.
        let bad = run_ws_raw(&input(
            0,
            0,
            &[
                frame(READY_PAYLOAD, true),
                frame(b"\x03\x04PING\x00\x00", true),
            ],
        ));
        assert!(
            matches!(bad.closed, Some(ProtocolError::Decode(_))),
            "{bad:?}"
        );

        // An empty binary message closes the session too.
        let empty = run_ws_raw(&input(
            0,
            0,
            &[frame(READY_PAYLOAD, true), frame(b"", true)],
        ));
        assert!(empty.closed.is_some(), "{empty:?}");
    }

    #[test]
    fn ws_pair_delivers_both_ways_under_any_chunking() {
        for chunks in [vec![], vec![1], vec![3, 0, 200]] {
            ws_pair(&WsPairCase {
                to_server: vec![
                    Message::from_frames(vec![Bytes::from_static(b"a"), Bytes::new()]),
                    Message::new(vec![9; 70_000]),
                ],
                to_client: vec![Message::new(Bytes::new()), Message::new(vec![1; 126])],
                chunks,
            });
        }
    }
}
