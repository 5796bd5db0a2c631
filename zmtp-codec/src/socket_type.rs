//! ZMTP socket-type names (the `Socket-Type` metadata property) and their compatibility matrix.

use bytes::Bytes;

/// A ZMTP socket-type name, as carried in the `Socket-Type` property of READY / INITIATE.
///
/// An open set: unknown names survive a decode/encode round trip. The associated constants are
/// the names libzmq 4.3.5 knows (PROTOCOL.md §0.1).
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct SocketType(Bytes);

impl SocketType {
    /// `PAIR`.
    pub const PAIR: Self = Self(Bytes::from_static(b"PAIR"));
    /// `PUB`.
    pub const PUB: Self = Self(Bytes::from_static(b"PUB"));
    /// `SUB`.
    pub const SUB: Self = Self(Bytes::from_static(b"SUB"));
    /// `REQ`.
    pub const REQ: Self = Self(Bytes::from_static(b"REQ"));
    /// `REP`.
    pub const REP: Self = Self(Bytes::from_static(b"REP"));
    /// `DEALER`.
    pub const DEALER: Self = Self(Bytes::from_static(b"DEALER"));
    /// `ROUTER`.
    pub const ROUTER: Self = Self(Bytes::from_static(b"ROUTER"));
    /// `PULL`.
    pub const PULL: Self = Self(Bytes::from_static(b"PULL"));
    /// `PUSH`.
    pub const PUSH: Self = Self(Bytes::from_static(b"PUSH"));
    /// `XPUB`.
    pub const XPUB: Self = Self(Bytes::from_static(b"XPUB"));
    /// `XSUB`.
    pub const XSUB: Self = Self(Bytes::from_static(b"XSUB"));
    /// `STREAM` (raw TCP in libzmq; never appears in a ZMTP handshake).
    pub const STREAM: Self = Self(Bytes::from_static(b"STREAM"));
    /// `SERVER` (draft).
    pub const SERVER: Self = Self(Bytes::from_static(b"SERVER"));
    /// `CLIENT` (draft).
    pub const CLIENT: Self = Self(Bytes::from_static(b"CLIENT"));
    /// `RADIO` (draft).
    pub const RADIO: Self = Self(Bytes::from_static(b"RADIO"));
    /// `DISH` (draft).
    pub const DISH: Self = Self(Bytes::from_static(b"DISH"));
    /// `GATHER` (draft).
    pub const GATHER: Self = Self(Bytes::from_static(b"GATHER"));
    /// `SCATTER` (draft).
    pub const SCATTER: Self = Self(Bytes::from_static(b"SCATTER"));
    /// `DGRAM` (draft, UDP only).
    pub const DGRAM: Self = Self(Bytes::from_static(b"DGRAM"));
    /// `PEER` (draft).
    pub const PEER: Self = Self(Bytes::from_static(b"PEER"));
    /// `CHANNEL` (draft).
    pub const CHANNEL: Self = Self(Bytes::from_static(b"CHANNEL"));

    /// Wraps a socket-type name as it appears on the wire (case-sensitive, as in libzmq).
    pub fn new(name: impl Into<Bytes>) -> Self {
        Self(name.into())
    }

    /// The name as it appears on the wire.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The name as a shared byte buffer (cheap clone).
    pub fn to_bytes(&self) -> Bytes {
        self.0.clone()
    }

    /// Whether a socket of this type accepts a peer announcing `peer` (RFC 37 / libzmq
    /// `mechanism_t::check_socket_type`, PROTOCOL.md §5.1).
    ///
    /// The matrix is symmetric. PEER talks to PEER only; STREAM never speaks ZMTP and unknown
    /// names match nothing.
    pub fn is_compatible_with(&self, peer: &Self) -> bool {
        let accepted: &[&[u8]] = match self.as_bytes() {
            b"REQ" => &[b"REP", b"ROUTER"],
            b"REP" => &[b"REQ", b"DEALER"],
            b"DEALER" => &[b"REP", b"DEALER", b"ROUTER"],
            b"ROUTER" => &[b"REQ", b"DEALER", b"ROUTER"],
            b"PUB" | b"XPUB" => &[b"SUB", b"XSUB"],
            b"SUB" | b"XSUB" => &[b"PUB", b"XPUB"],
            b"PUSH" => &[b"PULL"],
            b"PULL" => &[b"PUSH"],
            b"PAIR" => &[b"PAIR"],
            b"SERVER" => &[b"CLIENT"],
            b"CLIENT" => &[b"SERVER"],
            b"RADIO" => &[b"DISH"],
            b"DISH" => &[b"RADIO"],
            // The zmq_socket man page says SCATTER<->SCATTER; code and RFC 37 say
            // SCATTER<->GATHER (PROTOCOL.md §5.1).
            b"GATHER" => &[b"SCATTER"],
            b"SCATTER" => &[b"GATHER"],
            b"DGRAM" => &[b"DGRAM"],
            b"PEER" => &[b"PEER"],
            b"CHANNEL" => &[b"CHANNEL"],
            _ => &[],
        };
        accepted.contains(&peer.as_bytes())
    }
}

