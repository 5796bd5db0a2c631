//! ZMTP 3.x frames: a flags octet, a 1- or 8-octet size, then the body.
//!
//! ```text
//!  short frame (body 0..255 octets)         long frame (body of any size)
//! +-------+------+-----------------+       +-------+-------------------------+------+
//! | flags | size | body (size oct.)|       | flags | size (8 octets, BE u64) | body |
//! +-------+------+-----------------+       +-------+-------------------------+------+
//! ```
//!
//! Flags: bit 0 MORE, bit 1 LONG, bit 2 COMMAND, bits 3..7 reserved (RFC 23: must be zero).

use bytes::{Buf, BufMut, Bytes, BytesMut};
use nom::IResult;
use nom::number::streaming::{be_u8, be_u64};

use crate::decode::needed_from_nom;
use crate::{Decode, DecodeError};

/// Flag bit: another frame of the same message follows.
pub const FLAG_MORE: u8 = 0x01;
/// Flag bit: the size field is 8 octets.
pub const FLAG_LONG: u8 = 0x02;
/// Flag bit: the frame is a command.
pub const FLAG_COMMAND: u8 = 0x04;
/// Reserved flag bits 3..7.
pub const FLAG_RESERVED: u8 = 0xF8;

/// Largest body that uses the short (1-octet size) form; libzmq uses LONG iff size > 255.
pub const MAX_SHORT_SIZE: u64 = 255;
/// Largest possible frame header (flags + 8-octet size).
pub const MAX_HEADER_LEN: usize = 9;

/// What a decoder does with a frame whose reserved flag bits 3..7 are not zero.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
#[non_exhaustive]
pub enum ReservedFlags {
    /// Refuse the frame with [`DecodeError::ReservedFlags`] (RFC 23: the bits "MUST be zero").
    #[default]
    Reject,
    /// Mask the bits off and read the frame, as libzmq 4.3.5 does (PROTOCOL.md §2.3).
    Ignore,
}

/// A decoded frame header (flags and size), without the body.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct FrameHeader {
    /// MORE: another frame of the same message follows.
    pub more: bool,
    /// COMMAND: the body is a command.
    pub command: bool,
    /// LONG: the size field is 8 octets (on encode, forced on when `size` > 255).
    pub long: bool,
    /// Body size in octets, as claimed by the peer.
    pub size: u64,
}

impl FrameHeader {
    /// A header in libzmq's encoding: LONG iff `size` > 255.
    pub fn new(more: bool, command: bool, size: u64) -> Self {
        Self {
            more,
            command,
            long: size > MAX_SHORT_SIZE,
            size,
        }
    }

    /// Decodes a frame header from the start of `src`.
    ///
    /// A LONG header with a small size is accepted (libzmq accepts it too, PROTOCOL.md §2.3).
    ///
    /// # Errors
    ///
    /// * [`DecodeError::ReservedFlags`] if any of bits 3..7 is set. RFC 23 says they "MUST be
    ///   zero"; libzmq ignores them, but we reject them so that a future flag is never misread.
    /// * [`DecodeError::CommandWithMore`] if both COMMAND and MORE are set (RFC 23: MORE
    ///   "SHALL be zero on command frames").
    pub fn decode(src: &[u8]) -> Result<Decode<Self>, DecodeError> {
        Self::decode_with(src, ReservedFlags::Reject)
    }

    /// Decodes a frame header, treating reserved flag bits 3..7 as `reserved` says.
    ///
    /// With [`ReservedFlags::Ignore`] this reads headers as libzmq's decoder does (PROTOCOL.md
    /// §2.3): the reserved bits are masked off and only MORE, LONG and COMMAND count.
    ///
    /// # Errors
    ///
    /// As [`FrameHeader::decode`], without [`DecodeError::ReservedFlags`] when ignoring them.
    ///
    /// # Examples
    ///
    /// ```
    /// use zmtp_codec::frame::{FrameHeader, ReservedFlags};
    ///
    /// // MORE plus reserved bit 3, a 1-octet body.
    /// assert!(FrameHeader::decode_with(&[0x09, 0x01], ReservedFlags::Reject).is_err());
    /// let header = FrameHeader::decode_with(&[0x09, 0x01], ReservedFlags::Ignore)?
    ///     .into_value()
    ///     .expect("complete");
    /// assert_eq!(header, FrameHeader::new(true, false, 1));
    /// # Ok::<(), zmtp_codec::DecodeError>(())
    /// ```
    pub fn decode_with(src: &[u8], reserved: ReservedFlags) -> Result<Decode<Self>, DecodeError> {
        // The flags are checked as soon as the first octet is present, before the size arrives.
        if let Some(&flags) = src.first() {
            check_flags(flags, reserved)?;
        }
        match parse_header(src) {
            Ok((rest, header)) => Ok(Decode::Complete {
                value: header,
                consumed: src.len() - rest.len(),
            }),
            Err(nom::Err::Incomplete(needed)) => Ok(Decode::Incomplete {
                needed: needed_from_nom(needed),
            }),
            // The streaming number parsers only ever report Incomplete.
            Err(nom::Err::Error(_) | nom::Err::Failure(_)) => {
                Err(DecodeError::MalformedCommand("frame header"))
            }
        }
    }

