//! Pipes: one-way multi-producer queues of messages with a high-water mark, waking the other end
//! only on transitions (idle -> busy for the reader, full -> room for a waiting writer).
//!
//! A pipe is the only channel between a socket and a connection. Each connection has two: the
//! outbound pipe (socket -> wire; senders are application threads, the receiver is the I/O
//! thread) and the inbound pipe (wire -> socket; the sender is the I/O thread).
//!
//! The queue is two `VecDeque`s that trade places. Senders append to the shared *inbox* under
//! a short uncontended lock (one push; no allocation once the deque has grown to the usual
//! burst); the receiver takes the whole inbox in one swap when its own batch runs dry and then
//! hands messages out with no synchronisation at all. The receiver is woken only when the inbox
//! turns from idle to non-empty (a "scheduled" flag under the same lock, cleared by the receiver
//! when it finds the inbox empty), so a burst of sends costs one wake-up.
//!
//! Measured against the lock-free `crossbeam_queue::SegQueue` this replaced (BENCHMARKS.md,
//! "Optimisations"): a lock-free pop costs a compare-and-swap and reads the producers' tail
//! line for every message, and the queue allocates and zeroes a block every 31 messages that
//! the other thread frees; the swap costs the receiver one lock per batch.
//!
//! The length is the difference of two counters, `sent` (written under the lock) and `taken`
//! (written by the receiver as each message leaves its batch), on separate cache lines, so the
//! high-water mark stays exact; senders read `taken` only when their last view says full.
//!
//! A sender that has many messages at once (an I/O thread that decoded a whole read) moves them
//! with [`PipeSender::try_send_many`]: one lock and one wake-up check for the lot.
//!
//! A receiver that keeps up with a streaming sender would swap after every message, moving the
//! lock's line and the deque's buffer between the cores each time; while swaps keep finding
//! small batches it waits about 500 ns before the next one, so a few messages gather
//! ([`PipeReceiver::set_swap_backoff`]).
//!
//! A receiver may install a [`Bypass`]: a send into an idle pipe (empty, receiver not woken)
//! is offered to it first. The I/O thread uses this to let an application thread write a reply
//! to an idle connection itself (the transport's direct lane). The other way round, a producer
//! may install a [`Fill`], which a receiver about to wait calls to read an idle connection
//! itself.

use std::collections::VecDeque;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use zmtp_codec::Message;

/// Something to poke when a pipe needs attention.
///
/// Called from any thread, possibly while the caller is in the middle of a send or receive, so it
/// must be cheap and must never block (set a flag, notify a condition variable, wake a poller).
pub trait Wake: Send + Sync + 'static {
    /// Signals that the pipe end this waker was registered on needs attention.
    fn wake(&self);
}

/// A way past a pipe's queue, installed by its receiver ([`PipeReceiver::set_bypass`]).
///
/// [`PipeSender::try_send`] offers a message to the bypass only when the pipe is idle: the
/// queue is empty and the receiver took everything sent before (it found the inbox empty and
/// has not been woken since). Delivering it then keeps the order of each sender's messages. The
/// call happens under the pipe's lock, so it must not block and must not touch this pipe.
pub trait Bypass<T>: Send + Sync {
    /// Delivers `msg` on the calling thread if that can be done now; hands it back to be
    /// queued otherwise.
    ///
    /// # Errors
    /// The message itself, when it was not delivered.
    fn try_deliver(&self, msg: T) -> Result<(), T>;
}

/// A way for a receiver about to wait to fetch input itself, installed by the pipe's producer
/// ([`PipeSender::set_fill`]).
///
/// The I/O thread uses it to let an application thread that waits for a reply read an idle
/// connection's socket itself (the transport's direct lane).
pub trait Fill: Send + Sync {
    /// Moves into the pipe, on the calling thread and without blocking, what the producer
    /// could deliver right now. True if anything was delivered.
    fn fill(&self) -> bool;

    /// A receiver starts calling [`Fill::fill`] in a loop: the producer may leave its input
    /// to it until [`Fill::end`]. Returns what `end` needs.
    fn begin(&self) -> u64 {
        0
    }

