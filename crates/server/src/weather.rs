//! Wind: weather reports in (`POST /api/weather`, admin) and the wind field
//! out (`GET /api/wind`), as the dispatcher judges launches by it.

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use dispatch_core::{HangarId, Wind};
use fleet::WeatherReport;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::AppState;
use crate::api::parse_body;
use crate::error::ApiError;
use crate::wire;

/// Most reports in one request.
pub const MAX_REPORTS: usize = 64;

/// Wind reports from a weather service or an observer.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WeatherRequest {
    #[schema(min_items = 1, max_items = 64)]
    pub reports: Vec<WeatherItem>,
}

/// The wind at one hangar, or over the whole region (no `hangar`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WeatherItem {
    /// A hangar id; absent or null: the whole region.
    pub hangar: Option<String>,
    /// Mean wind speed, m/s.
    #[schema(minimum = 0.0, maximum = 60.0)]
    pub speed_mps: f64,
    /// Degrees clockwise from north the wind blows FROM.
    #[schema(minimum = 0.0, maximum = 360.0)]
    pub from_deg: f64,
    /// Peak gust, m/s; at least `speed_mps`.
    #[schema(minimum = 0.0, maximum = 80.0)]
    pub gust_mps: Option<f64>,
    /// When it was measured (RFC 3339); absent: now. Not in the future.
    pub at: Option<DateTime<Utc>>,
}

#[utoipa::path(post, path = "/api/weather", tag = "fleet", security(("bearer" = [])),
    request_body(content = WeatherRequest, description = "Wind per hangar or for the region"),
    responses((status = 200, description = "Taken: ETAs, energy and wind limits use it from now on", body = wire::WeatherAccepted),
        (status = 400, description = "Malformed JSON or an empty body", body = wire::ErrorBody),
        (status = 413, description = "Body over 64 KiB", body = wire::ErrorBody),
        (status = 422, description = "A field is out of range, an unknown hangar, a gust below the mean, a time in the future; nothing was taken", body = wire::ErrorBody),
        (status = 503, description = "Not recorded durably; nothing was taken", body = wire::ErrorBody)))]
pub async fn post_weather(
    State(s): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<wire::WeatherAccepted>, ApiError> {
    let req: WeatherRequest = parse_body(body)?;
    if req.reports.is_empty() || req.reports.len() > MAX_REPORTS {
        return Err(ApiError::invalid(format!(
            "field `reports`: {} reports; send 1 to {MAX_REPORTS}",
            req.reports.len()
        )));
    }
    let mut reports = Vec::with_capacity(req.reports.len());
    for (i, r) in req.reports.into_iter().enumerate() {
        let field = |name: &str| format!("field `reports[{i}].{name}`");
        let checks = [
            ("speed_mps", r.speed_mps, 0.0, 60.0),
            ("from_deg", r.from_deg, 0.0, 360.0),
        ];
        for (name, v, lo, hi) in checks {
            if !(v.is_finite() && (lo..=hi).contains(&v)) {
                return Err(ApiError::invalid(format!(
                    "{}: {v} is outside {lo}..={hi}",
                    field(name)
                )));
            }
        }
        if let Some(g) = r.gust_mps
            && !(g.is_finite() && (0.0..=80.0).contains(&g))
        {
            return Err(ApiError::invalid(format!(
                "{}: {g} is outside 0..=80",
                field("gust_mps")
            )));
        }
        if let Some(h) = &r.hangar
            && !s.scenario.hangars.iter().any(|x| &x.id.0 == h)
        {
            return Err(ApiError::invalid(format!(
                "{}: unknown hangar `{h}`",
                field("hangar")
            )));
        }
        reports.push(WeatherReport {
            hangar: r.hangar.map(HangarId),
            wind: Wind {
                speed_mps: r.speed_mps,
                from_deg: r.from_deg.rem_euclid(360.0),
            },
            gust_mps: r.gust_mps,
            at: r.at,
        });
    }
    let accepted = reports.len();
    s.fleet.weather(reports).await?;
    Ok(Json(wire::WeatherAccepted { accepted }))
}

#[utoipa::path(get, path = "/api/wind", tag = "fleet", security(("bearer" = [])),
    responses((status = 200, description = "The wind at every hangar and every recent report (vehicles' own, weather)", body = wire::WindField)))]
pub async fn get_wind(State(s): State<AppState>) -> Result<Json<wire::WindField>, ApiError> {
    let w = s.fleet.wind().await?;
    Ok(Json(wire::WindField {
        hangars: w
            .hangars
            .iter()
            .map(|(id, p, e)| wire::HangarWind {
                hangar: id.0.clone(),
                position: (*p).into(),
                wind: e.as_ref().map(wire::WindEstimate::from),
            })
            .collect(),
        sources: w
            .sources
            .iter()
            .map(|(p, e)| wire::WindReport {
                position: (*p).into(),
                wind: e.into(),
            })
            .collect(),
    }))
}
