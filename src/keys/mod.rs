//! API keys: their format, their management, and recording their use.

pub mod format;
pub mod manage;
pub mod recorder;
