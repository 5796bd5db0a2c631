//! Fuzz target `transport_endpoint`: the body is `zmq_peer_fuzz::transport_endpoint`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| zmq_peer_fuzz::transport_endpoint(data));
