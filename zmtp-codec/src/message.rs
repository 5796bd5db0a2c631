//! A whole message: one or more frames, zero-copy.

use bytes::Bytes;

/// A whole message: one or more data frames.
///
/// A single-frame message holds its body directly (no `Vec`, no allocation besides the body).
/// A message always has at least one frame; the default message is one empty frame.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Message {
    repr: Repr,
}

/// Storage: `Many` always holds at least two frames, so equality is structural.
#[derive(Clone, PartialEq, Eq, Debug)]
enum Repr {
    One(Bytes),
    Many(Vec<Bytes>),
}

impl Message {
    /// A single-frame message.
    pub fn new(body: impl Into<Bytes>) -> Self {
        Self {
            repr: Repr::One(body.into()),
        }
    }

    /// A message from its frames; an empty list gives one empty frame.
    pub fn from_frames(mut frames: Vec<Bytes>) -> Self {
        let repr = match frames.len() {
            0 => Repr::One(Bytes::new()),
            1 => Repr::One(frames.pop().unwrap_or_default()),
            _ => Repr::Many(frames),
        };
        Self { repr }
    }

    /// The frames in order.
    pub fn frames(&self) -> &[Bytes] {
        match &self.repr {
            Repr::One(body) => std::slice::from_ref(body),
            Repr::Many(frames) => frames,
        }
    }

    /// Number of frames (at least 1).
    pub fn frame_count(&self) -> usize {
        match &self.repr {
            Repr::One(_) => 1,
            Repr::Many(frames) => frames.len(),
        }
    }

    /// Whether the message has more than one frame.
    pub fn is_multipart(&self) -> bool {
        matches!(self.repr, Repr::Many(_))
    }

    /// Total body octets over all frames.
    pub fn len(&self) -> usize {
        self.frames().iter().map(Bytes::len).sum()
    }

    /// Whether every frame is empty.
    pub fn is_empty(&self) -> bool {
        self.frames().iter().all(Bytes::is_empty)
    }

    /// The frames as a vector (allocates for a single-frame message).
    pub fn into_frames(self) -> Vec<Bytes> {
        match self.repr {
            Repr::One(body) => vec![body],
            Repr::Many(frames) => frames,
        }
    }

    /// The body if the message has exactly one frame (zero-copy), else `None`.
    pub fn into_single(self) -> Option<Bytes> {
        match self.repr {
            Repr::One(body) => Some(body),
            Repr::Many(_) => None,
        }
    }
}

impl Default for Message {
    /// One empty frame.
    fn default() -> Self {
        Self::new(Bytes::new())
    }
}

impl From<Bytes> for Message {
    fn from(body: Bytes) -> Self {
        Self::new(body)
    }
}

impl From<Vec<u8>> for Message {
    fn from(body: Vec<u8>) -> Self {
        Self::new(body)
    }
}

impl From<&'static [u8]> for Message {
    fn from(body: &'static [u8]) -> Self {
        Self::new(Bytes::from_static(body))
    }
}

impl From<&'static str> for Message {
    fn from(body: &'static str) -> Self {
        Self::new(Bytes::from_static(body.as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_frame() {
        let m = Message::from("hello");
        assert_eq!(m.frames(), &[Bytes::from_static(b"hello")]);
        assert_eq!(m.frame_count(), 1);
        assert!(!m.is_multipart());
        assert_eq!(m.len(), 5);
        assert!(!m.is_empty());
        assert_eq!(m.clone().into_frames(), vec![Bytes::from_static(b"hello")]);
        assert_eq!(m.into_single(), Some(Bytes::from_static(b"hello")));
    }

    #[test]
    fn multipart() {
        let m = Message::from_frames(vec![Bytes::from_static(b"a"), Bytes::new()]);
        assert!(m.is_multipart());
        assert_eq!(m.frame_count(), 2);
        assert_eq!(m.len(), 1);
        assert!(m.clone().into_single().is_none());
        assert_eq!(m.into_frames().len(), 2);
    }

    #[test]
    fn canonical_forms_compare_equal() {
        assert_eq!(Message::from_frames(vec![]), Message::default());
        assert!(Message::default().is_empty());
        assert_eq!(Message::default().frame_count(), 1);
        assert_eq!(
            Message::from_frames(vec![Bytes::from_static(b"x")]),
            Message::from(&b"x"[..])
        );
        assert_eq!(
            Message::from(vec![1_u8]),
            Message::new(Bytes::from_static(&[1]))
        );
    }
}
