//! Usage reports (CONTRACT §11, COUNTER Research Data SUSHI JSON): decoding what SUSHI
//! senders post — plain JSON, a gzipped body, or gzip+Base64 parts — and validating the
//! report header. No HTTP, no SQL.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use flate2::read::GzDecoder;
use serde_json::{Map, Value};
use std::io::Read;

use crate::error::{Error, Problem};

/// The largest report once decompressed: gzip shrinks JSON reports about tenfold, and a
/// bound keeps a small "gzip bomb" from filling memory.
pub const MAX_DECOMPRESSED: u64 = 64 * 1024 * 1024;
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
pub const HEADER: &str = "report-header";
pub const DATASETS: &str = "report-datasets";

/// A valid report, normalised to `{"report-header": {…}, "report-datasets": […]}`.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub header: Value,
    pub datasets: Value,
    pub created_by: String,
    /// `YYYY-MM` of the reporting period.
    pub month: String,
}

impl Report {
    /// The JSON stored and shown, with `id` first.
    pub fn to_json(&self, id: &str) -> Value {
        let mut report = Map::new();
        report.insert("id".into(), Value::String(id.into()));
        report.insert(HEADER.into(), self.header.clone());
        report.insert(DATASETS.into(), self.datasets.clone());
        Value::Object(report)
    }
}

fn invalid(title: impl Into<String>, pointer: &str) -> Error {
    Error::unprocessable(Problem::at_pointer(title, pointer))
}

/// Decodes and validates a posted report.
///
/// Accepted forms, as SUSHI senders send them:
/// - plain JSON `{"report-header": {…}, "report-datasets": […]}`;
/// - the whole body gzipped (`Content-Type: application/gzip`, `Content-Encoding: gzip`,
///   as DataCite documents and counter-processor sends), recognised by the gzip magic bytes;
/// - `"compressed": "<Base64 of gzip>"` (with or without `"encoding": "gzip"`) holding the
///   whole report, or only its datasets next to a plain `report-header`;
/// - `"report-datasets": "<Base64 of gzip of the datasets array>"`.
///
/// `report_header` / `report_datasets` (Rails parameter spelling) are read as well.
pub fn parse(body: &[u8]) -> Result<Report, Error> {
    let body = if body.starts_with(&GZIP_MAGIC) {
        gunzip(body, "")?
    } else {
        body.to_vec()
    };
    let value: Value = serde_json::from_slice(&body).map_err(|e| invalid(format!("Malformed JSON: {e}"), ""))?;
    let Value::Object(mut outer) = value else {
        return Err(invalid("A report must be a JSON object", ""));
    };
    rename(&mut outer, "report_header", HEADER);
    rename(&mut outer, "report_datasets", DATASETS);
    if let Some(compressed) = outer.remove("compressed") {
        let Value::String(encoded) = compressed else {
            return Err(invalid("compressed must be a Base64 string", "/compressed"));
        };
        match unpack(&encoded, "/compressed")? {
            Value::Object(mut inner) => {
                rename(&mut inner, "report_header", HEADER);
                rename(&mut inner, "report_datasets", DATASETS);
                for (name, value) in inner {
                    if name == HEADER || name == DATASETS {
                        outer.insert(name, value);
                    }
                }
            }
            datasets @ Value::Array(_) => {
                outer.insert(DATASETS.into(), datasets);
            }
            _ => return Err(invalid("compressed must hold a report or its datasets", "/compressed")),
        }
    }
    if let Some(Value::String(encoded)) = outer.get(DATASETS) {
        let datasets = unpack(&encoded.clone(), "/report-datasets")?;
        outer.insert(DATASETS.into(), datasets);
    }
    validate(outer.remove(HEADER), outer.remove(DATASETS))
}

fn rename(map: &mut Map<String, Value>, from: &str, to: &str) {
    if !map.contains_key(to) {
        if let Some(v) = map.remove(from) {
            map.insert(to.into(), v);
        }
    }
}

/// Base64 of gzip of JSON → JSON.
fn unpack(encoded: &str, pointer: &str) -> Result<Value, Error> {
    let cleaned: String = encoded.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let gzipped = STANDARD
        .decode(cleaned.as_bytes())
        .or_else(|_| base64::engine::general_purpose::URL_SAFE.decode(cleaned.as_bytes()))
        .map_err(|_| invalid("Not valid Base64", pointer))?;
    let json = gunzip(&gzipped, pointer)?;
    serde_json::from_slice(&json).map_err(|e| invalid(format!("Malformed JSON after decompression: {e}"), pointer))
}

