//! Fuzzes the API key format parser (length, alphabet, checksum): never a panic, and
//! whatever it accepts is canonical and round-trips.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tinydoi::keys::format;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = format::looks_like_key(&text);
    if let Some(key) = format::parse(&text) {
        assert_eq!(format::parse(&key).as_deref(), Some(key.as_str()));
        let _ = format::display_prefix(&key);
    }
});
