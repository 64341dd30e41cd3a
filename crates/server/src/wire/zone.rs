//! No-go zones as GeoJSON: each a Feature with a Polygon geometry whose
//! properties read back with the scenario's zones-file parser, plus what the
//! server adds (`permanent`, `active_now`, `source`).

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use dispatch_core::model as core;
use serde::Serialize;
use utoipa::ToSchema;

use super::ZoneKind;

/// Zones as a GeoJSON FeatureCollection.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ZoneCollection {
    #[serde(rename = "type")]
    pub kind: FeatureCollectionType,
    pub features: Vec<ZoneFeature>,
}

/// One zone as a GeoJSON Feature.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ZoneFeature {
    #[serde(rename = "type")]
    pub kind: FeatureType,
    pub id: String,
    pub properties: ZoneProperties,
    pub geometry: ZonePolygon,
}

/// The zones-file properties and the server's additions.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ZoneProperties {
    pub id: String,
    pub name: String,
    pub kind: ZoneKind,
    /// Altitude band above ground, metres.
    pub floor_m: f64,
    pub ceiling_m: f64,
    /// Start of the window the zone is in force (null: always before).
    pub active_from: Option<DateTime<Utc>>,
    /// End of the window (null: never ends).
    pub active_until: Option<DateTime<Utc>>,
    /// A rescue flight may enter it on its final leg to reach a target inside.
    pub rescue_exempt: bool,
    /// No window: always in force.
    pub permanent: bool,
    pub active_now: bool,
    pub source: ZoneSource,
}

/// Where a zone comes from: the scenario's zones file (cannot be removed
/// through the API) or a `POST /api/zones`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ZoneSource {
    Config,
    Runtime,
}

/// A GeoJSON Polygon: the exterior ring, then the holes, each closed, of
/// `[lon, lat]` positions.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ZonePolygon {
    #[serde(rename = "type")]
    pub kind: PolygonType,
    pub coordinates: Vec<Vec<[f64; 2]>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub enum FeatureCollectionType {
    FeatureCollection,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub enum FeatureType {
    Feature,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub enum PolygonType {
    Polygon,
}

impl ZoneFeature {
    /// A zone at `now`; `from_config`: it comes from the scenario's file.
    pub fn new(z: &core::Zone, now: DateTime<Utc>, from_config: bool) -> ZoneFeature {
        let ring = |r: &geo::LineString<f64>| r.coords().map(|c| [c.x, c.y]).collect::<Vec<_>>();
        let mut rings = vec![ring(z.polygon.exterior())];
        rings.extend(z.polygon.interiors().iter().map(ring));
        ZoneFeature {
            kind: FeatureType::Feature,
            id: z.id.0.clone(),
            properties: ZoneProperties {
                id: z.id.0.clone(),
                name: z.name.clone(),
                kind: z.kind.into(),
                floor_m: z.floor_m,
                ceiling_m: z.ceiling_m,
                active_from: z.window.from,
                active_until: z.window.until,
                rescue_exempt: z.rescue_exempt,
                permanent: z.window.is_permanent(),
                active_now: z.window.active_at(now),
                source: if from_config {
                    ZoneSource::Config
                } else {
                    ZoneSource::Runtime
                },
            },
            geometry: ZonePolygon {
                kind: PolygonType::Polygon,
                coordinates: rings,
            },
        }
    }
}

impl ZoneCollection {
    /// Zones at `now`; `config_ids`: those of the scenario's file.
    pub fn new<'a>(
        zones: impl IntoIterator<Item = &'a core::Zone>,
        now: DateTime<Utc>,
        config_ids: &HashSet<String>,
    ) -> ZoneCollection {
        ZoneCollection {
            kind: FeatureCollectionType::FeatureCollection,
            features: zones
                .into_iter()
                .map(|z| ZoneFeature::new(z, now, config_ids.contains(&z.id.0)))
                .collect(),
        }
    }
}
