//! Client side of the `stockpost-hub` subcommands: they talk to a running hub's HTTP API with
//! a bearer token, so they obey the same roles, validation and audit trail as any client.

use std::time::Duration;

/// Why a subcommand failed.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The hub could not be reached.
    #[error("cannot reach the hub at {url}: {source}")]
    Http {
        /// The URL.
        url: String,
        /// Why.
        source: reqwest::Error,
    },
    /// The hub answered with an error.
    #[error("{method} {path}: the hub answered {status}: {body}")]
    Status {
        /// The method.
        method: &'static str,
        /// The path.
        path: String,
        /// The status.
        status: u16,
        /// The body.
        body: String,
    },
    /// A file could not be read (or written).
    #[error("cannot read or write {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// A file's content is wrong.
    #[error("{path} line {line}: {message}")]
    Input {
        /// The file.
        path: String,
        /// Line (1-based).
        line: usize,
        /// What is wrong.
        message: String,
    },
}

/// A client of the hub's API.
#[derive(Debug, Clone)]
pub struct Client {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl Client {
    /// For `base` (e.g. `http://127.0.0.1:8080`) and a bearer token.
    pub fn new(base: &str, token: &str) -> Result<Self, CliError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|source| CliError::Http {
                url: base.to_string(),
                source,
            })?;
        Ok(Self {
            base: base.trim_end_matches('/').to_string(),
            token: token.to_string(),
            http,
        })
    }

    /// Sends a request; returns the JSON answer.
    pub async fn send(
        &self,
        method: &'static str,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<serde_json::Value, CliError> {
        let url = format!("{}/api/v1{path}", self.base);
        let m = match method {
            "PUT" => reqwest::Method::PUT,
            "POST" => reqwest::Method::POST,
            _ => reqwest::Method::GET,
        };
        let mut req = self.http.request(m, &url).bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req.send().await.map_err(|source| CliError::Http {
            url: url.clone(),
            source,
        })?;
        let status = resp.status().as_u16();
        let text = resp.text().await.map_err(|source| CliError::Http {
            url: url.clone(),
            source,
        })?;
        if status >= 300 {
            return Err(CliError::Status {
                method,
                path: path.to_string(),
                status,
                body: text,
            });
        }
        Ok(serde_json::from_str(&text).unwrap_or(serde_json::Value::Null))
    }
}

/// `node-credentials NODE`: asks the hub for a new sync credential of `node`.
pub async fn issue_credential(
    client: &Client,
    node: &str,
) -> Result<stockpost_common::wire::SyncKey, CliError> {
    let path = format!("/nodes/{node}/credential");
    let answer = client.send("POST", &path, None).await?;
    let hex = answer["credential"].as_str().unwrap_or_default();
    stockpost_common::wire::SyncKey::from_hex(hex).map_err(|e| CliError::Input {
        path,
        line: 0,
        message: format!("the hub's answer has no valid credential: {e}"),
    })
}

/// Writes `key` as a credential file: 64 hex digits and a newline, mode 0600, replacing the
/// file atomically (written beside it, then renamed).
pub fn write_credential(
    path: &std::path::Path,
    key: &stockpost_common::wire::SyncKey,
) -> Result<(), CliError> {
    use std::io::Write as _;
    let err = |source| CliError::Read {
        path: path.display().to_string(),
        source,
    };
    let tmp = path.with_extension("tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&tmp).map_err(err)?;
    writeln!(file, "{}", key.to_hex()).map_err(err)?;
    file.sync_all().map_err(err)?;
    std::fs::rename(&tmp, path).map_err(err)?;
    Ok(())
}

fn read(path: &str) -> Result<String, CliError> {
    std::fs::read_to_string(path).map_err(|source| CliError::Read {
        path: path.to_string(),
        source,
    })
}

/// Splits one CSV line (RFC 4180 quotes; no line breaks inside fields).
pub fn csv_fields(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            ('"', true) => quoted = false,
            ('"', false) if cur.is_empty() => quoted = true,
            (',', false) => out.push(std::mem::take(&mut cur)),
            (c, _) => cur.push(c),
        }
    }
    out.push(cur);
    out.into_iter().map(|f| f.trim().to_string()).collect()
}

/// One CSV row: its line number and header → value.
pub type CsvRow = (usize, std::collections::BTreeMap<String, String>);

/// Rows of a CSV file with a header line, as (line number, header → value).
pub fn csv_rows(path: &str, text: &str, required: &[&str]) -> Result<Vec<CsvRow>, CliError> {
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let Some((_, header)) = lines.next() else {
        return Ok(Vec::new());
    };
    let header = csv_fields(header);
    for r in required {
        if !header.iter().any(|h| h == r) {
            return Err(CliError::Input {
                path: path.to_string(),
                line: 1,
                message: format!("the header has no column {r:?}"),
            });
        }
    }
    Ok(lines
        .map(|(i, l)| {
            let fields = csv_fields(l);
            (i + 1, header.iter().cloned().zip(fields).collect())
        })
        .collect())
}

