//! ZMTP commands: the bodies of frames with the COMMAND flag.
//!
//! ```text
//! +-------------+---------------------+------------------+
//! | name-length | name (1..255 ALPHA) | command data ... |
//! |  1 octet    |                     |                  |
//! +-------------+---------------------+------------------+
//! ```
//!
//! RFC 23/37 prose mentions a NUL separator, but both grammars and libzmq use the
//! length-prefixed name shown above (PROTOCOL.md §2.5).

use bytes::{BufMut, Bytes, BytesMut};
use nom::IResult;
use nom::multi::length_data;
use nom::number::complete::{be_u8, be_u16};

use crate::frame::{Frame, FrameHeader};
use crate::{DecodeError, Metadata};

/// A ZMTP command. Names are matched exactly (case-sensitive), as libzmq does.
#[non_exhaustive]
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Command {
    /// `READY`: end of the NULL handshake (and of PLAIN, sent by the server), with metadata.
    Ready(Metadata),
    /// `ERROR`: fatal handshake error; the reason is at most 255 octets.
    Error {
        /// Reason text, for example `400`.
        reason: Bytes,
    },
    /// `PING`: heartbeat (ZMTP 3.1).
    Ping {
        /// Time-to-live in deciseconds: how long the receiver may wait for traffic.
        ttl: u16,
        /// Context the peer must echo in its PONG (RFC 37: at most 16 octets; a longer one is
        /// decoded whole and truncated when answering, as libzmq does).
        context: Bytes,
    },
    /// `PONG`: answer to a PING, echoing its context.
    Pong {
        /// The echoed context.
        context: Bytes,
    },
    /// `SUBSCRIBE` (ZMTP 3.1): a topic prefix.
    Subscribe(Bytes),
    /// `CANCEL` (ZMTP 3.1): a topic prefix.
    Cancel(Bytes),
    /// `HELLO` of the PLAIN mechanism (RFC 24): credentials, each at most 255 octets.
    Hello {
        /// User name.
        username: Bytes,
        /// Password.
        password: Bytes,
    },
    /// `WELCOME` of the PLAIN mechanism: the server accepts the credentials.
    Welcome,
    /// `INITIATE` of the PLAIN mechanism: client metadata.
    Initiate(Metadata),
    /// Any other command, kept verbatim.
    Unknown {
        /// The command name.
        name: Bytes,
        /// Everything after the name.
        data: Bytes,
    },
}

impl Command {
    /// Decodes a command body (name and data), sharing `body`'s buffer.
    ///
    /// # Errors
    ///
    /// * [`DecodeError::MalformedCommand`] if the body is empty, the name is longer than the
    ///   body, a PING lacks its 2-octet TTL, the ERROR reason or a HELLO credential does not
    ///   fit, a HELLO has octets left over, or a WELCOME carries data.
    /// * [`DecodeError::MalformedMetadata`] for a malformed READY / INITIATE property list.
    ///
    /// # Examples
    ///
    /// ```
    /// use bytes::{Bytes, BytesMut};
    /// use zmtp_codec::Command;
    ///
    /// // The body of libzmq's PING with context "LOL" (PROTOCOL.md §4.1) ...
    /// let ping = Command::decode(&Bytes::from_static(b"\x04PING\x00\x00LOL"))?;
    /// assert_eq!(ping, Command::Ping { ttl: 0, context: Bytes::from_static(b"LOL") });
    /// // ... and the whole PONG frame libzmq answers with.
    /// let mut wire = BytesMut::new();
    /// Command::Pong { context: Bytes::from_static(b"LOL") }.encode_frame(&mut wire);
    /// assert_eq!(&wire[..], b"\x04\x08\x04PONGLOL");
    /// # Ok::<(), zmtp_codec::DecodeError>(())
    /// ```
    pub fn decode(body: &Bytes) -> Result<Self, DecodeError> {
        let (name, data) = split_name(body)?;
        Self::decode_parts(name, data)
    }

