//! `cargo xtask fuzz-seeds`: the seed corpus in `fuzz/corpus/<target>/`, made from golden vectors.
//!
//! The vectors are the libzmq 4.3.5 wire bytes quoted in PROTOCOL.md (§1.1 greeting, §2.4
//! frames, §3.2 READY, §3.3 ERROR, §3.4 PLAIN, §4 PING/PONG), kept here as hex constants, plus
//! every `zmtp-codec/tests/data/*.bin` capture. `--check` fails if a generated file is missing
//! from the committed corpus or differs from it, or if the corpus holds a file that is neither
//! generated nor named `<what>.<hash>.bin` (an input kept from fuzzing).
//!
//! The session targets read two option octets before the peer's bytes; the layout is documented
//! on `zmq_peer_fuzz::codec_session_client` and mirrored by [`SessionOptions`]. The
//! `transport_ws_framing` target does the same with [`WsOptions`] (layout documented on
//! `zmq_peer_fuzz::transport_ws_framing`) before client WebSocket frames built from the ZWS
//! vectors of PROTOCOL.md §6.4; `transport_endpoint` seeds are the endpoint examples of
//! PROTOCOL.md §6.1 and §7, valid and invalid; `sockets_peer_ops` seeds are short PEER
//! scenarios over inproc written as [`PeerOp`]s.

use std::fs;
use std::path::Path;

use crate::cmd::Result;

/// One corpus file: `fuzz/corpus/<target>/<name>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Seed {
    /// Fuzz target name.
    pub(crate) target: &'static str,
    /// File name, `<what>.bin`.
    pub(crate) name: String,
    /// File contents.
    pub(crate) bytes: Vec<u8>,
}

/// Writes the seed corpus, or with `check` verifies the committed one.
///
/// # Errors
///
/// Fails if files cannot be read or written, or (with `check`) if the corpus is out of date.
pub(crate) fn run(root: &Path, check: bool) -> Result {
    let seeds = generate(root)?;
    let corpus = root.join("fuzz").join("corpus");
    if check {
        let problems = check_corpus(&corpus, &seeds)?;
        if problems.is_empty() {
            println!("fuzz-seeds: {} seed files up to date", seeds.len());
            return Ok(());
        }
        for problem in &problems {
            eprintln!("{problem}");
        }
        return Err(format!(
            "the seed corpus is out of date ({} problem(s)); run `cargo xtask fuzz-seeds`",
            problems.len()
        )
        .into());
    }
    write_corpus(&corpus, &seeds)
}

/// Returns every seed: the golden vectors plus `zmtp-codec/tests/data/*.bin`.
///
/// # Errors
///
/// Fails if a golden constant is not valid hex (a unit test rules that out) or the data
/// directory cannot be read.
pub(crate) fn generate(root: &Path) -> Result<Vec<Seed>> {
    let mut seeds = golden_seeds()?;
    let data = root.join("zmtp-codec").join("tests").join("data");
    if data.is_dir() {
        let mut files: Vec<_> = fs::read_dir(&data)?
            .map(|entry| entry.map(|entry| entry.path()))
            .collect::<std::io::Result<_>>()?;
        files.sort();
        for path in files {
            if path.extension().is_none_or(|ext| ext != "bin") {
                continue;
            }
            let stem = path
                .file_stem()
                .map(|stem| stem.to_string_lossy().into_owned())
                .unwrap_or_default();
            let target = if stem.contains("greeting") {
                "codec_greeting"
            } else {
                "codec_frame"
            };
            seeds.push(Seed {
                target,
                name: format!("data_{stem}.bin"),
                bytes: fs::read(&path)?,
            });
        }
    }
    Ok(seeds)
}

