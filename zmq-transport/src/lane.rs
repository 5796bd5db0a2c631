//! The direct lane: an application thread writes a message to an idle connection itself.
//!
//! Through the outbound pipe, a message costs a hand-off to the I/O thread: a wake-up (an
//! eventfd write, a futex, a scheduler decision) before the I/O thread encodes and writes it.
//! For request/reply traffic that is most of a loopback round trip: the raw socket ping-pong
//! pays two wake-ups per round trip, a pipe and an I/O thread at each end four
//! (BENCHMARKS.md). When a connection is idle, the sending thread can write the frame itself,
//! as the I/O thread would have, with one `writev` of the frame header and the body.
//!
//! When that is allowed (everything else is queued as usual):
//!
//! * The connection is *clean*: the I/O thread's last flush left nothing unwritten (no partial
//!   frame on the wire, nothing in its session's output, no message it took but could not
//!   send), the handshake is done and the link attached. The I/O thread decides this under
//!   the lane's lock at the end of every flush, and holds the lock while it pulls from the
//!   pipe and writes, so the application thread never writes between two halves of its work.
//! * The pipe is idle ([`crate::pipe::Bypass`]): the I/O thread took every message sent before
//!   and found the pipe empty since, so a direct write keeps each sender's order.
//! * The lane is *armed*: the connection delivered an inbound message since the last direct
//!   write. That is the request/reply pattern; a stream of sends with nothing coming back is
//!   left to the I/O thread, whose batching writer puts many messages in one write (a write
//!   per message costs streaming throughput several times over).
//! * The message is a single frame (PEER, SERVER, CLIENT messages are).
//!
//! A write the socket takes only in part leaves the rest in the lane and wakes the I/O
//! thread, which writes it before anything else; until then the connection is not clean. A
//! failed write hands the message back to the pipe: the I/O thread meets the same error on
//! the stream and handles the disconnect as it always does.
//!
//! The receiving half ([`Fill`], on the inbound pipe): an application thread that waits for a
//! message on a socket with this one connection reads the socket itself, instead of spinning
//! until the I/O thread has been woken, has read and has handed the message over. It does so
//! only while the I/O thread holds nothing half-read (its buffer empty, its session between
//! messages, no backlog), and it decodes only what the session would deliver as it is: whole
//! single-frame data messages ([`FastPath`]). Anything else it read (a partial frame, a
//! command such as PING, a multipart message, a frame over MAXMSGSIZE), the end of the stream
//! or an error is handed over to the I/O thread, which feeds it to the session before reading
//! on; messages the inbound pipe has no room for are handed over too. The I/O thread holds
//! the receiving half's lock for its whole round, so the two never read at the same time.

use std::collections::VecDeque;
use std::io::{self, IoSlice};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use bytes::{Bytes, BytesMut};
use parking_lot::{Mutex, MutexGuard};
use zmtp_codec::{FastPath, FrameHeader, Message};

use crate::pipe::{Bypass, Fill, PipeSender, TrySendError, Wake};
use crate::stream::Stream;

/// One connection's direct lane, shared by its I/O thread and the outbound pipe's senders.
pub(crate) struct Lane {
    /// An inbound message was delivered since the last direct write (see the module docs).
    armed: AtomicBool,
    state: Mutex<LaneState>,
    /// The receiving half.
    rx: Mutex<RxState>,
    /// An application thread calls [`Fill::fill`] in a loop: the I/O thread, woken by the
    /// same arrival, leaves the read to it ([`Lane::leave_read`]).
    filling: AtomicBool,
    /// Reads the I/O thread left (counted before it looks at `filling`, see `Fill::end`).
    left: AtomicU64,
    /// The I/O thread stopped listening for arrivals because reads were left to a filling
    /// thread: one that stops filling to wait wakes it.
    parked: AtomicBool,
    /// Brings the I/O thread to write what a partial direct write left, or to take over what
    /// a direct read handed over.
    waker: Arc<dyn Wake>,
}

