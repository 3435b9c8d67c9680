//! docs/openapi.yaml against the hub (issue #19): it names every route and method of the router
//! and nothing more, every operation has a response schema and the error shape, and the real
//! responses of a running hub, with data in every list, match the schemas (no field missing,
//! none undocumented, every type right).

#![allow(clippy::unwrap_used)]

use serde_json::{json, Map, Value};
use std::collections::BTreeSet;
use std::path::Path;
use std::str::FromStr;
use stockpost_common::domain::{
    ContainerId, Dec, EventBody, LocationCode, NonNegQty, OrderRef, PackLine, Place, Qty,
    ReasonCode, Sku, StockRef, StockStatus,
};
use stockpost_hub::node::HubNode;
use stockpost_tests::hubapi::{
    hub_config_with_api, inject, send_batch, Api, ADMIN, APPROVER, OPERATOR, VIEWER,
};
use stockpost_tests::shift::{poll, WAIT};
use yaml_rust2::{Yaml, YamlLoader};

const METHODS: [&str; 5] = ["GET", "POST", "PUT", "DELETE", "PATCH"];

fn to_json(y: &Yaml) -> Value {
    match y {
        Yaml::Real(s) => s.parse::<f64>().map_or(Value::Null, |f| json!(f)),
        Yaml::Integer(i) => json!(i),
        Yaml::String(s) => json!(s),
        Yaml::Boolean(b) => json!(b),
        Yaml::Array(a) => Value::Array(a.iter().map(to_json).collect()),
        Yaml::Hash(h) => {
            let mut m = Map::new();
            for (k, v) in h {
                let key = match k {
                    Yaml::String(s) => s.clone(),
                    Yaml::Integer(i) => i.to_string(),
                    other => format!("{other:?}"),
                };
                m.insert(key, to_json(v));
            }
            Value::Object(m)
        }
        _ => Value::Null,
    }
}

fn openapi() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/openapi.yaml");
    let text = std::fs::read_to_string(path).unwrap();
    let docs = YamlLoader::load_from_str(&text).unwrap();
    to_json(&docs[0])
}

/// `path` with each `{param}` replaced by `with`: `/orders/{ref}/cancel` → `/orders/{}/cancel`
/// (parameter names do not matter to routing) or `/orders/1/cancel` (a sample request).
fn fill(path: &str, with: &str) -> String {
    let mut out = String::new();
    let mut in_param = false;
    for c in path.chars() {
        match c {
            '{' => {
                in_param = true;
                out.push_str(with);
            }
            '}' => in_param = false,
            _ if in_param => {}
            _ => out.push(c),
        }
    }
    out
}

fn shape(path: &str) -> String {
    fill(path, "{}")
}

fn documented_operations(doc: &Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in METHODS {
            if item.get(method.to_lowercase()).is_some() {
                out.insert((shape(path), method.to_string()));
            }
        }
    }
    out
}

fn routed_operations() -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for route in stockpost_hub::http::api_routes() {
        for m in route.methods {
            out.insert((shape(route.path), m.to_string()));
        }
    }
    out
}

#[test]
fn the_openapi_document_names_every_route_and_method_of_the_router_and_no_other() {
    let documented = documented_operations(&openapi());
    let routed = routed_operations();
    let missing: Vec<_> = routed.difference(&documented).collect();
    let extra: Vec<_> = documented.difference(&routed).collect();
    assert!(
        missing.is_empty(),
        "routes not in docs/openapi.yaml: {missing:?}"
    );
    assert!(
        extra.is_empty(),
        "docs/openapi.yaml names routes the hub does not have: {extra:?}"
    );
    assert!(
        routed.len() >= 28,
        "the router's table was read: {routed:?}"
    );
}