/// Builds the seeds that come from the golden vectors in this file.
///
/// # Errors
///
/// Fails if a constant is not valid hex.
pub(crate) fn golden_seeds() -> Result<Vec<Seed>> {
    let greeting = hex(PEER_GREETING)?;
    let ready = hex(READY_PEER)?;
    let ready_x_foo = hex(READY_X_FOO)?;
    let error = hex(ERROR_400)?;
    let ping = hex(PING_TTL0)?;
    let ping_ttl = hex(PING_TTL12)?;
    let ping_lol = hex(PING_LOL)?;
    let pong = hex(PONG)?;
    let pong_lol = hex(PONG_LOL)?;
    let subscribe = hex(SUBSCRIBE_AB)?;
    let hello = hex(HELLO)?;
    let welcome = hex(WELCOME)?;
    let initiate = hex(INITIATE)?;
    let one_byte = hex(FRAME_ONE_BYTE)?;
    let empty = hex(FRAME_EMPTY)?;
    let two_frames = hex(FRAMES_A_B)?;
    let mut long = hex(FRAME_LONG_300_HEADER)?;
    long.extend((0..300_u16).map(|i| (i % 251) as u8));

    let mut seeds = Vec::new();
    let mut add = |target: &'static str, name: &str, parts: &[&[u8]]| {
        seeds.push(Seed {
            target,
            name: format!("{name}.bin"),
            bytes: parts.concat(),
        });
    };

    // Greetings (PROTOCOL.md §1.1): the libzmq PEER/NULL greeting and variants of it.
    let mut zmtp30 = greeting.clone();
    zmtp30[11] = 0x00;
    let mut plain_server = greeting.clone();
    plain_server[12..17].copy_from_slice(b"PLAIN");
    plain_server[32] = 0x01;
    add("codec_greeting", "libzmq_peer_null", &[&greeting]);
    add("codec_greeting", "signature_only", &[&greeting[..10]]);
    add("codec_greeting", "zmtp_3_0", &[&zmtp30]);
    add("codec_greeting", "plain_as_server", &[&plain_server]);

    // Whole frames as they appear on the wire (§2.4, §3.2, §3.3, §3.4, §4).
    let frames: [(&str, &[u8]); 16] = [
        ("one_byte", &one_byte),
        ("empty", &empty),
        ("long_300", &long),
        ("two_frames", &two_frames),
        ("ready_peer", &ready),
        ("ready_x_foo", &ready_x_foo),
        ("error_400", &error),
        ("ping_ttl0", &ping),
        ("ping_ttl12", &ping_ttl),
        ("ping_lol", &ping_lol),
        ("pong", &pong),
        ("pong_lol", &pong_lol),
        ("subscribe_ab", &subscribe),
        ("hello", &hello),
        ("welcome", &welcome),
        ("initiate", &initiate),
    ];
    for (name, frame) in frames {
        add("codec_frame", name, &[frame]);
    }
    add(
        "codec_frame",
        "stream",
        &[&ready, &one_byte, &ping, &long, &two_frames],
    );

    // Command bodies: the frames above without their two-octet short header.
    for (name, frame) in frames.iter().skip(4) {
        add("codec_command", name, &[&frame[2..]]);
    }

    // Sessions: two option octets (see `SessionOptions`), then the peer's bytes after its
    // greeting, which the fuzz target sends itself.
    let null = SessionOptions::default();
    let bytewise = SessionOptions { chunk: 1, ..null };
    let limited = SessionOptions {
        max_size: 2,
        chunk: 7,
        ..null
    };
    let heartbeat = SessionOptions {
        heartbeat: true,
        ..null
    };
    let dropping = SessionOptions {
        drop_multipart: true,
        ..null
    };
    let plain = SessionOptions {
        plain: true,
        ..null
    };
    // A PLAIN client sends INITIATE only after WELCOME: feed the 21-octet HELLO on its own.
    let plain_server = SessionOptions { chunk: 21, ..plain };
    let refuse = SessionOptions {
        refuse_plain: true,
        ..plain_server
    };
    let traffic: &[&[u8]] = &[
        &ready, &one_byte, &empty, &ping_lol, &pong, &subscribe, &long,
    ];
    for target in ["codec_session_client", "codec_session_server"] {
        add(target, "null_traffic", &[&null.encode(), &traffic.concat()]);
        add(
            target,
            "null_traffic_bytewise",
            &[&bytewise.encode(), &traffic.concat()],
        );
        add(
            target,
            "null_over_limit",
            &[&limited.encode(), &ready, &one_byte, &long],
        );
        add(target, "null_error", &[&null.encode(), &error]);
        add(
            target,
            "null_heartbeat",
            &[&heartbeat.encode(), &ready, &ping_ttl, &one_byte],
        );
        add(
            target,
            "null_multipart",
            &[&dropping.encode(), &ready, &two_frames, &one_byte],
        );
        add(
            target,
            "null_ping_in_handshake",
            &[&null.encode(), &ping, &ready],
        );
    }
    add(
        "codec_session_client",
        "plain_welcome",
        &[&plain.encode(), &welcome, &ready, &one_byte],
    );
    add(
        "codec_session_client",
        "plain_error",
        &[&plain.encode(), &error],
    );
    add(
        "codec_session_server",
        "plain_hello",
        &[&plain_server.encode(), &hello, &initiate, &one_byte],
    );
    add(
        "codec_session_server",
        "plain_refused",
        &[&refuse.encode(), &hello, &initiate],
    );

    // Round trips take structured input; wire bytes still make useful starting points.
    add(
        "codec_roundtrip",
        "stream",
        &[&ready, &one_byte, &long, &two_frames],
    );
    add("codec_roundtrip", "greeting", &[&greeting]);

    // Endpoint strings (§6.1, §7), valid and invalid, bind-only and connect-only.
    for (name, endpoint) in ENDPOINTS {
        add("transport_endpoint", name, &[endpoint.as_bytes()]);
    }
    let long_ipc = format!("ipc:///{}", "a".repeat(107));
    add("transport_endpoint", "ipc_too_long", &[long_ipc.as_bytes()]);

    // ZWS framing (§6.4): option octets (see `WsOptions`), then what a client sends after the
    // upgrade. READY's ZWS payload is the command flag 0x02 and the READY body.
    let ready_payload = [&[FLAG_COMMAND][..], &ready[2..]].concat();
    let ws_ready = ws_frame(OP_BINARY, &ready_payload, Some(WS_MASK));
    let ws_one_byte = ws_frame(OP_BINARY, &[0x00, 0x01], Some(WS_MASK));
    let ws_more = ws_frame(OP_BINARY, &[0x01, b'A'], Some(WS_MASK));
    let ws_final = ws_frame(OP_BINARY, &[0x00, b'B'], Some(WS_MASK));
    let mut long_payload = vec![0x00];
    long_payload.extend((0..100_u8).map(|i| i.wrapping_mul(7)));
    let ws_long = ws_frame(OP_BINARY, &long_payload, Some(WS_MASK));
    let ws_ping = ws_frame(OP_PING, b"hi", Some(WS_MASK));
    let ws_pong = ws_frame(OP_PONG, b"", Some(WS_MASK));
    let ws_close = ws_frame(OP_CLOSE, b"\x03\xe8bye", Some(WS_MASK));
    let ws_routing_id = ws_frame(OP_BINARY, &[0x00], Some(WS_MASK));
    let ws = WsOptions::default();
    let ws_target = "transport_ws_framing";
    add(ws_target, "masked_ready", &[&ws.encode(), &ws_ready]);
    add(
        ws_target,
        "masked_ready_one_byte",
        &[&ws.encode(), &ws_ready, &ws_one_byte],
    );
    add(
        ws_target,
        "masked_ready_one_byte_bytewise",
        &[
            &WsOptions { chunk: 1, ..ws }.encode(),
            &ws_ready,
            &ws_one_byte,
        ],
    );
    add(
        ws_target,
        "unmasked_ready_one_byte",
        &[
            &WsOptions {
                accept_unmasked: true,
                ..ws
            }
            .encode(),
            // The server's frames of §6.4 verbatim: unmasked, as a lax client sends them.
            &hex(WS_READY_SERVER)?,
            &hex(WS_ONE_BYTE_SERVER)?,
        ],
    );
    add(
        ws_target,
        "over_limit",
        &[
            &WsOptions {
                max_size: 2,
                chunk: 7,
                ..ws
            }
            .encode(),
            &ws_ready,
            &ws_one_byte,
            &ws_long,
        ],
    );
    add(
        ws_target,
        "multipart",
        &[
            &WsOptions {
                drop_multipart: true,
                ..ws
            }
            .encode(),
            &ws_ready,
            &ws_more,
            &ws_final,
            &ws_one_byte,
        ],
    );
    add(
        ws_target,
        "control_frames",
        &[
            &WsOptions {
                heartbeat: true,
                ..ws
            }
            .encode(),
            &ws_ready,
            &ws_ping,
            &ws_one_byte,
            &ws_pong,
            &ws_close,
        ],
    );
    add(
        ws_target,
        "bare_routing_id",
        &[
            &WsOptions { bare: true, ..ws }.encode(),
            &ws_routing_id,
            &ws_one_byte,
        ],
    );

    // PEER operations over inproc: an option octet, then `[code, socket, a, b]` operations
    // (see `PeerOp`).
    use PeerOp::{Bind, Close, Connect, Recv, SendKnown, SendNoId, SendUnknown, SetSndHwm};
    let peer_seeds: [(&str, u8, &[PeerOp]); 6] = [
        (
            "request_reply",
            0x00,
            &[
                Bind(0, 0),
                Connect(1, 0),
                SendKnown(1, 0, 4),
                Recv(0),
                SendKnown(0, 0, 1),
                Recv(1),
                SendUnknown(0, 0x1234),
                SendNoId(1),
                Recv(1),
            ],
        ),
        (
            "request_reply_io_thread_linger_0",
            0x09,
            &[
                Bind(0, 0),
                Connect(1, 0),
                SendKnown(1, 0, 0),
                Recv(0),
                SendKnown(0, 0, 0),
                Recv(1),
            ],
        ),
        (
            "connect_before_bind_hwm",
            0x00,
            &[
                SetSndHwm(1, 1),
                Connect(1, 2),
                SendKnown(1, 0, 0),
                SendKnown(1, 0, 0),
                Bind(0, 2),
                SendKnown(1, 0, 0),
                Recv(0),
                Recv(0),
                Recv(0),
            ],
        ),
        (
            "close_and_rebind",
            0x02,
            &[
                Bind(0, 0),
                Bind(1, 0),
                Connect(2, 0),
                SendKnown(2, 0, 0),
                Close(0),
                Close(0),
                Recv(0),
                SendKnown(2, 0, 0),
                Bind(1, 0),
                Connect(2, 0),
                SendKnown(2, 1, 0),
                Recv(1),
            ],
        ),
        (
            "self_connect",
            0x00,
            &[
                Bind(0, 1),
                Connect(0, 1),
                SendKnown(0, 0, 0),
                Recv(0),
                SendKnown(0, 1, 0),
                Recv(0),
            ],
        ),
        (
            "fan_in_four_sockets",
            0x04,
            &[
                Bind(0, 0),
                Connect(1, 0),
                Connect(2, 0),
                Connect(3, 0),
                SendKnown(1, 0, 1),
                SendKnown(2, 0, 2),
                SendKnown(3, 0, 3),
                SendKnown(1, 0, 4),
                Recv(0),
                Recv(0),
                Recv(0),
                Recv(0),
                SendKnown(0, 2, 0),
                Recv(3),
            ],
        ),
    ];
    for (name, flags, ops) in peer_seeds {
        let mut bytes = vec![flags];
        for op in ops {
            bytes.extend(op.encode());
        }
        add("sockets_peer_ops", name, &[&bytes]);
    }
    Ok(seeds)
}

