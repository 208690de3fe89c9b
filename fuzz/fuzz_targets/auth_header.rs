//! Fuzzes the `Authorization` header parser: any header value, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Header values reach the parser as text; lossy decoding also covers U+FFFD.
    let text = String::from_utf8_lossy(data);
    let _ = tinydoi::auth::header::parse(Some(&text));
});
