//! Cross-check of [`super::ai_table::AI_TABLE`] against the GS1 Barcode Syntax Dictionary file,
//! when the shared test data is present next to the repository.

#![cfg(test)]

use super::ai_table::{AiEntry, CharSet, AI_TABLE};

const DICTIONARY: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/testdata/gs1-syntax-dictionary.txt"
);

/// One dictionary line, parsed independently of the table's own representation.
#[derive(Debug, PartialEq)]
struct Line {
    first: String,
    last: String,
    predefined: bool,
    dl_attr: bool,
    components: Vec<(char, u8, u8, bool, Vec<String>)>,
    req: Vec<Vec<Vec<String>>>,
    ex: Vec<String>,
    dlpkey: Option<Vec<Vec<String>>>,
    title: String,
}

fn parse_component(token: &str) -> Result<(char, u8, u8, bool, Vec<String>), String> {
    let mut parts = token.split(',');
    let spec = parts.next().ok_or("empty component")?;
    let optional = spec.starts_with('[');
    let spec = spec.trim_start_matches('[').trim_end_matches(']');
    let mut chars = spec.chars();
    let cset = chars.next().ok_or("no charset")?;
    let rest: String = chars.collect();
    let (min, max) = match rest.strip_prefix("..") {
        Some(n) => (1, n.parse::<u8>().map_err(|e| format!("{token}: {e}"))?),
        None => {
            let n = rest.parse::<u8>().map_err(|e| format!("{token}: {e}"))?;
            (n, n)
        }
    };
    Ok((
        cset,
        min,
        max,
        optional,
        parts.map(str::to_string).collect(),
    ))
}

fn parse_line(line: &str) -> Result<Line, String> {
    let (body, title) = match line.split_once('#') {
        Some((b, t)) => (b, t.trim().to_string()),
        None => (line, String::new()),
    };
    let mut tokens = body.split_whitespace().peekable();
    let ais = tokens.next().ok_or("no AI")?;
    let (first, last) = ais.split_once('-').unwrap_or((ais, ais));
    let flag_chars = "*!?\"$%&'()+,-./:;<=>@[\\]^_`{|}~";
    let flags = match tokens.peek() {
        Some(t) if t.chars().all(|c| flag_chars.contains(c)) => tokens.next().unwrap_or_default(),
        _ => "",
    };
    let mut l = Line {
        first: first.to_string(),
        last: last.to_string(),
        predefined: flags.contains('*'),
        dl_attr: flags.contains('?'),
        components: Vec::new(),
        req: Vec::new(),
        ex: Vec::new(),
        dlpkey: None,
        title,
    };
    let split_alt = |s: &str| -> Vec<Vec<String>> {
        s.split(',')
            .map(|alt| alt.split('+').map(str::to_string).collect())
            .collect()
    };
    for t in tokens {
        if let Some(r) = t.strip_prefix("req=") {
            l.req.push(split_alt(r));
        } else if let Some(e) = t.strip_prefix("ex=") {
            l.ex.extend(e.split(',').map(str::to_string));
        } else if t == "dlpkey" {
            l.dlpkey = Some(Vec::new());
        } else if let Some(d) = t.strip_prefix("dlpkey=") {
            l.dlpkey = Some(
                d.split('|')
                    .map(|s| s.split(',').map(str::to_string).collect())
                    .collect(),
            );
        } else if t.contains('=') {
            return Err(format!("unknown attribute {t}"));
        } else {
            l.components.push(parse_component(t)?);
        }
    }
    Ok(l)
}

fn from_table(e: &AiEntry) -> Line {
    let letter = |c: CharSet| c.letter();
    Line {
        first: e.first.to_string(),
        last: e.last.to_string(),
        predefined: e.predefined_length,
        dl_attr: e.dl_data_attribute,
        components: e
            .components
            .iter()
            .map(|c| {
                (
                    letter(c.cset),
                    c.min,
                    c.max,
                    c.optional,
                    c.linters.iter().map(|l| l.name().to_string()).collect(),
                )
            })
            .collect(),
        req: e
            .req
            .iter()
            .map(|r| {
                r.iter()
                    .map(|alt| alt.iter().map(|s| s.to_string()).collect())
                    .collect()
            })
            .collect(),
        ex: e.ex.iter().map(|s| s.to_string()).collect(),
        dlpkey: e.dl_primary_key.map(|d| {
            d.iter()
                .map(|seq| seq.iter().map(|s| s.to_string()).collect())
                .collect()
        }),
        title: e.title.to_string(),
    }
}

#[test]
fn ai_table_matches_the_gs1_syntax_dictionary() -> Result<(), String> {
    let Ok(text) = std::fs::read_to_string(DICTIONARY) else {
        println!(
            "SKIPPED ai_table_matches_the_gs1_syntax_dictionary: {DICTIONARY} not found \
             (the shared test data is not checked out next to this repository)"
        );
        return Ok(());
    };
    let lines: Vec<Line> = text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(parse_line)
        .collect::<Result<_, _>>()?;
    assert_eq!(
        lines.len(),
        AI_TABLE.len(),
        "the dictionary and the table have different numbers of entries"
    );
    for (dict, table) in lines.iter().zip(AI_TABLE) {
        assert_eq!(dict, &from_table(table), "entry {}", dict.first);
    }
    Ok(())
}

#[test]
fn every_ai_in_the_table_is_found_by_lookup_and_the_table_is_prefix_free() {
    let mut all = Vec::new();
    for e in AI_TABLE {
        let (Ok(first), Ok(last)) = (e.first.parse::<u32>(), e.last.parse::<u32>()) else {
            panic!("non-numeric AI range {}", e.first);
        };
        for n in first..=last {
            let ai = format!("{n:0width$}", width = e.first.len());
            assert_eq!(super::ai_table::lookup(&ai), Some(e), "{ai}");
            all.push(ai);
        }
    }
    for a in &all {
        for b in &all {
            assert!(
                a == b || !b.starts_with(a.as_str()),
                "{a} is a prefix of {b}"
            );
        }
    }
    assert!(all.len() > 500, "expanded AI count {}", all.len());
}

#[test]
fn table_entries_are_in_lexical_order_and_well_formed() {
    for pair in AI_TABLE.windows(2) {
        if let [a, b] = pair {
            assert!(a.last < b.first || a.first.len() != b.first.len() || a.first < b.first);
        }
    }
    for e in AI_TABLE {
        assert!(!e.components.is_empty(), "{}", e.first);
        if e.predefined_length {
            assert_eq!(
                e.min_length(),
                e.max_length(),
                "{} predefined but variable",
                e.first
            );
        }
        let mut seen_optional = false;
        for c in e.components {
            assert!(
                !seen_optional || c.optional,
                "{}: mandatory after optional",
                e.first
            );
            seen_optional |= c.optional;
        }
    }
}
