//! Wind as clients see it: what the field says at a place, and how the wind
//! shaped a sortie's plan.

use dispatch_core::assign as core_assign;
use dispatch_core::wind as core_wind;
use serde::Serialize;
use utoipa::ToSchema;

use super::LatLon;

/// The wind at a place: the nearest recent source, with the vehicles around
/// it pooled into the mean.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct WindEstimate {
    /// Mean speed, m/s.
    pub speed_mps: f64,
    /// Degrees clockwise from north the wind blows FROM.
    pub from_deg: f64,
    /// Peak speed over the averaging time (5 minutes), m/s.
    pub gust_mps: f64,
    /// Who measured it: `drone ID`, `weather at hangar ID` or `regional weather`.
    pub source: String,
    /// Seconds since that source last reported.
    pub age_s: f64,
    /// From the place asked about to where it was measured, metres.
    pub distance_m: f64,
    /// How many reports the mean is over.
    pub samples: usize,
}

impl From<&core_wind::WindEstimate> for WindEstimate {
    fn from(e: &core_wind::WindEstimate) -> Self {
        WindEstimate {
            speed_mps: e.wind.speed_mps,
            from_deg: e.wind.from_deg,
            gust_mps: e.gust_mps,
            source: e.source.to_string(),
            age_s: e.age_s,
            distance_m: e.distance_m,
            samples: e.samples,
        }
    }
}

/// How the wind shaped a sortie's figures.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct SortieWind {
    /// The strongest wind met on the sortie (out, on scene, home).
    pub strongest: WindEstimate,
    /// Mean ground speed over the route out, m/s.
    pub out_ground_speed_mps: f64,
    /// Mean ground speed over the route home, m/s.
    pub back_ground_speed_mps: f64,
}

impl From<&core_assign::SortieWind> for SortieWind {
    fn from(w: &core_assign::SortieWind) -> Self {
        SortieWind {
            strongest: (&w.strongest).into(),
            out_ground_speed_mps: w.out_ground_speed_mps,
            back_ground_speed_mps: w.back_ground_speed_mps,
        }
    }
}

/// The wind at one hangar (`GET /api/wind`, websocket `wind`).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct HangarWind {
    pub hangar: String,
    pub position: LatLon,
    /// Null when no report is recent enough.
    pub wind: Option<WindEstimate>,
}

/// One source's latest report.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct WindReport {
    /// Where it was measured.
    pub position: LatLon,
    #[serde(flatten)]
    pub wind: WindEstimate,
}

/// The wind field: per hangar, and every recent source.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct WindField {
    pub hangars: Vec<HangarWind>,
    pub sources: Vec<WindReport>,
}

/// Accepted weather reports (`POST /api/weather`).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct WeatherAccepted {
    pub accepted: usize,
}
