//! `text/x-bibliography`: a formatted citation, rendered by a real CSL processor
//! (hayagriva, with the CSL styles and locales it bundles) from the DOI's citeproc JSON.
//!
//! As lupo does, `style` defaults to `apa` and `locale` to `en-US`, and a style or locale
//! that is not known falls back to both defaults. The text is HTML like citeproc-ruby's
//! `html` format: `<i>`, `<b>`, `<sup>`, `<sub>`, small caps as a styled `<span>`, text
//! escaped (`&amp;`).

use hayagriva::archive::{self, ArchivedStyle};
use hayagriva::citationberg::{
    json::Item, FontStyle, FontVariant, FontWeight, IndependentStyle, LayoutRenderingElement, Locale, LocaleCode, Name,
    NamesChild, Style, TextDecoration, VerticalAlign,
};
use hayagriva::{BibliographyDriver, BibliographyRequest, CitationItem, CitationRequest, ElemChild, ElemChildren};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

/// The style lupo uses when none (or an unknown one) is asked for.
pub const DEFAULT_STYLE: &str = "apa";
/// The locale lupo uses when none (or an unknown one) is asked for.
pub const DEFAULT_LOCALE: &str = "en-US";

/// Style names DataCite's clients use that the bundled archive spells differently.
const ALIASES: &[(&str, &str)] = &[
    ("chicago-fullnote-bibliography", "chicago-notes"),
    ("chicago-note-bibliography", "chicago-notes"),
    ("harvard1", "harvard-cite-them-right"),
    ("harvard", "harvard-cite-them-right"),
    ("modern-language-association-7th-edition", "modern-language-association"),
];

/// Every CSL locale of the archive, parsed once per process.
fn locales() -> &'static [Locale] {
    static LOCALES: OnceLock<Vec<Locale>> = OnceLock::new();
    LOCALES.get_or_init(archive::locales)
}

/// An archived style, parsed once per process and style.
fn style(archived: ArchivedStyle) -> Option<Arc<IndependentStyle>> {
    static STYLES: OnceLock<Mutex<HashMap<ArchivedStyle, Arc<IndependentStyle>>>> = OnceLock::new();
    let cache = STYLES.get_or_init(|| Mutex::new(HashMap::new()));
    // A poisoned cache only means another thread panicked while inserting: the map is intact.
    let mut map = cache.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(s) = map.get(&archived) {
        return Some(s.clone());
    }
    let Style::Independent(mut s) = archived.get() else {
        return None;
    };
    for m in &mut s.macros {
        give_names_a_name(&mut m.children);
    }
    let s = Arc::new(s);
    map.insert(archived, s.clone());
    Some(s)
}

/// CSL lets `cs:names` omit `cs:name` (the names are then printed with the inherited
/// options); hayagriva then prints no names at all, which empties the author list of
/// e.g. NLM/Vancouver. An explicit default `cs:name` means the same and is printed.
fn give_names_a_name(elements: &mut [LayoutRenderingElement]) {
    for e in elements {
        match e {
            // Not inside `cs:substitute`: there a bare `cs:names` inherits the `cs:name`
            // of the element it substitutes, which hayagriva does.
            LayoutRenderingElement::Names(n) if !n.children.iter().any(|c| matches!(c, NamesChild::Name(_))) => {
                n.children.insert(0, NamesChild::Name(Name::default()));
            }
            LayoutRenderingElement::Group(g) => give_names_a_name(&mut g.children),
            LayoutRenderingElement::Choose(c) => {
                give_names_a_name(&mut c.if_.children);
                for b in &mut c.else_if {
                    give_names_a_name(&mut b.children);
                }
                if let Some(o) = &mut c.otherwise {
                    give_names_a_name(&mut o.children);
                }
            }
            _ => {}
        }
    }
}

fn find_style(name: &str) -> Option<Arc<IndependentStyle>> {
    let name = name.trim().to_ascii_lowercase();
    let name = ALIASES
        .iter()
        .find(|(alias, _)| *alias == name)
        .map_or(name.as_str(), |(_, real)| real);
    ArchivedStyle::by_name(name).and_then(style)
}

/// The archive's locale for `code`: exact (case-insensitive), else the first of the same
/// language, preferring its main region (`de` → `de-DE`).
fn find_locale(code: &str) -> Option<LocaleCode> {
    let code = code.trim().replace('_', "-");
    let codes: Vec<&str> = locales()
        .iter()
        .filter_map(|l| l.lang.as_ref().map(|c| c.0.as_str()))
        .collect();
    if let Some(c) = codes.iter().find(|c| c.eq_ignore_ascii_case(&code)) {
        return Some(LocaleCode(c.to_string()));
    }
    let language = code.split('-').next().unwrap_or("").to_ascii_lowercase();
    if language.is_empty() || code.contains('-') {
        return None;
    }
    let main = format!("{language}-{}", language.to_ascii_uppercase());
    codes
        .iter()
        .find(|c| c.eq_ignore_ascii_case(&main))
        .or_else(|| {
            codes
                .iter()
                .find(|c| c.to_ascii_lowercase().starts_with(&format!("{language}-")))
        })
        .map(|c| LocaleCode(c.to_string()))
}