    /// Decodes the data of a command whose name has already been split off.
    pub(crate) fn decode_parts(name: Bytes, data: Bytes) -> Result<Self, DecodeError> {
        Ok(match name.as_ref() {
            READY => Self::Ready(Metadata::decode_bytes(&data)?),
            INITIATE => Self::Initiate(Metadata::decode_bytes(&data)?),
            ERROR => {
                // libzmq `process_error`: the reason length must fit; trailing octets are
                // tolerated.
                let (_, reason) =
                    length_data::<_, _, nom::error::Error<&[u8]>, _>(be_u8)(data.as_ref())
                        .map_err(|_| DecodeError::MalformedCommand("ERROR reason does not fit"))?;
                Self::Error {
                    reason: data.slice_ref(reason),
                }
            }
            PING => {
                // RFC 37: "ping = command-size %d4 "PING" ping-ttl ping-context" with a 2-octet
                // TTL. libzmq reads the TTL unconditionally (PROTOCOL.md §4.1), so a shorter
                // PING is malformed, never read past.
                let (context, ttl) = be_u16::<_, nom::error::Error<&[u8]>>(data.as_ref())
                    .map_err(|_| DecodeError::MalformedCommand("PING shorter than its TTL"))?;
                Self::Ping {
                    ttl,
                    context: data.slice_ref(context),
                }
            }
            PONG => Self::Pong { context: data },
            SUBSCRIBE => Self::Subscribe(data),
            CANCEL => Self::Cancel(data),
            HELLO => {
                let (rest, (username, password)) = hello(&data)
                    .map_err(|_| DecodeError::MalformedCommand("HELLO credentials do not fit"))?;
                // libzmq `plain_server_t::process_hello` rejects octets after the password.
                if !rest.is_empty() {
                    return Err(DecodeError::MalformedCommand("HELLO has trailing octets"));
                }
                Self::Hello {
                    username: data.slice_ref(username),
                    password: data.slice_ref(password),
                }
            }
            WELCOME => {
                // RFC 24: "welcome = command-size %d7 "WELCOME"" (no data; libzmq checks it).
                if !data.is_empty() {
                    return Err(DecodeError::MalformedCommand("WELCOME carries data"));
                }
                Self::Welcome
            }
            _ => Self::Unknown { name, data },
        })
    }

    /// The command name as it appears on the wire.
    pub fn name(&self) -> &[u8] {
        match self {
            Self::Ready(_) => READY,
            Self::Error { .. } => ERROR,
            Self::Ping { .. } => PING,
            Self::Pong { .. } => PONG,
            Self::Subscribe(_) => SUBSCRIBE,
            Self::Cancel(_) => CANCEL,
            Self::Hello { .. } => HELLO,
            Self::Welcome => WELCOME,
            Self::Initiate(_) => INITIATE,
            Self::Unknown { name, .. } => clamp(name, MAX_NAME_LEN),
        }
    }

    /// Number of octets [`Command::encode`] appends (the frame body size).
    pub fn encoded_len(&self) -> usize {
        let data = match self {
            Self::Ready(md) | Self::Initiate(md) => md.encoded_len(),
            Self::Error { reason } => 1 + reason.len().min(MAX_SHORT_FIELD),
            Self::Ping { context, .. } => 2 + context.len(),
            Self::Pong { context } => context.len(),
            Self::Subscribe(data) | Self::Cancel(data) | Self::Unknown { data, .. } => data.len(),
            Self::Hello { username, password } => {
                2 + username.len().min(MAX_SHORT_FIELD) + password.len().min(MAX_SHORT_FIELD)
            }
            Self::Welcome => 0,
        };
        1 + self.name().len() + data
    }

    /// Appends the command body (name length, name, data) to `dst`; no frame header.
    ///
    /// Fields with a 1-octet length (ERROR reason, HELLO credentials, an unknown command's
    /// name) are truncated to 255 octets.
    pub fn encode(&self, dst: &mut BytesMut) {
        dst.reserve(self.encoded_len());
        let name = self.name();
        put_short(dst, name);
        match self {
            Self::Ready(md) | Self::Initiate(md) => md.encode(dst),
            Self::Error { reason } => put_short(dst, reason),
            Self::Ping { ttl, context } => {
                dst.put_u16(*ttl);
                dst.put_slice(context);
            }
            Self::Pong { context } => dst.put_slice(context),
            Self::Subscribe(data) | Self::Cancel(data) | Self::Unknown { data, .. } => {
                dst.put_slice(data);
            }
            Self::Hello { username, password } => {
                put_short(dst, username);
                put_short(dst, password);
            }
            Self::Welcome => {}
        }
    }