/// One operation of a `sockets_peer_ops` input, as `[code, socket, a, b]`.
///
/// Must match the table on `zmq_peer_fuzz::sockets_peer_ops` (`fuzz/src/sockets.rs`). The option
/// octet before the operations: bit 0 one I/O thread; bits 1-2 socket count minus 2; bit 3
/// LINGER 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PeerOp {
    /// Socket binds `inproc://fuzz<name>`.
    Bind(u8, u8),
    /// Socket calls `connect_peer` on `inproc://fuzz<name>`.
    Connect(u8, u8),
    /// Socket sends to the n-th routing id it knows, with that many padding octets.
    SendKnown(u8, u8, u8),
    /// Socket sends to routing id `id + 1`.
    SendUnknown(u8, u16),
    /// Socket sends without a routing id.
    SendNoId(u8),
    /// Socket calls `try_recv`.
    Recv(u8),
    /// Socket closes.
    Close(u8),
    /// Socket sets SNDHWM.
    SetSndHwm(u8, u8),
}

impl PeerOp {
    fn encode(self) -> [u8; 4] {
        match self {
            Self::Bind(socket, name) => [0, socket, name, 0],
            Self::Connect(socket, name) => [1, socket, name, 0],
            Self::SendKnown(socket, index, pad) => [2, socket, index, pad],
            Self::SendUnknown(socket, id) => {
                let [high, low] = id.to_be_bytes();
                [3, socket, high, low]
            }
            Self::SendNoId(socket) => [4, socket, 0, 0],
            Self::Recv(socket) => [5, socket, 0, 0],
            Self::Close(socket) => [6, socket, 0, 0],
            Self::SetSndHwm(socket, hwm) => [7, socket, hwm, 0],
        }
    }
}

