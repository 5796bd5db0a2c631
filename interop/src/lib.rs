//! interop (work in progress).

