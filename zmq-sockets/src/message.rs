//! Application messages: a body, the peer's routing id and the connection's metadata.

use std::fmt;
use std::num::NonZeroU32;
use std::sync::Arc;

use bytes::Bytes;
use zmtp_codec::PeerInfo;

/// The id a PEER/SERVER socket gives one of its connections: a non-zero `u32`, local to the
/// socket (nothing of it goes on the wire).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub struct RoutingId(NonZeroU32);

impl RoutingId {
    /// Wraps a raw id; `None` for 0, which is never a valid routing id.
    #[must_use]
    pub const fn new(v: u32) -> Option<Self> {
        match NonZeroU32::new(v) {
            Some(v) => Some(Self(v)),
            None => None,
        }
    }

    /// The raw (non-zero) value.
    #[must_use]
    pub const fn get(self) -> u32 {
        self.0.get()
    }
}

impl fmt::Display for RoutingId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl From<RoutingId> for u32 {
    fn from(id: RoutingId) -> Self {
        id.get()
    }
}

/// Metadata of one connection, as `zmq_msg_gets` shows it: `Socket-Type`, `Peer-Address`,
/// `User-Id` and the `X-...` properties of the peer's READY. Shared by every message received
/// on that connection (one `Arc`, never a copy per message).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Properties {
    entries: Vec<(String, String)>,
}

impl Properties {
    /// Builds the properties of a connection from its handshake and remote address.
    ///
    /// Values that are not UTF-8 are left out, since [`Properties::get`] returns `&str`.
    #[must_use]
    pub fn from_peer(peer: &PeerInfo, peer_address: Option<&str>) -> Self {
        let mut props = Self::default();
        for (name, value) in peer.metadata.iter() {
            if let (Ok(name), Ok(value)) = (std::str::from_utf8(name), std::str::from_utf8(value)) {
                props.insert(name, value);
            }
        }
        if let Some(kind) = &peer.socket_type {
            if let Ok(kind) = std::str::from_utf8(kind.as_bytes()) {
                props.insert("Socket-Type", kind);
            }
        }
        if let Some(user) = peer
            .user_id
            .as_ref()
            .and_then(|u| std::str::from_utf8(u).ok())
        {
            props.insert("User-Id", user);
        }
        if let Some(address) = peer_address {
            props.insert("Peer-Address", address);
        }
        props
    }

    /// Sets `name` to `value`, replacing an existing entry of exactly that name.
    pub fn insert(&mut self, name: &str, value: &str) {
        if let Some(entry) = self.entries.iter_mut().find(|(n, _)| n == name) {
            value.clone_into(&mut entry.1);
        } else {
            self.entries.push((name.to_owned(), value.to_owned()));
        }
    }

    /// The value of a property. Names compare case-sensitively, as `zmq_msg_gets` does in
    /// libzmq 4.3.5 (a peer's `socket-type` is not its `Socket-Type`). `Identity` falls back to
    /// `Routing-Id`, as in libzmq.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&str> {
        let find = |name: &str| {
            self.entries
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
        };
        find(name).or_else(|| {
            if name == "Identity" {
                find("Routing-Id")
            } else {
                None
            }
        })
    }

    /// All properties in the order they were set.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }
}

/// One single-part message: a zero-copy body, plus the routing id of the peer it came from or
/// goes to, plus (on received messages) the metadata of the connection.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Message {
    body: Bytes,
    routing_id: Option<RoutingId>,
    properties: Option<Arc<Properties>>,
}

impl Message {
    /// An empty message without routing id.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// A message with a body, addressed to `routing_id`.
    #[must_use]
    pub fn with_routing_id(body: impl Into<Bytes>, routing_id: RoutingId) -> Self {
        Self {
            body: body.into(),
            routing_id: Some(routing_id),
            properties: None,
        }
    }

    /// Addresses the message to `routing_id` (`zmq_msg_set_routing_id`).
    pub fn set_routing_id(&mut self, routing_id: RoutingId) {
        self.routing_id = Some(routing_id);
    }

    /// The routing id: the sender's on a received message, the destination's on one to send.
    #[must_use]
    pub fn routing_id(&self) -> Option<RoutingId> {
        self.routing_id
    }