/// The two option octets that start every `transport_ws_framing` input.
///
/// Octet 0: bits 0-1 max message size (0: 65536, 1: 0, 2: 64, 3: 1024 octets); bit 2 the server
/// accepts unmasked frames; bit 3 heartbeats on; bit 4 drop multipart; bit 5 bare `ZWS2.0`.
/// Octet 1: read size (0 reads everything at once). Must match `fuzz/src/transport.rs`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct WsOptions {
    max_size: u8,
    accept_unmasked: bool,
    heartbeat: bool,
    drop_multipart: bool,
    bare: bool,
    chunk: u8,
}

impl WsOptions {
    fn encode(self) -> [u8; 2] {
        let flags = (self.max_size & 0b11)
            | u8::from(self.accept_unmasked) << 2
            | u8::from(self.heartbeat) << 3
            | u8::from(self.drop_multipart) << 4
            | u8::from(self.bare) << 5;
        [flags, self.chunk]
    }
}

/// One final (FIN) WebSocket frame with `opcode`, masked with `mask` when given (a client's
/// frame), in the shortest length form (PROTOCOL.md §6.4).
fn ws_frame(opcode: u8, payload: &[u8], mask: Option<[u8; 4]>) -> Vec<u8> {
    let mask_bit = if mask.is_some() { 0x80 } else { 0x00 };
    let mut frame = vec![0x80 | opcode];
    let length = payload.len();
    match (
        u8::try_from(length).ok().filter(|&short| short <= 125),
        u16::try_from(length),
    ) {
        (Some(short), _) => frame.push(mask_bit | short),
        (None, Ok(medium)) => {
            frame.push(mask_bit | 126);
            frame.extend(medium.to_be_bytes());
        }
        (None, Err(_)) => {
            frame.push(mask_bit | 127);
            frame.extend(u64::try_from(length).unwrap_or(u64::MAX).to_be_bytes());
        }
    }
    match mask {
        Some(mask) => {
            frame.extend(mask);
            frame.extend(payload.iter().zip(mask.iter().cycle()).map(|(b, m)| b ^ m));
        }
        None => frame.extend_from_slice(payload),
    }
    frame
}

