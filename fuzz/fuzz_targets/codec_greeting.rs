//! Fuzz target `codec_greeting`: the body is `zmq_peer_fuzz::codec_greeting`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| zmq_peer_fuzz::codec_greeting(data));