/// The receiving half, under its own lock (held by the I/O thread for its whole round).
pub(crate) struct RxState {
    /// The live stream, as in [`LaneState`].
    stream: Option<Arc<Stream>>,
    /// The inbound pipe (a sender clone, dropped when the stream ends).
    inbound: Option<PipeSender>,
    /// Set by the I/O thread after its round when it holds nothing half-read: the decoder for
    /// direct reads. `None` stops them.
    pub(crate) fast: Option<FastPath>,
    /// Octets a direct read could not decode, for the I/O thread to feed to the session first.
    pub(crate) handover: BytesMut,
    /// Decoded messages the inbound pipe had no room for, for the I/O thread to deliver first.
    pub(crate) backlog: VecDeque<Message>,
    /// The socket may hold more than a direct read took: the I/O thread must read.
    pub(crate) read_pending: bool,
    /// A direct read met the end of the stream or an error: the I/O thread ends the connection.
    pub(crate) ended: Option<io::ErrorKind>,
    /// Messages arrived through direct reads since the I/O thread last looked (heartbeats).
    pub(crate) traffic: bool,
    /// Zeroed room that direct reads fill; what they read is split off (bodies are slices).
    room: BytesMut,
    /// Messages of one direct read (kept for its allocation).
    batch: VecDeque<Message>,
}

/// What the lane's lock guards.
pub(crate) struct LaneState {
    /// The live stream (`None` between connections and once the connection ended).
    stream: Option<Arc<Stream>>,
    /// The I/O thread's last flush left nothing unwritten, and the session takes traffic.
    pub(crate) clean: bool,
    /// The unwritten rest of a direct write, for the I/O thread to write first.
    pub(crate) leftover: VecDeque<Bytes>,
}

impl Lane {
    /// A lane with no stream yet; `waker` wakes the connection's I/O thread.
    pub(crate) fn new(waker: Arc<dyn Wake>) -> Self {
        Self {
            armed: AtomicBool::new(false),
            state: Mutex::new(LaneState {
                stream: None,
                clean: false,
                leftover: VecDeque::new(),
            }),
            rx: Mutex::new(RxState {
                stream: None,
                inbound: None,
                fast: None,
                handover: BytesMut::new(),
                backlog: VecDeque::new(),
                read_pending: false,
                ended: None,
                traffic: false,
                room: BytesMut::new(),
                batch: VecDeque::new(),
            }),
            filling: AtomicBool::new(false),
            left: AtomicU64::new(0),
            parked: AtomicBool::new(false),
            waker,
        }
    }

    /// Asked by the I/O thread (holding the receiving half) when the stream is readable and
    /// direct reads are on: true if an application thread is filling, which then reads.
    ///
    /// The count goes up before the look, and `Fill::end` clears `filling` before it reads
    /// the count (all `SeqCst`): either this look sees `filling` cleared and the I/O thread
    /// reads, or the filling thread sees the count moved and reads once more after it.
    pub(crate) fn leave_read(&self) -> bool {
        self.left.fetch_add(1, Ordering::SeqCst);
        self.filling.load(Ordering::SeqCst)
    }

    /// The I/O thread says whether it stopped listening for arrivals (see `parked`).
    pub(crate) fn set_parked(&self, parked: bool) {
        self.parked.store(parked, Ordering::SeqCst);
    }

