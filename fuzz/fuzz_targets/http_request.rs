//! HTTP request parsing in the vendored tiny_http, where the unbounded-header finding was:
//! request lines, headers (size limit, `Expect`, `Connection`), bodies by `Content-Length`
//! and chunked transfer coding, several requests on one connection. Nothing may panic,
//! hang or grow past the limits.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    tiny_http::fuzz_connection(data);
});
