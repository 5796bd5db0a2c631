//! Fuzz target `codec_session_client`: the body is `zmq_peer_fuzz::codec_session_client`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| zmq_peer_fuzz::codec_session_client(data));
