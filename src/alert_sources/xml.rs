//! Documents from other servers, read as a small element tree, refusing what could
//! hurt the service: anything larger than [`MAX_DOCUMENT_BYTES`], a document type
//! declaration (the door to external entities and to entity expansion such as the
//! billion laughs), entities other than XML's five and character references, and
//! nesting or element counts no alert needs. What real feeds carry is tolerated:
//! the `xml-stylesheet` instruction, comments, CDATA, namespace prefixes.

use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::Event;

/// The largest document read. BMKG's biggest alerts (hundreds of polygons) are a few
/// hundred kilobytes.
pub const MAX_DOCUMENT_BYTES: usize = 2 * 1024 * 1024;
const MAX_DEPTH: usize = 16;
const MAX_ELEMENTS: usize = 50_000;

/// Why a document was not read; shown in the poll log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("the document is larger than {MAX_DOCUMENT_BYTES} bytes")]
    TooLarge,
    #[error("the document is not UTF-8")]
    NotUtf8,
    #[error("the document declares a document type (DTD), which is refused")]
    DocumentType,
    #[error("the document uses the entity &{0}; which is not one of XML's own")]
    UnknownEntity(String),
    #[error("the document nests elements deeper than {MAX_DEPTH}")]
    TooDeep,
    #[error("the document has more than {MAX_ELEMENTS} elements")]
    TooManyElements,
    #[error("the document is not well-formed XML: {0}")]
    Malformed(String),
    #[error("the document has no root element")]
    Empty,
}

/// One element: its local name (prefix dropped), attributes by local name, children,
/// and its own text (character data directly inside it, concatenated).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Element {
    pub name: String,
    pub attributes: Vec<(String, String)>,
    pub children: Vec<Element>,
    pub text: String,
}

impl Element {
    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> {
        self.children.iter().filter(move |child| child.name == name)
    }

    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|child| child.name == name)
    }

    /// The trimmed text of the first child `name`, if it has any.
    pub fn text_of(&self, name: &str) -> Option<&str> {
        self.child(name)
            .map(|child| child.text.trim())
            .filter(|text| !text.is_empty())
    }

    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

fn local(name: &[u8]) -> String {
    let local = match name.iter().rposition(|&byte| byte == b':') {
        Some(colon) => &name[colon + 1..],
        None => name,
    };
    String::from_utf8_lossy(local).into_owned()
}

fn malformed(error: impl std::fmt::Display) -> Refusal {
    Refusal::Malformed(error.to_string())
}

fn element_of(start: &quick_xml::events::BytesStart<'_>) -> Result<Element, Refusal> {
    let mut attributes = Vec::new();
    for attribute in start.attributes() {
        let attribute = attribute.map_err(malformed)?;
        let value = attribute
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map_err(|error| match error {
                quick_xml::Error::Escape(quick_xml::escape::EscapeError::UnrecognizedEntity(
                    _,
                    name,
                )) => Refusal::UnknownEntity(name),
                other => malformed(other),
            })?
            .into_owned();
        attributes.push((local(attribute.key.as_ref()), value));
    }
    Ok(Element {
        name: local(start.name().as_ref()),
        attributes,
        ..Element::default()
    })
}

