//! Minimal hand-written bindings to libzmq 4.3.5 (DRAFT API) and a small safe wrapper over them.
//!
//! This is the only module in the repository that contains `unsafe` code (STYLE.md §10). The raw
//! `extern "C"` declarations live in the private `sys` module and declare only what the interop
//! tests need; everything public here is safe:
//!
//! * [`Context`]: a libzmq context (`zmq_ctx_new`). Cheap to clone; the context is terminated
//!   (`zmq_ctx_term`) when the last clone *and* the last [`Socket`] created from it are dropped,
//!   so dropping things in any order never deadlocks on open sockets.
//! * [`Socket`]: a libzmq socket (`zmq_socket`), closed on drop (`zmq_close`).
//! * [`Msg`]: an owned `zmq_msg_t`, closed on drop (`zmq_msg_close`), with routing-id and
//!   metadata accessors.
//! * [`Errno`]: a libzmq error number with its `zmq_strerror` text.
//!
//! Contexts made by [`Context::new`] have `ZMQ_BLOCKY` switched off, so sockets default to
//! `ZMQ_LINGER = 0` (PROTOCOL.md §9.7) and tearing a test down never waits for unsent messages.
//! Set [`LINGER`] explicitly on a socket to observe linger behaviour.
#![allow(
    unsafe_code,
    reason = "FFI to libzmq: the one place in the repo allowed to use unsafe (STYLE.md §10)"
)]

use std::ffi::{CStr, CString, c_int, c_void};
use std::fmt;
use std::sync::Arc;

/// `zmq_socket` type number of `ZMQ_PAIR`.
pub const PAIR: i32 = 0;
/// `zmq_socket` type number of `ZMQ_DEALER`.
pub const DEALER: i32 = 5;
/// `zmq_socket` type number of `ZMQ_ROUTER`.
pub const ROUTER: i32 = 6;
/// `zmq_socket` type number of `ZMQ_SERVER` (draft).
pub const SERVER: i32 = 12;
/// `zmq_socket` type number of `ZMQ_CLIENT` (draft).
pub const CLIENT: i32 = 13;
/// `zmq_socket` type number of `ZMQ_PEER` (draft).
pub const PEER: i32 = 19;

/// Send/recv flag `ZMQ_DONTWAIT`.
pub const DONTWAIT: i32 = 1;
/// Send flag `ZMQ_SNDMORE`.
pub const SNDMORE: i32 = 2;

/// Socket option `ZMQ_ROUTING_ID` (bytes).
pub const ROUTING_ID: i32 = 5;
/// Socket option `ZMQ_TYPE` (int, read-only).
pub const TYPE: i32 = 16;
/// Socket option `ZMQ_LINGER` (int, ms).
pub const LINGER: i32 = 17;
/// Socket option `ZMQ_RECONNECT_IVL` (int, ms).
pub const RECONNECT_IVL: i32 = 18;
/// Socket option `ZMQ_SNDHWM` (int, messages).
pub const SNDHWM: i32 = 23;
/// Socket option `ZMQ_RCVHWM` (int, messages).
pub const RCVHWM: i32 = 24;
/// Socket option `ZMQ_RCVTIMEO` (int, ms; -1 = forever).
pub const RCVTIMEO: i32 = 27;
/// Socket option `ZMQ_SNDTIMEO` (int, ms; -1 = forever).
pub const SNDTIMEO: i32 = 28;
/// Socket option `ZMQ_LAST_ENDPOINT` (string, read-only).
pub const LAST_ENDPOINT: i32 = 32;
/// Socket option `ZMQ_IMMEDIATE` (int, 0/1).
pub const IMMEDIATE: i32 = 39;
/// Socket option `ZMQ_IPV6` (int, 0/1).
pub const IPV6: i32 = 42;
/// Socket option `ZMQ_HANDSHAKE_IVL` (int, ms).
pub const HANDSHAKE_IVL: i32 = 66;
/// Socket option `ZMQ_THREAD_SAFE` (int, read-only).
pub const THREAD_SAFE: i32 = 81;
/// Socket option `ZMQ_HEARTBEAT_IVL` (int, ms).
pub const HEARTBEAT_IVL: i32 = 75;
/// Socket option `ZMQ_HEARTBEAT_TTL` (int, ms).
pub const HEARTBEAT_TTL: i32 = 76;
/// Socket option `ZMQ_HEARTBEAT_TIMEOUT` (int, ms).
pub const HEARTBEAT_TIMEOUT: i32 = 77;
/// Socket option `ZMQ_METADATA` (string `"X-Name:value"`, draft).
pub const METADATA: i32 = 95;
/// Socket option `ZMQ_HELLO_MSG` (bytes, draft).
pub const HELLO_MSG: i32 = 110;
/// Socket option `ZMQ_DISCONNECT_MSG` (bytes, draft).
pub const DISCONNECT_MSG: i32 = 111;
/// Socket option `ZMQ_HICCUP_MSG` (bytes, draft).
pub const HICCUP_MSG: i32 = 114;

