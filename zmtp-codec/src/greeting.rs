//! The 64-octet ZMTP 3.x greeting: signature, version, mechanism name, as-server flag.
//!
//! ```text
//! offset  0      1 .. 8          9      10       11       12 ........ 31   32         33 ...... 63
//!       +------+--------------+------+--------+--------+-----------------+----------+-------------+
//!       | 0xFF |  padding (8) | 0x7F | major  | minor  | mechanism (20)  | as-server| filler (31) |
//!       +------+--------------+------+--------+--------+-----------------+----------+-------------+
//! ```
//!
//! Legacy ZMTP 1.0 and 2.0 peers are **not supported**: the decoder recognises them as early as
//! libzmq does (after 1, 10 or 11 octets, PROTOCOL.md §1.3) and reports a typed error instead of
//! waiting for a 64-octet greeting that will never come. Their framing has no commands, so no
//! READY, no `Socket-Type` check and no heartbeats; PEER and the other draft socket types need
//! ZMTP 3.x, and RFC 23 asks implementations to "guard against downgrade attacks, which may
//! take the form of crafting a ZMTP 1.0 or 2.0 protocol header".

use bytes::{BufMut, BytesMut};
use nom::IResult;
use nom::bytes::streaming::take;
use nom::number::streaming::{be_u8, be_u64};

use crate::decode::needed_from_nom;
use crate::{Decode, DecodeError, MechanismName};

/// Size of a ZMTP 3.x greeting on the wire.
pub const GREETING_LEN: usize = 64;

/// Width of the NUL-padded mechanism field.
pub const MECHANISM_LEN: usize = 20;

/// A ZMTP protocol version as announced in the greeting.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Version {
    /// Major version (3 for ZMTP 3.x; libzmq also accepts 2 and anything above 3 as 3.1).
    pub major: u8,
    /// Minor version (0 = ZMTP 3.0, 1 = ZMTP 3.1).
    pub minor: u8,
}

impl Version {
    /// ZMTP 3.0 (RFC 23).
    pub const V3_0: Self = Self { major: 3, minor: 0 };
    /// ZMTP 3.1 (RFC 37), what libzmq 4.3.5 and this codec send.
    pub const V3_1: Self = Self { major: 3, minor: 1 };

    /// Whether the peer is to be treated as ZMTP 3.0 rather than 3.1.
    ///
    /// Follows libzmq (PROTOCOL.md §1.3): only major 3 with minor 0 is 3.0; major 2 and majors
    /// above 3 are 3.1. The difference matters only for SUB/XSUB subscriptions.
    pub fn is_v3_0(self) -> bool {
        self.major == 3 && self.minor == 0
    }
}

/// A decoded or to-be-encoded ZMTP 3.x greeting.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Greeting {
    /// Octets 1..8 as a big-endian integer. libzmq writes the routing-id length + 1 here (so `1`
    /// for a PEER) so that a ZMTP 1.0 peer reads an identity-frame header; RFC 23 says the value
    /// has no meaning and it is never validated on receipt (PROTOCOL.md §15.2).
    pub padding: u64,
    /// The announced protocol version.
    pub version: Version,
    /// The security mechanism name (trailing NULs of the 20-octet field removed).
    pub mechanism: MechanismName,
    /// The as-server flag. libzmq 4.3.5 always sends 0 and ignores the received value
    /// (PROTOCOL.md §15.1), so [`Session`](crate::Session) does the same.
    pub as_server: bool,
}

impl Greeting {
    /// The greeting libzmq 4.3.5 would send with this mechanism and no routing id: padding 1,
    /// version 3.1, as-server 0.
    pub fn new(mechanism: MechanismName) -> Self {
        Self {
            padding: 1,
            version: Version::V3_1,
            mechanism,
            as_server: false,
        }
    }

    /// Appends the 64-octet greeting to `dst`.
    ///
    /// A mechanism name longer than 20 octets is truncated to 20 (the field is fixed-width).
    pub fn encode(&self, dst: &mut BytesMut) {
        dst.reserve(GREETING_LEN);
        dst.put_u8(0xFF);
        dst.put_u64(self.padding);
        dst.put_u8(0x7F);
        dst.put_u8(self.version.major);
        dst.put_u8(self.version.minor);
        let name = self.mechanism.as_bytes();
        let name = name.get(..MECHANISM_LEN).unwrap_or(name);
        dst.put_slice(name);
        dst.put_bytes(0, MECHANISM_LEN - name.len());
        dst.put_u8(u8::from(self.as_server));
        dst.put_bytes(0, FILLER_LEN);
    }