/// Reads `bytes` as one element tree, or says why not.
pub fn parse(bytes: &[u8]) -> Result<Element, Refusal> {
    if bytes.len() > MAX_DOCUMENT_BYTES {
        return Err(Refusal::TooLarge);
    }
    let text = std::str::from_utf8(bytes).map_err(|_| Refusal::NotUtf8)?;
    let mut reader = quick_xml::Reader::from_str(text);
    reader.config_mut().check_end_names = true;
    let mut open: Vec<Element> = Vec::new();
    let mut root = None;
    let mut elements = 0;
    loop {
        let event = reader.read_event().map_err(malformed)?;
        match event {
            Event::DocType(_) => return Err(Refusal::DocumentType),
            Event::Start(_) | Event::Empty(_) if root.is_some() => {
                return Err(malformed("content after the root element"));
            }
            Event::Start(_) | Event::Empty(_) if open.len() >= MAX_DEPTH => {
                return Err(Refusal::TooDeep);
            }
            Event::Start(start) => {
                elements += 1;
                if elements > MAX_ELEMENTS {
                    return Err(Refusal::TooManyElements);
                }
                open.push(element_of(&start)?);
            }
            Event::Empty(start) => {
                elements += 1;
                if elements > MAX_ELEMENTS {
                    return Err(Refusal::TooManyElements);
                }
                let element = element_of(&start)?;
                match open.last_mut() {
                    Some(parent) => parent.children.push(element),
                    None => root = Some(element),
                }
            }
            Event::End(_) => {
                let closed = open.pop().ok_or_else(|| malformed("an unopened end tag"))?;
                match open.last_mut() {
                    Some(parent) => parent.children.push(closed),
                    None => root = Some(closed),
                }
            }
            Event::Text(text) => {
                let content = text.xml10_content().map_err(malformed)?;
                if let Some(current) = open.last_mut() {
                    current.text.push_str(&content);
                }
            }
            Event::CData(data) => {
                let content = data.decode().map_err(malformed)?;
                if let Some(current) = open.last_mut() {
                    current.text.push_str(&content);
                }
            }
            Event::GeneralRef(reference) => {
                let resolved = match reference.resolve_char_ref().map_err(malformed)? {
                    Some(character) => character.to_string(),
                    None => {
                        let name = reference.decode().map_err(malformed)?;
                        resolve_predefined_entity(&name)
                            .ok_or_else(|| Refusal::UnknownEntity(name.into_owned()))?
                            .to_owned()
                    }
                };
                if let Some(current) = open.last_mut() {
                    current.text.push_str(&resolved);
                }
            }
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Eof => break,
        }
    }
    if !open.is_empty() {
        return Err(malformed("the document ends inside an element"));
    }
    root.ok_or(Refusal::Empty)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stylesheets_prefixes_and_references_are_read() {
        let root = parse(
            br#"<?xml version="1.0"?>
            <?xml-stylesheet type="text/xsl" href="/style.xsl"?>
            <cap:alert xmlns:cap="urn:oasis:names:tc:emergency:cap:1.2">
              <cap:headline>Banjir &amp; longsor &#233;</cap:headline>
              <cap:note><![CDATA[a < b]]></cap:note>
            </cap:alert>"#,
        )
        .expect("parsed");
        assert_eq!(root.name, "alert");
        assert_eq!(root.text_of("headline"), Some("Banjir & longsor é"));
        assert_eq!(root.text_of("note"), Some("a < b"));
    }

    #[test]
    fn document_types_entities_and_floods_are_refused() {
        let laughs = br#"<?xml version="1.0"?>
            <!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]>
            <alert>&lol2;</alert>"#;
        assert_eq!(parse(laughs), Err(Refusal::DocumentType));
        let external = br#"<!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>"#;
        assert_eq!(parse(external), Err(Refusal::DocumentType));
        assert_eq!(
            parse(b"<a>&nbsp;</a>"),
            Err(Refusal::UnknownEntity("nbsp".to_owned()))
        );
        let deep = "<a>".repeat(40) + &"</a>".repeat(40);
        assert_eq!(parse(deep.as_bytes()), Err(Refusal::TooDeep));
        let big = vec![b' '; MAX_DOCUMENT_BYTES + 1];
        assert_eq!(parse(&big), Err(Refusal::TooLarge));
        assert!(matches!(parse(b"<a><b></a>"), Err(Refusal::Malformed(_))));
        assert_eq!(parse(b"   "), Err(Refusal::Empty));
        assert_eq!(parse(b"\xff<a/>"), Err(Refusal::NotUtf8));
    }
}
