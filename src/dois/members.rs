//! The top-level members of a JSON object text that tinydoi wrote itself (the stored
//! `dois.attributes`), found without parsing the values: a read splices them as they are.

use serde_json::{Map, Value};

/// `(key, value)` byte ranges of the object's members in order, the key without its quotes
/// and still escaped. `None` when `text` is not a JSON object. Values are delimited, not
/// validated: the text is trusted to be what `serde_json` wrote.
pub fn members(text: &[u8]) -> Option<Vec<(&[u8], &[u8])>> {
    let mut found = Vec::new();
    let mut i = skip_space(text, 0);
    if text.get(i) != Some(&b'{') {
        return None;
    }
    i = skip_space(text, i + 1);
    if text.get(i) == Some(&b'}') {
        return (skip_space(text, i + 1) == text.len()).then_some(found);
    }
    loop {
        if text.get(i) != Some(&b'"') {
            return None;
        }
        let key_end = string_end(text, i)?;
        let key = &text[i + 1..key_end - 1];
        i = skip_space(text, key_end);
        if text.get(i) != Some(&b':') {
            return None;
        }
        let start = skip_space(text, i + 1);
        let end = value_end(text, start)?;
        found.push((key, &text[start..end]));
        i = skip_space(text, end);
        match text.get(i) {
            Some(b',') => i = skip_space(text, i + 1),
            Some(b'}') if skip_space(text, i + 1) == text.len() => return Some(found),
            _ => return None,
        }
    }
}

/// [`members`] as ranges stored beside the text at write time, so that reads need not
/// scan it: the text's length, then per member its key's start and end and its value's
/// start and end, each a little-endian `u32`. `None` when `text` is not an object (or
/// longer than a `u32` counts).
pub fn index(text: &[u8]) -> Option<Vec<u8>> {
    let found = members(text)?;
    let offset = |part: &[u8]| part.as_ptr() as usize - text.as_ptr() as usize;
    let at = found.iter().flat_map(|(key, value)| {
        [
            offset(key),
            offset(key) + key.len(),
            offset(value),
            offset(value) + value.len(),
        ]
    });
    encode(text.len(), found.len() * 4, at)
}

/// The stored form of an [`index`]: `len`, then the `count` positions, each a
/// little-endian `u32`; `None` when one does not fit.
fn encode(len: usize, count: usize, at: impl IntoIterator<Item = usize>) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(4 + count * 4);
    for n in std::iter::once(len).chain(at) {
        out.extend_from_slice(&u32::try_from(n).ok()?.to_le_bytes());
    }
    Some(out)
}

/// `object` as the compact JSON text `serde_json::to_string` writes for it, with its
/// [`index`], noted member by member while writing: a write stores both, and scanning the
/// 20 KB it just wrote for the full example cost a `PUT` 0.3 M instructions (issue 20).
/// The index is `None` where [`index`] gives none (a text longer than a `u32` counts).
pub fn written(object: &Map<String, Value>) -> (String, Option<Vec<u8>>) {
    let mut text = Vec::with_capacity(4096);
    let mut at = Vec::with_capacity(1 + object.len() * 4);
    text.push(b'{');
    for (n, (key, value)) in object.iter().enumerate() {
        if n > 0 {
            text.push(b',');
        }
        at.push(text.len() + 1);
        // Writing JSON into a Vec fails only for a map with non-string keys: none here.
        if serde_json::to_writer(&mut text, key).is_err() {
            return fallback(object);
        }
        at.push(text.len() - 1);
        text.push(b':');
        at.push(text.len());
        if serde_json::to_writer(&mut text, value).is_err() {
            return fallback(object);
        }
        at.push(text.len());
    }
    text.push(b'}');
    let index = encode(text.len(), at.len(), at);
    match String::from_utf8(text) {
        Ok(text) => (text, index),
        // serde_json writes UTF-8; never reached.
        Err(_) => fallback(object),
    }
}

fn fallback(object: &Map<String, Value>) -> (String, Option<Vec<u8>>) {
    let text = serde_json::to_string(object).unwrap_or_default();
    let index = index(text.as_bytes());
    (text, index)
}

/// The members of `text` from its stored [`index`]; `None` when the index does not fit the
/// text (another length, ranges out of order or not at a key's quotes), and the caller
/// scans instead.
pub fn from_index<'a>(text: &'a [u8], index: &[u8]) -> Option<Vec<(&'a [u8], &'a [u8])>> {
    let mut numbers = index
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]) as usize);
    if index.len() % 16 != 4 || numbers.next()? != text.len() {
        return None;
    }
    let mut found = Vec::with_capacity(index.len() / 16);
    let mut last = 0;
    while let (Some(ks), Some(ke), Some(vs), Some(ve)) =
        (numbers.next(), numbers.next(), numbers.next(), numbers.next())
    {
        let fits = last < ks && ks <= ke && ke < vs && vs <= ve && ve <= text.len();
        if !fits || text[ks - 1] != b'"' || text[ke] != b'"' {
            return None;
        }
        found.push((&text[ks..ke], &text[vs..ve]));
        last = ve;
    }
    Some(found)
}

fn skip_space(text: &[u8], mut i: usize) -> usize {
    while text.get(i).is_some_and(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r')) {
        i += 1;
    }
    i
}

/// Strings shorter than this (most names and codes) are scanned inline: a `memchr` call
/// costs more than looking at a few bytes.
const SHORT: usize = 24;

