//! Fuzzes the JSON:API body reader (JSON or bracketed form fields), then feeds the
//! attributes it finds to the DataCite JSON → XML conversion and validation that REST
//! DOI writes run: never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tinydoi::api::payload;
use tinydoi::http::request::Method;
use tinydoi::http::Request;

fuzz_target!(|data: &[u8]| {
    let mut request = Request::new(Method::Post, "/dois");
    request.body = data.to_vec();
    let Ok(Some(value)) = payload::read(&request) else {
        return;
    };
    let _ = payload::attribute(&value, "name");
    if let Some(attributes) = value["data"]["attributes"].as_object() {
        let _ = tinydoi::metadata::validate_json("10.5072/fuzz", attributes);
        let xml = tinydoi::metadata::json_to_xml("10.5072/fuzz", attributes);
        let _ = tinydoi::metadata::validate(xml.as_bytes());
    }
});