    /// The receiver stops calling [`Fill::fill`]; `begun` is what [`Fill::begin`] returned,
    /// `will_wait` says whether it goes on to wait for the pipe (found nothing). Makes up for
    /// input the producer left to the receiver meanwhile (true if that delivered something),
    /// so none is left unread.
    fn end(&self, begun: u64, will_wait: bool) -> bool {
        let _ = (begun, will_wait);
        false
    }
}

/// Creates a message pipe. `hwm` is the high-water mark in messages; 0 means unlimited.
pub fn pipe(hwm: usize) -> (PipeSender, PipeReceiver) {
    typed_pipe(hwm)
}

/// Creates a pipe carrying any `T` (the same machinery as [`pipe`], for other payloads and tests).
pub fn typed_pipe<T: Send>(hwm: usize) -> (PipeSender<T>, PipeReceiver<T>) {
    let shared = Arc::new(Shared::<T> {
        inbox: Padded(Mutex::new(Inbox {
            items: VecDeque::new(),
            scheduled: false,
            seen_taken: 0,
        })),
        sent: Padded(AtomicUsize::new(0)),
        taken: Padded(AtomicUsize::new(0)),
        hwm: AtomicUsize::new(hwm),
        lwm: AtomicUsize::new(low_water_mark(hwm)),
        writer_waiting: AtomicBool::new(false),
        receiver_closed: AtomicBool::new(false),
        linger: OnceLock::new(),
        senders: AtomicUsize::new(1),
        bypass: OnceLock::new(),
        fill: OnceLock::new(),
        recv_waker: Mutex::new(None),
        send_waker: Mutex::new(None),
    });
    (
        PipeSender {
            shared: Arc::clone(&shared),
        },
        PipeReceiver {
            shared,
            batch: VecDeque::new(),
            streak: 0,
            backoff: true,
        },
    )
}

/// The writing end of a pipe; cheap to clone, usable from any thread.
///
/// Dropping the last clone without calling [`PipeSender::close`] is `close(None)`: what is queued
/// is still delivered, then the receiver sees end-of-stream.
pub struct PipeSender<T = Message> {
    shared: Arc<Shared<T>>,
}

impl<T> PipeSender<T> {
    /// Queues `msg`.
    ///
    /// # Errors
    /// [`TrySendError::Full`] when the pipe holds `hwm` messages; the pipe then remembers that a
    /// writer waits, and the receiver's pop that brings the pipe down to its low-water mark calls
    /// the sender-side waker. [`TrySendError::Closed`] when the receiver is gone or this pipe was
    /// closed by a sender. The message is handed back in both cases.
    pub fn try_send(&self, mut msg: T) -> Result<(), TrySendError<T>> {
        let s = &*self.shared;
        if s.is_send_closed() {
            return Err(TrySendError::Closed(msg));
        }
        loop {
            let mut inbox = s.inbox.0.lock();
            // Checked again under the lock: the receiver's close drains the inbox under it.
            if s.receiver_closed.load(Ordering::SeqCst) {
                return Err(TrySendError::Closed(msg));
            }
            msg = match s.bypass.get() {
                // Idle: everything sent before was taken, so going past the queue keeps the
                // order (and senders wait on the lock meanwhile).
                Some(bypass) if !inbox.scheduled => match bypass.try_deliver(msg) {
                    Ok(()) => return Ok(()),
                    Err(msg) => msg,
                },
                _ => msg,
            };
            if s.reserve(&mut inbox, 1) == 1 {
                inbox.items.push_back(msg);
                let wake_receiver = !std::mem::replace(&mut inbox.scheduled, true);
                drop(inbox);
                if wake_receiver {
                    wake(&s.recv_waker);
                }
                return Ok(());
            }
            drop(inbox);
            match s.announce_full() {
                Full::Closed => return Err(TrySendError::Closed(msg)),
                Full::Still => return Err(TrySendError::Full(msg)),
                Full::Room => {}
            }
        }
    }

