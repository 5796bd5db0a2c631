//! Metadata properties: the body of READY and INITIATE after the command name.
//!
//! ```text
//! +----------+------------------+--------------------------+-------------+
//! | name-len | name (name-len)  | value-len (4 octets, BE) | value       |
//! | 1 octet  | 1..255 chars     | 0 .. 2^31-1              | value-len   |
//! +----------+------------------+--------------------------+-------------+
//! ```
//!
//! Repeated until the body ends; no count, no terminator (PROTOCOL.md §3.1).

use bytes::{BufMut, Bytes, BytesMut};
use nom::IResult;
use nom::multi::length_data;
use nom::number::complete::{be_u8, be_u32};

use crate::DecodeError;

/// Ordered metadata properties `(name, value)`, as carried by READY / INITIATE.
///
/// Order and duplicates received from a peer are preserved. Lookups with [`Metadata::get`] are
/// case-insensitive as RFC 23 asks; the handshake itself matches `Socket-Type` exactly, as
/// libzmq does (PROTOCOL.md §15.7), via [`Metadata::get_exact`].
///
/// # Examples
///
/// ```
/// use bytes::BytesMut;
/// use zmtp_codec::Metadata;
///
/// let mut md = Metadata::new();
/// md.insert("Socket-Type", "PEER");
/// let mut wire = BytesMut::new();
/// md.encode(&mut wire);
/// assert_eq!(&wire[..], b"\x0BSocket-Type\x00\x00\x00\x04PEER");
/// let back = Metadata::decode(&wire)?;
/// assert_eq!(back.get("socket-type").map(|v| &v[..]), Some(&b"PEER"[..]));
/// # Ok::<(), zmtp_codec::DecodeError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct Metadata {
    properties: Vec<(Bytes, Bytes)>,
}

impl Metadata {
    /// An empty property list.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets a property: replaces the value of the first property with the same name
    /// (compared case-insensitively), or appends a new one.
    ///
    /// Names longer than 255 octets cannot be encoded and are truncated by [`Metadata::encode`].
    pub fn insert(&mut self, name: impl Into<Bytes>, value: impl Into<Bytes>) {
        let name = name.into();
        let value = value.into();
        match self
            .properties
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(&name))
        {
            Some(slot) => slot.1 = value,
            None => self.properties.push((name, value)),
        }
    }

    /// Appends a property without looking for an existing one (wire order is kept).
    pub(crate) fn push(&mut self, name: Bytes, value: Bytes) {
        self.properties.push((name, value));
    }

    /// The value of the first property named `name`, compared case-insensitively (RFC 23).
    pub fn get(&self, name: &str) -> Option<&Bytes> {
        self.properties
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, v)| v)
    }

    /// The value of the first property named exactly `name` (case-sensitive, as libzmq matches
    /// `Socket-Type`).
    pub fn get_exact(&self, name: &[u8]) -> Option<&Bytes> {
        self.properties
            .iter()
            .find(|(n, _)| n.as_ref() == name)
            .map(|(_, v)| v)
    }

    /// The properties in wire order.
    pub fn iter(&self) -> impl Iterator<Item = (&Bytes, &Bytes)> {
        self.properties.iter().map(|(n, v)| (n, v))
    }

    /// Number of properties.
    pub fn len(&self) -> usize {
        self.properties.len()
    }

    /// Whether there are no properties.
    pub fn is_empty(&self) -> bool {
        self.properties.is_empty()
    }

    /// Number of octets [`Metadata::encode`] appends.
    pub fn encoded_len(&self) -> usize {
        self.properties
            .iter()
            .map(|(n, v)| 1 + n.len().min(MAX_NAME_LEN) + 4 + v.len().min(MAX_VALUE_LEN))
            .sum()
    }

    /// Appends the wire encoding of every property to `dst`.
    ///
    /// Names are truncated to 255 octets and values to 2^31 - 1 octets, the limits of the
    /// encoding (RFC 23).
    pub fn encode(&self, dst: &mut BytesMut) {
        dst.reserve(self.encoded_len());
        for (name, value) in &self.properties {
            let name = name.get(..MAX_NAME_LEN).unwrap_or(name);
            let value = value.get(..MAX_VALUE_LEN).unwrap_or(value);
            // Both lengths were just clamped to their field widths.
            dst.put_u8(u8::try_from(name.len()).unwrap_or(u8::MAX));
            dst.put_slice(name);
            dst.put_u32(u32::try_from(value.len()).unwrap_or(u32::MAX));
            dst.put_slice(value);
        }
    }

    /// Decodes a metadata block, copying it once into a shared buffer.
    ///
    /// # Errors
    ///
    /// [`DecodeError::MalformedMetadata`] if a property does not fit in `src` or octets are
    /// left over (libzmq `parse_metadata` rejects both).
    pub fn decode(src: &[u8]) -> Result<Self, DecodeError> {
        Self::decode_bytes(&Bytes::copy_from_slice(src))
    }

    /// Decodes a metadata block; names and values share `src`'s buffer (zero-copy).
    ///
    /// # Errors
    ///
    /// As [`Metadata::decode`].
    pub fn decode_bytes(src: &Bytes) -> Result<Self, DecodeError> {
        let mut properties = Vec::new();
        let mut input: &[u8] = src;
        while !input.is_empty() {
            // Each length is a claim: `length_data` compares it with the octets actually
            // present before slicing, and nothing is allocated from it.
            let (rest, (name, value)) =
                property(input).map_err(|_| DecodeError::MalformedMetadata)?;
            properties.push((src.slice_ref(name), src.slice_ref(value)));
            input = rest;
        }
        Ok(Self { properties })
    }
}