#[test]
fn every_operation_has_a_summary_a_success_schema_and_the_error_shape() {
    let doc = openapi();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in METHODS {
            let Some(op) = item.get(method.to_lowercase()) else {
                continue;
            };
            let at = format!("{method} {path}");
            assert!(op["summary"].is_string(), "{at}: no summary");
            let responses = op["responses"].as_object().unwrap();
            assert_eq!(
                responses.get("default").map(|d| &d["$ref"]),
                Some(&json!("#/components/responses/Error")),
                "{at}: no error response"
            );
            let success: Vec<_> = responses
                .iter()
                .filter(|(code, _)| code.starts_with('2'))
                .collect();
            assert!(!success.is_empty(), "{at}: no 2xx response");
            for (code, r) in success {
                let content = r["content"].as_object();
                let has_schema =
                    content.is_some_and(|c| c.values().all(|m| m["schema"].is_object()));
                assert!(has_schema, "{at} {code}: no response schema");
            }
            if let Some(body) = op.get("requestBody") {
                assert!(
                    body["content"]["application/json"]["schema"].is_object(),
                    "{at}: request body without a schema"
                );
            }
            if method == "PUT" {
                assert!(
                    op.get("requestBody").is_some(),
                    "{at}: a PUT without a body"
                );
            }
        }
    }
}

/// The schema `$ref` points to.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(r) => {
            let mut at = doc;
            for part in r.trim_start_matches("#/").split('/') {
                at = &at[part];
            }
            assert!(!at.is_null(), "unresolved $ref {r}");
            resolve(doc, at)
        }
        None => schema,
    }
}

/// Every way `value` breaks `schema`, each with the JSON path where.
fn check(doc: &Value, schema: &Value, value: &Value, at: &str, errors: &mut Vec<String>) {
    let schema = resolve(doc, schema);
    if value.is_null() {
        if schema["nullable"] != true {
            errors.push(format!("{at}: null, but not nullable"));
        }
        return;
    }
    if let Some(all) = schema["allOf"].as_array() {
        for s in all {
            check(doc, s, value, at, errors);
        }
    }
    let ty = schema["type"]
        .as_str()
        .or_else(|| (schema.get("properties").is_some()).then_some("object"));
    let ok = match ty {
        None => true,
        Some("object") => value.is_object(),
        Some("array") => value.is_array(),
        Some("string") => value.is_string(),
        Some("integer") => value.is_i64() || value.is_u64(),
        Some("number") => value.is_number(),
        Some("boolean") => value.is_boolean(),
        Some(other) => {
            errors.push(format!("{at}: unknown schema type {other}"));
            true
        }
    };
    if !ok {
        errors.push(format!("{at}: {value} is not {}", ty.unwrap_or("?")));
        return;
    }
    if let (Some(allowed), Some(s)) = (schema["enum"].as_array(), value.as_str()) {
        if !allowed.iter().any(|a| a == s) {
            errors.push(format!("{at}: {s:?} is not one of {allowed:?}"));
        }
    }
    if let Some(items) = schema.get("items") {
        for (i, v) in value.as_array().into_iter().flatten().enumerate() {
            check(doc, items, v, &format!("{at}[{i}]"), errors);
        }
    }
    if let Some(obj) = value.as_object().filter(|_| ty == Some("object")) {
        check_object(doc, schema, obj, at, errors);
    }
}

fn check_object(
    doc: &Value,
    schema: &Value,
    obj: &Map<String, Value>,
    at: &str,
    errors: &mut Vec<String>,
) {
    let empty = Map::new();
    let props = schema["properties"].as_object().unwrap_or(&empty);
    for r in schema["required"].as_array().into_iter().flatten() {
        let name = r.as_str().unwrap();
        if !obj.contains_key(name) {
            errors.push(format!("{at}: required field {name} is missing"));
        }
    }
    let extra = &schema["additionalProperties"];
    for (k, v) in obj {
        let here = format!("{at}.{k}");
        match props.get(k) {
            Some(s) => check(doc, s, v, &here, errors),
            None if extra == true => {}
            None if extra.is_object() => check(doc, extra, v, &here, errors),
            None => errors.push(format!("{here}: not in the schema")),
        }
    }
}

