//! Usage reports (CONTRACT §11, COUNTER Research Data SUSHI JSON): decoding what SUSHI
//! senders post — plain JSON, a gzipped body, or gzip+Base64 parts — and validating the
//! report header. No HTTP, no SQL.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use flate2::read::GzDecoder;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::Value;
use std::cell::Cell;
use std::collections::HashMap;
use std::io::Read;

use crate::error::{Error, Problem};
use crate::time::parse_date;

/// The largest report once decompressed (413 past it): gzip shrinks JSON reports about
/// tenfold, and a bound keeps a small "gzip bomb" from filling memory and the database.
pub const MAX_DECOMPRESSED: u64 = 32 * 1024 * 1024;
/// The most datasets in one report (422 past it): COUNTER senders split larger ones.
pub const MAX_DATASETS: usize = 50_000;
/// The most reports one client keeps for one month (422 past it). DataCite keeps one per
/// creator and month, but `created-by` is free text; real senders use one or two names.
pub const MAX_PER_CLIENT_MONTH: i64 = 10;
/// The largest `report-header` (422 past it): a few fields and exceptions, never megabytes.
const MAX_HEADER_BYTES: usize = 64 * 1024;
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
pub const HEADER: &str = "report-header";
pub const DATASETS: &str = "report-datasets";

/// A valid report, normalised to `{"report-header": {…}, "report-datasets": […]}`.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub header: Value,
    /// The datasets array as the JSON text sent: checked by a streaming pass and kept as
    /// text, never built into a tree (a tree of tiny objects costs ~25 times the text).
    pub datasets: String,
    pub created_by: String,
    /// `YYYY-MM` of the reporting period.
    pub month: String,
}

impl Report {
    /// The JSON text stored and shown: `{"report-header":…,"report-datasets":…}`.
    pub fn to_json_text(&self) -> String {
        let header = self.header.to_string();
        let mut text = String::with_capacity(header.len() + self.datasets.len() + 40);
        text.push_str("{\"report-header\":");
        text.push_str(&header);
        text.push_str(",\"report-datasets\":");
        text.push_str(&self.datasets);
        text.push('}');
        text
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
/// Memory stays a small multiple of the decompressed size: values are borrowed from the
/// text, and only the header is built into a tree.
pub fn parse(body: &[u8]) -> Result<Report, Error> {
    if body.starts_with(&GZIP_MAGIC) {
        let inflated = gunzip(body, "")?;
        return parse_json(&inflated);
    }
    parse_json(body)
}

type Members<'a> = HashMap<String, &'a RawValue>;

fn members<'a>(text: &'a [u8], pointer: &str) -> Result<Members<'a>, Error> {
    let trimmed = text.iter().position(|b| !b.is_ascii_whitespace()).map(|i| &text[i..]);
    if trimmed.is_some_and(|t| t[0] != b'{') {
        return Err(invalid("A report must be a JSON object", pointer));
    }
    serde_json::from_slice(text).map_err(|e| invalid(format!("Malformed JSON: {e}"), pointer))
}

fn take<'a>(map: &Members<'a>, name: &str, rails: &str) -> Option<&'a RawValue> {
    map.get(name).or_else(|| map.get(rails)).copied()
}

fn parse_json(text: &[u8]) -> Result<Report, Error> {
    let outer = members(text, "")?;
    let mut header = take(&outer, HEADER, "report_header");
    let mut datasets = take(&outer, DATASETS, "report_datasets");
    // `compressed`: the whole report, or its datasets. Its text must outlive what borrows it.
    let inner_text = match outer.get("compressed") {
        Some(raw) => Some(unpack(raw, "/compressed")?),
        None => None,
    };
    if let Some(inner) = inner_text.as_deref() {
        if inner.trim_ascii_start().starts_with(b"[") {
            datasets = Some(raw_value(inner, "/compressed")?);
        } else {
            let inner = members(inner, "/compressed")?;
            header = take(&inner, HEADER, "report_header").or(header);
            datasets = take(&inner, DATASETS, "report_datasets").or(datasets);
        }
    }
    let packed = match datasets {
        Some(raw) if raw.get().starts_with('"') => Some(unpack(raw, "/report-datasets")?),
        _ => None,
    };
    if let Some(packed) = packed.as_deref() {
        datasets = Some(raw_value(packed, "/report-datasets")?);
    }
    let header = match header {
        Some(raw) if raw.get().len() > MAX_HEADER_BYTES => {
            return Err(invalid(
                format!("report-header is larger than {MAX_HEADER_BYTES} bytes"),
                "/report-header",
            ))
        }
        Some(raw) => Some(serde_json::from_str(raw.get()).map_err(|e| invalid(e.to_string(), "/report-header"))?),
        None => None,
    };
    validate(header, datasets)
}