/// Context option `ZMQ_IO_THREADS`.
pub const CTX_IO_THREADS: i32 = 1;
/// Context option `ZMQ_BLOCKY`.
pub const CTX_BLOCKY: i32 = 70;

/// Monitor event mask: every event (`ZMQ_EVENT_ALL`).
pub const EVENT_ALL: i32 = 0xFFFF;
/// Monitor event `ZMQ_EVENT_CONNECTED`.
pub const EVENT_CONNECTED: u16 = 0x0001;
/// Monitor event `ZMQ_EVENT_CONNECT_DELAYED`.
pub const EVENT_CONNECT_DELAYED: u16 = 0x0002;
/// Monitor event `ZMQ_EVENT_CONNECT_RETRIED`.
pub const EVENT_CONNECT_RETRIED: u16 = 0x0004;
/// Monitor event `ZMQ_EVENT_ACCEPTED`.
pub const EVENT_ACCEPTED: u16 = 0x0020;
/// Monitor event `ZMQ_EVENT_DISCONNECTED`.
pub const EVENT_DISCONNECTED: u16 = 0x0200;
/// Monitor event `ZMQ_EVENT_HANDSHAKE_SUCCEEDED`.
pub const EVENT_HANDSHAKE_SUCCEEDED: u16 = 0x1000;
/// Monitor event `ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL`.
pub const EVENT_HANDSHAKE_FAILED_PROTOCOL: u16 = 0x2000;

/// A libzmq error number (`zmq_errno()`), POSIX where the OS has the name, else libzmq-private.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Errno(pub i32);

impl Errno {
    /// `EAGAIN`: non-blocking call would block, or a timeout expired.
    pub const EAGAIN: Self = Self(libc::EAGAIN);
    /// `EINVAL`: invalid argument (bad option, bad endpoint, `ZMQ_SNDMORE` on PEER...).
    pub const EINVAL: Self = Self(libc::EINVAL);
    /// `EFAULT`: e.g. `zmq_connect_peer` with `ZMQ_IMMEDIATE = 1`.
    pub const EFAULT: Self = Self(libc::EFAULT);
    /// `EHOSTUNREACH`: no live peer with that routing id.
    pub const EHOSTUNREACH: Self = Self(libc::EHOSTUNREACH);
    /// `ENOTSUP`: operation not supported by this socket type.
    pub const ENOTSUP: Self = Self(libc::ENOTSUP);
    /// `ENOTSOCK`: not a live libzmq socket.
    pub const ENOTSOCK: Self = Self(libc::ENOTSOCK);
    /// `EPROTONOSUPPORT`: transport unknown or not compiled in.
    pub const EPROTONOSUPPORT: Self = Self(libc::EPROTONOSUPPORT);
    /// `ENAMETOOLONG`: ipc path too long.
    pub const ENAMETOOLONG: Self = Self(libc::ENAMETOOLONG);
    /// `EINTR`: interrupted by a signal.
    pub const EINTR: Self = Self(libc::EINTR);
    /// `EFSM` (libzmq-private): operation not valid in the socket's current state.
    pub const EFSM: Self = Self(HAUSNUMERO + 51);
    /// `ENOCOMPATPROTO` (libzmq-private): transport not compatible with the socket type.
    pub const ENOCOMPATPROTO: Self = Self(HAUSNUMERO + 52);
    /// `ETERM` (libzmq-private): the context was terminated.
    pub const ETERM: Self = Self(HAUSNUMERO + 53);
    /// `EMTHREAD` (libzmq-private): no I/O thread available.
    pub const EMTHREAD: Self = Self(HAUSNUMERO + 54);