    /// Appends a whole command frame (header and body) to `dst`.
    pub fn encode_frame(&self, dst: &mut BytesMut) {
        let len = self.encoded_len();
        let header = FrameHeader::new(false, true, u64::try_from(len).unwrap_or(u64::MAX));
        dst.reserve(header.len() + len);
        header.encode(dst);
        self.encode(dst);
    }

    /// The command as a frame (COMMAND set, MORE clear).
    pub fn to_frame(&self) -> Frame {
        let mut body = BytesMut::with_capacity(self.encoded_len());
        self.encode(&mut body);
        Frame {
            more: false,
            command: true,
            body: body.freeze(),
        }
    }
}

/// Splits a command body into its name and data, zero-copy.
///
/// # Errors
///
/// [`DecodeError::MalformedCommand`] if the body is empty or shorter than its name length.
pub(crate) fn split_name(body: &Bytes) -> Result<(Bytes, Bytes), DecodeError> {
    let (data, name) = length_data::<_, _, nom::error::Error<&[u8]>, _>(be_u8)(body.as_ref())
        .map_err(|_| DecodeError::MalformedCommand("command name does not fit"))?;
    Ok((body.slice_ref(name), body.slice_ref(data)))
}

/// Name of READY.
pub(crate) const READY: &[u8] = b"READY";
/// Name of ERROR.
pub(crate) const ERROR: &[u8] = b"ERROR";
/// Name of PING.
pub(crate) const PING: &[u8] = b"PING";
/// Name of PONG.
pub(crate) const PONG: &[u8] = b"PONG";
/// Name of SUBSCRIBE.
pub(crate) const SUBSCRIBE: &[u8] = b"SUBSCRIBE";
/// Name of CANCEL.
pub(crate) const CANCEL: &[u8] = b"CANCEL";
/// Name of HELLO.
pub(crate) const HELLO: &[u8] = b"HELLO";
/// Name of WELCOME.
pub(crate) const WELCOME: &[u8] = b"WELCOME";
/// Name of INITIATE.
pub(crate) const INITIATE: &[u8] = b"INITIATE";

/// Longest command name.
const MAX_NAME_LEN: usize = 255;
/// Longest field behind a 1-octet length.
const MAX_SHORT_FIELD: usize = 255;

/// PLAIN HELLO data: u8 length + user name, u8 length + password.
fn hello(input: &[u8]) -> IResult<&[u8], (&[u8], &[u8])> {
    let (input, username) = length_data(be_u8)(input)?;
    let (input, password) = length_data(be_u8)(input)?;
    Ok((input, (username, password)))
}

/// Truncates to `max` octets.
fn clamp(field: &[u8], max: usize) -> &[u8] {
    field.get(..max).unwrap_or(field)
}