fn raw_value<'a>(text: &'a [u8], pointer: &str) -> Result<&'a RawValue, Error> {
    serde_json::from_slice(text).map_err(|e| invalid(format!("Malformed JSON after decompression: {e}"), pointer))
}

/// A JSON string holding Base64 of gzip → the decompressed bytes.
fn unpack(raw: &RawValue, pointer: &str) -> Result<Vec<u8>, Error> {
    let encoded: String = serde_json::from_str(raw.get())
        .map_err(|_| invalid(format!("{} must be a Base64 string", &pointer[1..]), pointer))?;
    let cleaned: Vec<u8> = encoded.bytes().filter(|c| !c.is_ascii_whitespace()).collect();
    drop(encoded);
    let gzipped = STANDARD
        .decode(&cleaned)
        .or_else(|_| base64::engine::general_purpose::URL_SAFE.decode(&cleaned))
        .map_err(|_| invalid("Not valid Base64", pointer))?;
    drop(cleaned);
    gunzip(&gzipped, pointer)
}

/// Inflates as a stream, stopping one byte past the limit.
fn gunzip(bytes: &[u8], pointer: &str) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    GzDecoder::new(bytes)
        .take(MAX_DECOMPRESSED + 1)
        .read_to_end(&mut out)
        .map_err(|e| invalid(format!("Not valid gzip: {e}"), pointer))?;
    if out.len() as u64 > MAX_DECOMPRESSED {
        return Err(Error::TooLarge(format!(
            "The report is larger than {} MiB once decompressed; split it",
            MAX_DECOMPRESSED >> 20
        )));
    }
    Ok(out)
}

/// What a streaming pass over `report-datasets` found, without building any of it.
#[derive(Debug, PartialEq)]
enum DatasetsShape {
    NotArray,
    /// Index of the first item that is not an object.
    NotObject(usize),
    TooMany,
    Fine,
}

/// Checks that `raw` is an array of at most `MAX_DATASETS` objects, visiting each value
/// once and keeping none of it.
fn datasets_shape(raw: &RawValue) -> DatasetsShape {
    let too_many = Cell::new(false);
    let mut de = serde_json::Deserializer::from_str(raw.get());
    match de.deserialize_any(Items { too_many: &too_many }) {
        Ok(shape) => shape,
        Err(_) if too_many.get() => DatasetsShape::TooMany,
        Err(_) => DatasetsShape::NotArray,
    }
}

struct Items<'a> {
    too_many: &'a Cell<bool>,
}

impl<'de> Visitor<'de> for Items<'_> {
    type Value = DatasetsShape;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an array of objects")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<DatasetsShape, A::Error> {
        let (mut count, mut first_bad) = (0, None);
        while let Some(item) = seq.next_element::<IsObject>()? {
            count += 1;
            if count > MAX_DATASETS {
                self.too_many.set(true);
                return Err(de::Error::custom("too many datasets"));
            }
            if !item.0 && first_bad.is_none() {
                first_bad = Some(count - 1);
            }
        }
        Ok(first_bad.map_or(DatasetsShape::Fine, DatasetsShape::NotObject))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<DatasetsShape, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(DatasetsShape::NotArray)
    }
    fn visit_bool<E>(self, _: bool) -> Result<DatasetsShape, E> {
        Ok(DatasetsShape::NotArray)
    }
    fn visit_i64<E>(self, _: i64) -> Result<DatasetsShape, E> {
        Ok(DatasetsShape::NotArray)
    }
    fn visit_u64<E>(self, _: u64) -> Result<DatasetsShape, E> {
        Ok(DatasetsShape::NotArray)
    }
    fn visit_f64<E>(self, _: f64) -> Result<DatasetsShape, E> {
        Ok(DatasetsShape::NotArray)
    }
    fn visit_str<E>(self, _: &str) -> Result<DatasetsShape, E> {
        Ok(DatasetsShape::NotArray)
    }
    fn visit_unit<E>(self) -> Result<DatasetsShape, E> {
        Ok(DatasetsShape::NotArray)
    }
}