    /// The calling thread's current libzmq error number (`zmq_errno`).
    #[must_use]
    pub fn last() -> Self {
        Self(sys::zmq_errno())
    }

    /// libzmq's description of this error (`zmq_strerror`).
    #[must_use]
    pub fn message(self) -> String {
        let ptr = sys::zmq_strerror(self.0);
        if ptr.is_null() {
            return format!("errno {}", self.0);
        }
        // SAFETY: zmq_strerror returns a pointer to a NUL-terminated string with static storage
        // (libzmq's own table or libc's strerror buffer); it was checked non-null above and is
        // copied out immediately.
        unsafe { CStr::from_ptr(ptr) }
            .to_string_lossy()
            .into_owned()
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (errno {})", self.message(), self.0)
    }
}

impl std::error::Error for Errno {}

/// A libzmq context. Clones share the same context.
#[derive(Clone, Debug)]
pub struct Context {
    raw: Arc<RawContext>,
}

impl Context {
    /// Creates a context with `ZMQ_BLOCKY = 0` (sockets default to linger 0).
    ///
    /// # Errors
    /// The libzmq error if `zmq_ctx_new` or `zmq_ctx_set` fails.
    pub fn new() -> Result<Self, Errno> {
        let ctx = Self::new_blocky()?;
        ctx.set(CTX_BLOCKY, 0)?;
        Ok(ctx)
    }

    /// Creates a context with libzmq's defaults (`ZMQ_BLOCKY = 1`, sockets linger forever).
    ///
    /// # Errors
    /// The libzmq error if `zmq_ctx_new` fails.
    pub fn new_blocky() -> Result<Self, Errno> {
        let ptr = sys::zmq_ctx_new();
        if ptr.is_null() {
            return Err(Errno::last());
        }
        Ok(Self {
            raw: Arc::new(RawContext { ptr }),
        })
    }

    /// Sets a context option (`zmq_ctx_set`), e.g. [`CTX_IO_THREADS`] before any socket exists.
    ///
    /// # Errors
    /// The libzmq error, e.g. `EINVAL` for an unknown option.
    pub fn set(&self, option: i32, value: i32) -> Result<(), Errno> {
        // SAFETY: `ptr` is a live context: `RawContext` only terminates it on drop, and we hold
        // a reference to it.
        let rc = unsafe { sys::zmq_ctx_set(self.raw.ptr, option, value) };
        check(rc)
    }

    /// Shuts the context down (`zmq_ctx_shutdown`): blocking calls on its sockets return
    /// `ETERM`, new calls fail with `ETERM`. The sockets stay open until dropped.
    ///
    /// # Errors
    /// The libzmq error if the shutdown fails.
    pub fn shutdown(&self) -> Result<(), Errno> {
        // SAFETY: `ptr` is a live context (see `set`); zmq_ctx_shutdown does not free it.
        let rc = unsafe { sys::zmq_ctx_shutdown(self.raw.ptr) };
        check(rc)
    }

    /// Creates a socket of libzmq type `kind` (e.g. [`PEER`]).
    ///
    /// # Errors
    /// The libzmq error, e.g. `EINVAL` for an unknown type or `ETERM` after shutdown.
    pub fn socket(&self, kind: i32) -> Result<Socket, Errno> {
        // SAFETY: `ptr` is a live context (see `set`).
        let ptr = unsafe { sys::zmq_socket(self.raw.ptr, kind) };
        if ptr.is_null() {
            return Err(Errno::last());
        }
        Ok(Socket {
            ptr,
            _ctx: Arc::clone(&self.raw),
        })
    }
}

/// A libzmq socket, closed (`zmq_close`) on drop. Keeps its context alive.
#[derive(Debug)]
pub struct Socket {
    ptr: *mut c_void,
    _ctx: Arc<RawContext>,
}

