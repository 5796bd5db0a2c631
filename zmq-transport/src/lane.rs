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

use std::collections::VecDeque;
use std::io::{self, IoSlice};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use parking_lot::{Mutex, MutexGuard};
use zmtp_codec::{FrameHeader, Message};

use crate::pipe::{Bypass, Wake};
use crate::stream::Stream;

/// One connection's direct lane, shared by its I/O thread and the outbound pipe's senders.
pub(crate) struct Lane {
    /// An inbound message was delivered since the last direct write (see the module docs).
    armed: AtomicBool,
    state: Mutex<LaneState>,
    /// Brings the I/O thread to write what a partial direct write left.
    waker: Arc<dyn Wake>,
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
            waker,
        }
    }

    /// The I/O thread's hold on the lane while it flushes (pulls from the pipe and writes).
    pub(crate) fn lock(&self) -> MutexGuard<'_, LaneState> {
        self.state.lock()
    }

    /// A new live stream: direct writes may start once a flush finds it clean.
    pub(crate) fn open(&self, stream: Arc<Stream>) {
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
        let (ours, theirs) = std::os::unix::net::UnixStream::pair().unwrap();
        ours.set_nonblocking(true).unwrap();
        let counter = Arc::new(Counter::default());
        let lane = Lane::new(counter.clone());
        lane.open(Arc::new(Stream::Unix(mio::net::UnixStream::from_std(ours))));
        (lane, counter, theirs)
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