impl<N: Into<Bytes>, V: Into<Bytes>> FromIterator<(N, V)> for Metadata {
    /// Collects properties, with [`Metadata::insert`] semantics.
    fn from_iter<T: IntoIterator<Item = (N, V)>>(iter: T) -> Self {
        let mut md = Self::new();
        for (n, v) in iter {
            md.insert(n, v);
        }
        md
    }
}

/// One property: u8 name length, name, u32 value length, value.
fn property(input: &[u8]) -> IResult<&[u8], (&[u8], &[u8])> {
    let (input, name) = length_data(be_u8)(input)?;
    let (input, value) = length_data(be_u32)(input)?;
    Ok((input, (name, value)))
}

/// Longest name the 1-octet length can carry.
const MAX_NAME_LEN: usize = 255;
/// Longest value RFC 23 allows (the 4-octet length is "0 .. 2^31-1").
const MAX_VALUE_LEN: usize = 0x7FFF_FFFF;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_socket_type_and_x_foo() {
        // PROTOCOL.md §3.2: Socket-Type PEER, then X-Foo:bar.
        let mut md = Metadata::new();
        md.insert("Socket-Type", "PEER");
        md.insert("X-Foo", "bar");
        let mut dst = BytesMut::new();
        md.encode(&mut dst);
        let mut expected = vec![0x0B];
        expected.extend_from_slice(b"Socket-Type");
        expected.extend_from_slice(&[0, 0, 0, 4]);
        expected.extend_from_slice(b"PEER");
        expected.extend_from_slice(&[
            0x05, 0x58, 0x2D, 0x46, 0x6F, 0x6F, 0x00, 0x00, 0x00, 0x03, 0x62, 0x61, 0x72,
        ]);
        assert_eq!(&dst[..], &expected[..]);
        assert_eq!(md.encoded_len(), expected.len());
        assert_eq!(Metadata::decode(&expected).unwrap(), md);
    }

    #[test]
    fn lookups() {
        let md: Metadata = [("Socket-Type", "PEER"), ("x-a", "1")]
            .into_iter()
            .collect();
        assert_eq!(md.get("socket-type").map(|v| &v[..]), Some(&b"PEER"[..]));
        assert_eq!(md.get_exact(b"socket-type"), None);
        assert_eq!(
            md.get_exact(b"Socket-Type").map(|v| &v[..]),
            Some(&b"PEER"[..])
        );
        assert_eq!(md.len(), 2);
        assert!(!md.is_empty());
        let mut md = md;
        md.insert("X-A", "2");
        assert_eq!(md.len(), 2);
        assert_eq!(md.get("x-a").map(|v| &v[..]), Some(&b"2"[..]));
        let names: Vec<&[u8]> = md.iter().map(|(n, _)| n.as_ref()).collect();
        assert_eq!(names, [&b"Socket-Type"[..], &b"x-a"[..]]);
    }

    #[test]
    fn empty_block_and_empty_names_are_accepted() {
        assert!(Metadata::decode(&[]).unwrap().is_empty());
        // libzmq accepts zero-length names (PROTOCOL.md §3.1).
        let md = Metadata::decode(&[0, 0, 0, 0, 1, b'v']).unwrap();
        assert_eq!(
            md.iter().next().map(|(n, v)| (n.len(), &v[..])),
            Some((0, &b"v"[..]))
        );
    }

    #[test]
    fn leftovers_and_overlong_claims_are_rejected() {
        // A single stray octet.
        assert_eq!(
            Metadata::decode(&[0x01]),
            Err(DecodeError::MalformedMetadata)
        );
        // Name longer than the block.
        assert_eq!(
            Metadata::decode(&[0x05, b'a', b'b']),
            Err(DecodeError::MalformedMetadata)
        );
        // Value length claims 4 GiB; rejected without allocating.
        assert_eq!(
            Metadata::decode(&[0x01, b'a', 0xFF, 0xFF, 0xFF, 0xFF, b'x']),
            Err(DecodeError::MalformedMetadata)
        );
        // Truncated value-length field.
        assert_eq!(
            Metadata::decode(&[0x01, b'a', 0x00, 0x00]),
            Err(DecodeError::MalformedMetadata)
        );
        // A valid property followed by junk.
        assert_eq!(
            Metadata::decode(&[0x01, b'a', 0, 0, 0, 0, 0x09]),
            Err(DecodeError::MalformedMetadata)
        );
    }

    #[test]
    fn duplicates_from_the_wire_are_preserved() {
        let wire = [1, b'a', 0, 0, 0, 1, b'1', 1, b'a', 0, 0, 0, 1, b'2'];
        let md = Metadata::decode(&wire).unwrap();
        assert_eq!(md.len(), 2);
        let mut dst = BytesMut::new();
        md.encode(&mut dst);
        assert_eq!(&dst[..], &wire[..]);
    }

    #[test]
    fn decode_bytes_is_zero_copy() {
        let wire = Bytes::from_static(&[1, b'a', 0, 0, 0, 2, b'x', b'y']);
        let md = Metadata::decode_bytes(&wire).unwrap();
        let (_, v) = md.iter().next().unwrap();
        assert_eq!(v.as_ptr() as usize, wire.as_ptr() as usize + 6);
    }

    #[test]
    fn long_names_are_truncated_on_encode() {
        let mut md = Metadata::new();
        md.insert(vec![b'n'; 300], "v");
        let mut dst = BytesMut::new();
        md.encode(&mut dst);
        assert_eq!(dst[0], 255);
        assert_eq!(dst.len(), md.encoded_len());
        let back = Metadata::decode(&dst).unwrap();
        assert_eq!(back.iter().next().map(|(n, _)| n.len()), Some(255));
    }
}
