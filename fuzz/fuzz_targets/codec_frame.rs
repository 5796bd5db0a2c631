//! Fuzz target `codec_frame`: the body is `zmq_peer_fuzz::codec_frame`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| zmq_peer_fuzz::codec_frame(data));
