//! Test support: an in-memory driver for two `Session`s with a fake clock (after quinn-proto's
//! `Pair`).
#![allow(
    dead_code,
    unreachable_pub,
    reason = "each integration test uses a different subset of these helpers"
)]

use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use zmtp_codec::{
    Config, Event, Framing, Message, ProtocolError, Session, SocketType, WsProtocol, WsTransmit,
};

/// Which side of a [`Pair`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// The first session.
    A,
    /// The second session.
    B,
}

/// One end of the pair: its session, input buffer, and what it reported.
#[derive(Debug)]
pub struct End {
    /// The session.
    pub session: Session,
    /// Bytes received but not yet consumed by the session.
    pub input: BytesMut,
    /// Every event polled so far, in order.
    pub events: Vec<Event>,
    /// Every error returned by a `handle_*` call.
    pub errors: Vec<ProtocolError>,
    /// Whether what this end transmits reaches the other end (false = a silent peer: its
    /// output is discarded).
    pub delivers: bool,
    /// Total octets this end put on the wire.
    pub sent: usize,
    /// WebSocket pairs: binary messages this end put on the wire (payloads).
    pub ws_sent: Vec<Bytes>,
    /// WebSocket pairs: pings received from the other end.
    pub pings_received: usize,
    /// WebSocket pairs: pongs received from the other end.
    pub pongs_received: usize,
    /// WebSocket pairs: pongs this end's "transport" owes the other end (a WebSocket library
    /// answers pings by itself).
    owed_pongs: usize,
}

impl End {
    fn new(config: Config, now: Instant) -> Self {
        Self {
            session: Session::new(config, now),
            input: BytesMut::new(),
            events: Vec::new(),
            errors: Vec::new(),
            delivers: true,
            sent: 0,
            ws_sent: Vec::new(),
            pings_received: 0,
            pongs_received: 0,
            owed_pongs: 0,
        }
    }

    fn poll_events(&mut self) {
        while let Some(event) = self.session.poll_event() {
            self.events.push(event);
        }
    }

    /// The messages received so far (taken out of `events`).
    pub fn take_messages(&mut self) -> Vec<Message> {
        let mut messages = Vec::new();
        self.events.retain(|e| match e {
            Event::Message(m) => {
                messages.push(m.clone());
                false
            }
            _ => true,
        });
        messages
    }

    /// The reason in the final `Closed` event, if the session closed.
    pub fn closed_reason(&self) -> Option<&ProtocolError> {
        self.events.iter().find_map(|e| match e {
            Event::Closed(reason) => Some(reason),
            _ => None,
        })
    }

    /// Whether a `HandshakeDone` event was seen.
    pub fn handshake_done(&self) -> bool {
        self.events
            .iter()
            .any(|e| matches!(e, Event::HandshakeDone(_)))
    }
}

/// Two sessions connected back to back in memory, with a fake clock.
#[derive(Debug)]
pub struct Pair {
    /// The fake "now", moved only by [`Pair::advance`].
    pub now: Instant,
    /// First session.
    pub a: End,
    /// Second session.
    pub b: End,
}

impl Pair {
    /// Two sessions with these configs, created at the same instant. Nothing is exchanged yet.
    pub fn new(a: Config, b: Config) -> Self {
        let now = Instant::now();
        Self {
            now,
            a: End::new(a, now),
            b: End::new(b, now),
        }
    }

    /// Two PEER sessions with default (NULL) configs.
    pub fn peers() -> Self {
        Self::new(Config::new(SocketType::PEER), Config::new(SocketType::PEER))
    }

    /// Two PEER sessions, handshake completed and its events cleared.
    pub fn connected_peers() -> Self {
        let mut pair = Self::peers();
        pair.drive();
        assert!(pair.a.handshake_done() && pair.b.handshake_done());
        pair.a.events.clear();
        pair.b.events.clear();
        pair
    }

    /// The end on `side`.
    pub fn end(&mut self, side: Side) -> &mut End {
        match side {
            Side::A => &mut self.a,
            Side::B => &mut self.b,
        }
    }