    /// Moves messages from the front of `from` into the pipe, as many as the high-water mark
    /// allows, as one batch (one lock and at most one wake-up for all of them).
    ///
    /// # Errors
    /// [`TrySendError::Full`] when the pipe filled up before `from` was empty: what is left
    /// stays in `from`, and the sender-side waker is called once the receiver brought the pipe
    /// down to its low-water mark (as after a refused [`PipeSender::try_send`]).
    /// [`TrySendError::Closed`] when the receiver is gone or this pipe was closed by a sender
    /// (what was not moved before that stays in `from`).
    pub fn try_send_many(&self, from: &mut VecDeque<T>) -> Result<(), TrySendError<()>> {
        let s = &*self.shared;
        if from.is_empty() {
            return Ok(());
        }
        if s.is_send_closed() {
            return Err(TrySendError::Closed(()));
        }
        loop {
            let mut inbox = s.inbox.0.lock();
            if s.receiver_closed.load(Ordering::SeqCst) {
                return Err(TrySendError::Closed(()));
            }
            let k = s.reserve(&mut inbox, from.len());
            if k > 0 {
                if k == from.len() && inbox.items.is_empty() {
                    // The usual case (the receiver took the inbox since the last batch): trade
                    // buffers instead of moving every message.
                    std::mem::swap(&mut inbox.items, from);
                } else {
                    inbox.items.extend(from.drain(..k));
                }
                let wake_receiver = !std::mem::replace(&mut inbox.scheduled, true);
                drop(inbox);
                if wake_receiver {
                    wake(&s.recv_waker);
                }
                if from.is_empty() {
                    return Ok(());
                }
                continue;
            }
            drop(inbox);
            match s.announce_full() {
                Full::Closed => return Err(TrySendError::Closed(())),
                Full::Still => return Err(TrySendError::Full(())),
                Full::Room => {}
            }
        }
    }

    /// Installs the pipe's [`Fill`] (once; later calls change nothing and return false), for
    /// receivers about to wait ([`PipeReceiver::filler`]).
    pub fn set_fill(&self, fill: Arc<dyn Fill>) -> bool {
        self.shared.fill.set(fill).is_ok()
    }

    /// Sets the waker called when room frees up after a [`TrySendError::Full`], and when the
    /// receiver closes. If the receiver is already closed, the waker is called at once.
    pub fn set_waker(&self, waker: Arc<dyn Wake>) {
        *self.shared.send_waker.lock() = Some(waker);
        if self.shared.receiver_closed.load(Ordering::SeqCst) {
            wake(&self.shared.send_waker);
        }
    }

    /// Ends the stream: no more messages will be sent; the receiver drains what is queued, then
    /// sees end-of-stream. `linger`: `None` = flush for as long as it takes, `Some(ZERO)` =
    /// discard at once, `Some(d)` = give up `d` from now. Only the first close counts.
    pub fn close(&self, linger: Option<Duration>) {
        let deadline = linger.map(|d| {
            let now = Instant::now();
            // A linger too large to represent is as good as forever... but keep it a deadline.
            now.checked_add(d)
                .unwrap_or_else(|| now + Duration::from_secs(100 * 365 * 24 * 3600))
        });
        if self.shared.linger.set(deadline).is_ok() {
            wake(&self.shared.recv_waker);
        }
    }

    /// True once the receiver is gone (the peer is dead): sends fail with `Closed`.
    pub fn is_closed(&self) -> bool {
        self.shared.receiver_closed.load(Ordering::Acquire)
    }

    /// True once a sender called [`PipeSender::close`] (or the last sender was dropped).
    pub fn is_sender_closed(&self) -> bool {
        self.shared.linger.get().is_some()
    }

    /// Number of queued messages.
    pub fn len(&self) -> usize {
        self.shared.len()
    }

    /// True when no message is queued.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The current high-water mark (0 = unlimited).
    pub fn hwm(&self) -> usize {
        self.shared.hwm.load(Ordering::SeqCst)
    }

