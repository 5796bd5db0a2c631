//! zmq-transport (work in progress).
#![forbid(unsafe_code)]
