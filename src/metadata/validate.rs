//! Walks a parsed record against the static kernel-4 declarations and collects libxml2-style problems.

use super::parse::{line_of, qualified, text_of};
use super::schema::{json_property, Attr, Content, Elem, Particle, RESOURCE};
use super::simple::{check, is_xml_whitespace, Rejected, Simple};
use super::{Problem, KERNEL4_NS};
use roxmltree::{Document, Node};

const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";
const XSI_NS: &str = "http://www.w3.org/2001/XMLSchema-instance";

/// Reporting stops here: enough for a person to act on, and it bounds the work
/// a record with thousands of faults can cause.
pub(crate) const MAX_PROBLEMS: usize = 100;

struct Walker<'d, 'i> {
    doc: &'d Document<'i>,
    problems: Vec<Problem>,
}

pub(crate) fn validate_root(doc: &Document<'_>, root: Node<'_, '_>) -> Vec<Problem> {
    let mut w = Walker {
        doc,
        problems: Vec::new(),
    };
    w.element(root, &RESOURCE, None);
    w.problems
}

fn is_kernel4(node: Node<'_, '_>) -> bool {
    node.tag_name().namespace() == Some(KERNEL4_NS)
}

fn expected_list(names: &[&str]) -> String {
    match names {
        [one] => format!("Expected is ( {one} )."),
        many => format!("Expected is one of ( {} ).", many.join(", ")),
    }
}

impl Walker<'_, '_> {
    fn report(&mut self, node: Node<'_, '_>, property: Option<&str>, message: String) {
        if self.problems.len() >= MAX_PROBLEMS {
            return;
        }
        self.problems.push(Problem {
            message,
            line: Some(line_of(self.doc, node)),
            property: property.map(str::to_string),
        });
    }

    /// `property` is the DataCite JSON property this subtree belongs to (None at the root).
    fn element(&mut self, node: Node<'_, '_>, decl: &Elem, property: Option<&str>) {
        if !self.xsi(node, decl, property) {
            return;
        }
        if !matches!(decl.content, Content::Any) {
            self.attributes(node, decl.attrs, property);
        }
        match decl.content {
            Content::Simple(ty) => {
                if node.children().any(|c| c.is_element()) {
                    self.report(
                        node,
                        property,
                        "Element content is not allowed, because the content type is a simple type.".into(),
                    );
                } else if let Err(Rejected(m)) = check(ty, &text_of(node)) {
                    self.report(node, property, m);
                }
            }
            Content::Any => self.lax(node, property),
            Content::Empty => {
                if node.children().any(|c| c.is_element()) {
                    self.report(
                        node,
                        property,
                        "Element content is not allowed, because the content type is empty.".into(),
                    );
                } else if node.children().any(|c| c.is_text()) {
                    self.report(
                        node,
                        property,
                        "Character content is not allowed, because the content type is empty.".into(),
                    );
                }
            }
            Content::Seq(particles) => {
                if self.element_only(node, property) {
                    self.sequence(node, particles, property);
                }
            }
            Content::Mixed(particles) => self.sequence(node, particles, property),
            Content::All(particles) => {
                if self.element_only(node, property) {
                    self.all(node, particles, property);
                }
            }
            Content::Choice(particles) => {
                if self.element_only(node, property) {
                    self.choice(node, particles, property);
                }
            }
        }
    }

    fn element_only(&mut self, node: Node<'_, '_>, property: Option<&str>) -> bool {
        let stray = node
            .children()
            .any(|c| c.is_text() && !c.text().is_some_and(is_xml_whitespace));
        if stray {
            self.report(
                node,
                property,
                "Character content other than whitespace is not allowed because the content type is 'element-only'."
                    .into(),
            );
        }
        !stray
    }

    /// xsi:nil and xsi:type. No kernel-4 element is nillable, and the only
    /// type substitution that can succeed is xs:string on an element whose
    /// declared type is xs:string (or anyType, then holding plain text only).
    fn xsi(&mut self, node: Node<'_, '_>, decl: &Elem, property: Option<&str>) -> bool {
        let mut ok = true;
        if node.attribute((XSI_NS, "nil")).is_some() {
            self.report(node, property, "The element is not 'nillable'.".into());
            ok = false;
        }
        if let Some(ty) = node.attribute((XSI_NS, "type")) {
            let (prefix, local) = match ty.trim().split_once(':') {
                Some((p, l)) => (Some(p), l),
                None => (None, ty.trim()),
            };
            let is_xs_string =
                local == "string" && node.lookup_namespace_uri(prefix) == Some("http://www.w3.org/2001/XMLSchema");
            let substitutable = match decl.content {
                Content::Simple(Simple::Str) => decl.attrs.is_empty(),
                Content::Any => {
                    !node.children().any(|c| c.is_element()) && node.attributes().all(|a| a.namespace() == Some(XSI_NS))
                }
                _ => false,
            };
            if !(is_xs_string && substitutable) {
                self.report(
                    node,
                    property,
                    format!("The attribute 'xsi:type': the type '{ty}' cannot be used here."),
                );
                ok = false;
            }
        }
        ok
    }