/// WebSocket opcodes (RFC 6455 §5.2).
const OP_BINARY: u8 = 0x2;
const OP_CLOSE: u8 = 0x8;
const OP_PING: u8 = 0x9;
const OP_PONG: u8 = 0xA;

/// ZWS flag octet of a command (PROTOCOL.md §6.4).
const FLAG_COMMAND: u8 = 0x02;

/// The masking key of the seed client frames (any fixed value does).
const WS_MASK: [u8; 4] = [0x37, 0xFA, 0x21, 0x3D];

/// PROTOCOL.md §6.4: READY of a PEER as the server sends it (unmasked), 29 octets.
const WS_READY_SERVER: &str = "82 1B 02 05 52 45 41 44 59 0B 53 6F 63 6B 65 74 2D 54 79 70 65
    00 00 00 04 50 45 45 52";

/// PROTOCOL.md §6.4: the 1-byte message 0x01 from the server.
const WS_ONE_BYTE_SERVER: &str = "82 02 00 01";

/// Endpoint examples of PROTOCOL.md §6.1 and §7 as `(seed name, endpoint)`.
const ENDPOINTS: &[(&str, &str)] = &[
    ("tcp_loopback", "tcp://127.0.0.1:5555"),
    ("tcp_any_host", "tcp://*:5555"),
    ("tcp_any_any", "tcp://*:*"),
    ("tcp_any_port", "tcp://127.0.0.1:*"),
    ("tcp_port_0", "tcp://127.0.0.1:0"),
    ("tcp_nic", "tcp://eth0:5555"),
    ("tcp_hostname", "tcp://hostname:5555"),
    ("tcp_ipv6", "tcp://[::1]:5555"),
    ("tcp_ipv6_unbracketed", "tcp://::1:5555"),
    ("tcp_ipv6_zone", "tcp://[fe80::1%eth0]:5555"),
    ("tcp_source", "tcp://192.168.1.17:0;192.168.1.1:5555"),
    ("tcp_source_nic", "tcp://eth1:0;server1:5555"),
    ("tcp_no_port", "tcp://127.0.0.1"),
    ("tcp_empty", "tcp://"),
    ("tcp_slash", "tcp://a/b:55"),
    ("tcp_resource", "tcp://host:55/resource"),
    ("ipc_absolute", "ipc:///abs/path"),
    ("ipc_relative", "ipc://rel/path"),
    ("ipc_abstract", "ipc://@name"),
    ("ipc_abstract_empty", "ipc://@"),
    ("ipc_wildcard", "ipc://*"),
    ("inproc_name", "inproc://x"),
    ("inproc_separator", "inproc://a://b"),
    ("inproc_empty", "inproc://"),
    ("ws_loopback", "ws://127.0.0.1:5555"),
    ("ws_path", "ws://127.0.0.1:5555/a/b"),
    ("ws_any", "ws://*:*/roundtrip"),
    ("ws_any_port", "ws://127.0.0.1:*"),
    ("ws_ipv6_query", "ws://[::1]:7/x?y=1"),
    ("ws_bad_path", "ws://h:5/a b"),
    ("wss_name", "wss://localhost:443/p"),
    ("no_separator", "127.0.0.1:5555"),
    ("empty_scheme", "://x"),
    ("unknown_scheme", "foo://x"),
    ("upper_case_scheme", "TCP://127.0.0.1:5"),
    ("udp", "udp://127.0.0.1:5555"),
];

/// The two option octets that start every session-target input.
///
/// Octet 0: bit 0 PLAIN (else NULL); bits 1-2 max message size (0 none, 1: 0, 2: 64,
/// 3: 1024 octets); bit 3 heartbeats on; bit 4 drop multipart; bit 5 the PLAIN server refuses.
/// Octet 1: feed size (0 feeds everything at once). Must match `fuzz/src/lib.rs`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct SessionOptions {
    plain: bool,
    max_size: u8,
    heartbeat: bool,
    drop_multipart: bool,
    refuse_plain: bool,
    chunk: u8,
}

impl SessionOptions {
    fn encode(self) -> [u8; 2] {
        let flags = u8::from(self.plain)
            | (self.max_size & 0b11) << 1
            | u8::from(self.heartbeat) << 3
            | u8::from(self.drop_multipart) << 4
            | u8::from(self.refuse_plain) << 5;
        [flags, self.chunk]
    }
}