/// Checks a response of `method path` with `status` against the document.
fn conforms(doc: &Value, method: &str, path: &str, status: u16, body: &Value) -> Vec<String> {
    let (template, item) = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .find(|(t, _)| matches(t, path))
        .unwrap_or_else(|| panic!("{path} is in no path of the document"));
    let op = &item[method.to_lowercase()];
    let response = op["responses"]
        .get(status.to_string())
        .unwrap_or(&op["responses"]["default"]);
    let response = resolve(doc, response);
    let schema = response["content"]
        .as_object()
        .and_then(|c| c.values().next())
        .map(|m| &m["schema"])
        .unwrap_or_else(|| panic!("{method} {template} {status}: no schema"));
    let mut errors = Vec::new();
    check(
        doc,
        schema,
        body,
        &format!("{method} {template} {status}"),
        &mut errors,
    );
    errors
}

/// True when `path` (without its query) fits `template`.
fn matches(template: &str, path: &str) -> bool {
    let path = path.split('?').next().unwrap_or(path);
    let t: Vec<_> = template.split('/').collect();
    let p: Vec<_> = path.split('/').collect();
    t.len() == p.len()
        && t.iter()
            .zip(&p)
            .all(|(t, p)| (t.starts_with('{') && !p.is_empty()) || t == p)
}