// SAFETY: libzmq allows a socket to be used from another thread as long as it is not used from
// two threads at the same time without a full memory barrier; moving ownership between Rust
// threads provides that barrier, and `Socket` has no `&self` methods that could race because it
// is not `Sync`.
unsafe impl Send for Socket {}

impl Socket {
    /// Binds to `endpoint` (`zmq_bind`), e.g. `"tcp://127.0.0.1:*"`.
    ///
    /// # Errors
    /// The libzmq error (`EINVAL`, `EADDRINUSE`, `EPROTONOSUPPORT`, ...).
    pub fn bind(&mut self, endpoint: &str) -> Result<(), Errno> {
        let endpoint = c_string(endpoint)?;
        // SAFETY: `ptr` is a live socket (closed only on drop) and `endpoint` is a valid
        // NUL-terminated string that outlives the call.
        let rc = unsafe { sys::zmq_bind(self.ptr, endpoint.as_ptr()) };
        check(rc)
    }

    /// Connects to `endpoint` (`zmq_connect`).
    ///
    /// # Errors
    /// The libzmq error (`EINVAL`, `EPROTONOSUPPORT`, ...).
    pub fn connect(&mut self, endpoint: &str) -> Result<(), Errno> {
        let endpoint = c_string(endpoint)?;
        // SAFETY: as in `bind`.
        let rc = unsafe { sys::zmq_connect(self.ptr, endpoint.as_ptr()) };
        check(rc)
    }

    /// Connects a PEER socket to `endpoint` and returns the new connection's routing id
    /// (`zmq_connect_peer`, never 0).
    ///
    /// # Errors
    /// The libzmq error (PROTOCOL.md §10): `ENOTSUP`, `EFAULT`, `EINVAL`, `ETERM`, ...
    pub fn connect_peer(&mut self, endpoint: &str) -> Result<u32, Errno> {
        let endpoint = c_string(endpoint)?;
        // SAFETY: as in `bind`.
        let rid = unsafe { sys::zmq_connect_peer(self.ptr, endpoint.as_ptr()) };
        if rid == 0 {
            return Err(Errno::last());
        }
        Ok(rid)
    }

    /// Sets an integer socket option (`zmq_setsockopt` with a C `int`).
    ///
    /// # Errors
    /// The libzmq error, e.g. `EINVAL` for an option unknown to this socket.
    pub fn set_int_option(&mut self, option: i32, value: i32) -> Result<(), Errno> {
        let value: c_int = value;
        // SAFETY: `ptr` is a live socket; the option value points to a c_int of the size passed.
        let rc = unsafe {
            sys::zmq_setsockopt(
                self.ptr,
                option,
                (&raw const value).cast::<c_void>(),
                size_of::<c_int>(),
            )
        };
        check(rc)
    }

    /// Sets a byte-string socket option (`zmq_setsockopt` with a buffer), e.g. [`METADATA`].
    ///
    /// # Errors
    /// The libzmq error, e.g. `EINVAL`.
    pub fn set_bytes_option(&mut self, option: i32, value: &[u8]) -> Result<(), Errno> {
        // SAFETY: `ptr` is a live socket; the buffer is valid for `value.len()` bytes for the
        // whole call (libzmq copies it).
        let rc =
            unsafe { sys::zmq_setsockopt(self.ptr, option, value.as_ptr().cast(), value.len()) };
        check(rc)
    }

    /// Reads an integer socket option (`zmq_getsockopt` with a C `int`).
    ///
    /// # Errors
    /// The libzmq error, e.g. `EINVAL`.
    pub fn int_option(&self, option: i32) -> Result<i32, Errno> {
        let mut value: c_int = 0;
        let mut len = size_of::<c_int>();
        // SAFETY: `ptr` is a live socket; `value` and `len` are valid for writes and `len` holds
        // the size of `value`.
        let rc = unsafe {
            sys::zmq_getsockopt(
                self.ptr,
                option,
                (&raw mut value).cast::<c_void>(),
                &raw mut len,
            )
        };
        check(rc)?;
        Ok(value)
    }

