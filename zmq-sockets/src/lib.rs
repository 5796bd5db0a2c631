//! zmq-sockets (work in progress).
#![forbid(unsafe_code)]
