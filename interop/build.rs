//! Builds libzmq 4.3.5 (DRAFT API on, ws on, wss off) from the `zeromq-src` crate and links it
//! statically into the `interop` test crate.
//!
//! `zeromq-src` always defines `ZMQ_HAVE_WS` (ws transport compiled in) and leaves out the wss
//! sources (they need `GnuTLS`). `enable_draft(true)` defines `ZMQ_BUILD_DRAFT_API`, which is what
//! exposes `ZMQ_PEER`, `zmq_connect_peer` and the message routing-id functions.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    // Emits `rustc-link-lib=static=zmq` and, through `cc`'s C++ mode, `rustc-link-lib=stdc++`.
    zeromq_src::Build::new().enable_draft(true).build();
}