fn gunzip(bytes: &[u8], pointer: &str) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    GzDecoder::new(bytes)
        .take(MAX_DECOMPRESSED + 1)
        .read_to_end(&mut out)
        .map_err(|e| invalid(format!("Not valid gzip: {e}"), pointer))?;
    if out.len() as u64 > MAX_DECOMPRESSED {
        return Err(invalid(
            format!("The report is larger than {MAX_DECOMPRESSED} bytes once decompressed"),
            pointer,
        ));
    }
    Ok(out)
}

fn validate(header: Option<Value>, datasets: Option<Value>) -> Result<Report, Error> {
    let header = match header {
        Some(h @ Value::Object(_)) => h,
        Some(_) => return Err(invalid("report-header must be an object", "/report-header")),
        None => return Err(invalid("report-header is required", "/report-header")),
    };
    let mut problems = Vec::new();
    for field in ["report-name", "report-id", "release", "created", "created-by"] {
        if header[field].as_str().is_none_or(|s| s.trim().is_empty()) {
            problems.push(Problem::at_pointer(
                format!("{field} is required"),
                format!("/report-header/{field}"),
            ));
        }
    }
    let period = &header["reporting-period"];
    let begin = period["begin-date"].as_str().and_then(date);
    let end = period["end-date"].as_str().and_then(date);
    for (name, parsed) in [("begin-date", begin), ("end-date", end)] {
        if parsed.is_none() {
            problems.push(Problem::at_pointer(
                format!("{name} must be a date (YYYY-MM-DD)"),
                format!("/report-header/reporting-period/{name}"),
            ));
        }
    }
    if let (Some(begin), Some(end)) = (begin, end) {
        if begin.0 != end.0 || begin.1 != end.1 {
            problems.push(Problem::at_pointer(
                "Reports are monthly, reporting dates need to be within the same month",
                "/report-header/reporting-period",
            ));
        } else if begin.2 > end.2 {
            problems.push(Problem::at_pointer(
                "begin-date must not be after end-date",
                "/report-header/reporting-period",
            ));
        }
    }
    match &datasets {
        Some(Value::Array(items)) => {
            if let Some(i) = items.iter().position(|d| !d.is_object()) {
                problems.push(Problem::at_pointer(
                    "Each dataset must be an object",
                    format!("/report-datasets/{i}"),
                ));
            }
        }
        Some(_) => problems.push(Problem::at_pointer(
            "report-datasets must be an array",
            "/report-datasets",
        )),
        None => problems.push(Problem::at_pointer("report-datasets is required", "/report-datasets")),
    }
    if !problems.is_empty() {
        return Err(Error::Unprocessable(problems));
    }
    let (year, month, _) = begin.unwrap_or_default();
    Ok(Report {
        created_by: header["created-by"].as_str().unwrap_or_default().trim().to_string(),
        header,
        datasets: datasets.unwrap_or(Value::Array(Vec::new())),
        month: format!("{year:04}-{month:02}"),
    })
}