    /// The I/O thread's hold on the receiving half for its round.
    pub(crate) fn lock_rx(&self) -> MutexGuard<'_, RxState> {
        self.rx.lock()
    }

    /// The I/O thread's hold on the lane while it flushes (pulls from the pipe and writes).
    pub(crate) fn lock(&self) -> MutexGuard<'_, LaneState> {
        self.state.lock()
    }

    /// A new live stream (and the inbound pipe): direct writes and reads may start once the
    /// I/O thread finds the connection clean.
    pub(crate) fn open(&self, stream: Arc<Stream>, inbound: PipeSender) {
        let mut rx = self.rx.lock();
        rx.stream = Some(Arc::clone(&stream));
        rx.inbound = Some(inbound);
        rx.reset();
        drop(rx);
        let mut state = self.state.lock();
        state.stream = Some(stream);
        state.clean = false;
        state.leftover.clear();
        self.armed.store(false, Ordering::Relaxed);
    }

    /// The stream ended: no more direct writes; what a partial one left is dropped with the
    /// connection (as the I/O thread's own unwritten output is). Waits for a direct write in
    /// progress, so the descriptor closes only after it.
    pub(crate) fn close(&self) {
        let mut rx = self.rx.lock();
        rx.stream = None;
        rx.inbound = None;
        rx.room = BytesMut::new();
        rx.reset();
        drop(rx);
        let mut state = self.state.lock();
        state.stream = None;
        state.clean = false;
        state.leftover.clear();
        self.armed.store(false, Ordering::Relaxed);
    }

    /// The connection delivered inbound messages: the next send may be a reply.
    pub(crate) fn arm(&self) {
        if !self.armed.load(Ordering::Relaxed) {
            self.armed.store(true, Ordering::Relaxed);
        }
    }
}

impl RxState {
    /// Nothing handed over, no direct reads until the I/O thread allows them.
    fn reset(&mut self) {
        self.fast = None;
        self.handover.clear();
        self.backlog.clear();
        self.read_pending = false;
        self.ended = None;
        self.traffic = false;
    }
}

/// Octets one direct read asks for: a reply or a few of them. A read that fills it all hands
/// the rest of the socket's data to the I/O thread, whose reads are larger and batch.
const FILL_READ: usize = 8 * 1024;

/// Zeroed room is renewed (one allocation) when less than this is left of it.
const FILL_MIN_ROOM: usize = 1024;

impl Fill for Lane {
    fn fill(&self) -> bool {
        // The I/O thread holds the lock for its round: it reads, the message comes that way.
        match self.rx.try_lock() {
            Some(rx) => self.fill_from(rx),
            None => false,
        }
    }

    fn begin(&self) -> u64 {
        self.filling.store(true, Ordering::SeqCst);
        self.left.load(Ordering::SeqCst)
    }

    fn end(&self, begun: u64, will_wait: bool) -> bool {
        self.filling.store(false, Ordering::SeqCst);
        let filled = self.left.load(Ordering::SeqCst) != begun
            // The I/O thread left a read to this thread: make it, after its round if need be.
            && self.fill_from(self.rx.lock());
        if will_wait && !filled && self.parked.load(Ordering::SeqCst) {
            // Nobody listens for arrivals while this thread waits: the I/O thread again.
            self.waker.wake();
        }
        filled
    }
}

impl Lane {
    /// One direct read and its delivery (see the module docs), under the receiving half's lock.
    fn fill_from(&self, mut rx: MutexGuard<'_, RxState>) -> bool {
        let RxState {
            stream,
            inbound,
            fast,
            handover,
            backlog,
            read_pending,
            ended,
            traffic,
            room,
            batch,
        } = &mut *rx;
        let (Some(stream), Some(inbound), Some(decoder)) =
            (stream.as_deref(), inbound.as_ref(), *fast)
        else {
            return false;
        };
        if room.len() < FILL_MIN_ROOM {
            *room = BytesMut::zeroed(FILL_READ);
        }
        let asked = room.len();
        let n = match stream.read(room) {
            Ok(n) if n > 0 => n,
            Err(e)
                if e.kind() == io::ErrorKind::WouldBlock
                    || e.kind() == io::ErrorKind::Interrupted =>
            {
                return false;
            }
            other => {
                // The end of the stream or an error: the I/O thread ends the connection.
                *ended = Some(other.map_or_else(|e| e.kind(), |_| io::ErrorKind::UnexpectedEof));
                *fast = None;
                drop(rx);
                self.waker.wake();
                return false;
            }
        };
        let mut data = room.split_to(n);
        *traffic = true;
        while let Some(body) = decoder.take_message(&mut data) {
            batch.push_back(Message::new(body));
        }
        let mut wake_io = false;
        if !data.is_empty() || n == asked {
            // Something for the session, or more data than one direct read takes.
            handover.extend_from_slice(&data);
            *read_pending = true;
            *fast = None;
            wake_io = true;
        }
        let delivered = !batch.is_empty();
        match inbound.try_send_many(batch) {
            Ok(()) => {}
            Err(TrySendError::Full(())) => {
                backlog.append(batch);
                *fast = None;
                wake_io = true;
            }
            Err(TrySendError::Closed(())) => batch.clear(),
        }
        drop(rx);
        if delivered {
            // A reply is likely next.
            self.arm();
        }
        if wake_io {
            self.waker.wake();
        }
        delivered
    }
}