    /// Reads a byte-string socket option (`zmq_getsockopt` with a 1 KiB buffer).
    ///
    /// # Errors
    /// The libzmq error, e.g. `EINVAL` (also when the value does not fit).
    pub fn bytes_option(&self, option: i32) -> Result<Vec<u8>, Errno> {
        let mut buf = vec![0_u8; 1024];
        let mut len = buf.len();
        // SAFETY: `ptr` is a live socket; `buf` is valid for `len` bytes of writes and libzmq
        // writes at most `len` bytes, then stores the used length in `len`.
        let rc = unsafe {
            sys::zmq_getsockopt(
                self.ptr,
                option,
                buf.as_mut_ptr().cast::<c_void>(),
                &raw mut len,
            )
        };
        check(rc)?;
        buf.truncate(len);
        Ok(buf)
    }

    /// The endpoint of the last bind or connect (`ZMQ_LAST_ENDPOINT`), without the trailing NUL,
    /// e.g. `"tcp://127.0.0.1:41337"`.
    ///
    /// # Errors
    /// The libzmq error, or `EINVAL` if the value is not UTF-8.
    pub fn last_endpoint(&self) -> Result<String, Errno> {
        let mut bytes = self.bytes_option(LAST_ENDPOINT)?;
        if let Some(nul) = bytes.iter().position(|&b| b == 0) {
            bytes.truncate(nul);
        }
        String::from_utf8(bytes).map_err(|_| Errno::EINVAL)
    }

    /// Sends `msg` (`zmq_msg_send`); returns the number of bytes sent. On success `msg` is left
    /// empty (routing id 0); on failure it is unchanged.
    ///
    /// # Errors
    /// The libzmq error: `EHOSTUNREACH`, `EAGAIN`, `EINVAL` (`SNDMORE` on PEER), `ETERM`, ...
    pub fn send_msg(&mut self, msg: &mut Msg, flags: i32) -> Result<usize, Errno> {
        // SAFETY: `ptr` is a live socket and `msg.raw` an initialised zmq_msg_t we own.
        let rc = unsafe { sys::zmq_msg_send(&raw mut msg.raw, self.ptr, flags) };
        count(rc)
    }

    /// Sends a copy of `data` to the peer with routing id `rid` (0 = no routing id).
    ///
    /// # Errors
    /// As [`Socket::send_msg`] (a PEER answers `rid == 0` with `EHOSTUNREACH`).
    pub fn send_to(&mut self, rid: u32, data: &[u8], flags: i32) -> Result<usize, Errno> {
        let mut msg = Msg::with_data(data)?;
        if rid != 0 {
            msg.set_routing_id(rid)?;
        }
        self.send_msg(&mut msg, flags)
    }

    /// Receives into `msg` (`zmq_msg_recv`), replacing its content; returns the byte count.
    ///
    /// # Errors
    /// The libzmq error: `EAGAIN` (`DONTWAIT` or `ZMQ_RCVTIMEO` expired), `ETERM`, `EINTR`, ...
    pub fn recv_msg(&mut self, msg: &mut Msg, flags: i32) -> Result<usize, Errno> {
        // SAFETY: `ptr` is a live socket and `msg.raw` an initialised zmq_msg_t we own.
        let rc = unsafe { sys::zmq_msg_recv(&raw mut msg.raw, self.ptr, flags) };
        count(rc)
    }

    /// Receives one message and returns its routing id (0 if none) and a copy of its body.
    ///
    /// # Errors
    /// As [`Socket::recv_msg`].
    pub fn recv(&mut self, flags: i32) -> Result<(u32, Vec<u8>), Errno> {
        let mut msg = Msg::new()?;
        self.recv_msg(&mut msg, flags)?;
        Ok((msg.routing_id(), msg.data().to_vec()))
    }

    /// Starts a monitor (`zmq_socket_monitor`) publishing `events` on the inproc `endpoint`;
    /// connect a [`PAIR`] socket there and read events with [`Socket::recv_event`].
    ///
    /// # Errors
    /// The libzmq error, e.g. `EPROTONOSUPPORT` for a non-inproc endpoint.
    pub fn monitor(&mut self, endpoint: &str, events: i32) -> Result<(), Errno> {
        let endpoint = c_string(endpoint)?;
        // SAFETY: as in `bind`.
        let rc = unsafe { sys::zmq_socket_monitor(self.ptr, endpoint.as_ptr(), events) };
        check(rc)
    }

