//! GS1 Digital Link URIs: `https://<domain>/<stem…>/<key AI>/<key>/<qualifier AI>/<value>…?<AI>=<value>&…`.
//!
//! Rules follow gs1-syntax-engine `dl.c` (© GS1 AISBL, Apache-2.0): any domain and stem; the
//! primary key is the rightmost `/AI/value` pair whose AI is a `dlpkey`; the pairs after it must
//! be that key's qualifiers in the dictionary's order; query parameters whose name is numeric must
//! be known AIs that are permitted data attributes (`?` flag), not duplicates and not qualifiers
//! that belong in the path; other parameters are ignored. `+` means space only in the query.

use super::ai_table::{self, AiEntry};
use super::element_string::{self, AiElement, Gs1Data};
use super::error::ScanError;

/// Characters permitted anywhere in a URI (RFC 3986 unreserved + reserved + `%`).
const URI_CHARACTERS: &[u8] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~:/?#[]@!$&'()*+,;=%";

/// URI characters that are not allowed in the domain name.
const BAD_DOMAIN_CHARACTERS: &[u8] = b"_~?#@!$&'()*+,;=%";

/// A parsed GS1 Digital Link URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigitalLink {
    /// Scheme, domain and any stem path before the primary key, e.g. `https://id.gs1.org`.
    pub stem: String,
    /// The primary key element (e.g. AI 01 GTIN).
    pub key: AiElement,
    /// Key qualifiers from the path, in order (e.g. 22, 10, 21).
    pub qualifiers: Vec<AiElement>,
    /// Data attributes from the query string, in order.
    pub attributes: Vec<AiElement>,
    /// Query parameters that are not AIs (kept verbatim, not decoded).
    pub other_parameters: Vec<String>,
}

impl DigitalLink {
    /// All AIs: key, qualifiers, then attributes.
    pub fn to_gs1_data(&self) -> Gs1Data {
        let mut elements = Vec::with_capacity(1 + self.qualifiers.len() + self.attributes.len());
        elements.push(self.key.clone());
        elements.extend(self.qualifiers.iter().cloned());
        elements.extend(self.attributes.iter().cloned());
        Gs1Data { elements }
    }
}

fn dl_error(msg: impl Into<String>) -> ScanError {
    ScanError::DigitalLink(msg.into())
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Reverses percent-encoding; `+` becomes a space only in the query. A `%` not followed by two
/// hex digits is kept literally (as the engine does).
pub fn percent_decode(raw: &str, is_query: bool) -> Result<String, ScanError> {
    let b = raw.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        let escaped = match (
            c,
            b.get(i + 1).copied().and_then(hex),
            b.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(h), Some(l)) => Some(h * 16 + l),
            _ => None,
        };
        if let Some(v) = escaped {
            if v == 0 {
                return Err(dl_error("a value contains an encoded NUL character"));
            }
            out.push(v);
            i += 3;
        } else {
            out.push(if is_query && c == b'+' { b' ' } else { c });
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| dl_error("a value decodes to invalid text"))
}

/// True when `qualifiers` (AIs after the key in the path) is an allowed, ordered selection from
/// one of the key's qualifier sequences.
fn valid_qualifier_sequence(key: &AiEntry, qualifiers: &[&str]) -> bool {
    let Some(alternatives) = key.dl_primary_key else {
        return false;
    };
    if qualifiers.is_empty() {
        return true;
    }
    alternatives.iter().any(|alt| {
        let mut it = alt.iter();
        qualifiers.iter().all(|q| it.any(|a| a == q))
    })
}

