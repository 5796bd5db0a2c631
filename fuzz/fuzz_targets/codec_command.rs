//! Fuzz target `codec_command`: the body is `zmq_peer_fuzz::codec_command`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| zmq_peer_fuzz::codec_command(data));
