//! Fuzz target `sockets_peer_ops`: the body is `zmq_peer_fuzz::sockets_peer_ops`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| zmq_peer_fuzz::sockets_peer_ops(data));