/// The style and locale to use: both as asked when both are known, else lupo's defaults.
fn resolve(style_name: Option<&str>, locale: Option<&str>) -> Option<(Arc<IndependentStyle>, LocaleCode)> {
    let asked = (
        find_style(style_name.unwrap_or(DEFAULT_STYLE)),
        find_locale(locale.unwrap_or(DEFAULT_LOCALE)),
    );
    match asked {
        (Some(s), Some(l)) => Some((s, l)),
        _ => Some((find_style(DEFAULT_STYLE)?, find_locale(DEFAULT_LOCALE)?)),
    }
}

/// Renders `csl` (a citeproc JSON item) in `style` and `locale`, as HTML text.
/// `None` only when the item is not usable CSL JSON.
pub(crate) fn render(csl: &Value, style_name: Option<&str>, locale: Option<&str>) -> Option<String> {
    // Fields CSL has no variable for (`categories`, a list of strings) do not fit
    // citationberg's value types: they are left out rather than failing the item.
    let fields = csl
        .as_object()?
        .iter()
        .filter(|(_, v)| usable_date(v))
        .filter_map(|(k, v)| Some((k.clone(), serde_json::from_value(v.clone()).ok()?)));
    let item = Item(fields.collect());
    let (style, locale) = resolve(style_name, locale)?;
    let files = locales();
    let mut driver = BibliographyDriver::new();
    driver.citation(CitationRequest::new(
        vec![CitationItem::with_entry(&item)],
        &style,
        Some(locale.clone()),
        files,
        None,
    ));
    let rendered = driver.finish(BibliographyRequest {
        style: &style,
        locale: Some(locale),
        locale_files: files,
    });
    let content = match rendered.bibliography.and_then(|b| b.items.into_iter().next()) {
        Some(item) => {
            // The citation number (`[1]`, `1.`) of numeric styles is left out, as
            // citeproc-ruby leaves it out of a one-item bibliography.
            let mut out = String::new();
            html(&mut out, &item.content);
            out
        }
        // A style without a bibliography: its citation is the best text there is.
        None => {
            let mut out = String::new();
            if let Some(c) = rendered.citations.first() {
                html(&mut out, &c.citation);
            }
            out
        }
    };
    Some(content.trim().to_string())
}

/// A CSL date citationberg can take: not `date-parts` without a year (it unwraps the year),
/// month 1–12, day 1–31, year within its `i16`. Values that are not dates pass.
fn usable_date(v: &Value) -> bool {
    let Some(parts) = v.get("date-parts").and_then(Value::as_array) else {
        return true;
    };
    parts.iter().all(|p| {
        let nums: Vec<Option<i64>> = p
            .as_array()
            .map(|a| a.iter().map(Value::as_i64).collect())
            .unwrap_or_default();
        let ok = |i: usize, range: std::ops::RangeInclusive<i64>| {
            nums.get(i).is_none_or(|n| n.is_some_and(|n| range.contains(&n)))
        };
        !nums.is_empty() && nums.len() <= 3 && ok(0, 1..=9999) && ok(1, 1..=12) && ok(2, 1..=31)
    })
}

fn html(out: &mut String, children: &ElemChildren) {
    for child in &children.0 {
        html_child(out, child);
    }
}

fn html_child(out: &mut String, child: &ElemChild) {
    match child {
        ElemChild::Text(t) => formatted(out, &t.formatting, &t.text),
        ElemChild::Elem(e) => html(out, &e.children),
        ElemChild::Markup(m) => escape(out, m),
        ElemChild::Link { text, .. } => formatted(out, &text.formatting, &text.text),
        ElemChild::Transparent { .. } => {}
    }
}

/// Text with its formatting as citeproc-ruby's HTML format writes it.
fn formatted(out: &mut String, f: &hayagriva::Formatting, text: &str) {
    let mut close: Vec<&str> = Vec::new();
    let mut open = |out: &mut String, tag: &str, end: &'static str| {
        out.push_str(tag);
        close.push(end);
    };
    if f.font_style == FontStyle::Italic {
        open(out, "<i>", "</i>");
    }
    if f.font_weight == FontWeight::Bold {
        open(out, "<b>", "</b>");
    }
    if f.font_variant == FontVariant::SmallCaps {
        open(out, "<span style=\"font-variant:small-caps;\">", "</span>");
    }
    if f.text_decoration == TextDecoration::Underline {
        open(out, "<span style=\"text-decoration:underline;\">", "</span>");
    }
    match f.vertical_align {
        VerticalAlign::Sup => open(out, "<sup>", "</sup>"),
        VerticalAlign::Sub => open(out, "<sub>", "</sub>"),
        _ => {}
    }
    escape(out, text);
    for end in close.into_iter().rev() {
        out.push_str(end);
    }
}

fn escape(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            _ => out.push(c),
        }
    }
}

/// The names `style=` accepts: the archive's names and the aliases above.
pub fn style_names() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = ArchivedStyle::all()
        .iter()
        .flat_map(|s| s.names().iter().copied())
        .collect();
    names.extend(ALIASES.iter().map(|(a, _)| *a));
    names.sort_unstable();
    names
}
