//! The `tinydoi` command line.
fn main() {}