    fn attributes(&mut self, node: Node<'_, '_>, decls: &[Attr], property: Option<&str>) {
        for attr in node.attributes() {
            let ns = attr.namespace();
            if ns == Some(XSI_NS)
                && matches!(
                    attr.name(),
                    "schemaLocation" | "noNamespaceSchemaLocation" | "type" | "nil"
                )
            {
                continue;
            }
            let decl = decls.iter().find(|d| match d.name.strip_prefix("xml:") {
                Some(local) => ns == Some(XML_NS) && attr.name() == local,
                None => ns.is_none() && attr.name() == d.name,
            });
            // The name as libxml2 shows it, made only for a problem: most attributes have none.
            let shown = || match ns {
                Some(XML_NS) => format!("xml:{}", attr.name()),
                Some(other) => format!("{{{other}}}{}", attr.name()),
                None => attr.name().to_string(),
            };
            match decl {
                None => self.report(node, property, format!("The attribute '{}' is not allowed.", shown())),
                Some(d) => {
                    if let Err(Rejected(m)) = check(d.ty, attr.value()) {
                        self.report(node, property, format!("The attribute '{}': {m}", shown()));
                    }
                }
            }
        }
        for d in decls.iter().filter(|d| d.required) {
            if !node.attributes().any(|a| a.namespace().is_none() && a.name() == d.name) {
                self.report(
                    node,
                    property,
                    format!("The attribute '{}' is required but missing.", d.name),
                );
            }
        }
    }

    /// xs:anyType with lax processing: only things with a global declaration
    /// (the xml:* attributes and a nested kernel-4 `resource`) are checked.
    fn lax(&mut self, node: Node<'_, '_>, property: Option<&str>) {
        for attr in node.attributes() {
            let ty = match (attr.namespace(), attr.name()) {
                (Some(XML_NS), "lang") => Simple::XmlLang,
                (Some(XML_NS), "space") => Simple::XmlSpace,
                (Some(XML_NS), "base") => Simple::Uri,
                _ => continue,
            };
            if let Err(Rejected(m)) = check(ty, attr.value()) {
                self.report(node, property, format!("The attribute 'xml:{}': {m}", attr.name()));
            }
        }
        for child in node.children().filter(|c| c.is_element()) {
            if is_kernel4(child) && child.tag_name().name() == "resource" {
                self.element(child, &RESOURCE, property);
            } else {
                self.lax(child, property);
            }
        }
    }

    fn child_property<'a>(&self, property: Option<&'a str>, child: &'a str) -> Option<&'a str> {
        property.or(Some(json_property(child)))
    }

    fn sequence(&mut self, node: Node<'_, '_>, particles: &[Particle], property: Option<&str>) {
        let mut i = 0;
        let mut count = 0u32;
        for child in node.children().filter(|c| c.is_element()) {
            let name = child.tag_name().name();
            loop {
                let Some(part) = particles.get(i) else {
                    self.report(
                        child,
                        property,
                        format!("Element '{}': This element is not expected.", qualified(child)),
                    );
                    return;
                };
                if is_kernel4(child) && name == part.elem.name && count < part.max {
                    count += 1;
                    self.element(child, part.elem, property);
                    break;
                }
                if count >= part.min {
                    i += 1;
                    count = 0;
                    continue;
                }
                let expected = expected_list(&[part.elem.name]);
                self.report(
                    child,
                    property,
                    format!(
                        "Element '{}': This element is not expected. {expected}",
                        qualified(child)
                    ),
                );
                return;
            }
        }
        let mut missing = particles
            .iter()
            .enumerate()
            .skip(i)
            .filter(|(j, part)| part.min > if *j == i { count } else { 0 });
        if let Some((_, part)) = missing.next() {
            self.report(
                node,
                property,
                format!("Missing child element(s). {}", expected_list(&[part.elem.name])),
            );
        }
    }

    fn all(&mut self, node: Node<'_, '_>, particles: &[Particle], property: Option<&str>) {
        let mut seen = vec![false; particles.len()];
        for child in node.children().filter(|c| c.is_element()) {
            let name = child.tag_name().name();
            let found = particles
                .iter()
                .position(|part| is_kernel4(child) && part.elem.name == name);
            match found {
                Some(k) if !seen[k] => {
                    seen[k] = true;
                    let prop = self.child_property(property, name);
                    self.element(child, particles[k].elem, prop);
                }
                _ => {
                    let open: Vec<&str> = particles
                        .iter()
                        .zip(&seen)
                        .filter(|(_, s)| !**s)
                        .map(|(part, _)| part.elem.name)
                        .collect();
                    let prop = if found.is_some() || property.is_some() {
                        self.child_property(property, name)
                    } else {
                        None
                    };
                    let expected = if open.is_empty() {
                        String::new()
                    } else {
                        format!(" {}", expected_list(&open))
                    };
                    self.report(
                        child,
                        prop,
                        format!(
                            "Element '{}': This element is not expected.{expected}",
                            qualified(child)
                        ),
                    );
                    return;
                }
            }
        }
        let missing: Vec<&str> = particles
            .iter()
            .zip(&seen)
            .filter(|(part, s)| part.min > 0 && !**s)
            .map(|(part, _)| part.elem.name)
            .collect();
        if let Some(first) = missing.first() {
            let prop = self.child_property(property, first);
            self.report(
                node,
                prop,
                format!("Missing child element(s). {}", expected_list(&missing)),
            );
        }
    }

