//! `GET /kpis`, `GET /kpis/chart.svg`.

use super::{ApiResult, AppState};
use crate::dto;
use crate::time::now_ms;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use axum::Json;
use stockpost_common::orders::Role;

/// `GET /kpis`.
pub(crate) async fn get_kpis(State(app): State<AppState>, headers: HeaderMap) -> ApiResult {
    app.tokens.authorize(&headers, Role::Viewer)?;
    Ok(Json(dto::kpis::kpis(&app.model(), now_ms())).into_response())
}

/// `GET /kpis/chart.svg`.
pub(crate) async fn get_kpi_chart(State(app): State<AppState>, headers: HeaderMap) -> ApiResult {
    app.tokens.authorize(&headers, Role::Viewer)?;
    let k = dto::kpis::kpis(&app.model(), now_ms());
    let svg = crate::dashboard::kpi_svg(&k);
    Ok(([(axum::http::header::CONTENT_TYPE, "image/svg+xml")], svg).into_response())
}