    /// Decodes a greeting from the start of `src`, failing as early as the prefix allows.
    ///
    /// Returns [`Decode::Incomplete`] (consuming nothing) while fewer than 64 octets are present
    /// and nothing is wrong yet.
    ///
    /// # Errors
    ///
    /// * [`DecodeError::BadSignature`] as soon as octet 0 is not `0xFF` or bit 0 of octet 9 is
    ///   clear: the peer is an unversioned ZMTP 1.0 peer (or not ZMTP at all).
    /// * [`DecodeError::UnsupportedVersion`] as soon as octet 10 (major) is 0 or 1: a legacy
    ///   peer that would next wait for our socket-type octet. Major 2 is accepted and treated
    ///   as 3.1, like libzmq (PROTOCOL.md §15.3).
    ///
    /// # Examples
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use zmtp_codec::{Decode, DecodeError, Greeting, MechanismName, Version};
    ///
    /// let mut wire = BytesMut::new();
    /// Greeting::new(MechanismName::NULL).encode(&mut wire);
    /// assert_eq!(&wire[..12], b"\xFF\0\0\0\0\0\0\0\x01\x7F\x03\x01");
    /// assert_eq!(Greeting::decode(&wire[..40])?, Decode::Incomplete { needed: 24 });
    /// let Decode::Complete { value, consumed } = Greeting::decode(&wire)? else { unreachable!() };
    /// assert_eq!((value.version, consumed), (Version::V3_1, 64));
    /// // A ZMTP 1.0 peer is recognised from its first octet.
    /// assert_eq!(Greeting::decode(&[0x01]), Err(DecodeError::BadSignature));
    /// # Ok::<(), DecodeError>(())
    /// ```
    pub fn decode(src: &[u8]) -> Result<Decode<Self>, DecodeError> {
        // RFC 23 "Version Negotiation" / libzmq `receive_greeting`: the first octet alone tells
        // an unversioned 1.0 peer apart (its first octet is a short identity length).
        if src.first().is_some_and(|&b| b != 0xFF) {
            return Err(DecodeError::BadSignature);
        }
        // With 10 octets in, bit 0 of octet 9 clear means a 1.0 peer sent 0xFF + an 8-octet
        // length + a flags octet without MORE.
        if src.get(9).is_some_and(|&b| b & 0x01 == 0) {
            return Err(DecodeError::BadSignature);
        }
        // Octet 10 is the major version: 0 and 1 are legacy (libzmq would now send its
        // socket-type octet and speak 1.0/2.0 framing, which we do not implement). RFC 23: "A
        // peer MUST accept higher protocol versions as valid", so everything from 2 up passes.
        // (RFC 23 calls major 2 ZMTP 2.0; libzmq treats it as 3.1, PROTOCOL.md §15.3.)
        if let Some(&major) = src.get(10).filter(|&&major| major < 2) {
            return Err(DecodeError::UnsupportedVersion { major });
        }
        match parse_greeting(src) {
            Ok((_, greeting)) => Ok(Decode::Complete {
                value: greeting,
                consumed: GREETING_LEN,
            }),
            Err(nom::Err::Incomplete(needed)) => Ok(Decode::Incomplete {
                needed: needed_from_nom(needed),
            }),
            // Every parser above is infallible on enough input; keep a typed error anyway.
            Err(nom::Err::Error(_) | nom::Err::Failure(_)) => Err(DecodeError::BadSignature),
        }
    }
}

/// Parses a whole greeting; the prefix has already been validated by the caller.
fn parse_greeting(input: &[u8]) -> IResult<&[u8], Greeting> {
    let (input, _signature_start) = be_u8(input)?;
    let (input, padding) = be_u64(input)?;
    let (input, _signature_end) = be_u8(input)?;
    let (input, major) = be_u8(input)?;
    let (input, minor) = be_u8(input)?;
    let (input, mechanism) = take(MECHANISM_LEN)(input)?;
    let (input, as_server) = be_u8(input)?;
    let (input, _filler) = take(FILLER_LEN)(input)?;
    let name_len = mechanism
        .iter()
        .rposition(|&b| b != 0)
        .map_or(0, |last| last + 1);
    let name = mechanism.get(..name_len).unwrap_or(mechanism);
    Ok((
        input,
        Greeting {
            padding,
            version: Version { major, minor },
            mechanism: MechanismName::new(bytes::Bytes::copy_from_slice(name)),
            // RFC 23 defines 0x00 / 0x01; any non-zero octet is read as set. libzmq ignores it.
            as_server: as_server != 0,
        },
    ))
}