    /// Appends the header (2 or 9 octets) to `dst`.
    ///
    /// The LONG form is used if `long` is set or the size does not fit in one octet.
    pub fn encode(&self, dst: &mut BytesMut) {
        let (octets, len) = self.to_array();
        dst.put_slice(octets.get(..len).unwrap_or_default());
    }

    /// The encoded header in a fixed array, with its length (2 or 9): for a transport that
    /// writes a header and a body with one vectored write and no buffer of its own.
    ///
    /// ```
    /// use zmtp_codec::frame::FrameHeader;
    ///
    /// let (octets, len) = FrameHeader::new(false, false, 5).to_array();
    /// assert_eq!(&octets[..len], &[0x00, 5]);
    /// let (octets, len) = FrameHeader::new(true, false, 300).to_array();
    /// assert_eq!(&octets[..len], &[0x03, 0, 0, 0, 0, 0, 0, 1, 44]);
    /// ```
    pub fn to_array(&self) -> ([u8; MAX_HEADER_LEN], usize) {
        let mut flags = 0;
        if self.more {
            flags |= FLAG_MORE;
        }
        if self.command {
            flags |= FLAG_COMMAND;
        }
        match u8::try_from(self.size) {
            Ok(short) if !self.long => ([flags, short, 0, 0, 0, 0, 0, 0, 0], 2),
            _ => {
                let [a, b, c, d, e, f, g, h] = self.size.to_be_bytes();
                ([flags | FLAG_LONG, a, b, c, d, e, f, g, h], MAX_HEADER_LEN)
            }
        }
    }

    /// The encoded length of this header: 2 (short) or 9 (long).
    pub fn len(&self) -> usize {
        if self.long || self.size > MAX_SHORT_SIZE {
            MAX_HEADER_LEN
        } else {
            2
        }
    }

    /// Always false: a header is never empty (present for API symmetry with [`Self::len`]).
    pub fn is_empty(&self) -> bool {
        false
    }
}

/// One ZMTP frame: flags plus a body that shares the decoder's buffer.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct Frame {
    /// MORE: another frame of the same message follows.
    pub more: bool,
    /// COMMAND: the body is a command.
    pub command: bool,
    /// The body.
    pub body: Bytes,
}

impl Frame {
    /// A final data frame (no MORE, no COMMAND) carrying `body`.
    pub fn new(body: impl Into<Bytes>) -> Self {
        Self {
            more: false,
            command: false,
            body: body.into(),
        }
    }

    /// The header libzmq would write for this frame (LONG iff the body exceeds 255 octets).
    pub fn header(&self) -> FrameHeader {
        FrameHeader::new(self.more, self.command, body_size(&self.body))
    }

    /// Splits one whole frame off the front of `src`, zero-copy.
    ///
    /// Returns `Ok(None)` and leaves `src` untouched while the frame is incomplete. The size in
    /// the header is a claim: it is checked against `max_size` as soon as the header is
    /// complete, and no memory is reserved for it.
    ///
    /// # Errors
    ///
    /// The errors of [`FrameHeader::decode`], and [`DecodeError::FrameTooLarge`] if the header
    /// claims more than `max_size` octets (or more than fits in memory).
    ///
    /// # Examples
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use zmtp_codec::Frame;
    ///
    /// // The two-frame message "A", "B" (PROTOCOL.md §2.4), arriving with a partial third frame.
    /// let mut src = BytesMut::from(&[0x01, 0x01, b'A', 0x00, 0x01, b'B', 0x00, 0x05][..]);
    /// let a = Frame::decode(&mut src, None)?.expect("complete");
    /// assert!(a.more && &a.body[..] == b"A");
    /// let b = Frame::decode(&mut src, None)?.expect("complete");
    /// assert!(!b.more && &b.body[..] == b"B");
    /// assert_eq!(Frame::decode(&mut src, None)?, None); // incomplete: nothing consumed
    /// assert_eq!(&src[..], &[0x00, 0x05]);
    /// # Ok::<(), zmtp_codec::DecodeError>(())
    /// ```
    pub fn decode(src: &mut BytesMut, max_size: Option<u64>) -> Result<Option<Self>, DecodeError> {
        let (header, header_len) = match FrameHeader::decode(src)? {
            Decode::Complete { value, consumed } => (value, consumed),
            Decode::Incomplete { .. } => return Ok(None),
        };
        if let Some(limit) = max_size.filter(|&limit| header.size > limit) {
            return Err(DecodeError::FrameTooLarge {
                size: header.size,
                limit,
            });
        }
        let size = body_len(header.size)?;
        if src.len() - header_len < size {
            return Ok(None);
        }
        src.advance(header_len);
        // An empty body need not pin the source buffer's memory.
        let body = if size == 0 {
            Bytes::new()
        } else {
            src.split_to(size).freeze()
        };
        Ok(Some(Self {
            more: header.more,
            command: header.command,
            body,
        }))
    }

