//! API keys: their format and what a key may do.

pub mod format;
