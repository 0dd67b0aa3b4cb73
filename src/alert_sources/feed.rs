//! What a source's URL answers: one CAP alert, or a feed listing them, RSS 2.0 (BMKG's
//! nowcast feed: each `item`'s `link`) or Atom (each `entry`'s `link`, the one typed
//! `application/cap+xml` when there is one).

use url::Url;

use super::xml::Element;

/// Links read from one feed, at most; a feed of more is read in part (the first ones
/// are the newest in both formats' custom).
pub const MAX_LINKS: usize = 200;

#[derive(Debug)]
pub enum SourceDocument {
    Alert(Element),
    Links(Vec<Listed>),
}

/// One alert a feed lists: where to fetch it, and what the feed says its CAP
/// identifier is (RSS `guid`, Atom `id`; BMKG's `guid` is the alert's identifier), so
/// that an alert already taken in need not be fetched again.
#[derive(Debug, Clone, PartialEq)]
pub struct Listed {
    pub url: Url,
    pub identifier: Option<String>,
}

fn rss_links(channel: &Element) -> Vec<(&str, Option<&str>)> {
    channel
        .children_named("item")
        .filter_map(|item| Some((item.text_of("link")?, item.text_of("guid"))))
        .collect()
}

fn atom_links(feed: &Element) -> Vec<(&str, Option<&str>)> {
    feed.children_named("entry")
        .filter_map(|entry| {
            let links: Vec<&Element> = entry.children_named("link").collect();
            links
                .iter()
                .find(|link| link.attribute("type") == Some("application/cap+xml"))
                .or_else(|| {
                    links
                        .iter()
                        .find(|link| matches!(link.attribute("rel"), None | Some("alternate")))
                })
                .and_then(|link| link.attribute("href"))
                .map(|href| (href, entry.text_of("id")))
        })
        .collect()
}

/// `root` as an alert or a list of absolute links (relative ones resolved against
/// `base`, the feed's URL); anything else is not a source document.
pub fn classify(root: Element, base: &Url) -> Result<SourceDocument, String> {
    let links = match root.name.as_str() {
        "alert" => return Ok(SourceDocument::Alert(root)),
        "rss" => root.child("channel").map(rss_links).unwrap_or_default(),
        "feed" => atom_links(&root),
        other => {
            return Err(format!(
                "expected a CAP <alert>, an RSS <rss> or an Atom <feed>, found <{other}>"
            ));
        }
    };
    Ok(SourceDocument::Links(
        links
            .into_iter()
            .filter_map(|(link, identifier)| {
                Some(Listed {
                    url: base.join(link.trim()).ok()?,
                    identifier: identifier.map(str::to_owned),
                })
            })
            .take(MAX_LINKS)
            .collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert_sources::xml::parse;

    fn links_of(document: &str) -> Vec<String> {
        let base = Url::parse("https://example.org/feeds/rss.xml").expect("base");
        match classify(parse(document.as_bytes()).expect("xml"), &base).expect("source") {
            SourceDocument::Links(links) => links.into_iter().map(|link| link.url.into()).collect(),
            SourceDocument::Alert(_) => panic!("not a feed"),
        }
    }

    #[test]
    fn rss_and_atom_links_are_read_and_resolved() {
        assert_eq!(
            links_of(
                "<rss><channel><item><link>a.xml</link></item>\
                 <item><title>no link</title></item>\
                 <item><link>https://other.example/b.xml</link></item></channel></rss>"
            ),
            [
                "https://example.org/feeds/a.xml",
                "https://other.example/b.xml"
            ]
        );
        assert_eq!(
            links_of(
                r#"<feed xmlns="http://www.w3.org/2005/Atom"><entry>
                   <link rel="alternate" type="text/html" href="/page"/>
                   <link rel="related" type="application/cap+xml" href="/alert.cap"/>
                   </entry><entry><link href="c.xml"/></entry></feed>"#
            ),
            [
                "https://example.org/alert.cap",
                "https://example.org/feeds/c.xml"
            ]
        );
    }
}
