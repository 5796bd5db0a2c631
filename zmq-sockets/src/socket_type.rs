//! Socket types: their libzmq numbers, ZMTP names, and which ones this crate implements.

/// A socket type, with libzmq's `ZMQ_*` number.
///
/// Only [`SocketType::Peer`], [`SocketType::Server`] and [`SocketType::Client`] are
/// implemented; creating a socket of any other type fails with
/// [`Error::NotSupported`](crate::Error::NotSupported).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[non_exhaustive]
pub enum SocketType {
    /// `ZMQ_PAIR` (0). Not implemented.
    Pair,
    /// `ZMQ_PUB` (1). Not implemented.
    Pub,
    /// `ZMQ_SUB` (2). Not implemented.
    Sub,
    /// `ZMQ_REQ` (3). Not implemented.
    Req,
    /// `ZMQ_REP` (4). Not implemented.
    Rep,
    /// `ZMQ_DEALER` (5). Not implemented.
    Dealer,
    /// `ZMQ_ROUTER` (6). Not implemented.
    Router,
    /// `ZMQ_PULL` (7). Not implemented.
    Pull,
    /// `ZMQ_PUSH` (8). Not implemented.
    Push,
    /// `ZMQ_XPUB` (9). Not implemented.
    XPub,
    /// `ZMQ_XSUB` (10). Not implemented.
    XSub,
    /// `ZMQ_STREAM` (11). Not implemented.
    Stream,
    /// `ZMQ_SERVER` (12): routing-id addressed, talks to CLIENT peers; no `connect_peer`.
    Server,
    /// `ZMQ_CLIENT` (13): round-robin sends to its SERVER peers.
    Client,
    /// `ZMQ_RADIO` (14). Not implemented.
    Radio,
    /// `ZMQ_DISH` (15). Not implemented.
    Dish,
    /// `ZMQ_GATHER` (16). Not implemented.
    Gather,
    /// `ZMQ_SCATTER` (17). Not implemented.
    Scatter,
    /// `ZMQ_DGRAM` (18). Not implemented.
    Dgram,
    /// `ZMQ_PEER` (19): routing-id addressed, talks to PEER peers, has `connect_peer`.
    Peer,
    /// `ZMQ_CHANNEL` (20). Not implemented.
    Channel,
}

impl SocketType {
    const ALL: [Self; 21] = [
        Self::Pair,
        Self::Pub,
        Self::Sub,
        Self::Req,
        Self::Rep,
        Self::Dealer,
        Self::Router,
        Self::Pull,
        Self::Push,
        Self::XPub,
        Self::XSub,
        Self::Stream,
        Self::Server,
        Self::Client,
        Self::Radio,
        Self::Dish,
        Self::Gather,
        Self::Scatter,
        Self::Dgram,
        Self::Peer,
        Self::Channel,
    ];

    /// libzmq's number for this type (`ZMQ_PEER` = 19), as `ZMQ_TYPE` reports it.
    #[must_use]
    pub fn number(self) -> i32 {
        match self {
            Self::Pair => 0,
            Self::Pub => 1,
            Self::Sub => 2,
            Self::Req => 3,
            Self::Rep => 4,
            Self::Dealer => 5,
            Self::Router => 6,
            Self::Pull => 7,
            Self::Push => 8,
            Self::XPub => 9,
            Self::XSub => 10,
            Self::Stream => 11,
            Self::Server => 12,
            Self::Client => 13,
            Self::Radio => 14,
            Self::Dish => 15,
            Self::Gather => 16,
            Self::Scatter => 17,
            Self::Dgram => 18,
            Self::Peer => 19,
            Self::Channel => 20,
        }
    }

    /// The type with libzmq number `n`, if there is one.
    #[must_use]
    pub fn from_number(n: i32) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.number() == n)
    }

    /// The ZMTP name sent in the READY `Socket-Type` property.
    #[must_use]
    pub fn zmtp(self) -> zmtp_codec::SocketType {
        use zmtp_codec::SocketType as T;
        match self {
            Self::Pair => T::PAIR,
            Self::Pub => T::PUB,
            Self::Sub => T::SUB,
            Self::Req => T::REQ,
            Self::Rep => T::REP,
            Self::Dealer => T::DEALER,
            Self::Router => T::ROUTER,
            Self::Pull => T::PULL,
            Self::Push => T::PUSH,
            Self::XPub => T::XPUB,
            Self::XSub => T::XSUB,
            Self::Stream => T::STREAM,
            Self::Server => T::SERVER,
            Self::Client => T::CLIENT,
            Self::Radio => T::RADIO,
            Self::Dish => T::DISH,
            Self::Gather => T::GATHER,
            Self::Scatter => T::SCATTER,
            Self::Dgram => T::DGRAM,
            Self::Peer => T::PEER,
            Self::Channel => T::CHANNEL,
        }
    }

    /// Whether this crate implements the type (PEER, SERVER, CLIENT).
    #[must_use]
    pub fn is_supported(self) -> bool {
        matches!(self, Self::Peer | Self::Server | Self::Client)
    }

    /// Whether messages are addressed by routing id (PEER, SERVER) rather than load-balanced.
    #[must_use]
    pub fn is_routed(self) -> bool {
        matches!(self, Self::Peer | Self::Server)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_round_trip() {
        for (i, t) in SocketType::ALL.into_iter().enumerate() {
            assert_eq!(usize::try_from(t.number()).unwrap(), i);
            assert_eq!(SocketType::from_number(t.number()), Some(t));
        }
        assert_eq!(SocketType::from_number(21), None);
        assert_eq!(SocketType::from_number(-1), None);
        assert_eq!(SocketType::Peer.number(), 19);
    }

    #[test]
    fn zmtp_names_match() {
        assert_eq!(SocketType::Peer.zmtp().as_bytes(), b"PEER");
        assert_eq!(SocketType::Server.zmtp().as_bytes(), b"SERVER");
        assert_eq!(SocketType::XPub.zmtp().as_bytes(), b"XPUB");
    }

    #[test]
    fn only_peer_server_client_are_supported() {
        let supported: Vec<_> = SocketType::ALL
            .into_iter()
            .filter(|t| t.is_supported())
            .collect();
        assert_eq!(
            supported,
            [SocketType::Server, SocketType::Client, SocketType::Peer]
        );
    }
}