/// Just past the closing quote of the string opening at `start`. Strings are most of the
/// text, so long ones are skipped with `memchr` rather than byte by byte.
fn string_end(text: &[u8], start: usize) -> Option<usize> {
    let mut i = start + 1;
    let head = text.get(i..text.len().min(i + SHORT))?;
    match head.iter().position(|b| matches!(b, b'"' | b'\\')) {
        Some(at) if head[at] == b'"' => return Some(i + at + 1),
        Some(at) => i += at,
        None => i += head.len(),
    }
    loop {
        i += memchr::memchr2(b'"', b'\\', text.get(i..)?)?;
        if text[i] == b'"' {
            return Some(i + 1);
        }
        i += 2;
    }
}

/// Just past the value starting at `start`.
fn value_end(text: &[u8], start: usize) -> Option<usize> {
    match text.get(start)? {
        b'"' => string_end(text, start),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut i = start;
            loop {
                match text.get(i)? {
                    b'"' => {
                        i = string_end(text, i)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(i + 1);
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
        }
        _ => {
            let rest = &text[start..];
            let len = rest
                .iter()
                .position(|b| matches!(b, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r'))
                .unwrap_or(rest.len());
            (len > 0).then_some(start + len)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_is_serde_jsons_text_with_the_index_a_scan_finds() {
        let objects = [
            serde_json::json!({}),
            serde_json::json!({"a": 1}),
            serde_json::json!({"titles": [{"title": "A \"quoted\" \\ title", "lang": null}],
                "k\u{e9}y\n\u{1}": {"nested": [1, 2.5, true, {"x": "}"}]}, "empty": [], "s": "]"}),
        ];
        for object in objects {
            let Value::Object(map) = object else { unreachable!() };
            let (text, index) = written(&map);
            assert_eq!(text, serde_json::to_string(&map).unwrap());
            assert_eq!(index, super::index(text.as_bytes()), "{text}");
        }
    }

    fn pairs(text: &str) -> Option<Vec<(String, String)>> {
        let found = members(text.as_bytes())?;
        Some(
            found
                .into_iter()
                .map(|(k, v)| {
                    (
                        String::from_utf8(k.to_vec()).unwrap(),
                        String::from_utf8(v.to_vec()).unwrap(),
                    )
                })
                .collect(),
        )
    }

    #[test]
    fn splits_members_of_every_kind() {
        let text = r#"{"a":[{"t":"x]}\"\\","u":[1,{}]}],"b":"s\"}","c":null,"d":-1.5e3,"e":true,"f":{}}"#;
        let got = pairs(text).unwrap();
        let keys: Vec<&str> = got.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["a", "b", "c", "d", "e", "f"]);
        assert_eq!(got[0].1, r#"[{"t":"x]}\"\\","u":[1,{}]}]"#);
        assert_eq!(got[1].1, r#""s\"}""#);
        assert_eq!(got[2].1, "null");
        assert_eq!(got[3].1, "-1.5e3");
        assert_eq!(got[5].1, "{}");
        // Every value is exactly the text serde_json reads as that member.
        let parsed: serde_json::Map<String, serde_json::Value> = serde_json::from_str(text).unwrap();
        for (k, v) in &got {
            assert_eq!(parsed[k], serde_json::from_str::<serde_json::Value>(v).unwrap());
        }
    }

    #[test]
    fn a_stored_index_gives_the_members_and_is_checked() {
        let text = br#"{"a":[1,{"b":"]"}],"c\"d":"e","f":null}"#;
        let stored = index(text).unwrap();
        assert_eq!(from_index(text, &stored), members(text));
        // Another text of another length, or ranges no longer at keys: not used.
        assert_eq!(from_index(br#"{"a":1}"#, &stored), None);
        assert_eq!(from_index(text, &stored[..stored.len() - 1]), None);
        assert_eq!(index(b"[1]"), None);
    }

    #[test]
    fn spaces_and_empty_objects() {
        assert_eq!(pairs(" { } "), Some(vec![]));
        assert_eq!(
            pairs("{ \"a\" : [ 1 , 2 ] ,\n\"b\":2 }"),
            Some(vec![("a".into(), "[ 1 , 2 ]".into()), ("b".into(), "2".into())])
        );
        assert_eq!(pairs(r#"{"k\"ey":1}"#), Some(vec![(r#"k\"ey"#.into(), "1".into())]));
        // Escapes before, at and after the inline scan's end.
        for at in [0, SHORT - 2, SHORT - 1, SHORT, SHORT + 5] {
            let long = format!("{}\\\"{}", "x".repeat(at), "y".repeat(40));
            let text = format!(r#"{{"a":"{long}","b":1}}"#);
            assert_eq!(
                pairs(&text),
                Some(vec![("a".into(), format!("\"{long}\"")), ("b".into(), "1".into())]),
                "{at}"
            );
        }
    }

    #[test]
    fn what_is_not_an_object_is_none() {
        for text in [
            "",
            "[1]",
            "{",
            r#"{"a"}"#,
            r#"{"a":}"#,
            r#"{"a":1"#,
            r#"{"a":"x}"#,
            r#"{"a":[1}"#,
            r#"{"a":1}x"#,
            r#"{"a":1,}"#,
        ] {
            assert_eq!(pairs(text), None, "{text}");
        }
    }
}
