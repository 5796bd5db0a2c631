//! Fuzz target `transport_ws_framing`: the body is `zmq_peer_fuzz::transport_ws_framing`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| zmq_peer_fuzz::transport_ws_framing(data));