impl Bypass<Message> for Lane {
    fn try_deliver(&self, msg: Message) -> Result<(), Message> {
        if !self.armed.load(Ordering::Relaxed) || msg.is_multipart() {
            return Err(msg);
        }
        // The I/O thread holds the lock while it flushes: it is at work, the message joins
        // its batch through the pipe.
        let Some(mut state) = self.state.try_lock() else {
            return Err(msg);
        };
        let LaneState {
            stream,
            clean,
            leftover,
        } = &mut *state;
        let Some(stream) = stream.as_deref() else {
            return Err(msg);
        };
        let Some(body) = msg.frames().first() else {
            return Err(msg);
        };
        if !*clean {
            return Err(msg);
        }
        self.armed.store(false, Ordering::Relaxed);
        let size = u64::try_from(body.len()).unwrap_or(u64::MAX);
        let (octets, head_len) = FrameHeader::new(false, false, size).to_array();
        let head = octets.get(..head_len).unwrap_or_default();
        let written = loop {
            match stream.write_vectored(&[IoSlice::new(head), IoSlice::new(body)]) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break 0,
                Ok(n) => break n,
                Err(_) => {
                    // The I/O thread meets the error too and ends the connection; the message
                    // goes the usual way meanwhile.
                    *clean = false;
                    return Err(msg);
                }
            }
        };
        if written >= head_len + body.len() {
            return Ok(());
        }
        // The socket took part of it: the rest is the I/O thread's to write, before anything
        // else.
        *clean = false;
        if written < head_len {
            leftover.push_back(Bytes::copy_from_slice(
                head.get(written..).unwrap_or_default(),
            ));
        }
        let rest = body.slice(written.saturating_sub(head_len)..);
        if !rest.is_empty() {
            leftover.push_back(rest);
        }
        drop(state);
        self.waker.wake();
        Ok(())
    }
}

#[cfg(all(test, feature = "ipc"))]
mod tests {
    use std::io::Read;
    use std::sync::atomic::AtomicUsize;

    use super::*;

    #[derive(Default)]
    struct Counter(AtomicUsize);