    /// Appends header and body to `dst` (copies the body; the session avoids that for large
    /// bodies by queueing them as their own chunk).
    pub fn encode(&self, dst: &mut BytesMut) {
        let header = self.header();
        dst.reserve(header.len() + self.body.len());
        header.encode(dst);
        dst.put_slice(&self.body);
    }
}

/// Converts a claimed size into an in-memory length.
///
/// # Errors
///
/// [`DecodeError::FrameTooLarge`] if the size does not fit in `usize` (32-bit targets).
pub(crate) fn body_len(size: u64) -> Result<usize, DecodeError> {
    usize::try_from(size).map_err(|_| DecodeError::FrameTooLarge {
        size,
        limit: u64::try_from(usize::MAX).unwrap_or(u64::MAX),
    })
}

/// The size field value for a body held in memory.
pub(crate) fn body_size(body: &[u8]) -> u64 {
    // usize is at most 64 bits on every supported target.
    u64::try_from(body.len()).unwrap_or(u64::MAX)
}

/// Rejects reserved bits (unless told to ignore them) and COMMAND+MORE.
fn check_flags(flags: u8, reserved: ReservedFlags) -> Result<(), DecodeError> {
    // RFC 23 "Framing": "Bits 7-3: Reserved. Bits 7-3 are reserved for future use and MUST be
    // zero." libzmq ignores them (PROTOCOL.md §2.3); by default we reject them, so that a frame
    // using a future flag is never misread as data.
    if reserved == ReservedFlags::Reject && flags & FLAG_RESERVED != 0 {
        return Err(DecodeError::ReservedFlags(flags));
    }
    // RFC 23, bit 0 (MORE): "This bit SHALL be zero on command frames."
    if flags & FLAG_COMMAND != 0 && flags & FLAG_MORE != 0 {
        return Err(DecodeError::CommandWithMore);
    }
    Ok(())
}