impl From<&'static str> for SocketType {
    fn from(name: &'static str) -> Self {
        Self(Bytes::from_static(name.as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [SocketType; 21] = [
        SocketType::PAIR,
        SocketType::PUB,
        SocketType::SUB,
        SocketType::REQ,
        SocketType::REP,
        SocketType::DEALER,
        SocketType::ROUTER,
        SocketType::PULL,
        SocketType::PUSH,
        SocketType::XPUB,
        SocketType::XSUB,
        SocketType::STREAM,
        SocketType::SERVER,
        SocketType::CLIENT,
        SocketType::RADIO,
        SocketType::DISH,
        SocketType::GATHER,
        SocketType::SCATTER,
        SocketType::DGRAM,
        SocketType::PEER,
        SocketType::CHANNEL,
    ];

    /// The full matrix of PROTOCOL.md §5.1, written as a list of accepted (local, remote) pairs.
    const ACCEPTED: &[(&str, &str)] = &[
        ("REQ", "REP"),
        ("REQ", "ROUTER"),
        ("REP", "REQ"),
        ("REP", "DEALER"),
        ("DEALER", "REP"),
        ("DEALER", "DEALER"),
        ("DEALER", "ROUTER"),
        ("ROUTER", "REQ"),
        ("ROUTER", "DEALER"),
        ("ROUTER", "ROUTER"),
        ("PUB", "SUB"),
        ("PUB", "XSUB"),
        ("XPUB", "SUB"),
        ("XPUB", "XSUB"),
        ("SUB", "PUB"),
        ("SUB", "XPUB"),
        ("XSUB", "PUB"),
        ("XSUB", "XPUB"),
        ("PUSH", "PULL"),
        ("PULL", "PUSH"),
        ("PAIR", "PAIR"),
        ("SERVER", "CLIENT"),
        ("CLIENT", "SERVER"),
        ("RADIO", "DISH"),
        ("DISH", "RADIO"),
        ("GATHER", "SCATTER"),
        ("SCATTER", "GATHER"),
        ("DGRAM", "DGRAM"),
        ("PEER", "PEER"),
        ("CHANNEL", "CHANNEL"),
    ];

    #[test]
    fn matrix_matches_protocol_table() {
        for local in &ALL {
            for remote in &ALL {
                let expected = ACCEPTED.iter().any(|(l, r)| {
                    l.as_bytes() == local.as_bytes() && r.as_bytes() == remote.as_bytes()
                });
                assert_eq!(
                    local.is_compatible_with(remote),
                    expected,
                    "{local:?} vs {remote:?}"
                );
            }
        }
    }

    #[test]
    fn peer_only_talks_to_peer_and_names_are_case_sensitive() {
        assert!(SocketType::PEER.is_compatible_with(&SocketType::PEER));
        assert!(!SocketType::PEER.is_compatible_with(&SocketType::DEALER));
        assert!(!SocketType::PEER.is_compatible_with(&SocketType::new(&b"peer"[..])));
        assert!(!SocketType::new(&b"FOO"[..]).is_compatible_with(&SocketType::new(&b"FOO"[..])));
    }

    #[test]
    fn unknown_names_round_trip() {
        let t = SocketType::new(&b"X-CUSTOM"[..]);
        assert_eq!(t.as_bytes(), b"X-CUSTOM");
        assert_eq!(SocketType::new(t.to_bytes()), t);
        assert_eq!(SocketType::from("PEER"), SocketType::PEER);
    }
}