    /// Changes the high-water mark (0 = unlimited), e.g. when an inproc connect made before
    /// the bind learns the binder's receive HWM. Messages already queued stay queued even
    /// above a lowered mark. Raising it wakes a writer that found the pipe full.
    pub fn set_hwm(&self, hwm: usize) {
        self.shared.set_hwm(hwm);
    }
}

impl<T> Clone for PipeSender<T> {
    fn clone(&self) -> Self {
        self.shared.senders.fetch_add(1, Ordering::Relaxed);
        Self {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<T> Drop for PipeSender<T> {
    fn drop(&mut self) {
        if self.shared.senders.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.close(None);
        }
    }
}

impl<T> fmt::Debug for PipeSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.shared.debug("PipeSender", f)
    }
}

/// Why [`PipeSender::try_send`] refused a message; the message is handed back.
#[allow(
    clippy::exhaustive_enums,
    reason = "a send either finds the pipe full or closed; there is no third outcome"
)]
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
pub enum TrySendError<T = Message> {
    /// The pipe is at its high-water mark (retry after the sender-side waker fires).
    #[error("pipe full")]
    Full(T),
    /// The receiver is gone, or the pipe was closed by a sender.
    #[error("pipe closed")]
    Closed(T),
}

impl<T> TrySendError<T> {
    /// Gives back the refused message.
    pub fn into_inner(self) -> T {
        match self {
            Self::Full(msg) | Self::Closed(msg) => msg,
        }
    }
}

/// The sender closed the pipe and every queued message has been received (or discarded).
#[derive(thiserror::Error, Debug, Clone, Copy, PartialEq, Eq)]
#[error("pipe closed")]
pub struct PipeClosed;

/// The reading end of a pipe (a single consumer).
///
/// Dropping it is [`PipeReceiver::close`].
pub struct PipeReceiver<T = Message> {
    shared: Arc<Shared<T>>,
    /// The inbox as last swapped out; each message counts as taken only when it leaves here,
    /// so senders never see more room than there is.
    batch: VecDeque<T>,
    /// Consecutive swaps (no empty look in between) that found a few messages, fewer than
    /// [`SMALL_BATCH`]. From two on, the senders stream more slowly than this receiver takes,
    /// so the next swap waits [`SWAP_BACKOFF`] first (see `pop`). A request/reply exchange
    /// always finds the inbox empty between two messages and never waits.
    streak: u8,
    /// Whether that wait is made (on by default; see [`PipeReceiver::set_swap_backoff`]).
    backoff: bool,
}

impl<T> PipeReceiver<T> {
    /// Turns the short wait before swapping in a streaming inbox on or off (on by default).
    ///
    /// A receiver faster than its senders would otherwise take the inbox after every message:
    /// the lock and the deque's buffer then move between the two cores once per message, which
    /// costs the sender far more than the message itself. Waiting about half a microsecond
    /// before the next swap, only while swaps keep finding small non-empty batches, lets a
    /// few messages gather (BENCHMARKS.md, "Optimisations"). A receiver that serves many pipes
    /// in turn (an I/O thread) may turn it off: it has other pipes to look at meanwhile.
    pub fn set_swap_backoff(&mut self, on: bool) {
        self.backoff = on;
        self.streak = 0;
    }

    /// Pops one message.
    ///
    /// `Ok(None)` means empty for now; the receiver-side waker is then armed, so the next send
    /// that finds the pipe idle calls it. Keep calling until `Ok(None)` before waiting.
    ///
    /// # Errors
    /// [`PipeClosed`] once the sender closed the pipe and the queue is drained, or once the
    /// sender's linger deadline passed (what was still queued is then discarded).
    pub fn try_recv(&mut self) -> Result<Option<T>, PipeClosed> {
        if let Some(deadline) = self.shared.linger.get() {
            return self.recv_closing(*deadline);
        }
        if let Some(msg) = self.pop() {
            return Ok(Some(msg));
        }
        // Empty: `pop` re-armed the wake-up under the inbox lock. The sender may have closed
        // after the first look, with its last messages pushed before that.
        if let Some(deadline) = self.shared.linger.get() {
            return self.recv_closing(*deadline);
        }
        Ok(None)
    }

