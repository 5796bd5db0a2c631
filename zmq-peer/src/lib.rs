//! zmq-peer (work in progress).
#![forbid(unsafe_code)]