    /// The body as a slice.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.body
    }

    /// The body length in bytes.
    #[must_use]
    pub fn len(&self) -> usize {
        self.body.len()
    }

    /// Whether the body is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.body.is_empty()
    }

    /// The body, without copying.
    #[must_use]
    pub fn into_bytes(self) -> Bytes {
        self.body
    }

    /// The body as `Bytes` (cheap to clone).
    #[must_use]
    pub fn bytes(&self) -> &Bytes {
        &self.body
    }

    /// A metadata property of the connection this message arrived on (`Socket-Type`,
    /// `Peer-Address`, `X-...`); `None` for inproc peers and for messages built locally.
    #[must_use]
    pub fn gets(&self, property: &str) -> Option<&str> {
        self.properties.as_deref().and_then(|p| p.get(property))
    }

    /// All metadata of the connection this message arrived on, if any.
    #[must_use]
    pub fn properties(&self) -> Option<&Arc<Properties>> {
        self.properties.as_ref()
    }

    /// A received message: body, sender id and the connection's shared metadata.
    pub(crate) fn received(
        body: Bytes,
        routing_id: Option<RoutingId>,
        properties: Option<Arc<Properties>>,
    ) -> Self {
        Self {
            body,
            routing_id,
            properties,
        }
    }
}

impl From<Bytes> for Message {
    fn from(body: Bytes) -> Self {
        Self {
            body,
            routing_id: None,
            properties: None,
        }
    }
}

impl From<Vec<u8>> for Message {
    fn from(body: Vec<u8>) -> Self {
        Bytes::from(body).into()
    }
}

impl From<&[u8]> for Message {
    fn from(body: &[u8]) -> Self {
        Bytes::copy_from_slice(body).into()
    }
}

impl From<&str> for Message {
    fn from(body: &str) -> Self {
        body.as_bytes().into()
    }
}

impl From<String> for Message {
    fn from(body: String) -> Self {
        Bytes::from(body).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routing_id_rejects_zero() {
        assert_eq!(RoutingId::new(0), None);
        assert_eq!(RoutingId::new(7).map(RoutingId::get), Some(7));
        assert_eq!(RoutingId::new(u32::MAX).map(u32::from), Some(u32::MAX));
    }

    #[test]
    fn message_conversions_keep_the_body() {
        let m = Message::from("ab");
        assert_eq!(m.as_bytes(), b"ab");
        assert_eq!(m.len(), 2);
        assert!(!m.is_empty());
        assert_eq!(m.routing_id(), None);
        assert_eq!(Message::from(vec![1u8, 2]).as_bytes(), &[1, 2]);
        assert_eq!(
            Message::from(&b"x"[..]).into_bytes(),
            Bytes::from_static(b"x")
        );
        assert_eq!(
            Message::from(String::from("s")).bytes(),
            &Bytes::from_static(b"s")
        );
        assert!(Message::new().is_empty());
        let rid = RoutingId::new(3).unwrap();
        let mut m = Message::with_routing_id("z", rid);
        assert_eq!(m.routing_id(), Some(rid));
        let other = RoutingId::new(4).unwrap();
        m.set_routing_id(other);
        assert_eq!(m.routing_id(), Some(other));
        assert_eq!(m.gets("Socket-Type"), None);
    }

    #[test]
    fn properties_from_a_handshake() {
        let mut metadata = zmtp_codec::Metadata::new();
        metadata.insert(&b"Socket-Type"[..], &b"PEER"[..]);
        metadata.insert(&b"X-Hello"[..], &b"world"[..]);
        metadata.insert(&b"X-Binary"[..], &[0xff, 0xfe][..]);
        let peer = PeerInfo {
            version: zmtp_codec::Version { major: 3, minor: 1 },
            socket_type: Some(zmtp_codec::SocketType::PEER),
            metadata,
            user_id: Some(Bytes::from_static(b"alice")),
        };
        let p = Properties::from_peer(&peer, Some("127.0.0.1"));
        assert_eq!(p.get("Socket-Type"), Some("PEER"));
        assert_eq!(p.get("X-Hello"), Some("world"));
        assert_eq!(p.get("X-Binary"), None, "not UTF-8: left out");
        assert_eq!(p.get("User-Id"), Some("alice"));
        assert_eq!(p.get("Peer-Address"), Some("127.0.0.1"));
        assert_eq!(p.iter().filter(|(n, _)| *n == "Socket-Type").count(), 1);
    }

    #[test]
    fn properties_are_case_sensitive_and_replace() {
        let mut p = Properties::default();
        p.insert("Socket-Type", "PEER");
        p.insert("X-Foo", "1");
        p.insert("X-Foo", "2");
        p.insert("x-foo", "3");
        p.insert("Routing-Id", "abc");
        assert_eq!(p.get("Socket-Type"), Some("PEER"));
        assert_eq!(p.get("socket-type"), None);
        assert_eq!(p.get("X-Foo"), Some("2"));
        assert_eq!(p.get("x-foo"), Some("3"));
        assert_eq!(p.get("Identity"), Some("abc"));
        assert_eq!(p.get("Missing"), None);
        assert_eq!(p.iter().count(), 4);
        let m = Message::received(Bytes::new(), None, Some(Arc::new(p)));
        assert_eq!(m.gets("X-Foo"), Some("2"));
    }
}
