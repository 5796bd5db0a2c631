//! Fuzz target `codec_roundtrip`: the body is `zmq_peer_fuzz::codec_roundtrip`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| zmq_peer_fuzz::codec_roundtrip(data));