    /// Reads one monitor event from a PAIR socket connected to a monitor endpoint: the event
    /// number, its 32-bit value and the endpoint text (the two frames of a v1 monitor event).
    ///
    /// # Errors
    /// As [`Socket::recv_msg`]; `EPROTO` if the frames are not shaped like a monitor event.
    pub fn recv_event(&mut self, flags: i32) -> Result<MonitorEvent, Errno> {
        let mut first = Msg::new()?;
        self.recv_msg(&mut first, flags)?;
        let head = first.data();
        if head.len() != 6 || !first.more() {
            return Err(Errno(libc::EPROTO));
        }
        let event = u16::from_ne_bytes([head[0], head[1]]);
        let value = u32::from_ne_bytes([head[2], head[3], head[4], head[5]]);
        let mut second = Msg::new()?;
        self.recv_msg(&mut second, 0)?;
        Ok(MonitorEvent {
            event,
            value,
            endpoint: String::from_utf8_lossy(second.data()).into_owned(),
        })
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        // SAFETY: `ptr` is a live socket that nothing else references; it is closed exactly once.
        let rc = unsafe { sys::zmq_close(self.ptr) };
        debug_assert_eq!(rc, 0, "zmq_close failed: {}", Errno::last());
    }
}

/// One event read from a socket monitor (see [`Socket::monitor`]).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct MonitorEvent {
    /// The event number, e.g. [`EVENT_CONNECTED`].
    pub event: u16,
    /// The event value (fd, errno, reconnect interval or protocol error code).
    pub value: u32,
    /// The endpoint the event refers to.
    pub endpoint: String,
}

/// An owned libzmq message (`zmq_msg_t`), closed on drop.
pub struct Msg {
    raw: ZmqMsg,
}

impl Msg {
    /// An empty message (`zmq_msg_init`).
    ///
    /// # Errors
    /// The libzmq error (cannot fail in practice).
    pub fn new() -> Result<Self, Errno> {
        let mut raw = ZmqMsg([0; 64]);
        // SAFETY: `raw` is writable storage of the size and alignment of zmq_msg_t.
        let rc = unsafe { sys::zmq_msg_init(&raw mut raw) };
        check(rc)?;
        Ok(Self { raw })
    }

    /// A message holding a copy of `data` (`zmq_msg_init_size` + copy).
    ///
    /// # Errors
    /// `ENOMEM` if libzmq cannot allocate the body.
    pub fn with_data(data: &[u8]) -> Result<Self, Errno> {
        let mut raw = ZmqMsg([0; 64]);
        // SAFETY: `raw` is writable storage of the size and alignment of zmq_msg_t.
        let rc = unsafe { sys::zmq_msg_init_size(&raw mut raw, data.len()) };
        check(rc)?;
        let mut msg = Self { raw };
        if !data.is_empty() {
            // SAFETY: the message was initialised with `data.len()` bytes, so zmq_msg_data points
            // to that many writable bytes, which cannot overlap the borrowed `data`.
            unsafe {
                let dst = sys::zmq_msg_data(&raw mut msg.raw).cast::<u8>();
                std::ptr::copy_nonoverlapping(data.as_ptr(), dst, data.len());
            }
        }
        Ok(msg)
    }

    /// A new message sharing this one's body and routing id (`zmq_msg_copy`): bodies longer
    /// than libzmq's inline limit are reference counted, not copied. Takes `&mut self` because
    /// libzmq marks the source as shared.
    ///
    /// # Errors
    /// The libzmq error (`EFAULT` for an invalid message; cannot happen for a live `Msg`).
    pub fn share(&mut self) -> Result<Self, Errno> {
        let mut copy = Self::new()?;
        // SAFETY: both are initialised messages we own exclusively (`copy` is a fresh local, so
        // the two cannot alias); zmq_msg_copy releases `copy`'s empty content and makes it share
        // `self`'s body, bumping the reference count inside `self`.
        let rc = unsafe { sys::zmq_msg_copy(&raw mut copy.raw, &raw mut self.raw) };
        check(rc)?;
        Ok(copy)
    }