    /// Moves bytes in both directions until neither session has anything left to send.
    pub fn drive(&mut self) {
        loop {
            let moved = Self::transfer(&mut self.a, &mut self.b, self.now)
                | Self::transfer(&mut self.b, &mut self.a, self.now);
            self.a.poll_events();
            self.b.poll_events();
            if !moved {
                return;
            }
        }
    }

    /// Moves the fake clock forward by `by`, fires due timers on both sides, then drives.
    pub fn advance(&mut self, by: Duration) {
        self.now += by;
        for end in [&mut self.a, &mut self.b] {
            if end.session.poll_timeout().is_some_and(|t| t <= self.now) {
                if let Err(err) = end.session.handle_timeout(self.now) {
                    end.errors.push(err);
                }
            }
        }
        self.drive();
    }

    /// Advances in `step`s until `limit` has passed or `done` holds; returns the time spent.
    pub fn run_until(
        &mut self,
        step: Duration,
        limit: Duration,
        mut done: impl FnMut(&Self) -> bool,
    ) -> Duration {
        let start = self.now;
        while !done(self) && self.now - start < limit {
            self.advance(step);
        }
        self.now - start
    }

    /// Sends a message from `side` (panics if the session refuses it) and drives.
    pub fn send(&mut self, side: Side, msg: impl Into<Message>) {
        self.end(side)
            .session
            .send(msg.into())
            .expect("session accepts the message");
        self.drive();
    }

    /// Injects raw bytes into `side`'s input, as if the other end had sent them, and drives.
    pub fn inject(&mut self, side: Side, bytes: &[u8]) {
        let now = self.now;
        let end = self.end(side);
        end.input.extend_from_slice(bytes);
        if let Err(err) = end.session.handle_input(&mut end.input, now) {
            end.errors.push(err);
        }
        self.drive();
    }

    /// Copies `from`'s output into `to` and lets `to` handle it; returns whether bytes moved.
    fn transfer(from: &mut End, to: &mut End, now: Instant) -> bool {
        let mut moved = false;
        while let Some(chunk) = from.session.poll_transmit() {
            moved = true;
            from.sent += chunk.len();
            if from.delivers {
                to.input.extend_from_slice(&chunk);
            }
        }
        if moved && from.delivers {
            if let Err(err) = to.session.handle_input(&mut to.input, now) {
                to.errors.push(err);
            }
        }
        moved
    }
}

/// Everything a session transmits until its queue is empty, concatenated.
pub fn drain(session: &mut Session) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(chunk) = session.poll_transmit() {
        out.extend_from_slice(&chunk);
    }
    out
}

/// A body of `len` octets with a recognisable pattern.
pub fn body(len: usize, seed: u8) -> Bytes {
    (0..len)
        .map(|i| seed.wrapping_add(u8::try_from(i % 251).unwrap()))
        .collect::<Vec<u8>>()
        .into()
}

/// A config for a WebSocket session running `protocol`.
pub fn ws_config(socket_type: SocketType, protocol: WsProtocol) -> Config {
    let mut config = Config::new(socket_type);
    config.framing = Framing::WebSocket(protocol);
    config
}

/// Every WebSocket message a session transmits until its queue is empty.
pub fn drain_ws(session: &mut Session) -> Vec<WsTransmit> {
    std::iter::from_fn(|| session.poll_ws_transmit()).collect()
}

/// Two ZWS 2.0 sessions connected back to back by an in-memory "WebSocket" that carries whole
/// binary messages and answers pings with pongs, with a fake clock.
#[derive(Debug)]
pub struct WsPair {
    /// The fake "now", moved only by [`WsPair::advance`].
    pub now: Instant,
    /// First session (the WebSocket client, by convention).
    pub a: End,
    /// Second session (the WebSocket server, by convention).
    pub b: End,
}