/// Compares the committed corpus with `seeds` and returns one line per problem.
///
/// # Errors
///
/// Fails if a directory cannot be read.
pub(crate) fn check_corpus(corpus: &Path, seeds: &[Seed]) -> Result<Vec<String>> {
    let mut problems = Vec::new();
    for seed in seeds {
        let path = corpus.join(seed.target).join(&seed.name);
        match fs::read(&path) {
            Ok(bytes) if bytes == seed.bytes => {}
            Ok(_) => problems.push(format!(
                "{}: differs from the generated seed",
                path.display()
            )),
            Err(_) => problems.push(format!("{}: missing", path.display())),
        }
    }
    for (target, name) in extra_files(corpus, seeds)? {
        if !is_hash_named(&name) {
            problems.push(format!(
                "{}: neither a generated seed nor named <what>.<hash>.bin",
                corpus.join(target).join(name).display()
            ));
        }
    }
    Ok(problems)
}

/// Writes every seed and removes stale seeds (files neither generated nor hash-named).
fn write_corpus(corpus: &Path, seeds: &[Seed]) -> Result {
    let mut written = 0;
    for seed in seeds {
        let dir = corpus.join(seed.target);
        fs::create_dir_all(&dir)?;
        let path = dir.join(&seed.name);
        if fs::read(&path).ok().as_deref() != Some(&seed.bytes[..]) {
            fs::write(&path, &seed.bytes)?;
            written += 1;
        }
    }
    for (target, name) in extra_files(corpus, seeds)? {
        if !is_hash_named(&name) {
            let path = corpus.join(target).join(name);
            println!("removing stale seed {}", path.display());
            fs::remove_file(path)?;
        }
    }
    println!("fuzz-seeds: {} seed files, {written} written", seeds.len());
    Ok(())
}

/// Lists `(target, file name)` for files in the seeds' target directories that no seed names.
fn extra_files(corpus: &Path, seeds: &[Seed]) -> Result<Vec<(String, String)>> {
    let mut targets: Vec<&str> = seeds.iter().map(|seed| seed.target).collect();
    targets.sort_unstable();
    targets.dedup();
    let mut extra = Vec::new();
    for target in targets {
        let dir = corpus.join(target);
        if !dir.is_dir() {
            continue;
        }
        for entry in fs::read_dir(&dir)? {
            let name = entry?.file_name().to_string_lossy().into_owned();
            if !seeds
                .iter()
                .any(|seed| seed.target == target && seed.name == name)
            {
                extra.push((target.to_owned(), name));
            }
        }
    }
    extra.sort();
    Ok(extra)
}

/// Says whether `name` looks like `<what>.<hash>.bin` with a hash of at least 8 hex digits.
fn is_hash_named(name: &str) -> bool {
    let Some(stem) = name.strip_suffix(".bin") else {
        return false;
    };
    let Some((what, hash)) = stem.rsplit_once('.') else {
        return false;
    };
    !what.is_empty() && hash.len() >= 8 && hash.chars().all(|c| c.is_ascii_hexdigit())
}

/// Decodes whitespace-separated hex.
fn hex(text: &str) -> Result<Vec<u8>> {
    let digits: Vec<char> = text.chars().filter(|c| !c.is_whitespace()).collect();
    if digits.len() % 2 != 0 {
        return Err(format!("odd number of hex digits in `{text}`").into());
    }
    digits
        .chunks(2)
        .map(|pair| {
            let high = pair.first().and_then(|c| c.to_digit(16));
            let low = pair.get(1).and_then(|c| c.to_digit(16));
            match (high, low) {
                (Some(high), Some(low)) => u8::try_from(high << 4 | low).map_err(Into::into),
                _ => Err(format!("bad hex digits in `{text}`").into()),
            }
        })
        .collect()
}

/// PROTOCOL.md §1.1: the 64 octets a libzmq 4.3.5 PEER sends with NULL and no routing id.
const PEER_GREETING: &str = "
    FF 00 00 00 00 00 00 00 01 7F 03 01 4E 55 4C 4C
    00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
    00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
    00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00";

/// PROTOCOL.md §3.2: READY sent by a libzmq PEER (28 octets).
const READY_PEER: &str = "04 1A 05 52 45 41 44 59 0B 53 6F 63 6B 65 74 2D 54 79 70 65
    00 00 00 04 50 45 45 52";

/// PROTOCOL.md §3.2: READY with `ZMQ_METADATA` `X-Foo:bar` appended.
const READY_X_FOO: &str = "04 27 05 52 45 41 44 59 0B 53 6F 63 6B 65 74 2D 54 79 70 65
    00 00 00 04 50 45 45 52 05 58 2D 46 6F 6F 00 00 00 03 62 61 72";