    /// The next message: the rest of the current batch first, then the whole inbox in one
    /// swap. Finding the inbox empty re-arms the receiver's wake-up (under the lock, so a
    /// concurrent send either lands before the look or sees the flag cleared and wakes).
    fn pop(&mut self) -> Option<T> {
        let msg = match self.batch.pop_front() {
            Some(msg) => msg,
            None => {
                if self.batch.capacity() > KEEP_CAPACITY {
                    // After a large burst: do not keep (and pass on) a huge buffer.
                    self.batch = VecDeque::new();
                }
                if self.streak >= 2 {
                    swap_backoff();
                }
                let mut inbox = self.shared.inbox.0.lock();
                if inbox.items.is_empty() {
                    inbox.scheduled = false;
                    self.streak = 0;
                    return None;
                }
                std::mem::swap(&mut inbox.items, &mut self.batch);
                drop(inbox);
                self.streak = if self.backoff && self.batch.len() < SMALL_BATCH {
                    self.streak.saturating_add(1)
                } else {
                    0
                };
                self.batch.pop_front()?
            }
        };
        self.shared.took_one();
        Some(msg)
    }

    fn recv_closing(&mut self, deadline: Option<Instant>) -> Result<Option<T>, PipeClosed> {
        if deadline.is_some_and(|d| Instant::now() >= d) {
            while self.pop().is_some() {}
            return Err(PipeClosed);
        }
        match self.pop() {
            Some(msg) => Ok(Some(msg)),
            None => Err(PipeClosed),
        }
    }

    /// Installs the pipe's [`Bypass`] (once; later calls change nothing and return false).
    ///
    /// From then on, a [`PipeSender::try_send`] into an idle pipe first offers its message to
    /// `bypass`. A receiver that lets messages past the queue must itself make sure that what
    /// it took earlier has gone wherever the bypass delivers before it accepts one.
    pub fn set_bypass(&self, bypass: Arc<dyn Bypass<T>>) -> bool {
        self.shared.bypass.set(bypass).is_ok()
    }

    /// The producer's [`Fill`], if it installed one: a receiver that found the pipe empty may
    /// call it (repeatedly, while it would otherwise spin) to fetch input on its own thread.
    pub fn filler(&self) -> Option<Arc<dyn Fill>> {
        self.shared.fill.get().cloned()
    }

    /// Sets the waker called when the pipe goes from idle to non-empty, and when the sender
    /// closes. If messages are already queued (or the sender closed), it is called at once.
    pub fn set_waker(&self, waker: Arc<dyn Wake>) {
        *self.shared.recv_waker.lock() = Some(waker);
        if !self.is_empty() || self.shared.linger.get().is_some() {
            wake(&self.shared.recv_waker);
        }
    }

    /// The reader is gone: senders get `Closed` from now on, queued messages are dropped, and the
    /// sender-side waker is called.
    pub fn close(&mut self) {
        if self.shared.receiver_closed.swap(true, Ordering::SeqCst) {
            return;
        }
        while self.pop().is_some() {}
        wake(&self.shared.send_waker);
    }

    /// True once [`PipeReceiver::close`] was called.
    pub fn is_closed(&self) -> bool {
        self.shared.receiver_closed.load(Ordering::Acquire)
    }

    /// Number of queued messages.
    pub fn len(&self) -> usize {
        self.shared.len()
    }

    /// True when no message is queued.
    pub fn is_empty(&self) -> bool {
        self.batch.is_empty() && self.shared.inbox.0.lock().items.is_empty()
    }

    /// `Some(deadline)` once the sender closed: `Some(None)` = flush for as long as it takes,
    /// `Some(Some(t))` = give up at `t`. `None` while the sender is open.
    pub fn linger_deadline(&self) -> Option<Option<Instant>> {
        self.shared.linger.get().copied()
    }

    /// The current high-water mark (0 = unlimited).
    pub fn hwm(&self) -> usize {
        self.shared.hwm.load(Ordering::SeqCst)
    }

