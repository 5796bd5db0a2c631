//! Integration tests: heartbeats (PING / PONG), heartbeat timeout and TTL expiry.

mod support;

use std::time::Duration;

use support::{Pair, Side};
use zmtp_codec::{Config, Event, ProtocolError, SocketType};

fn heartbeating(ivl_ms: u64, ttl_ms: u64, timeout_ms: Option<u64>) -> Config {
    let mut config = Config::new(SocketType::PEER);
    config.heartbeat_interval = Some(Duration::from_millis(ivl_ms));
    config.heartbeat_ttl = Duration::from_millis(ttl_ms);
    config.heartbeat_timeout = timeout_ms.map(Duration::from_millis);
    config
}

#[test]
fn pings_are_answered_and_keep_the_connection_alive() {
    let mut pair = Pair::new(heartbeating(100, 0, None), Config::new(SocketType::PEER));
    pair.drive();
    pair.a.events.clear();
    pair.b.events.clear();
    pair.run_until(Duration::from_millis(10), Duration::from_secs(2), |_| false);
    assert!(pair.a.session.is_ready() && pair.b.session.is_ready());
    let pings = pair
        .b
        .events
        .iter()
        .filter(|e| matches!(e, Event::Ping { ttl: 0, .. }))
        .count();
    let pongs = pair
        .a
        .events
        .iter()
        .filter(|e| matches!(e, Event::Pong { .. }))
        .count();
    assert_eq!(pings, 20);
    assert_eq!(pongs, 20);
}

#[test]
fn heartbeat_timeout_with_a_silent_peer() {
    let mut pair = Pair::new(
        heartbeating(100, 0, Some(300)),
        Config::new(SocketType::PEER),
    );
    pair.drive();
    // From now on B's bytes (including its PONGs) never reach A.
    pair.b.delivers = false;
    let spent = pair.run_until(Duration::from_millis(10), Duration::from_secs(5), |p| {
        p.a.session.is_closed()
    });
    // First PING at 100 ms, no traffic for the next 300 ms.
    assert_eq!(spent, Duration::from_millis(400));
    assert_eq!(pair.a.errors, [ProtocolError::HeartbeatTimeout]);
    assert_eq!(
        pair.a.closed_reason(),
        Some(&ProtocolError::HeartbeatTimeout)
    );
    assert!(pair.a.errors[0].is_reconnectable());
}

#[test]
fn heartbeat_timeout_defaults_to_the_interval() {
    let mut pair = Pair::new(heartbeating(100, 0, None), Config::new(SocketType::PEER));
    pair.drive();
    pair.b.delivers = false;
    let spent = pair.run_until(Duration::from_millis(10), Duration::from_secs(5), |p| {
        p.a.session.is_closed()
    });
    assert_eq!(spent, Duration::from_millis(200));
}

#[test]
fn ttl_expiry_closes_the_receiver_of_the_ping() {
    // A pings with TTL 500 ms and a long interval; B arms a TTL timer per PING. When A goes
    // silent, B closes 500 ms after the last PING it received.
    let mut pair = Pair::new(
        heartbeating(200, 500, Some(0)),
        Config::new(SocketType::PEER),
    );
    pair.drive();
    pair.advance(Duration::from_millis(200));
    assert!(
        pair.b
            .events
            .iter()
            .any(|e| matches!(e, Event::Ping { ttl: 5, .. }))
    );
    assert_eq!(
        pair.b.session.poll_timeout(),
        Some(pair.now + Duration::from_millis(500))
    );
    pair.a.delivers = false;
    let spent = pair.run_until(Duration::from_millis(10), Duration::from_secs(5), |p| {
        p.b.session.is_closed()
    });
    assert_eq!(spent, Duration::from_millis(500));
    assert_eq!(pair.b.errors, [ProtocolError::HeartbeatTimeout]);
}

#[test]
fn ttl_timer_is_cancelled_by_traffic() {
    let mut pair = Pair::new(
        heartbeating(1000, 300, Some(0)),
        Config::new(SocketType::PEER),
    );
    pair.drive();
    pair.advance(Duration::from_millis(1000));
    // B's TTL timer runs until +300 ms; data from A at +200 ms cancels it.
    pair.advance(Duration::from_millis(200));
    pair.send(Side::A, "still here");
    assert_eq!(pair.b.session.poll_timeout(), None);
    pair.advance(Duration::from_millis(500));
    assert!(pair.b.session.is_ready());
}
