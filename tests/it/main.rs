//! Integration tests for tinydoi, one crate (see ARCHITECTURE.md).

mod metadata;
mod metadata_mutations;