    impl Wake for Counter {
        fn wake(&self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// A lane open on one end of a socket pair, and the other end (blocking).
    fn lane() -> (Lane, Arc<Counter>, std::os::unix::net::UnixStream) {
        let (lane, counter, theirs, _inbound) = lane_with_inbound(0);
        (lane, counter, theirs)
    }

    /// [`lane`] with its inbound pipe (high-water mark `hwm`), direct reads allowed.
    fn lane_with_inbound(
        hwm: usize,
    ) -> (
        Lane,
        Arc<Counter>,
        std::os::unix::net::UnixStream,
        crate::pipe::PipeReceiver,
    ) {
        let (ours, theirs) = std::os::unix::net::UnixStream::pair().unwrap();
        ours.set_nonblocking(true).unwrap();
        let counter = Arc::new(Counter::default());
        let lane = Lane::new(counter.clone());
        let (tx, rx) = crate::pipe::pipe(hwm);
        lane.open(
            Arc::new(Stream::Unix(mio::net::UnixStream::from_std(ours))),
            tx,
        );
        lane.lock_rx().fast = Some(fast_path());
        (lane, counter, theirs, rx)
    }

    /// The fast path of a PEER session after an in-memory NULL handshake.
    fn fast_path() -> FastPath {
        use std::time::Instant;
        use zmtp_codec::{Config, Session, SocketType};
        let now = Instant::now();
        let mut a = Session::new(Config::new(SocketType::PEER), now);
        let mut b = Session::new(Config::new(SocketType::PEER), now);
        let (mut a_in, mut b_in) = (BytesMut::new(), BytesMut::new());
        for _ in 0..2 {
            while let Some(chunk) = a.poll_transmit() {
                b_in.extend_from_slice(&chunk);
            }
            b.handle_input(&mut b_in, now).unwrap();
            while let Some(chunk) = b.poll_transmit() {
                a_in.extend_from_slice(&chunk);
            }
            a.handle_input(&mut a_in, now).unwrap();
        }
        b.fast_path().unwrap()
    }

    fn drain(rx: &mut crate::pipe::PipeReceiver) -> Vec<Message> {
        let mut got = Vec::new();
        while let Ok(Some(msg)) = rx.try_recv() {
            got.push(msg);
        }
        got
    }

    #[test]
    fn a_direct_read_delivers_whole_messages_and_arms_the_reply() {
        use std::io::Write;
        let (lane, woken, mut theirs, mut inbound) = lane_with_inbound(0);
        assert!(!lane.fill(), "nothing to read yet");
        theirs.write_all(b"\x00\x02hi\x00\x03you").unwrap();
        assert!(lane.fill());
        assert_eq!(
            drain(&mut inbound),
            [Message::new(&b"hi"[..]), Message::new(&b"you"[..])]
        );
        assert!(
            lane.armed.load(Ordering::SeqCst),
            "the next send may be a reply"
        );
        let rx = lane.lock_rx();
        assert!(rx.fast.is_some() && rx.handover.is_empty() && rx.traffic);
        assert_eq!(
            woken.0.load(Ordering::SeqCst),
            0,
            "the I/O thread had nothing to do"
        );
    }

    #[test]
    fn what_a_direct_read_cannot_decode_goes_to_the_io_thread_in_order() {
        use std::io::Write;
        let (lane, woken, mut theirs, mut inbound) = lane_with_inbound(0);
        // A message, a PING command, another message, and half a frame.
        theirs
            .write_all(b"\x00\x01a\x04\x05\x04PING\x00\x01b\x00\x09par")
            .unwrap();
        assert!(lane.fill());
        assert_eq!(drain(&mut inbound), [Message::new(&b"a"[..])]);
        let rx = lane.lock_rx();
        assert_eq!(&rx.handover[..], b"\x04\x05\x04PING\x00\x01b\x00\x09par");
        assert!(
            rx.fast.is_none() && rx.read_pending,
            "the I/O thread reads on"
        );
        assert_eq!(woken.0.load(Ordering::SeqCst), 1);
        drop(rx);
        assert!(
            !lane.fill(),
            "no direct read until the I/O thread allows it again"
        );
    }

    #[test]
    fn messages_beyond_the_high_water_mark_and_the_end_go_to_the_io_thread() {
        use std::io::Write;
        let (lane, woken, mut theirs, mut inbound) = lane_with_inbound(1);
        theirs.write_all(b"\x00\x01a\x00\x01b\x00\x01c").unwrap();
        assert!(lane.fill());
        assert_eq!(drain(&mut inbound), [Message::new(&b"a"[..])]);
        {
            let mut rx = lane.lock_rx();
            assert_eq!(
                rx.backlog,
                [Message::new(&b"b"[..]), Message::new(&b"c"[..])]
            );
            assert!(rx.fast.is_none());
            rx.backlog.clear();
            rx.fast = Some(fast_path());
        }
        assert_eq!(woken.0.load(Ordering::SeqCst), 1);
        drop(theirs);
        assert!(!lane.fill());
        assert_eq!(lane.lock_rx().ended, Some(io::ErrorKind::UnexpectedEof));
        assert_eq!(woken.0.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn a_read_the_io_thread_leaves_is_made_when_filling_ends() {
        use std::io::Write;
        let (lane, woken, mut theirs, mut inbound) = lane_with_inbound(0);
        assert!(!lane.leave_read(), "nobody fills: the I/O thread reads");
        let begun = lane.begin();
        theirs.write_all(b"\x00\x01a").unwrap();
        // The I/O thread, woken by the arrival, leaves it to the filling thread...
        assert!(lane.leave_read());
        lane.set_parked(true);
        // ... which stops before its next fill: the end makes up for it.
        assert!(lane.end(begun, true));
        assert_eq!(drain(&mut inbound), [Message::new(&b"a"[..])]);
        assert_eq!(woken.0.load(Ordering::SeqCst), 0);
        // Stopping to wait with nothing read wakes the parked I/O thread.
        let begun = lane.begin();
        assert!(!lane.end(begun, true));
        assert_eq!(woken.0.load(Ordering::SeqCst), 1);
    }

    fn received(theirs: &mut std::os::unix::net::UnixStream) -> Vec<u8> {
        theirs.set_nonblocking(true).unwrap();
        let mut got = Vec::new();
        let mut buf = [0; 64 * 1024];
        loop {
            match theirs.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => panic!("{e}"),
            }
        }
        got
    }

    #[test]
    fn writes_a_reply_only_when_clean_and_armed() {
        let (lane, woken, mut theirs) = lane();
        let hello = || Message::new(&b"hello"[..]);
        // Open but not yet found clean by a flush.
        lane.arm();
        assert_eq!(lane.try_deliver(hello()), Err(hello()));
        lane.lock().clean = true;
        assert_eq!(lane.try_deliver(hello()), Ok(()));
        assert_eq!(received(&mut theirs), b"\x00\x05hello");
        // One direct write per delivery: the next send waits for the next inbound message.
        assert_eq!(lane.try_deliver(hello()), Err(hello()));
        lane.arm();
        let two = Message::from_frames(vec![Bytes::from("a"), Bytes::from("b")]);
        assert_eq!(
            lane.try_deliver(two.clone()),
            Err(two),
            "single frames only"
        );
        {
            let _flushing = lane.lock();
            assert_eq!(
                lane.try_deliver(hello()),
                Err(hello()),
                "I/O thread at work"
            );
        }
        lane.close();
        lane.arm();
        assert_eq!(lane.try_deliver(hello()), Err(hello()), "closed");
        assert!(received(&mut theirs).is_empty());
        assert_eq!(woken.0.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn a_partial_write_leaves_the_rest_for_the_io_thread() {
        let (lane, woken, mut theirs) = lane();
        let body: Vec<u8> = (0..8 << 20).map(|i: u32| (i % 251) as u8).collect();
        lane.lock().clean = true;
        lane.arm();
        assert_eq!(lane.try_deliver(Message::new(body.clone())), Ok(()));
        assert_eq!(
            woken.0.load(Ordering::SeqCst),
            1,
            "the I/O thread is called"
        );
        let mut wire = received(&mut theirs);
        let state = lane.lock();
        assert!(!state.clean, "no direct write until the rest is written");
        assert!(
            !state.leftover.is_empty(),
            "a socket buffer holds less than 8 MiB"
        );
        for chunk in &state.leftover {
            wire.extend_from_slice(chunk);
        }
        let mut expected = vec![0x02, 0, 0, 0, 0, 0, 0x80, 0, 0];
        expected.extend_from_slice(&body);
        assert!(wire == expected, "header and body, in order, nothing lost");
    }
}
