//! Fuzzes the kernel-4 metadata validator and the XML → JSON conversion: never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = tinydoi::metadata::validate(data);
    let _ = tinydoi::metadata::doi_of(data);
    if let Ok(json) = tinydoi::metadata::validated_json(data) {
        // What was accepted converts back to XML that is accepted again.
        let xml = tinydoi::metadata::json_to_xml("10.5072/fuzz", &json);
        let _ = tinydoi::metadata::validate(xml.as_bytes());
    }
});