/// Whether a value is a JSON object; its content is skipped.
struct IsObject(bool);

impl<'de> de::Deserialize<'de> for IsObject {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<IsObject, D::Error> {
        struct Kind;
        impl<'de> Visitor<'de> for Kind {
            type Value = IsObject;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("any value")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<IsObject, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(IsObject(true))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<IsObject, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(IsObject(false))
            }
            fn visit_bool<E>(self, _: bool) -> Result<IsObject, E> {
                Ok(IsObject(false))
            }
            fn visit_i64<E>(self, _: i64) -> Result<IsObject, E> {
                Ok(IsObject(false))
            }
            fn visit_u64<E>(self, _: u64) -> Result<IsObject, E> {
                Ok(IsObject(false))
            }
            fn visit_f64<E>(self, _: f64) -> Result<IsObject, E> {
                Ok(IsObject(false))
            }
            fn visit_str<E>(self, _: &str) -> Result<IsObject, E> {
                Ok(IsObject(false))
            }
            fn visit_unit<E>(self) -> Result<IsObject, E> {
                Ok(IsObject(false))
            }
        }
        d.deserialize_any(Kind)
    }
}

/// What is wrong with `report-datasets`, if anything: missing, not an array, too long, or
/// an item that is no object.
fn datasets_problem(datasets: Option<&RawValue>) -> Option<Problem> {
    match datasets.map(datasets_shape) {
        Some(DatasetsShape::Fine) => None,
        Some(DatasetsShape::NotObject(i)) => Some(Problem::at_pointer(
            "Each dataset must be an object",
            format!("/report-datasets/{i}"),
        )),
        Some(DatasetsShape::TooMany) => Some(Problem::at_pointer(
            format!("A report may hold at most {MAX_DATASETS} datasets; split it"),
            "/report-datasets",
        )),
        Some(DatasetsShape::NotArray) => Some(Problem::at_pointer(
            "report-datasets must be an array",
            "/report-datasets",
        )),
        None => Some(Problem::at_pointer("report-datasets is required", "/report-datasets")),
    }
}

fn validate(header: Option<Value>, datasets: Option<&RawValue>) -> Result<Report, Error> {
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
    let begin = period["begin-date"].as_str().and_then(parse_date);
    let end = period["end-date"].as_str().and_then(parse_date);
    for (name, parsed) in [("begin-date", begin), ("end-date", end)] {
        if parsed.is_none() {
            problems.push(Problem::at_pointer(
                format!("{name} must be a date (YYYY-MM-DD)"),
                format!("/report-header/reporting-period/{name}"),
            ));
        }
    }
    if let (Some(begin), Some(end)) = (begin, end) {
        if begin.0 != end.0 {
            problems.push(Problem::at_pointer(
                "Reports are monthly, reporting dates need to be within the same month",
                "/report-header/reporting-period",
            ));
        } else if begin.1 > end.1 {
            problems.push(Problem::at_pointer(
                "begin-date must not be after end-date",
                "/report-header/reporting-period",
            ));
        }
    }
    problems.extend(datasets_problem(datasets));
    if !problems.is_empty() {
        return Err(Error::Unprocessable(problems));
    }
    let month = begin.map(|(month, _)| month.to_string()).unwrap_or_default();
    Ok(Report {
        created_by: header["created-by"].as_str().unwrap_or_default().trim().to_string(),
        header,
        datasets: datasets.map_or_else(|| "[]".to_string(), |raw| raw.get().to_string()),
        month,
    })
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
        assert_eq!(serde_json::from_str::<Value>(&r.datasets).unwrap(), datasets());
        let whole: Value = serde_json::from_str(&r.to_json_text()).unwrap();
        assert_eq!(whole["report-header"], header());
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
}
