//! Integration tests for tinydoi, one crate (see ARCHITECTURE.md): each module starts real
//! servers in-process on 127.0.0.1:0 and talks HTTP to them.

mod support;

mod architecture;
mod audit;
mod browser;
mod cli;
mod conformance_poodle;
mod console;
mod content_negotiation;
mod crash;
mod datafile;
mod foundation;
mod freshness;
mod hardening;
mod keys;
mod leaked_keys;
mod lupo;
mod mds;
mod metadata;
mod metadata_mutations;
mod openapi;
mod openapi_regressions;
mod ratelimit;
mod reports;
mod rest;
mod scale;
mod scoped_keys;
mod security;
mod startup;
mod throttle;
mod transfer;
mod webdriver;
mod xmllint;