/// PROTOCOL.md §3.3: ERROR with ZAP status "400".
const ERROR_400: &str = "04 0A 05 45 52 52 4F 52 03 34 30 30";

/// PROTOCOL.md §4: libzmq's PING with `ZMQ_HEARTBEAT_TTL` unset.
const PING_TTL0: &str = "04 07 04 50 49 4E 47 00 00";

/// PROTOCOL.md §4.3: PING with TTL 12 deciseconds.
const PING_TTL12: &str = "04 07 04 50 49 4E 47 00 0C";

/// PROTOCOL.md §4.1: PING with context "LOL" (from libzmq's `test_heartbeats`).
const PING_LOL: &str = "04 0A 04 50 49 4E 47 00 00 4C 4F 4C";

/// PROTOCOL.md §4: the reply to a context-less PING.
const PONG: &str = "04 05 04 50 4F 4E 47";

/// PROTOCOL.md §4.1: the reply to PING "LOL".
const PONG_LOL: &str = "04 08 04 50 4F 4E 47 4C 4F 4C";

/// PROTOCOL.md §4.2: SUBSCRIBE "ab".
const SUBSCRIBE_AB: &str = "04 0C 09 53 55 42 53 43 52 49 42 45 61 62";

/// PROTOCOL.md §3.4: PLAIN HELLO, username "admin", password "secret".
const HELLO: &str = "04 13 05 48 45 4C 4C 4F 05 61 64 6D 69 6E 06 73 65 63 72 65 74";

/// PROTOCOL.md §3.4: PLAIN WELCOME.
const WELCOME: &str = "04 08 07 57 45 4C 43 4F 4D 45";

/// PROTOCOL.md §3.4: PLAIN INITIATE with `Socket-Type` PEER.
const INITIATE: &str = "04 1D 08 49 4E 49 54 49 41 54 45 0B 53 6F 63 6B 65 74 2D 54 79 70 65
    00 00 00 04 50 45 45 52";

/// PROTOCOL.md §2.4: the 1-octet message 0x01.
const FRAME_ONE_BYTE: &str = "00 01 01";

/// PROTOCOL.md §2.4: the empty message.
const FRAME_EMPTY: &str = "00 00";

/// PROTOCOL.md §2.4: the two-frame message "A", "B".
const FRAMES_A_B: &str = "01 01 41 00 01 42";