    /// Changes the high-water mark from the reading end; see [`PipeSender::set_hwm`].
    pub fn set_hwm(&self, hwm: usize) {
        self.shared.set_hwm(hwm);
    }
}

impl<T> Drop for PipeReceiver<T> {
    fn drop(&mut self) {
        self.close();
    }
}

impl<T> fmt::Debug for PipeReceiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.shared.debug("PipeReceiver", f)
    }
}

/// The senders' side of the queue, under `Shared::inbox`.
struct Inbox<T> {
    items: VecDeque<T>,
    /// Set by the first send into an idle pipe (which wakes the receiver); cleared by the
    /// receiver when it finds the inbox empty.
    scheduled: bool,
    /// The last `taken` a sender read (senders only look at `taken` when this says full).
    seen_taken: usize,
}

/// A receiver's batch larger than this (in messages) is freed once drained rather than kept.
const KEEP_CAPACITY: usize = 4096;

/// A swap that brings fewer messages than this (but some) means the senders trail the
/// receiver: the next swap waits [`SWAP_BACKOFF`]. From this size on the receiver is the
/// slower side and takes the next inbox at once.
const SMALL_BATCH: usize = 32;

/// How long a streaming receiver waits before its next swap. Long enough for a sender to
/// queue several small messages (tens to hundreds of nanoseconds each), short against any
/// wake-up (BENCHMARKS.md, "Optimisations" 13: inproc 64 B 1.7 → 3.9 M/s and 5.9 → 7.6 M/s,
/// depending on where the host placed the two vCPUs).
const SWAP_BACKOFF: Duration = Duration::from_nanos(500);

/// Spins for [`SWAP_BACKOFF`] without touching any line a sender writes.
fn swap_backoff() {
    let start = Instant::now();
    loop {
        for _ in 0..16 {
            std::hint::spin_loop();
        }
        if start.elapsed() >= SWAP_BACKOFF {
            return;
        }
    }
}

/// What a sender that found no room learns on its second look.
enum Full {
    /// Still full; the sender-side waker will be called at the low-water mark.
    Still,
    /// The receiver is gone.
    Closed,
    /// Room appeared meanwhile.
    Room,
}

struct Shared<T> {
    /// Messages queued by senders and not yet swapped out by the receiver.
    inbox: Padded<Mutex<Inbox<T>>>,
    /// Messages sent (written under the inbox lock only).
    sent: Padded<AtomicUsize>,
    /// Messages taken out (written by the receiver only). `sent - taken` is the length
    /// including reservations, never below the queue's length.
    taken: Padded<AtomicUsize>,
    /// The high-water mark (0 = unlimited); changes only through `set_hwm`.
    hwm: AtomicUsize,
    /// A blocked writer is woken once the queue is down to this many messages.
    lwm: AtomicUsize,
    /// A send found the pipe full and waits for the sender-side waker.
    writer_waiting: AtomicBool,
    receiver_closed: AtomicBool,
    /// Set once by the sender's close: the linger deadline (`None` = forever).
    linger: OnceLock<Option<Instant>>,
    senders: AtomicUsize,
    /// Where a send into an idle pipe may go instead of the queue (set once by the receiver).
    bypass: OnceLock<Arc<dyn Bypass<T>>>,
    /// How a waiting receiver may fetch input itself (set once by the producer).
    fill: OnceLock<Arc<dyn Fill>>,
    recv_waker: Mutex<Option<Arc<dyn Wake>>>,
    send_waker: Mutex<Option<Arc<dyn Wake>>>,
}

impl<T> Shared<T> {
    /// Queued messages plus reservations in progress.
    fn len(&self) -> usize {
        // `taken` first: it never passes `sent`, so a later `sent` keeps the difference sane.
        let taken = self.taken.0.load(Ordering::SeqCst);
        self.sent.0.load(Ordering::SeqCst).wrapping_sub(taken)
    }

    /// True once the receiver is gone or a sender closed: no more sends.
    fn is_send_closed(&self) -> bool {
        self.receiver_closed.load(Ordering::Acquire) || self.linger.get().is_some()
    }