/// `import-items FILE.csv`: columns sku, description, and optionally gtin, pack, qty_per_pack,
/// tracking, expiry_controlled, unit_weight_kg, weight_tolerance_pct, unit_value. Rows with the
/// same SKU add GTINs (one pack level per row).
pub async fn import_items(client: &Client, path: &str) -> Result<usize, CliError> {
    let text = read(path)?;
    let rows = csv_rows(path, &text, &["sku", "description"])?;
    let mut items: std::collections::BTreeMap<String, serde_json::Value> = Default::default();
    for (line, row) in rows {
        let get = |k: &str| row.get(k).map(String::as_str).filter(|v| !v.is_empty());
        let sku = get("sku").ok_or_else(|| CliError::Input {
            path: path.to_string(),
            line,
            message: "sku is empty".into(),
        })?;
        let entry = items.entry(sku.to_string()).or_insert_with(|| {
            let mut v = serde_json::json!({
                "description": get("description").unwrap_or(""),
                "gtins": [],
                "tracking": get("tracking").unwrap_or("none"),
                "expiry_controlled": get("expiry_controlled") == Some("true"),
            });
            for k in ["unit_weight_kg", "weight_tolerance_pct", "unit_value"] {
                if let Some(x) = get(k) {
                    v[k] = serde_json::json!(x);
                }
            }
            v
        });
        if let Some(gtin) = get("gtin") {
            if let Some(list) = entry["gtins"].as_array_mut() {
                list.push(serde_json::json!({
                    "gtin": gtin,
                    "pack": get("pack").unwrap_or("each"),
                    "qty_per_pack": get("qty_per_pack").unwrap_or("1"),
                }));
            }
        }
    }
    for (sku, body) in &items {
        client
            .send("PUT", &format!("/items/{sku}"), Some(body))
            .await?;
    }
    Ok(items.len())
}

/// `import-locations FILE.csv`: columns node, code, kind, and optionally pickable, capacity.
pub async fn import_locations(client: &Client, path: &str) -> Result<usize, CliError> {
    let text = read(path)?;
    let rows = csv_rows(path, &text, &["node", "code", "kind"])?;
    let mut n = 0;
    for (line, row) in rows {
        let get = |k: &str| row.get(k).map(String::as_str).filter(|v| !v.is_empty());
        let (Some(node), Some(code), Some(kind)) = (get("node"), get("code"), get("kind")) else {
            return Err(CliError::Input {
                path: path.to_string(),
                line,
                message: "node, code and kind must not be empty".into(),
            });
        };
        let mut body = serde_json::json!({ "kind": kind });
        if let Some(p) = get("pickable") {
            body["pickable"] = serde_json::json!(p == "true");
        }
        if let Some(c) = get("capacity") {
            body["capacity"] = serde_json::json!(c);
        }
        client
            .send(
                "PUT",
                &format!("/nodes/{node}/locations/{code}"),
                Some(&body),
            )
            .await?;
        n += 1;
    }
    Ok(n)
}

fn json_docs(path: &str) -> Result<Vec<serde_json::Value>, CliError> {
    let text = read(path)?;
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| CliError::Input {
        path: path.to_string(),
        line: e.line(),
        message: e.to_string(),
    })?;
    Ok(match v {
        serde_json::Value::Array(list) => list,
        other => vec![other],
    })
}

/// `order FILE.json`: one order body as in `POST /orders`, or a list of them.
pub async fn create_orders(
    client: &Client,
    path: &str,
) -> Result<Vec<serde_json::Value>, CliError> {
    let mut out = Vec::new();
    for doc in json_docs(path)? {
        out.push(client.send("POST", "/orders", Some(&doc)).await?);
    }
    Ok(out)
}

/// `inbound --node N FILE.json`: one inbound notice body, or a list of them.
pub async fn create_inbound(
    client: &Client,
    node: &str,
    path: &str,
) -> Result<Vec<serde_json::Value>, CliError> {
    let mut out = Vec::new();
    for doc in json_docs(path)? {
        out.push(
            client
                .send("POST", &format!("/nodes/{node}/inbound"), Some(&doc))
                .await?,
        );
    }
    Ok(out)
}

/// Every balance line `GET /stock?{query}` lists, `page` lines per request, following the
/// pages' `next` cursors.
pub async fn all_stock(
    client: &Client,
    query: &str,
    page: usize,
) -> Result<Vec<serde_json::Value>, CliError> {
    let mut rows = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let cursor = after
            .as_deref()
            .map(|a| format!("&after={a}"))
            .unwrap_or_default();
        let page = client
            .send("GET", &format!("/stock?{query}&limit={page}{cursor}"), None)
            .await?;
        if let Some(lines) = page["balances"].as_array() {
            rows.extend(lines.iter().cloned());
        }
        match page["next"].as_str() {
            Some(next) => after = Some(next.to_string()),
            None => return Ok(rows),
        }
    }
}