    fn choice(&mut self, node: Node<'_, '_>, particles: &[Particle], property: Option<&str>) {
        for child in node.children().filter(|c| c.is_element()) {
            let name = child.tag_name().name();
            match particles
                .iter()
                .find(|part| is_kernel4(child) && part.elem.name == name)
            {
                Some(part) => self.element(child, part.elem, property),
                None => {
                    let names: Vec<&str> = particles.iter().map(|part| part.elem.name).collect();
                    self.report(
                        child,
                        property,
                        format!(
                            "Element '{}': This element is not expected. {}",
                            qualified(child),
                            expected_list(&names)
                        ),
                    );
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{validate, MetadataError};

    fn problems(body: &str) -> Vec<(String, Option<String>)> {
        let xml = format!(
            "<resource xmlns=\"http://datacite.org/schema/kernel-4\">\
             <identifier identifierType=\"DOI\">10.5072/x</identifier>\
             <creators><creator><creatorName>A</creatorName></creator></creators>\
             <titles><title>T</title></titles><publisher>P</publisher>\
             <publicationYear>2020</publicationYear>\
             <resourceType resourceTypeGeneral=\"Dataset\"/>{body}</resource>"
        );
        match validate(xml.as_bytes()) {
            Ok(()) => Vec::new(),
            Err(MetadataError::Invalid(ps)) => ps.into_iter().map(|p| (p.message, p.property)).collect(),
            Err(other) => panic!("{other:?}"),
        }
    }

    #[test]
    fn sequences_choices_and_all_groups() {
        assert!(problems("").is_empty());
        // Polygons need at least four points; geoLocation children come in any order.
        let point = "<polygonPoint><pointLongitude>1</pointLongitude><pointLatitude>2</pointLatitude></polygonPoint>";
        let four = format!("<geoLocations><geoLocation><geoLocationPlace>x</geoLocationPlace><geoLocationPolygon>{}</geoLocationPolygon><geoLocationPlace>y</geoLocationPlace></geoLocation></geoLocations>", point.repeat(4));
        assert!(problems(&four).is_empty());
        let three = four.replacen(point, "", 1);
        let p = problems(&three);
        assert_eq!(p[0].0, "Missing child element(s). Expected is ( polygonPoint ).");
        assert_eq!(p[0].1.as_deref(), Some("geoLocations"));
        // xs:all inside fundingReference: any order, funderName required.
        assert!(problems("<fundingReferences><fundingReference><awardTitle>t</awardTitle><funderName>F</funderName></fundingReference></fundingReferences>").is_empty());
        let p = problems(
            "<fundingReferences><fundingReference><awardTitle>t</awardTitle></fundingReference></fundingReferences>",
        );
        assert_eq!(p[0].0, "Missing child element(s). Expected is ( funderName ).");
        // Duplicated single-valued top-level element.
        let p = problems("<version>1</version><version>2</version>");
        assert!(
            p[0].0.starts_with("Element 'version': This element is not expected."),
            "{p:?}"
        );
        assert_eq!(p[0].1.as_deref(), Some("version"));
    }

    #[test]
    fn many_faults_are_capped_and_fast() {
        let many = "<subject foo=\"1\"/>\n".repeat(100_000);
        let start = std::time::Instant::now();
        let p = problems(&format!("<subjects>{many}</subjects>"));
        assert_eq!(p.len(), super::MAX_PROBLEMS);
        assert!(start.elapsed() < std::time::Duration::from_secs(20));
    }

    #[test]
    fn attributes_and_mixed_content() {
        let p = problems("<dates><date>2020</date></dates>");
        assert_eq!(p[0].0, "The attribute 'dateType' is required but missing.");
        assert_eq!(p[0].1.as_deref(), Some("dates"));
        let p = problems("<sizes><size foo=\"1\">1 MB</size></sizes>");
        assert_eq!(p[0].0, "The attribute 'foo' is not allowed.");
        assert!(problems("<descriptions><description descriptionType=\"Abstract\" xml:lang=\"en\">a<br/>b</description></descriptions>").is_empty());
        assert!(!problems(
            "<descriptions><description descriptionType=\"Abstract\">a<br> </br></description></descriptions>"
        )
        .is_empty());
        assert!(!problems("<subjects>oops</subjects>").is_empty());
    }
}
