//! The station web page: plain HTML, CSS and JavaScript embedded in the binary (no build
//! step). `/` lists the stations; `/stations/{id}` is one station's screen.

use crate::http::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;

const STATION_HTML: &str = include_str!("assets/station.html");
const STATION_JS: &str = include_str!("assets/station.js");
const STATION_CSS: &str = include_str!("assets/station.css");

/// The page routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(index))
        .route("/stations/{station}", get(station))
        .route("/assets/station.js", get(js))
        .route("/assets/station.css", get(css))
}

fn escape(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '&' => "&amp;".to_string(),
            '<' => "&lt;".to_string(),
            '>' => "&gt;".to_string(),
            '"' => "&quot;".to_string(),
            '\'' => "&#39;".to_string(),
            c => c.to_string(),
        })
        .collect()
}

async fn index(State(node): State<AppState>) -> Html<String> {
    let links: String = node
        .stations
        .station_ids()
        .iter()
        .map(|id| {
            let e = escape(id);
            format!("<li><a class=\"station-link\" href=\"/stations/{e}\">{e}</a></li>")
        })
        .collect();
    let node_id = escape(&node.config.node_id);
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Stockpost {node_id}</title><link rel=\"stylesheet\" href=\"/assets/station.css\"></head>\
         <body><main class=\"index\"><h1>Stockpost {node_id}</h1><p>Choose this device's station:</p>\
         <ul class=\"stations\">{links}</ul></main></body></html>"
    ))
}

async fn station(State(node): State<AppState>, Path(id): Path<String>) -> Response {
    if !node.stations.station_ids().iter().any(|s| s == &id) {
        return (
            StatusCode::NOT_FOUND,
            Html(format!(
                "<!doctype html><p>There is no station {} at this node. <a href=\"/\">Stations</a></p>",
                escape(&id)
            )),
        )
            .into_response();
    }
    Html(STATION_HTML.replace("{{STATION}}", &escape(&id))).into_response()
}

async fn js() -> Response {
    (
        [("content-type", "text/javascript; charset=utf-8")],
        STATION_JS,
    )
        .into_response()
}

async fn css() -> Response {
    ([("content-type", "text/css; charset=utf-8")], STATION_CSS).into_response()
}