/// Writes a 1-octet length and the field, truncated to 255 octets.
fn put_short(dst: &mut BytesMut, field: &[u8]) {
    let field = clamp(field, MAX_SHORT_FIELD);
    // The clamp above guarantees the length fits one octet.
    dst.put_u8(u8::try_from(field.len()).unwrap_or(u8::MAX));
    dst.put_slice(field);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame_bytes(cmd: &Command) -> Vec<u8> {
        let mut dst = BytesMut::new();
        cmd.encode_frame(&mut dst);
        let mut via_frame = BytesMut::new();
        cmd.to_frame().encode(&mut via_frame);
        assert_eq!(dst, via_frame);
        dst.to_vec()
    }

    fn decode_frame(wire: &[u8]) -> Command {
        let mut src = BytesMut::from(wire);
        let frame = Frame::decode(&mut src, None).unwrap().unwrap();
        assert!(frame.command && !frame.more);
        assert!(src.is_empty());
        Command::decode(&frame.body).unwrap()
    }

    /// PROTOCOL.md §3.2: the 28-octet READY of a libzmq PEER.
    const PEER_READY: [u8; 28] = [
        0x04, 0x1A, 0x05, 0x52, 0x45, 0x41, 0x44, 0x59, 0x0B, 0x53, 0x6F, 0x63, 0x6B, 0x65, 0x74,
        0x2D, 0x54, 0x79, 0x70, 0x65, 0x00, 0x00, 0x00, 0x04, 0x50, 0x45, 0x45, 0x52,
    ];

    #[test]
    fn peer_ready_byte_for_byte() {
        let mut md = Metadata::new();
        md.insert("Socket-Type", "PEER");
        let cmd = Command::Ready(md);
        assert_eq!(frame_bytes(&cmd), PEER_READY);
        assert_eq!(decode_frame(&PEER_READY), cmd);
        assert_eq!(cmd.encoded_len(), 26);
    }

    #[test]
    fn ready_with_x_foo() {
        // PROTOCOL.md §3.2: X-Foo:bar appended, size octet grows to match.
        let mut md = Metadata::new();
        md.insert("Socket-Type", "PEER");
        md.insert("X-Foo", "bar");
        let wire = frame_bytes(&Command::Ready(md.clone()));
        let mut expected = PEER_READY.to_vec();
        expected[1] = 0x1A + 13;
        expected.extend_from_slice(&[
            0x05, 0x58, 0x2D, 0x46, 0x6F, 0x6F, 0x00, 0x00, 0x00, 0x03, 0x62, 0x61, 0x72,
        ]);
        assert_eq!(wire, expected);
        assert_eq!(decode_frame(&wire), Command::Ready(md));
    }

    #[test]
    fn big_ready_switches_to_long_form() {
        let mut md = Metadata::new();
        md.insert("Socket-Type", "PEER");
        md.insert("X-Big", vec![b'v'; 300]);
        let wire = frame_bytes(&Command::Ready(md.clone()));
        assert_eq!(wire[0], 0x06);
        assert_eq!(decode_frame(&wire), Command::Ready(md));
    }

    #[test]
    fn error_400() {
        // PROTOCOL.md §3.3: 04 0A 05 45 52 52 4F 52 03 34 30 30.
        let cmd = Command::Error {
            reason: Bytes::from_static(b"400"),
        };
        let wire = [
            0x04, 0x0A, 0x05, 0x45, 0x52, 0x52, 0x4F, 0x52, 0x03, 0x34, 0x30, 0x30,
        ];
        assert_eq!(frame_bytes(&cmd), wire);
        assert_eq!(decode_frame(&wire), cmd);
    }

    #[test]
    fn error_reason_must_fit_but_trailing_is_tolerated() {
        let body = Bytes::from_static(b"\x05ERROR\x05ab");
        assert_eq!(
            Command::decode(&body),
            Err(DecodeError::MalformedCommand("ERROR reason does not fit"))
        );
        let body = Bytes::from_static(b"\x05ERROR");
        assert!(matches!(
            Command::decode(&body),
            Err(DecodeError::MalformedCommand(_))
        ));
        let body = Bytes::from_static(b"\x05ERROR\x01ab");
        assert_eq!(
            Command::decode(&body),
            Ok(Command::Error {
                reason: Bytes::from_static(b"a")
            })
        );
    }

    #[test]
    fn libzmq_ping_and_pong() {
        // PROTOCOL.md §4: libzmq PING with TTL 0: 04 07 04 50 49 4E 47 00 00, reply
        // 04 05 04 50 4F 4E 47; with TTL 1200 ms: ... 00 0C.
        let ping = Command::Ping {
            ttl: 0,
            context: Bytes::new(),
        };
        let wire = [0x04, 0x07, 0x04, 0x50, 0x49, 0x4E, 0x47, 0x00, 0x00];
        assert_eq!(frame_bytes(&ping), wire);
        assert_eq!(decode_frame(&wire), ping);
        let pong = Command::Pong {
            context: Bytes::new(),
        };
        let wire = [0x04, 0x05, 0x04, 0x50, 0x4F, 0x4E, 0x47];
        assert_eq!(frame_bytes(&pong), wire);
        assert_eq!(decode_frame(&wire), pong);
        let ping = Command::Ping {
            ttl: 12,
            context: Bytes::new(),
        };
        assert_eq!(
            frame_bytes(&ping),
            [0x04, 0x07, 0x04, 0x50, 0x49, 0x4E, 0x47, 0x00, 0x0C]
        );
    }

    #[test]
    fn ping_lol() {
        // PROTOCOL.md §4.1: PING 04 0A 04 PING 00 00 LOL.
        let wire = [
            0x04, 0x0A, 0x04, b'P', b'I', b'N', b'G', 0x00, 0x00, b'L', b'O', b'L',
        ];
        assert_eq!(
            decode_frame(&wire),
            Command::Ping {
                ttl: 0,
                context: Bytes::from_static(b"LOL")
            }
        );
        let pong = Command::Pong {
            context: Bytes::from_static(b"LOL"),
        };
        assert_eq!(
            frame_bytes(&pong),
            [0x04, 0x08, 0x04, b'P', b'O', b'N', b'G', b'L', b'O', b'L']
        );
    }

    #[test]
    fn ping_without_ttl_is_malformed() {
        for body in [&b"\x04PING"[..], &b"\x04PING\x00"[..]] {
            assert_eq!(
                Command::decode(&Bytes::copy_from_slice(body)),
                Err(DecodeError::MalformedCommand("PING shorter than its TTL"))
            );
        }
    }

    #[test]
    fn subscribe_cancel_and_unknown() {
        // PROTOCOL.md §4.2: 04 0C 09 "SUBSCRIBE" "ab".
        let wire = b"\x04\x0C\x09SUBSCRIBEab";
        let sub = Command::Subscribe(Bytes::from_static(b"ab"));
        assert_eq!(decode_frame(wire), sub);
        assert_eq!(frame_bytes(&sub), wire);
        let cancel = Command::Cancel(Bytes::from_static(b"ab"));
        assert_eq!(frame_bytes(&cancel), b"\x04\x09\x06CANCELab");
        let unknown = decode_frame(b"\x04\x05\x04ABCD");
        assert_eq!(
            unknown,
            Command::Unknown {
                name: Bytes::from_static(b"ABCD"),
                data: Bytes::new()
            }
        );
        assert_eq!(unknown.name(), b"ABCD");
        // Names are case-sensitive: "ready" is not READY.
        assert!(matches!(
            Command::decode(&Bytes::from_static(b"\x05ready")),
            Ok(Command::Unknown { .. })
        ));
    }

    #[test]
    fn plain_commands() {
        // PROTOCOL.md §3.4.
        let hello = Command::Hello {
            username: Bytes::from_static(b"admin"),
            password: Bytes::from_static(b"secret"),
        };
        let wire = frame_bytes(&hello);
        assert_eq!(&wire[..2], &[0x04, 19]);
        assert_eq!(&wire[2..], b"\x05HELLO\x05admin\x06secret");
        assert_eq!(decode_frame(&wire), hello);
        // WELCOME = 04 08 07 "WELCOME".
        assert_eq!(frame_bytes(&Command::Welcome), b"\x04\x08\x07WELCOME");
        assert_eq!(decode_frame(b"\x04\x08\x07WELCOME"), Command::Welcome);
        let mut md = Metadata::new();
        md.insert("Socket-Type", "PEER");
        let init = Command::Initiate(md);
        let wire = frame_bytes(&init);
        assert_eq!(&wire[2..11], b"\x08INITIATE");
        assert_eq!(decode_frame(&wire), init);
    }

    #[test]
    fn malformed_plain_commands() {
        for body in [
            &b"\x05HELLO"[..],
            &b"\x05HELLO\x05adm"[..],
            &b"\x05HELLO\x01a\x01bX"[..],
            &b"\x07WELCOMEx"[..],
        ] {
            assert!(
                matches!(
                    Command::decode(&Bytes::copy_from_slice(body)),
                    Err(DecodeError::MalformedCommand(_))
                ),
                "{body:?}"
            );
        }
        assert_eq!(
            Command::decode(&Bytes::from_static(b"\x08INITIATE\x01")),
            Err(DecodeError::MalformedMetadata)
        );
    }

    #[test]
    fn malformed_names() {
        for body in [&b""[..], &b"\x05REA"[..]] {
            assert_eq!(
                Command::decode(&Bytes::copy_from_slice(body)),
                Err(DecodeError::MalformedCommand("command name does not fit"))
            );
        }
    }

    #[test]
    fn overlong_fields_are_truncated() {
        let err = Command::Error {
            reason: Bytes::from(vec![b'r'; 300]),
        };
        let mut dst = BytesMut::new();
        err.encode(&mut dst);
        assert_eq!(dst.len(), err.encoded_len());
        assert_eq!(dst[6], 255);
        assert_eq!(dst.len(), 6 + 1 + 255);
    }
}