/// Parses flags and the short or long size.
fn parse_header(input: &[u8]) -> IResult<&[u8], FrameHeader> {
    let (input, flags) = be_u8(input)?;
    let long = flags & FLAG_LONG != 0;
    let (input, size) = if long {
        be_u64(input)?
    } else {
        let (input, size) = be_u8(input)?;
        (input, u64::from(size))
    };
    Ok((
        input,
        FrameHeader {
            more: flags & FLAG_MORE != 0,
            command: flags & FLAG_COMMAND != 0,
            long,
            size,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(frame: &Frame) -> Vec<u8> {
        let mut dst = BytesMut::new();
        frame.encode(&mut dst);
        dst.to_vec()
    }

    #[test]
    fn one_byte_message() {
        // PROTOCOL.md §2.4: 1-byte message 0x01 -> 00 01 01.
        assert_eq!(encode(&Frame::new(vec![0x01])), [0x00, 0x01, 0x01]);
        let mut src = BytesMut::from(&[0x00, 0x01, 0x01][..]);
        let f = Frame::decode(&mut src, None).unwrap().unwrap();
        assert_eq!(f, Frame::new(vec![0x01]));
        assert!(src.is_empty());
    }

    #[test]
    fn empty_message() {
        // PROTOCOL.md §2.4: empty message -> 00 00.
        assert_eq!(encode(&Frame::new(Bytes::new())), [0x00, 0x00]);
        let mut src = BytesMut::from(&[0x00, 0x00][..]);
        assert_eq!(
            Frame::decode(&mut src, None).unwrap(),
            Some(Frame::new(Bytes::new()))
        );
    }

    #[test]
    fn three_hundred_byte_message_uses_long_form() {
        // PROTOCOL.md §2.4: 02 00 00 00 00 00 00 01 2C <300 bytes>.
        let body = vec![0xAB; 300];
        let wire = encode(&Frame::new(body.clone()));
        assert_eq!(&wire[..9], &[0x02, 0, 0, 0, 0, 0, 0, 0x01, 0x2C]);
        assert_eq!(&wire[9..], &body[..]);
        let mut src = BytesMut::from(&wire[..]);
        let f = Frame::decode(&mut src, None).unwrap().unwrap();
        assert_eq!(f.body.len(), 300);
        assert!(!f.more && !f.command);
    }

    #[test]
    fn two_hundred_fifty_five_uses_short_form() {
        // PROTOCOL.md §2.2: "A 255-octet body uses the short form (xx FF)".
        let wire = encode(&Frame::new(vec![7; 255]));
        assert_eq!(&wire[..2], &[0x00, 0xFF]);
        assert_eq!(wire.len(), 257);
        let wire = encode(&Frame::new(vec![7; 256]));
        assert_eq!(&wire[..9], &[0x02, 0, 0, 0, 0, 0, 0, 0x01, 0x00]);
    }

    #[test]
    fn two_frame_message() {
        // PROTOCOL.md §2.4: "A","B" -> 01 01 41 00 01 42.
        let mut first = Frame::new(&b"A"[..]);
        first.more = true;
        let second = Frame::new(&b"B"[..]);
        let mut wire = encode(&first);
        wire.extend(encode(&second));
        assert_eq!(wire, [0x01, 0x01, 0x41, 0x00, 0x01, 0x42]);
        let mut src = BytesMut::from(&wire[..]);
        assert_eq!(Frame::decode(&mut src, None).unwrap(), Some(first));
        assert_eq!(Frame::decode(&mut src, None).unwrap(), Some(second));
        assert_eq!(Frame::decode(&mut src, None).unwrap(), None);
    }

    #[test]
    fn body_is_zero_copy() {
        let mut src = BytesMut::from(&[0x00, 0x03, b'a', b'b', b'c', 0x00][..]);
        let start = src.as_ptr() as usize;
        let f = Frame::decode(&mut src, None).unwrap().unwrap();
        assert_eq!(f.body.as_ptr() as usize, start + 2);
        assert_eq!(&src[..], &[0x00]);
    }

    #[test]
    fn incomplete_frames_consume_nothing() {
        let wire = encode(&Frame::new(vec![1; 300]));
        for len in 0..wire.len() {
            let mut src = BytesMut::from(&wire[..len]);
            assert_eq!(Frame::decode(&mut src, None).unwrap(), None, "len {len}");
            assert_eq!(src.len(), len);
        }
        assert_eq!(
            FrameHeader::decode(&wire[..5]).unwrap(),
            Decode::Incomplete { needed: 4 }
        );
        assert_eq!(
            FrameHeader::decode(&[]).unwrap(),
            Decode::Incomplete { needed: 1 }
        );
    }

    #[test]
    fn reserved_bits_are_rejected_at_the_first_octet() {
        for bit in 3..8 {
            let flags = 1_u8 << bit;
            assert_eq!(
                FrameHeader::decode(&[flags]),
                Err(DecodeError::ReservedFlags(flags))
            );
        }
    }

    #[test]
    fn command_with_more_is_rejected() {
        assert_eq!(
            FrameHeader::decode(&[0x05, 0x00]),
            Err(DecodeError::CommandWithMore)
        );
    }

    #[test]
    fn long_header_with_small_size_is_accepted() {
        let wire = [0x06, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xEE];
        let header = FrameHeader::decode(&wire).unwrap().into_value().unwrap();
        assert_eq!(
            header,
            FrameHeader {
                more: false,
                command: true,
                long: true,
                size: 1
            }
        );
        assert_eq!(header.len(), 9);
        let mut dst = BytesMut::new();
        header.encode(&mut dst);
        assert_eq!(&dst[..], &wire[..9]);
    }

    #[test]
    fn size_is_checked_before_the_body_arrives() {
        let mut src = BytesMut::from(&[0x02, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF][..]);
        assert_eq!(
            Frame::decode(&mut src, Some(1024)),
            Err(DecodeError::FrameTooLarge {
                size: u64::MAX,
                limit: 1024
            })
        );
        // Without a limit the frame is merely incomplete and nothing is reserved.
        let cap = src.capacity();
        assert_eq!(Frame::decode(&mut src, None), Ok(None));
        assert_eq!(src.capacity(), cap);
    }

    #[test]
    fn short_header_with_oversized_size_is_encoded_long() {
        let h = FrameHeader {
            more: true,
            command: false,
            long: false,
            size: 1000,
        };
        assert_eq!(h.len(), 9);
        let mut dst = BytesMut::new();
        h.encode(&mut dst);
        assert_eq!(&dst[..], &[0x03, 0, 0, 0, 0, 0, 0, 0x03, 0xE8]);
        assert!(!h.is_empty());
    }
}
