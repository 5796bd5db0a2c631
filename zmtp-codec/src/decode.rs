//! The result type of incremental decoders: a complete value, or how many more octets are needed.

/// Result of an incremental decode.
///
/// An incomplete unit consumes nothing: the caller keeps the bytes and calls again once at least
/// `needed` more octets have arrived. "Need more" is never an error (as in `httparse::Status`).
#[allow(
    clippy::exhaustive_enums,
    reason = "a decode is either complete or not; there is no third outcome to add later"
)]
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Decode<T> {
    /// A whole value was decoded from the first `consumed` octets of the input.
    Complete {
        /// The decoded value.
        value: T,
        /// How many input octets it occupied.
        consumed: usize,
    },
    /// The input holds only a prefix of the unit; at least `needed` more octets are required.
    Incomplete {
        /// A lower bound (at least 1) on the octets still missing.
        needed: usize,
    },
}

impl<T> Decode<T> {
    /// Whether a whole value was decoded.
    pub fn is_complete(&self) -> bool {
        matches!(self, Self::Complete { .. })
    }

    /// The decoded value, or `None` if the input was incomplete.
    pub fn into_value(self) -> Option<T> {
        match self {
            Self::Complete { value, .. } => Some(value),
            Self::Incomplete { .. } => None,
        }
    }

    /// Maps the decoded value, keeping `consumed` / `needed` as they are.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Decode<U> {
        match self {
            Self::Complete { value, consumed } => Decode::Complete {
                value: f(value),
                consumed,
            },
            Self::Incomplete { needed } => Decode::Incomplete { needed },
        }
    }
}

/// Converts a nom `Needed` into an octet count (at least 1).
pub(crate) fn needed_from_nom(needed: nom::Needed) -> usize {
    match needed {
        nom::Needed::Size(n) => n.get(),
        nom::Needed::Unknown => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers() {
        let d = Decode::Complete {
            value: 2_u8,
            consumed: 3,
        };
        assert!(d.is_complete());
        assert_eq!(
            d.map(u16::from),
            Decode::Complete {
                value: 2_u16,
                consumed: 3
            }
        );
        assert_eq!(d.into_value(), Some(2));
        let i: Decode<u8> = Decode::Incomplete { needed: 4 };
        assert!(!i.is_complete());
        assert_eq!(i.map(u16::from), Decode::Incomplete { needed: 4 });
        assert_eq!(i.into_value(), None);
    }
}