/// `(year, month, day)` of a `YYYY-MM-DD` date (a time after it is allowed).
fn date(s: &str) -> Option<(u32, u32, u32)> {
    let d = s.get(..10)?;
    let b = d.as_bytes();
    if b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let digits = |r: std::ops::Range<usize>| -> Option<u32> {
        let part = d.get(r)?;
        part.bytes().all(|c| c.is_ascii_digit()).then(|| part.parse().ok())?
    };
    let (y, m, day) = (digits(0..4)?, digits(5..7)?, digits(8..10)?);
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) => 29,
        2 => 28,
        _ => return None,
    };
    (1..=days).contains(&day).then_some((y, m, day))
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::GzEncoder;
    use flate2::Compression;
    use serde_json::json;
    use std::io::Write;

    fn header() -> Value {
        json!({
            "report-name": "dataset report", "report-id": "dsr", "release": "rd1",
            "created": "2026-10-02T10:00:00Z", "created-by": "dataone",
            "reporting-period": {"begin-date": "2026-09-01", "end-date": "2026-09-30"}
        })
    }

    fn datasets() -> Value {
        json!([{"dataset-title": "lake erie fish", "dataset-id": [{"type": "doi", "value": "10.5072/abc"}]}])
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), Compression::default());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    fn pointers(e: Error) -> Vec<String> {
        match e {
            Error::Unprocessable(problems) => problems
                .into_iter()
                .map(|p| match p.source {
                    Some(crate::error::Source::Pointer(p)) => p,
                    _ => String::new(),
                })
                .collect(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn plain_report() {
        let body = json!({"report-header": header(), "report-datasets": datasets()});
        let r = parse(body.to_string().as_bytes()).unwrap();
        assert_eq!(r.month, "2026-09");
        assert_eq!(r.created_by, "dataone");
        assert_eq!(r.datasets, datasets());
        assert_eq!(r.to_json("x")["report-header"], header());
    }

    #[test]
    fn every_compressed_form_gives_the_same_report() {
        let plain = json!({"report-header": header(), "report-datasets": datasets()}).to_string();
        let expected = parse(plain.as_bytes()).unwrap();
        let b64 = |v: &Value| STANDARD.encode(gzip(v.to_string().as_bytes()));
        let whole: Value = serde_json::from_str(&plain).unwrap();
        let forms = [
            gzip(plain.as_bytes()),
            json!({"report-header": header(), "compressed": b64(&whole), "encoding": "gzip"})
                .to_string()
                .into_bytes(),
            json!({"compressed": b64(&whole)}).to_string().into_bytes(),
            json!({"report-header": header(), "compressed": b64(&datasets())})
                .to_string()
                .into_bytes(),
            json!({"report-header": header(), "report-datasets": b64(&datasets())})
                .to_string()
                .into_bytes(),
            json!({"report_header": header(), "report_datasets": datasets()})
                .to_string()
                .into_bytes(),
        ];
        for (i, form) in forms.iter().enumerate() {
            assert_eq!(parse(form).unwrap(), expected, "form {i}");
        }
    }

    #[test]
    fn problems_point_at_the_field() {
        let mut h = header();
        h["created-by"] = json!("");
        h.as_object_mut().unwrap().remove("release");
        let e = parse(
            json!({"report-header": h, "report-datasets": []})
                .to_string()
                .as_bytes(),
        )
        .unwrap_err();
        assert_eq!(pointers(e), vec!["/report-header/release", "/report-header/created-by"]);

        let mut h = header();
        h["reporting-period"]["end-date"] = json!("2026-10-01");
        let e = parse(
            json!({"report-header": h, "report-datasets": []})
                .to_string()
                .as_bytes(),
        )
        .unwrap_err();
        assert_eq!(pointers(e), vec!["/report-header/reporting-period"]);

        let mut h = header();
        h["reporting-period"]["begin-date"] = json!("2026-09-31");
        let e = parse(
            json!({"report-header": h, "report-datasets": []})
                .to_string()
                .as_bytes(),
        )
        .unwrap_err();
        assert_eq!(pointers(e), vec!["/report-header/reporting-period/begin-date"]);

        let e = parse(json!({"report-header": header()}).to_string().as_bytes()).unwrap_err();
        assert_eq!(pointers(e), vec!["/report-datasets"]);
        let e = parse(json!({"report-datasets": []}).to_string().as_bytes()).unwrap_err();
        assert_eq!(pointers(e), vec!["/report-header"]);
        assert!(parse(b"{not json").is_err());
        assert!(parse(b"[]").is_err());
        let e = parse(
            json!({"report-header": header(), "compressed": "!!"})
                .to_string()
                .as_bytes(),
        )
        .unwrap_err();
        assert_eq!(pointers(e), vec!["/compressed"]);
        let not_gzip = STANDARD.encode(b"plain");
        let e = parse(
            json!({"report-header": header(), "compressed": not_gzip})
                .to_string()
                .as_bytes(),
        )
        .unwrap_err();
        assert_eq!(pointers(e), vec!["/compressed"]);
    }

    #[test]
    fn dates() {
        assert_eq!(date("2024-02-29"), Some((2024, 2, 29)));
        assert_eq!(date("2026-02-29"), None);
        assert_eq!(date("2026-09-01T00:00:00Z"), Some((2026, 9, 1)));
        assert_eq!(date("2026-9-1"), None);
        assert_eq!(date("2026-13-01"), None);
    }
}