/// Length of the zero filler after the as-server octet.
const FILLER_LEN: usize = 31;

#[cfg(test)]
mod tests {
    use super::*;

    /// PROTOCOL.md §1.1: the exact 64 octets libzmq 4.3.5 sends for a PEER socket with NULL
    /// security and no routing id [exp].
    const LIBZMQ_PEER_GREETING: [u8; 64] = [
        0xFF, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x7F, 0x03, 0x01, 0x4E, 0x55, 0x4C,
        0x4C, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00,
    ];

    #[test]
    fn encodes_libzmq_peer_greeting_byte_for_byte() {
        let mut dst = BytesMut::new();
        Greeting::new(MechanismName::NULL).encode(&mut dst);
        assert_eq!(&dst[..], &LIBZMQ_PEER_GREETING[..]);
    }

    #[test]
    fn decodes_libzmq_peer_greeting() {
        let d = Greeting::decode(&LIBZMQ_PEER_GREETING).unwrap();
        assert_eq!(
            d,
            Decode::Complete {
                value: Greeting::new(MechanismName::NULL),
                consumed: 64
            }
        );
    }

    #[test]
    fn padding_carries_identity_length_plus_one() {
        // PROTOCOL.md §1.1: N = 255 gives octet 7 = 0x01 and octet 8 = 0x00.
        let mut g = Greeting::new(MechanismName::PLAIN);
        g.padding = 256;
        let mut dst = BytesMut::new();
        g.encode(&mut dst);
        assert_eq!(&dst[1..9], &[0, 0, 0, 0, 0, 0, 1, 0]);
        assert_eq!(&dst[12..17], b"PLAIN");
        assert_eq!(Greeting::decode(&dst).unwrap().into_value(), Some(g));
    }

    #[test]
    fn every_prefix_is_incomplete_and_consumes_nothing() {
        for len in 0..64 {
            match Greeting::decode(&LIBZMQ_PEER_GREETING[..len]).unwrap() {
                Decode::Incomplete { needed } => assert!(needed >= 1 && needed <= 64 - len),
                Decode::Complete { .. } => panic!("complete at {len}"),
            }
        }
    }

    #[test]
    fn legacy_peers_are_detected_early() {
        // ZMTP 1.0: first octet is a short identity length.
        assert_eq!(Greeting::decode(&[0x01]), Err(DecodeError::BadSignature));
        // ZMTP 1.0 with a long identity: 0xFF + 8-octet length + flags without bit 0.
        let mut v10 = [0_u8; 10];
        v10[0] = 0xFF;
        v10[8] = 0x05;
        assert_eq!(Greeting::decode(&v10), Err(DecodeError::BadSignature));
        // ZMTP 2.0 (major 1) and the 1.0-compatible revision 0, seen after 11 octets.
        for major in [0_u8, 1] {
            let mut g = LIBZMQ_PEER_GREETING;
            g[10] = major;
            assert_eq!(
                Greeting::decode(&g[..11]),
                Err(DecodeError::UnsupportedVersion { major })
            );
        }
    }

    #[test]
    fn major_two_and_higher_are_accepted_like_libzmq() {
        for major in [2_u8, 3, 4, 0xFF] {
            let mut g = LIBZMQ_PEER_GREETING;
            g[10] = major;
            g[11] = 0;
            let v = Greeting::decode(&g).unwrap().into_value().unwrap();
            assert_eq!(v.version, Version { major, minor: 0 });
            assert_eq!(v.version.is_v3_0(), major == 3);
        }
    }

    #[test]
    fn as_server_and_filler_are_read_leniently() {
        let mut g = LIBZMQ_PEER_GREETING;
        g[32] = 1;
        g[40] = 0xAA; // filler is not checked
        let v = Greeting::decode(&g).unwrap().into_value().unwrap();
        assert!(v.as_server);
        assert_eq!(v.mechanism, MechanismName::NULL);
    }

    #[test]
    fn long_mechanism_names_are_truncated_to_the_field() {
        let g = Greeting::new(MechanismName::new(&b"ABCDEFGHIJKLMNOPQRSTUVWXYZ"[..]));
        let mut dst = BytesMut::new();
        g.encode(&mut dst);
        assert_eq!(dst.len(), 64);
        let back = Greeting::decode(&dst).unwrap().into_value().unwrap();
        assert_eq!(back.mechanism.as_bytes(), b"ABCDEFGHIJKLMNOPQRST");
    }
}