    /// The message body.
    #[must_use]
    pub fn data(&self) -> &[u8] {
        // SAFETY: `raw` is an initialised message; zmq_msg_size only reads it.
        let len = unsafe { sys::zmq_msg_size(&raw const self.raw) };
        if len == 0 {
            return &[];
        }
        // zmq_msg_data takes a non-const pointer but does not modify the message.
        let ptr = (&raw const self.raw).cast_mut();
        // SAFETY: `raw` is initialised and non-empty, so zmq_msg_data returns a pointer to `len`
        // readable bytes that stay valid and unchanged while `self` is borrowed (only `&mut self`
        // methods or drop change the body).
        unsafe { std::slice::from_raw_parts(sys::zmq_msg_data(ptr).cast::<u8>(), len) }
    }

    /// The routing id stamped by a PEER/SERVER socket on receive (0 = none).
    #[must_use]
    pub fn routing_id(&self) -> u32 {
        // zmq_msg_routing_id takes a non-const pointer but only reads the message.
        let ptr = (&raw const self.raw).cast_mut();
        // SAFETY: `raw` is an initialised message and the call only reads it.
        unsafe { sys::zmq_msg_routing_id(ptr) }
    }

    /// Sets the routing id a PEER/SERVER socket sends to (`zmq_msg_set_routing_id`).
    ///
    /// # Errors
    /// `EINVAL` for `rid == 0`.
    pub fn set_routing_id(&mut self, rid: u32) -> Result<(), Errno> {
        // SAFETY: `raw` is an initialised message we own exclusively.
        let rc = unsafe { sys::zmq_msg_set_routing_id(&raw mut self.raw, rid) };
        check(rc)
    }

    /// Whether more frames follow (`zmq_msg_more`).
    #[must_use]
    pub fn more(&self) -> bool {
        // SAFETY: `raw` is an initialised message; zmq_msg_more only reads it.
        unsafe { sys::zmq_msg_more(&raw const self.raw) != 0 }
    }

    /// A metadata property of a received message (`zmq_msg_gets`), e.g. `"Socket-Type"` or
    /// `"Peer-Address"`; `None` if absent.
    #[must_use]
    pub fn gets(&self, property: &str) -> Option<String> {
        let property = CString::new(property).ok()?;
        // SAFETY: `raw` is an initialised message and `property` a NUL-terminated string that
        // outlives the call.
        let value = unsafe { sys::zmq_msg_gets(&raw const self.raw, property.as_ptr()) };
        if value.is_null() {
            return None;
        }
        // SAFETY: a non-null result points to a NUL-terminated string owned by the message's
        // metadata, alive while the message is; it is copied out at once.
        Some(
            unsafe { CStr::from_ptr(value) }
                .to_string_lossy()
                .into_owned(),
        )
    }
}

impl fmt::Debug for Msg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Msg")
            .field("len", &self.data().len())
            .field("routing_id", &self.routing_id())
            .finish()
    }
}

impl Drop for Msg {
    fn drop(&mut self) {
        // SAFETY: `raw` is an initialised message (constructors only return after a successful
        // init, and send/recv leave it initialised); it is closed exactly once.
        let rc = unsafe { sys::zmq_msg_close(&raw mut self.raw) };
        debug_assert_eq!(rc, 0, "zmq_msg_close failed");
    }
}

// SAFETY: a zmq_msg_t is plain data owned by this value (its body is reference counted with
// atomics by libzmq), so it may be moved to and dropped on another thread.
unsafe impl Send for Msg {}

/// The raw `zmq_msg_t`: 64 opaque bytes, pointer-aligned (include/zmq.h).
#[repr(C, align(8))]
struct ZmqMsg([u8; 64]);

/// The owned context pointer; terminates the context when the last owner drops it.
#[derive(Debug)]
struct RawContext {
    ptr: *mut c_void,
}

// SAFETY: libzmq contexts are thread-safe: every zmq_ctx_* function and zmq_socket may be called
// from any thread concurrently.
unsafe impl Send for RawContext {}
// SAFETY: as above; shared references only hand the pointer to thread-safe libzmq calls.
unsafe impl Sync for RawContext {}