fn describe_sequences(key: &AiEntry) -> String {
    match key.dl_primary_key {
        Some(alts) if !alts.is_empty() => alts
            .iter()
            .map(|a| {
                a.iter()
                    .map(|s| format!("({s})"))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect::<Vec<_>>()
            .join(" or "),
        _ => "none".to_string(),
    }
}

/// Parses a GS1 Digital Link URI strictly.
pub fn parse_digital_link(uri: &str) -> Result<DigitalLink, ScanError> {
    let lower = uri
        .get(..8)
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    let exact = ["https://", "HTTPS://", "http://", "HTTP://"]
        .iter()
        .any(|s| uri.starts_with(s));
    if (lower.starts_with("https://") || lower.starts_with("http://")) && !exact {
        return Err(dl_error(
            "the scheme must be http or https, all lower case or all upper case",
        ));
    }
    try_parse_digital_link(uri)?
        .ok_or_else(|| dl_error("no GS1 primary key (such as /01/<GTIN>) found in the URI path"))
}

/// Parses `uri` as a GS1 Digital Link. Returns `Ok(None)` when it is not one at all (not an
/// `http://` / `https://` URI in all lower or all upper case, or no primary key in its path), so
/// that plain URLs are treated as text, as the engine's scan-data processing does.
pub fn try_parse_digital_link(uri: &str) -> Result<Option<DigitalLink>, ScanError> {
    let scheme_len = if uri.starts_with("https://") || uri.starts_with("HTTPS://") {
        8
    } else if uri.starts_with("http://") || uri.starts_with("HTTP://") {
        7
    } else {
        return Ok(None);
    };
    let (scheme, after_scheme) = uri.split_at(scheme_len);
    let Some(slash) = after_scheme.find('/') else {
        return Ok(None);
    };
    let (domain, rest) = after_scheme.split_at(slash);
    let rest = rest.split('#').next().unwrap_or_default();
    let (path, query) = match rest.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (rest, None),
    };
    let trailing_slash = path.len() > 1 && path.ends_with('/');
    let search_path = if trailing_slash {
        path.get(..path.len() - 1).unwrap_or_default()
    } else {
        path
    };
    let segments: Vec<&str> = search_path
        .get(1..)
        .unwrap_or_default()
        .split('/')
        .collect();

    // Search backwards from the end of the path for "/AI/value" pairs until a primary key.
    let mut key_index = None;
    let mut i = segments.len();
    while i >= 2 {
        i -= 2;
        let Some(entry) = segments.get(i).and_then(|ai| ai_table::lookup(ai)) else {
            break;
        };
        if entry.is_dl_primary_key() {
            key_index = Some(i);
            break;
        }
    }
    let Some(key_index) = key_index else {
        return Ok(None);
    };

    // From here on the URI is meant to be a Digital Link: be strict.
    if let Some(c) = uri.bytes().find(|b| !URI_CHARACTERS.contains(b)) {
        return Err(dl_error(format!(
            "character {:?} is not allowed in a URI",
            char::from(c)
        )));
    }
    if domain.is_empty() {
        return Err(dl_error("the URI has no domain"));
    }
    if domain.bytes().any(|b| BAD_DOMAIN_CHARACTERS.contains(&b)) {
        return Err(dl_error(
            "the domain contains a character not allowed there",
        ));
    }
    if trailing_slash {
        return Err(dl_error("the URI must not end with a slash"));
    }

    let stem_segments = segments.get(..key_index).unwrap_or_default();
    let mut stem = format!("{scheme}{domain}");
    for s in stem_segments {
        stem.push('/');
        stem.push_str(s);
    }

    // Path: key and qualifiers.
    let mut path_elements = Vec::new();
    for pair in segments.get(key_index..).unwrap_or_default().chunks(2) {
        let [ai, raw] = pair else {
            return Err(dl_error("the path ends with an AI without a value"));
        };
        if raw.is_empty() {
            return Err(dl_error(format!(
                "AI ({ai}) has an empty value in the path"
            )));
        }
        let value = percent_decode(raw, false)?;
        path_elements.push(element_string::make_element(ai, &value)?);
    }
    let Some(key_entry) = path_elements.first().and_then(AiElement::entry) else {
        return Err(dl_error("no GS1 primary key found in the URI path"));
    };
    let path_ais: Vec<&str> = path_elements.iter().map(|e| e.ai.as_str()).collect();
    let qualifier_ais = path_ais.get(1..).unwrap_or_default();
    if !valid_qualifier_sequence(key_entry, qualifier_ais) {
        return Err(dl_error(format!(
            "the path qualifiers {} are not allowed after key ({}) in this order; allowed: {}",
            qualifier_ais
                .iter()
                .map(|q| format!("({q})"))
                .collect::<String>(),
            key_entry.first,
            describe_sequences(key_entry)
        )));
    }

    // Query: data attributes.
    let mut attributes: Vec<AiElement> = Vec::new();
    let mut other_parameters = Vec::new();
    for param in query
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
    {
        let Some((name, raw)) = param.split_once('=') else {
            other_parameters.push(param.to_string());
            continue;
        };
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_digit()) {
            other_parameters.push(param.to_string());
            continue;
        }
        let Some(entry) = ai_table::lookup(name) else {
            return Err(dl_error(format!("unknown AI ({name}) in the query string")));
        };
        if raw.is_empty() {
            return Err(dl_error(format!(
                "AI ({name}) has an empty value in the query string"
            )));
        }
        let mut value = percent_decode(raw, true)?;
        if name == "01" && matches!(value.len(), 8 | 12 | 13) {
            value = format!("{value:0>14}");
        }
        let element = element_string::make_element(name, &value)?;
        let duplicate = path_elements
            .iter()
            .chain(attributes.iter())
            .any(|e| e.ai == element.ai);
        if duplicate {
            return Err(dl_error(format!("AI ({name}) appears more than once")));
        }
        if !entry.dl_data_attribute {
            return Err(dl_error(format!(
                "AI ({name}) is not allowed as a Digital Link data attribute"
            )));
        }
        for pos in 1..=path_ais.len() {
            let mut trial: Vec<&str> = path_ais.clone();
            trial.insert(pos, name);
            if valid_qualifier_sequence(key_entry, trial.get(1..).unwrap_or_default()) {
                return Err(dl_error(format!(
                    "AI ({name}) is a key qualifier and belongs in the path, not in the query string"
                )));
            }
        }
        attributes.push(element);
    }

    let mut elements = path_elements.into_iter();
    let Some(key) = elements.next() else {
        return Err(dl_error("no GS1 primary key found in the URI path"));
    };
    let dl = DigitalLink {
        stem,
        key,
        qualifiers: elements.collect(),
        attributes,
        other_parameters,
    };
    element_string::check_per_scan_rules(&dl.to_gs1_data())?;
    Ok(Some(dl))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn engine_form(dl: &DigitalLink) -> String {
        dl.to_gs1_data().to_bracketed()
    }

    // Vectors from gs1-syntax-engine src/c-lib/dl.c test_dl_parseDLuri (© GS1 AISBL,
    // Apache-2.0), expected results converted from "^..." element strings to bracketed form.
    #[test]
    fn digital_link_uris_from_the_engine_unit_tests_parse() -> Result<(), ScanError> {
        let cases = [
            ("http://a/00/006141411234567890", "(00)006141411234567890"),
            ("HTTP://a/00/006141411234567890", "(00)006141411234567890"),
            ("https://a/00/006141411234567890", "(00)006141411234567890"),
            ("HTTPS://a/00/006141411234567890", "(00)006141411234567890"),
            ("https://a/01/12312312312333", "(01)12312312312333"),
            (
                "https://xn--fsq.xn--0zwm56d/01/12312312312333",
                "(01)12312312312333",
            ),
            ("https://a./01/12312312312333", "(01)12312312312333"),
            ("https://a:65535/01/12312312312333", "(01)12312312312333"),
            ("https://192.0.2.1/01/12312312312333", "(01)12312312312333"),
            (
                "https://[2001:db8::1]/01/12312312312333",
                "(01)12312312312333",
            ),
            (
                "https://a/stem/00/006141411234567890",
                "(00)006141411234567890",
            ),
            (
                "https://a/more/stem/00/006141411234567890",
                "(00)006141411234567890",
            ),
            (
                "https://a/00/faux/00/006141411234567890",
                "(00)006141411234567890",
            ),
            (
                "https://a/01/12312312312333/22/TEST/10/ABC/21/XYZ",
                "(01)12312312312333(22)TEST(10)ABC(21)XYZ",
            ),
            (
                "https://a/01/12312312312333/235/TEST",
                "(01)12312312312333(235)TEST",
            ),
            ("https://a/253/1231231231232", "(253)1231231231232"),
            (
                "https://a/253/1231231231232TEST5678901234567",
                "(253)1231231231232TEST5678901234567",
            ),
            (
                "https://a/8018/123456789012345675/8019/123",
                "(8018)123456789012345675(8019)123",
            ),
            (
                "https://a/stem/00/006141411234567890?",
                "(00)006141411234567890",
            ),
            (
                "https://a/stem/00/006141411234567890?99=ABC",
                "(00)006141411234567890(99)ABC",
            ),
            ("https://a/stem/401/12345678?99=ABC", "(401)12345678(99)ABC"),
            (
                "https://a/01/12312312312333?99=ABC&98=XYZ",
                "(01)12312312312333(99)ABC(98)XYZ",
            ),
            (
                "https://a/01/12312312312333?&&&99=ABC&&&&&&98=XYZ&&&",
                "(01)12312312312333(99)ABC(98)XYZ",
            ),
            (
                "https://a/01/12312312312333?99=ABC&unknown=666&98=XYZ",
                "(01)12312312312333(99)ABC(98)XYZ",
            ),
            (
                "https://a/01/12312312312333?singleton1&unknown1=555&99=ABC&singleton2&98=XYZ",
                "(01)12312312312333(99)ABC(98)XYZ",
            ),
            (
                "https://a/01/12312312312333/22/ABC%2d123?99=ABC&98=XYZ%2f987",
                "(01)12312312312333(22)ABC-123(99)ABC(98)XYZ/987",
            ),
            (
                "https://a/01/12312312312333/22/ABC+123?99=ABC&98=XYZ%2f987",
                "(01)12312312312333(22)ABC+123(99)ABC(98)XYZ/987",
            ),
            (
                "https://a/01/12312312312333/22/test/10/abc/21/xyz#fragment",
                "(01)12312312312333(22)test(10)abc(21)xyz",
            ),
            (
                "https://a/stem/00/006141411234567890?99=ABC#",
                "(00)006141411234567890(99)ABC",
            ),
            ("https://id.gs1.org/01/09520123456788", "(01)09520123456788"),
            (
                "https://id.gs1.org/01/09520123456788/22/2A",
                "(01)09520123456788(22)2A",
            ),
            (
                "https://id.gs1.org/01/09520123456788/10/ABC123",
                "(01)09520123456788(10)ABC123",
            ),
            (
                "https://id.gs1.org/01/09520123456788/21/12345",
                "(01)09520123456788(21)12345",
            ),
            (
                "https://id.gs1.org/01/09520123456788/10/ABC1/21/12345?17=180426",
                "(01)09520123456788(10)ABC1(21)12345(17)180426",
            ),
            (
                "https://id.gs1.org/01/09520123456788?3103=000195",
                "(01)09520123456788(3103)000195",
            ),
            (
                "https://example.com/01/09520123456788?3103=000195&3922=0299&17=201225",
                "(01)09520123456788(3103)000195(3922)0299(17)201225",
            ),
            (
                "https://id.gs1.org/00/952012345678912345",
                "(00)952012345678912345",
            ),
            (
                "https://id.gs1.org/00/952012345678912345?02=09520123456788&37=25&10=ABC123",
                "(00)952012345678912345(02)09520123456788(37)25(10)ABC123",
            ),
            ("https://id.gs1.org/414/9520123456788", "(414)9520123456788"),
            (
                "https://id.gs1.org/414/9520123456788/254/32a%2Fb",
                "(414)9520123456788(254)32a/b",
            ),
            (
                "https://example.com/8004/9520614141234567?01=9520123456788",
                "(8004)9520614141234567(01)09520123456788",
            ),
            (
                "https://id.gs1.org/01/09520123456788/235/XYZ?10=ABC123",
                "(01)09520123456788(235)XYZ(10)ABC123",
            ),
        ];
        for (uri, expected) in cases {
            let dl = parse_digital_link(uri)?;
            assert_eq!(engine_form(&dl), expected, "{uri}");
        }
        Ok(())
    }

    #[test]
    fn invalid_digital_link_uris_from_the_engine_unit_tests_are_rejected() {
        for uri in [
            "",
            "ftp://",
            "http://",
            "http:///",
            "http://a",
            "http://a/",
            "http://a/b",
            "http://a/b/",
            "HtTp://a/b/00/006141411234567890",
            "https://00/006141411234567890",
            "https://[fe80::1%25lo]/01/12312312312333",
            "https://$a/006141411234567890",
            "https://a/gtin/12312312312333",
            "https://a/01/2112345678900",
            "https://a/01/416000336108",
            "https://a/01/02345673",
            "https://a/253/1231231231232TEST56789012345678",
            "https://a/stem/00/006141411234567890/",
            "https://a/01/12312312312333?99=",
            "https://a/01/12312312312333?99=ABC&999=faux",
            "https://a/01/12312312312333/22/ABC%2d123?99=ABC&98=XYZ+987",
            "https://example.com/01/09520123456788?10=ABC123",
            "https://id.gs1.org/01/09520123456788/10/ABC123?99=XYZ789&01=09520123456788",
            "https://id.gs1.org/01/09520123456788/10/ABC123?99=XYZ789&10=ABC123",
            "https://id.gs1.org/01/09520123456788/10/ABC123?99=XYZ789&99=XYZ789",
            "https://example.com/01/09520123456788/89/ABC123?99=XYZ",
            "https://example.com/01/09520123456788?99=XYZ&89=ABC123",
        ] {
            assert!(parse_digital_link(uri).is_err(), "{uri} should be rejected");
        }
    }

    #[test]
    fn qualifiers_out_of_order_are_rejected() {
        let r = parse_digital_link("https://id.gs1.org/01/09520123456788/10/ABC/22/XYZ");
        assert!(r.is_err());
        // Alternatives must not be mixed.
        assert!(
            parse_digital_link("https://id.gs1.org/01/09520123456788/22/A/10/B/235/C").is_err()
        );
    }

    #[test]
    fn a_non_attribute_ai_in_the_query_is_rejected() {
        // (21) carries no "?" flag: it can only be a path qualifier.
        let r = parse_digital_link("https://id.gs1.org/00/952012345678912345?21=ABC");
        assert!(
            matches!(r, Err(ScanError::DigitalLink(m)) if m.contains("not allowed as a Digital Link data attribute"))
        );
    }

    #[test]
    fn a_bad_check_digit_in_the_key_is_rejected() {
        assert!(matches!(
            parse_digital_link("https://id.gs1.org/01/09520123456789"),
            Err(ScanError::InvalidValue { .. })
        ));
    }

    #[test]
    fn plus_means_space_only_in_the_query() -> Result<(), ScanError> {
        assert_eq!(percent_decode("A+B", false)?, "A+B");
        assert_eq!(percent_decode("A+B", true)?, "A B");
        assert_eq!(percent_decode("A%20B%4f%4g", false)?, "A BO%4g");
        assert!(percent_decode("A%00B", false).is_err());
        Ok(())
    }

    #[test]
    fn a_plain_web_address_is_not_a_digital_link() -> Result<(), ScanError> {
        assert_eq!(
            try_parse_digital_link("https://example.com/products/42")?,
            None
        );
        assert_eq!(try_parse_digital_link("https://example.com")?, None);
        assert_eq!(try_parse_digital_link("mailto:x@example.com")?, None);
        Ok(())
    }

    #[test]
    fn the_stem_keeps_domain_and_extra_path() -> Result<(), ScanError> {
        let dl = parse_digital_link(
            "https://brand.example.com/some-extra/pathinfo/01/09520123456788?foo=bar",
        )?;
        assert_eq!(dl.stem, "https://brand.example.com/some-extra/pathinfo");
        assert_eq!(dl.key.value, "09520123456788");
        assert_eq!(dl.other_parameters, vec!["foo=bar".to_string()]);
        Ok(())
    }
}
