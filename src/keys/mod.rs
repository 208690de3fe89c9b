//! API keys: their format, their management, and recording their use.

pub mod cli;
pub mod format;
pub mod limits;
pub mod manage;
pub mod recorder;
pub mod scanning;