impl WsPair {
    /// Two sessions with these configs (their framing should be WebSocket). Nothing is
    /// exchanged yet.
    pub fn new(a: Config, b: Config) -> Self {
        let now = Instant::now();
        Self {
            now,
            a: End::new(a, now),
            b: End::new(b, now),
        }
    }

    /// Two PEER sessions on `protocol` with default NULL mechanism.
    pub fn peers(protocol: WsProtocol) -> Self {
        Self::new(
            ws_config(SocketType::PEER, protocol),
            ws_config(SocketType::PEER, protocol),
        )
    }

    /// Two PEER sessions on `protocol`, handshake completed and its events cleared.
    pub fn connected_peers(protocol: WsProtocol) -> Self {
        let mut pair = Self::peers(protocol);
        pair.drive();
        assert!(pair.a.handshake_done() && pair.b.handshake_done());
        pair.a.events.clear();
        pair.b.events.clear();
        pair
    }

    /// The end on `side`.
    pub fn end(&mut self, side: Side) -> &mut End {
        match side {
            Side::A => &mut self.a,
            Side::B => &mut self.b,
        }
    }

    /// Moves messages in both directions until neither side has anything left to send.
    pub fn drive(&mut self) {
        loop {
            let moved = Self::transfer(&mut self.a, &mut self.b, self.now)
                | Self::transfer(&mut self.b, &mut self.a, self.now);
            self.a.poll_events();
            self.b.poll_events();
            if !moved {
                return;
            }
        }
    }

    /// Moves the fake clock forward by `by`, fires due timers on both sides, then drives.
    pub fn advance(&mut self, by: Duration) {
        self.now += by;
        for end in [&mut self.a, &mut self.b] {
            if end.session.poll_timeout().is_some_and(|t| t <= self.now) {
                if let Err(err) = end.session.handle_timeout(self.now) {
                    end.errors.push(err);
                }
            }
        }
        self.drive();
    }

    /// Advances in `step`s until `limit` has passed or `done` holds; returns the time spent.
    pub fn run_until(
        &mut self,
        step: Duration,
        limit: Duration,
        mut done: impl FnMut(&Self) -> bool,
    ) -> Duration {
        let start = self.now;
        while !done(self) && self.now - start < limit {
            self.advance(step);
        }
        self.now - start
    }

    /// Sends a message from `side` (panics if the session refuses it) and drives.
    pub fn send(&mut self, side: Side, msg: impl Into<Message>) {
        self.end(side)
            .session
            .send(msg.into())
            .expect("session accepts the message");
        self.drive();
    }

    /// Delivers one binary message payload to `side`, as if the other end had sent it, and
    /// drives.
    pub fn inject(&mut self, side: Side, payload: &[u8]) {
        let now = self.now;
        let end = self.end(side);
        if let Err(err) = end
            .session
            .handle_ws_message(Bytes::copy_from_slice(payload), now)
        {
            end.errors.push(err);
        }
        self.drive();
    }

    /// Moves `from`'s output (and the pongs it owes) to `to`; returns whether anything moved.
    fn transfer(from: &mut End, to: &mut End, now: Instant) -> bool {
        let mut moved = false;
        while from.owed_pongs > 0 {
            from.owed_pongs -= 1;
            moved = true;
            if from.delivers {
                to.pongs_received += 1;
                to.session.handle_ws_traffic(now);
            }
        }
        while let Some(unit) = from.session.poll_ws_transmit() {
            moved = true;
            match unit {
                WsTransmit::Binary(payload) => {
                    from.sent += payload.len();
                    from.ws_sent.push(payload.clone());
                    if from.delivers {
                        if let Err(err) = to.session.handle_ws_message(payload, now) {
                            to.errors.push(err);
                        }
                    }
                }
                WsTransmit::Ping => {
                    if from.delivers {
                        to.pings_received += 1;
                        to.session.handle_ws_traffic(now);
                        to.owed_pongs += 1;
                    }
                }
                other => panic!("unknown WsTransmit {other:?}"),
            }
        }
        moved
    }
}
