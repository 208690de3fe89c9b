//! tinydoi library: everything the `tinydoi` binary does, exposed so integration tests can run it in-process.

pub mod accounts;
pub mod api;
pub mod app;
pub mod auth;
pub mod cli;
pub mod config;
pub mod console;
pub mod datafile;
pub mod db;
pub mod dois;
pub mod error;
pub mod fixtures;
pub mod formats;
pub mod http;
pub mod keys;
pub mod limits;
pub mod manage;
pub mod metadata;
pub mod ratelimit;
pub mod reports;
pub mod server;
pub mod time;