    /// Reserves room for up to `n` messages (all of them when there is no HWM); returns how
    /// many. `taken` (the receiver's line) is read only when the last value seen leaves too
    /// little room; `taken` only grows, so a stale value merely underestimates the room.
    fn reserve(&self, inbox: &mut Inbox<T>, n: usize) -> usize {
        let hwm = self.hwm.load(Ordering::SeqCst);
        let sent = self.sent.0.load(Ordering::Relaxed);
        let k = if hwm == 0 {
            n
        } else {
            let mut len = sent.wrapping_sub(inbox.seen_taken);
            if len.saturating_add(n) > hwm {
                inbox.seen_taken = self.taken.0.load(Ordering::SeqCst);
                len = sent.wrapping_sub(inbox.seen_taken);
            }
            n.min(hwm.saturating_sub(len))
        };
        if k > 0 {
            self.sent.0.store(sent.wrapping_add(k), Ordering::Release);
        }
        k
    }

    /// After a reservation found no room: announce the waiting writer, then look again, so
    /// either the receiver's next take (or a raised HWM) sees the flag, or this look sees the
    /// room it made (all `SeqCst`).
    fn announce_full(&self) -> Full {
        self.writer_waiting.store(true, Ordering::SeqCst);
        let hwm = self.hwm.load(Ordering::SeqCst);
        if hwm != 0 && self.len() >= hwm {
            if self.receiver_closed.load(Ordering::SeqCst) {
                return Full::Closed;
            }
            return Full::Still;
        }
        Full::Room
    }

    /// Counts one message out, waking a waiting writer at the low-water mark.
    fn took_one(&self) {
        // An RMW (as cheap as a SeqCst store on x86) on a line only the receiver writes, so
        // even a receiver shared between threads counts right. SeqCst pairs with the
        // writer's `writer_waiting` store and re-check in `try_send`.
        let taken = self.taken.0.fetch_add(1, Ordering::SeqCst).wrapping_add(1);
        // `writer_waiting` first: it sits on a read-mostly line, `sent` on the senders' one.
        if self.writer_waiting.load(Ordering::SeqCst)
            && self.hwm.load(Ordering::SeqCst) > 0
            && self.sent.0.load(Ordering::SeqCst).wrapping_sub(taken)
                <= self.lwm.load(Ordering::SeqCst)
            && self.writer_waiting.swap(false, Ordering::SeqCst)
        {
            wake(&self.send_waker);
        }
    }

    fn set_hwm(&self, hwm: usize) {
        // The low-water mark first: a pop between the two stores then wakes a writer early at
        // worst, never too late.
        self.lwm.store(low_water_mark(hwm), Ordering::SeqCst);
        self.hwm.store(hwm, Ordering::SeqCst);
        // A writer that found the pipe full either sees the new mark on its re-check, or set
        // its flag before this swap and is woken here (all SeqCst).
        if self.writer_waiting.load(Ordering::SeqCst)
            && self.writer_waiting.swap(false, Ordering::SeqCst)
        {
            wake(&self.send_waker);
        }
    }

    fn debug(&self, name: &str, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct(name)
            .field("len", &self.len())
            .field("hwm", &self.hwm.load(Ordering::Relaxed))
            .field("sender_closed", &self.linger.get().is_some())
            .field(
                "receiver_closed",
                &self.receiver_closed.load(Ordering::Relaxed),
            )
            .finish_non_exhaustive()
    }
}

/// A value alone on its cache line (two lines: adjacent-line prefetch pairs them).
#[repr(align(128))]
struct Padded<T>(T);

/// As libzmq's pipe low-water mark: a blocked writer is woken once half the room is free, so a
/// reader hovering at the limit does not cost one wake-up per message.
fn low_water_mark(hwm: usize) -> usize {
    hwm.div_ceil(2)
}

fn wake(slot: &Mutex<Option<Arc<dyn Wake>>>) {
    // Clone out of the lock so a waker that touches the pipe cannot deadlock.
    let waker = slot.lock().clone();
    if let Some(waker) = waker {
        waker.wake();
    }
}

#[cfg(test)]
mod tests;
