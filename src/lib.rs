//! tinydoi library: everything the `tinydoi` binary does, exposed so integration tests can run it in-process.

pub mod metadata;