/// PROTOCOL.md §2.4: the header of a 300-octet message (the body is generated).
const FRAME_LONG_300_HEADER: &str = "02 00 00 00 00 00 00 01 2C";

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn short_frames() -> Vec<&'static str> {
        vec![
            READY_PEER,
            READY_X_FOO,
            ERROR_400,
            PING_TTL0,
            PING_TTL12,
            PING_LOL,
            PONG,
            PONG_LOL,
            SUBSCRIBE_AB,
            HELLO,
            WELCOME,
            INITIATE,
        ]
    }

    #[test]
    fn golden_vectors_are_consistent() {
        let greeting = hex(PEER_GREETING).unwrap();
        assert_eq!(greeting.len(), 64);
        assert_eq!(&greeting[12..16], b"NULL");
        for frame in short_frames() {
            let bytes = hex(frame).unwrap();
            assert_eq!(bytes[0], 0x04, "{frame}: short command");
            assert_eq!(
                usize::from(bytes[1]),
                bytes.len() - 2,
                "{frame}: size octet"
            );
            let name_len = usize::from(bytes[2]);
            assert!(
                bytes[3..3 + name_len].iter().all(u8::is_ascii_uppercase),
                "{frame}: name"
            );
        }
        assert_eq!(
            hex(FRAME_LONG_300_HEADER).unwrap()[1..],
            300_u64.to_be_bytes()
        );
    }

    #[test]
    fn hex_rejects_garbage() {
        assert_eq!(hex("0a FF\n10").unwrap(), vec![0x0A, 0xFF, 0x10]);
        assert!(hex("0").is_err());
        assert!(hex("zz").is_err());
    }

    #[test]
    fn seeds_have_unique_names_and_session_prefixes() {
        let seeds = golden_seeds().unwrap();
        for (index, seed) in seeds.iter().enumerate() {
            assert!(seed.name.ends_with(".bin"));
            assert!(!is_hash_named(&seed.name), "{} looks hash-named", seed.name);
            assert!(
                !seeds[..index]
                    .iter()
                    .any(|other| other.target == seed.target && other.name == seed.name),
                "duplicate {}/{}",
                seed.target,
                seed.name
            );
        }
        let plain = seeds
            .iter()
            .find(|seed| seed.target == "codec_session_server" && seed.name == "plain_hello.bin")
            .unwrap();
        assert_eq!(&plain.bytes[..2], &[0x01, 21]);
        assert_eq!(hex(HELLO).unwrap().len(), 21);
        let limited = SessionOptions {
            max_size: 2,
            chunk: 7,
            ..SessionOptions::default()
        };
        assert_eq!(limited.encode(), [0b0100, 7]);
    }

    #[test]
    fn ws_frames_match_protocol_6_4() {
        let ready = hex(READY_PEER).unwrap();
        let payload = [&[FLAG_COMMAND][..], &ready[2..]].concat();
        assert_eq!(
            ws_frame(OP_BINARY, &payload, None),
            hex(WS_READY_SERVER).unwrap()
        );
        assert_eq!(
            ws_frame(OP_BINARY, &[0x00, 0x01], None),
            hex(WS_ONE_BYTE_SERVER).unwrap()
        );
        let masked = ws_frame(OP_BINARY, &payload, Some(WS_MASK));
        assert_eq!(&masked[..2], &[0x82, 0x9B]);
        assert_eq!(&masked[2..6], &WS_MASK);
        assert_eq!(masked[6], 0x02 ^ WS_MASK[0]);
        assert_eq!(masked[7], 0x05 ^ WS_MASK[1]);
        assert_eq!(masked.len(), 2 + 4 + 27);
        // Client bare routing-id message: 82 81 m0 m1 m2 m3 (00^m0).
        assert_eq!(
            ws_frame(OP_BINARY, &[0x00], Some(WS_MASK)),
            [&[0x82, 0x81][..], &WS_MASK, &[WS_MASK[0]]].concat()
        );
        let long = ws_frame(OP_BINARY, &[0; 300], None);
        assert_eq!(&long[..4], &[0x82, 126, 0x01, 0x2C]);
        assert_eq!(
            WsOptions {
                max_size: 2,
                accept_unmasked: true,
                bare: true,
                chunk: 7,
                ..WsOptions::default()
            }
            .encode(),
            [0b10_0110, 7]
        );
    }

    #[test]
    fn peer_ops_encode_as_the_fuzz_target_reads_them() {
        assert_eq!(PeerOp::Bind(1, 2).encode(), [0, 1, 2, 0]);
        assert_eq!(PeerOp::SendUnknown(0, 0x1234).encode(), [3, 0, 0x12, 0x34]);
        assert_eq!(PeerOp::SetSndHwm(3, 1).encode(), [7, 3, 1, 0]);
        let seeds = golden_seeds().unwrap();
        let peer: Vec<_> = seeds
            .iter()
            .filter(|seed| seed.target == "sockets_peer_ops")
            .collect();
        assert_eq!(peer.len(), 6);
        assert!(peer.iter().all(|seed| seed.bytes.len() % 4 == 1));
    }

    #[test]
    fn endpoint_seeds_are_distinct() {
        for (index, (name, endpoint)) in ENDPOINTS.iter().enumerate() {
            assert!(
                ENDPOINTS[..index]
                    .iter()
                    .all(|(other_name, other)| other_name != name && other != endpoint),
                "{name}"
            );
        }
    }

    #[test]
    fn hash_names_are_recognised() {
        assert!(is_hash_named("crash.0123abcd.bin"));
        assert!(is_hash_named(
            "greeting.0123456789abcdef0123456789abcdef01234567.bin"
        ));
        assert!(!is_hash_named("crash.bin"));
        assert!(!is_hash_named("crash.0123abc.bin"));
        assert!(!is_hash_named(".0123abcd.bin"));
        assert!(!is_hash_named("crash.0123abcg.bin"));
    }

    fn scratch_dir() -> PathBuf {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "xtask-seeds-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn check_finds_missing_changed_and_unnamed_files() {
        let corpus = scratch_dir();
        let seeds = golden_seeds().unwrap();
        assert_eq!(check_corpus(&corpus, &seeds).unwrap().len(), seeds.len());

        write_corpus(&corpus, &seeds).unwrap();
        assert_eq!(check_corpus(&corpus, &seeds).unwrap(), Vec::<String>::new());

        fs::write(corpus.join("codec_frame").join("found.deadbeef.bin"), b"x").unwrap();
        assert!(check_corpus(&corpus, &seeds).unwrap().is_empty());

        fs::write(corpus.join("codec_frame").join("one_byte.bin"), b"changed").unwrap();
        fs::write(corpus.join("codec_frame").join("stale.bin"), b"x").unwrap();
        let problems = check_corpus(&corpus, &seeds).unwrap();
        assert_eq!(problems.len(), 2, "{problems:?}");

        write_corpus(&corpus, &seeds).unwrap();
        assert!(check_corpus(&corpus, &seeds).unwrap().is_empty());
        assert!(!corpus.join("codec_frame").join("stale.bin").exists());
        assert!(
            corpus
                .join("codec_frame")
                .join("found.deadbeef.bin")
                .exists()
        );
        fs::remove_dir_all(&corpus).unwrap();
    }
}