impl Drop for RawContext {
    fn drop(&mut self) {
        loop {
            // SAFETY: every socket holds an Arc to this value, so all sockets of the context are
            // already closed; `ptr` is live and terminated exactly once (retried only on EINTR,
            // when libzmq has not terminated it).
            let rc = unsafe { sys::zmq_ctx_term(self.ptr) };
            if rc == 0 || Errno::last() != Errno::EINTR {
                break;
            }
        }
    }
}

/// libzmq's base for its private error numbers (`ZMQ_HAUSNUMERO`).
const HAUSNUMERO: i32 = 156_384_712;

fn c_string(s: &str) -> Result<CString, Errno> {
    CString::new(s).map_err(|_| Errno::EINVAL)
}

fn check(rc: c_int) -> Result<(), Errno> {
    if rc == -1 { Err(Errno::last()) } else { Ok(()) }
}

fn count(rc: c_int) -> Result<usize, Errno> {
    usize::try_from(rc).map_err(|_| Errno::last())
}

/// The raw C declarations (include/zmq.h of libzmq 4.3.5, built with `ZMQ_BUILD_DRAFT_API`).
mod sys {
    use std::ffi::{c_char, c_int, c_void};

    use super::ZmqMsg;

    // SAFETY: the signatures match include/zmq.h of the libzmq 4.3.5 that build.rs compiles and
    // links statically; functions marked `safe` have no pointer arguments to misuse.
    unsafe extern "C" {
        pub(super) safe fn zmq_errno() -> c_int;
        pub(super) safe fn zmq_strerror(errnum: c_int) -> *const c_char;

        pub(super) safe fn zmq_ctx_new() -> *mut c_void;
        pub(super) fn zmq_ctx_term(context: *mut c_void) -> c_int;
        pub(super) fn zmq_ctx_shutdown(context: *mut c_void) -> c_int;
        pub(super) fn zmq_ctx_set(context: *mut c_void, option: c_int, optval: c_int) -> c_int;

        pub(super) fn zmq_socket(context: *mut c_void, kind: c_int) -> *mut c_void;
        pub(super) fn zmq_close(socket: *mut c_void) -> c_int;
        pub(super) fn zmq_bind(socket: *mut c_void, endpoint: *const c_char) -> c_int;
        pub(super) fn zmq_connect(socket: *mut c_void, endpoint: *const c_char) -> c_int;
        pub(super) fn zmq_connect_peer(socket: *mut c_void, endpoint: *const c_char) -> u32;
        pub(super) fn zmq_setsockopt(
            socket: *mut c_void,
            option: c_int,
            optval: *const c_void,
            optvallen: usize,
        ) -> c_int;
        pub(super) fn zmq_getsockopt(
            socket: *mut c_void,
            option: c_int,
            optval: *mut c_void,
            optvallen: *mut usize,
        ) -> c_int;
        pub(super) fn zmq_socket_monitor(
            socket: *mut c_void,
            endpoint: *const c_char,
            events: c_int,
        ) -> c_int;

        pub(super) fn zmq_msg_init(msg: *mut ZmqMsg) -> c_int;
        pub(super) fn zmq_msg_init_size(msg: *mut ZmqMsg, size: usize) -> c_int;
        pub(super) fn zmq_msg_data(msg: *mut ZmqMsg) -> *mut c_void;
        pub(super) fn zmq_msg_size(msg: *const ZmqMsg) -> usize;
        pub(super) fn zmq_msg_more(msg: *const ZmqMsg) -> c_int;
        pub(super) fn zmq_msg_close(msg: *mut ZmqMsg) -> c_int;
        pub(super) fn zmq_msg_copy(dest: *mut ZmqMsg, src: *mut ZmqMsg) -> c_int;
        pub(super) fn zmq_msg_send(msg: *mut ZmqMsg, socket: *mut c_void, flags: c_int) -> c_int;
        pub(super) fn zmq_msg_recv(msg: *mut ZmqMsg, socket: *mut c_void, flags: c_int) -> c_int;
        pub(super) fn zmq_msg_set_routing_id(msg: *mut ZmqMsg, routing_id: u32) -> c_int;
        pub(super) fn zmq_msg_routing_id(msg: *mut ZmqMsg) -> u32;
        pub(super) fn zmq_msg_gets(msg: *const ZmqMsg, property: *const c_char) -> *const c_char;
    }
}
