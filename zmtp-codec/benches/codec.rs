//! Codec benchmarks (to be written).
fn main() {}
