//! `arbitrary::Arbitrary` implementations for structured fuzzing (feature `arbitrary`).
//!
//! Every generated value is one the encoders represent losslessly, so a fuzz target can assert
//! `decode(encode(x)) == x` directly: 1-octet length fields stay within 255 octets, commands never
//! carry MORE, short headers never claim more than 255 octets, greetings announce a major version
//! of at least 2 and a mechanism name of at most 20 octets without trailing NULs.

use arbitrary::{Arbitrary, Result, Unstructured};
use bytes::Bytes;

use crate::command::{self, Command};
use crate::frame::{Frame, FrameHeader, MAX_SHORT_SIZE};
use crate::greeting::{Greeting, MECHANISM_LEN, Version};
use crate::{MechanismName, Message, Metadata, SocketType, WsProtocol};

impl<'a> Arbitrary<'a> for SocketType {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        Ok(if u.arbitrary()? {
            Self::new(bytes_up_to(u, usize::MAX)?)
        } else {
            u.choose(&KNOWN_SOCKET_TYPES)?.clone()
        })
    }
}

impl<'a> Arbitrary<'a> for MechanismName {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        let mut name = bytes_up_to(u, MECHANISM_LEN)?.to_vec();
        while name.last() == Some(&0) {
            name.pop();
        }
        Ok(Self::new(name))
    }
}

impl<'a> Arbitrary<'a> for Metadata {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        let mut md = Self::new();
        for _ in 0..u.int_in_range(0_u8..=8)? {
            md.push(bytes_up_to(u, 255)?, bytes_up_to(u, usize::MAX)?);
        }
        Ok(md)
    }
}

impl<'a> Arbitrary<'a> for Message {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        let count = u.int_in_range(1_u8..=4)?;
        let frames = (0..count)
            .map(|_| bytes_up_to(u, usize::MAX))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self::from_frames(frames))
    }
}

impl<'a> Arbitrary<'a> for FrameHeader {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        let command: bool = u.arbitrary()?;
        let more = !command && u.arbitrary::<bool>()?;
        let long: bool = u.arbitrary()?;
        let size: u64 = u.arbitrary()?;
        Ok(Self {
            more,
            command,
            long,
            size: if long {
                size
            } else {
                size % (MAX_SHORT_SIZE + 1)
            },
        })
    }
}

impl<'a> Arbitrary<'a> for Frame {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        let command: bool = u.arbitrary()?;
        let more = !command && u.arbitrary::<bool>()?;
        Ok(Self {
            more,
            command,
            body: bytes_up_to(u, usize::MAX)?,
        })
    }
}

impl<'a> Arbitrary<'a> for Version {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        Ok(Self {
            major: u.int_in_range(2_u8..=u8::MAX)?,
            minor: u.arbitrary()?,
        })
    }
}

impl<'a> Arbitrary<'a> for Greeting {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        Ok(Self {
            padding: u.arbitrary()?,
            version: u.arbitrary()?,
            mechanism: u.arbitrary()?,
            as_server: u.arbitrary()?,
        })
    }
}

impl<'a> Arbitrary<'a> for Command {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        Ok(match u.int_in_range(0_u8..=9)? {
            0 => Self::Ready(u.arbitrary()?),
            1 => Self::Error {
                reason: bytes_up_to(u, 255)?,
            },
            2 => Self::Ping {
                ttl: u.arbitrary()?,
                context: bytes_up_to(u, usize::MAX)?,
            },
            3 => Self::Pong {
                context: bytes_up_to(u, usize::MAX)?,
            },
            4 => Self::Subscribe(bytes_up_to(u, usize::MAX)?),
            5 => Self::Cancel(bytes_up_to(u, usize::MAX)?),
            6 => Self::Hello {
                username: bytes_up_to(u, 255)?,
                password: bytes_up_to(u, 255)?,
            },
            7 => Self::Welcome,
            8 => Self::Initiate(u.arbitrary()?),
            _ => {
                let mut name = bytes_up_to(u, 255)?;
                // A known name would decode as that command, not as `Unknown`.
                if KNOWN_NAMES.contains(&name.as_ref()) {
                    name = Bytes::from_static(b"X-UNKNOWN");
                }
                Self::Unknown {
                    name,
                    data: bytes_up_to(u, usize::MAX)?,
                }
            }
        })
    }
}

impl<'a> Arbitrary<'a> for WsProtocol {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        u.choose(&[Self::Zws20Null, Self::Zws20Plain, Self::Zws20Bare])
            .copied()
    }
}

/// Up to `max` arbitrary octets.
fn bytes_up_to(u: &mut Unstructured<'_>, max: usize) -> Result<Bytes> {
    let len = u.arbitrary_len::<u8>()?.min(max);
    Ok(Bytes::copy_from_slice(u.bytes(len)?))
}

/// Every command name the decoder maps to a specific variant.
const KNOWN_NAMES: [&[u8]; 9] = [
    command::READY,
    command::ERROR,
    command::PING,
    command::PONG,
    command::SUBSCRIBE,
    command::CANCEL,
    command::HELLO,
    command::WELCOME,
    command::INITIATE,
];

/// Socket types picked by name.
const KNOWN_SOCKET_TYPES: [SocketType; 6] = [
    SocketType::PEER,
    SocketType::DEALER,
    SocketType::ROUTER,
    SocketType::PAIR,
    SocketType::SERVER,
    SocketType::CLIENT,
];

#[cfg(test)]
mod tests {
    use bytes::BytesMut;

    use super::*;
    use crate::Decode;

    /// Deterministic pseudo-random input for the generators.
    fn noise(seed: u32, len: usize) -> Vec<u8> {
        let mut x = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x.to_le_bytes()[0]
            })
            .collect()
    }

    #[test]
    fn generated_values_round_trip() {
        for seed in 0..300 {
            let data = noise(seed, 2048);
            let mut u = Unstructured::new(&data);
            let cmd: Command = u.arbitrary().unwrap();
            let mut body = BytesMut::new();
            cmd.encode(&mut body);
            assert_eq!(Command::decode(&body.freeze()), Ok(cmd));

            let frame: Frame = u.arbitrary().unwrap();
            let mut wire = BytesMut::new();
            frame.encode(&mut wire);
            assert_eq!(Frame::decode(&mut wire, None), Ok(Some(frame)));

            let header: FrameHeader = u.arbitrary().unwrap();
            let mut wire = BytesMut::new();
            header.encode(&mut wire);
            assert_eq!(
                FrameHeader::decode(&wire),
                Ok(Decode::Complete {
                    value: header,
                    consumed: header.len()
                })
            );

            let greeting: Greeting = u.arbitrary().unwrap();
            let mut wire = BytesMut::new();
            greeting.encode(&mut wire);
            assert_eq!(
                Greeting::decode(&wire).unwrap().into_value(),
                Some(greeting)
            );

            let md: Metadata = u.arbitrary().unwrap();
            let mut wire = BytesMut::new();
            md.encode(&mut wire);
            assert_eq!(Metadata::decode(&wire), Ok(md));

            let msg: Message = u.arbitrary().unwrap();
            assert!(msg.frame_count() >= 1);
            let _: SocketType = u.arbitrary().unwrap();
            let ws: WsProtocol = u.arbitrary().unwrap();
            assert_eq!(WsProtocol::parse(ws.as_str()), Some(ws));
        }
    }
}