/// A hub with something in every list: items, nodes, locations, stock, orders (one shipped in
/// part of its life: allocated and released), an inbound notice, a return, exceptions (one
/// resolved), adjustments (one approved), tasks, audit, quarantine.
async fn populated() -> (
    tempfile::TempDir,
    HubNode,
    Api,
    Vec<(String, String, u16, Value)>,
) {
    let dir = tempfile::tempdir().unwrap();
    // Releases are made by the test, not by the timer (a release of a released order is a 409).
    let config =
        hub_config_with_api(dir.path(), "127.0.0.1:9", "[orders]\nauto_release = false").unwrap();
    let hub = HubNode::start(config).await.unwrap();
    let api = Api::new(&hub).unwrap();
    let mut seen = Vec::new();
    let writes: Vec<(&str, &str, &str, Value)> = vec![
        (
            "PUT",
            "/api/v1/items/MUG",
            OPERATOR,
            json!({"description": "Blue mug", "unit_value": "4.00",
            "gtins": [{"gtin": "09506000134352", "pack": "each", "qty_per_pack": "1"}], "unit_weight_kg": "0.35"}),
        ),
        (
            "PUT",
            "/api/v1/nodes/DC-EAST",
            ADMIN,
            json!({"name": "DC East", "priority": 1}),
        ),
        (
            "PUT",
            "/api/v1/nodes/DC-EAST/locations/A-01",
            OPERATOR,
            json!({"kind": "reserve", "pickable": true, "capacity": "500"}),
        ),
        (
            "POST",
            "/api/v1/nodes/DC-EAST/inbound",
            OPERATOR,
            json!({"ref": "ASN-1", "lines": [{"sku": "MUG", "qty": "6"}]}),
        ),
    ];
    for (method, path, token, body) in writes {
        let (status, v) = api
            .call(method, path, Some(token), Some(body))
            .await
            .unwrap();
        assert!(
            (200..300).contains(&status),
            "{method} {path}: {status} {v}"
        );
        seen.push((method.to_string(), path.to_string(), status, v));
    }
    let sku = Sku::new("MUG").unwrap();
    let a01 = LocationCode::new("A-01").unwrap();
    inject(
        &hub,
        "DC-EAST",
        vec![
            EventBody::Receive {
                location: a01.clone(),
                stock: StockRef::plain(sku.clone()),
                qty: Qty::from_str("10").unwrap(),
                status: StockStatus::Available,
                inbound: None,
            },
            // Two gains above the approval threshold: one approved, one left pending.
            EventBody::Adjust {
                place: Place::Location(a01.clone()),
                stock: StockRef::plain(sku.clone()),
                status: StockStatus::Available,
                delta: Dec::from_str("200").unwrap(),
                reason: ReasonCode::Found,
                adjustment: None,
            },
            EventBody::Adjust {
                place: Place::Location(a01),
                stock: StockRef::plain(sku),
                status: StockStatus::Available,
                delta: Dec::from_str("300").unwrap(),
                reason: ReasonCode::Found,
                adjustment: None,
            },
        ],
    )
    .await
    .unwrap();
    let order = json!({"ref": "SO-1", "channel": "web", "ship_by": "2030-01-01T00:00:00Z",
        "lines": [{"sku": "MUG", "qty": "2"}]});
    let later = json!({"ref": "SO-2", "channel": "web", "ship_by": "2030-01-01T00:00:00Z",
        "lines": [{"sku": "MUG", "qty": "1"}]});
    for (path, token, body) in [
        ("/api/v1/orders", OPERATOR, Some(order)),
        ("/api/v1/orders", OPERATOR, Some(later)),
        ("/api/v1/orders/SO-1/release", OPERATOR, None),
        ("/api/v1/orders/SO-2/cancel", OPERATOR, None),
        ("/api/v1/adjustments/1/approve", APPROVER, None),
        (
            "/api/v1/returns",
            OPERATOR,
            Some(
                json!({"rma": "RMA-1", "node": "DC-EAST", "order_ref": "SO-1",
                "lines": [{"sku": "MUG", "qty": "1"}]}),
            ),
        ),
    ] {
        let (status, v) = api.call("POST", path, Some(token), body).await.unwrap();
        assert!((200..300).contains(&status), "POST {path}: {status} {v}");
        seen.push(("POST".into(), path.into(), status, v));
    }
    // SO-1 at the node: one of two found (a short pick), packed and shipped.
    let (mug, a01) = (Sku::new("MUG").unwrap(), LocationCode::new("A-01").unwrap());
    let (tote, carton) = (
        ContainerId::new("TOTE-1").unwrap(),
        ContainerId::new("CARTON-1").unwrap(),
    );
    let so1 = OrderRef::new("SO-1").unwrap();
    let one = Qty::from_str("1").unwrap();
    let line = || PackLine {
        stock: StockRef::plain(mug.clone()),
        qty: one,
    };
    inject(
        &hub,
        "DC-EAST",
        vec![
            EventBody::Pick {
                from: a01.clone(),
                to: tote.clone(),
                stock: StockRef::plain(mug.clone()),
                qty: one,
                order: so1.clone(),
            },
            EventBody::ShortPick {
                location: a01,
                stock: StockRef::plain(mug.clone()),
                expected: Qty::from_str("2").unwrap(),
                picked: NonNegQty::from_str("1").unwrap(),
                order: so1.clone(),
            },
            EventBody::Pack {
                from: tote,
                carton: carton.clone(),
                order: so1.clone(),
                lines: vec![line()],
                measured_kg: None,
                expected_kg: None,
            },
            EventBody::Ship {
                container: carton,
                order: so1,
                sscc: None,
                lines: vec![line()],
            },
        ],
    )
    .await
    .unwrap();
    let open = api
        .ok("GET", "/api/v1/exceptions?open=true", VIEWER, None)
        .await
        .unwrap();
    let id = open["exceptions"][0]["id"].as_u64().unwrap();
    let path = format!("/api/v1/exceptions/{id}/resolve");
    let (status, v) = api
        .call(
            "POST",
            &path,
            Some(OPERATOR),
            Some(json!({"note": "checked"})),
        )
        .await
        .unwrap();
    assert_eq!(status, 200, "{v}");
    seen.push(("POST".into(), path, status, v));
    (dir, hub, api, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_response_of_a_populated_hub_matches_its_schema_in_the_openapi_document() {
    let doc = openapi();
    let (_dir, hub, api, mut seen) = populated().await;
    // A record from a node nobody registered, for the quarantine list.
    send_batch(
        &hub,
        "DC-GHOST",
        vec![EventBody::Receive {
            location: LocationCode::new("A-01").unwrap(),
            stock: StockRef::plain(Sku::new("MUG").unwrap()),
            qty: Qty::from_str("1").unwrap(),
            status: StockStatus::Available,
            inbound: None,
        }],
    )
    .await
    .unwrap();
    poll(WAIT, "the unknown node to be quarantined", || async {
        let q = api.ok("GET", "/api/v1/quarantine", VIEWER, None).await?;
        Ok((q["quarantine"].as_array().map_or(0, Vec::len) > 0).then_some(()))
    })
    .await
    .unwrap();
    // The KPI window follows the commits; wait until it shows the aged order.
    poll(WAIT, "the KPIs to show order aging", || async {
        let k = api.ok("GET", "/api/v1/kpis", VIEWER, None).await?;
        Ok((k["order_aging"].as_array().map_or(0, Vec::len) > 0).then_some(()))
    })
    .await
    .unwrap();
    for path in [
        "/api/v1/items",
        "/api/v1/items/MUG",
        "/api/v1/nodes",
        "/api/v1/nodes/DC-EAST/snapshot",
        "/api/v1/inbound/ASN-1",
        "/api/v1/orders",
        "/api/v1/orders/SO-1",
        "/api/v1/stock",
        "/api/v1/events?node=DC-EAST",
        "/api/v1/exceptions",
        "/api/v1/adjustments",
        "/api/v1/kpis",
        "/api/v1/tasks",
        "/api/v1/audit",
        "/api/v1/quarantine",
        "/api/v1/webhooks/dead-letters",
        "/api/v1/orders/SO-404",
    ] {
        let (status, v) = api.call("GET", path, Some(VIEWER), None).await.unwrap();
        seen.push(("GET".into(), path.into(), status, v));
    }
    // Errors have the documented shape too.
    let (status, v) = api
        .call(
            "PUT",
            "/api/v1/items/MUG",
            Some(OPERATOR),
            Some(json!({"gtin": []})),
        )
        .await
        .unwrap();
    seen.push(("PUT".into(), "/api/v1/items/MUG".into(), status, v));
    let mut errors = Vec::new();
    let mut lists = Vec::new();
    for (method, path, status, body) in &seen {
        let path = path.trim_start_matches("/api/v1");
        errors.extend(conforms(&doc, method, path, *status, body));
        if let Some(obj) = body.as_object() {
            for (k, v) in obj {
                if v.as_array().is_some_and(Vec::is_empty) && method == "GET" {
                    lists.push(format!("{path} {k}"));
                }
            }
        }
    }
    assert!(
        errors.is_empty(),
        "responses that break docs/openapi.yaml:\n{}",
        errors.join("\n")
    );
    assert!(
        lists
            .iter()
            .all(|l| l.contains("dead-letters") || l.contains("totals")),
        "lists left empty, so their items were not checked: {lists:?}"
    );
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_route_answers_exactly_the_methods_its_table_names() {
    let dir = tempfile::tempdir().unwrap();
    let hub = HubNode::start(hub_config_with_api(dir.path(), "127.0.0.1:9", "").unwrap())
        .await
        .unwrap();
    let api = Api::new(&hub).unwrap();
    for route in stockpost_hub::http::api_routes() {
        let path = format!("/api/v1{}", fill(route.path, "1"));
        for method in METHODS {
            let (status, body) = api.call(method, &path, Some(VIEWER), None).await.unwrap();
            if route.methods.contains(&method) {
                assert_ne!(
                    status, 405,
                    "{method} {path} is in the table but not routed"
                );
                let fallback = body["error"]["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("no such endpoint"));
                assert!(!fallback, "{method} {path} fell through to the fallback");
            } else {
                assert_eq!(
                    status, 405,
                    "{method} {path} answers {status} but is not in the table"
                );
            }
        }
    }
    hub.stop().await;
}
