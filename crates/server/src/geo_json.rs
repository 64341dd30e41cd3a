//! GeoJSON for clients: routes as LineStrings, zones as a FeatureCollection
//! whose properties read back with the scenario's zones-file parser.

use std::collections::HashSet;

use dispatch_core::Timestamp;
use dispatch_core::model::{LatLon, Zone};
use serde_json::{Value, json};

/// A route as a GeoJSON LineString geometry ([lon, lat] pairs).
pub fn line(points: &[LatLon]) -> Value {
    json!({
        "type": "LineString",
        "coordinates": points.iter().map(|p| [p.lon, p.lat]).collect::<Vec<_>>(),
    })
}

/// One zone as a Feature: the zones-file properties, plus `active_now` and
/// `source` (`config` for the scenario's file, `runtime` for zones added since).
pub fn zone(z: &Zone, now: Timestamp, from_config: bool) -> Value {
    let ring = |r: &geo::LineString<f64>| r.coords().map(|c| [c.x, c.y]).collect::<Vec<_>>();
    let mut rings = vec![ring(z.polygon.exterior())];
    rings.extend(z.polygon.interiors().iter().map(ring));
    json!({
        "type": "Feature",
        "id": z.id.0,
        "properties": {
            "id": z.id.0,
            "name": z.name,
            "kind": z.kind,
            "floor_m": z.floor_m,
            "ceiling_m": z.ceiling_m,
            "active_from": z.window.from,
            "active_until": z.window.until,
            "rescue_exempt": z.rescue_exempt,
            "permanent": z.window.is_permanent(),
            "active_now": z.window.active_at(now),
            "source": if from_config { "config" } else { "runtime" },
        },
        "geometry": {"type": "Polygon", "coordinates": rings},
    })
}

/// Zones as a FeatureCollection.
pub fn zones(zones: &[&Zone], now: Timestamp, config_ids: &HashSet<String>) -> Value {
    json!({
        "type": "FeatureCollection",
        "features": zones
            .iter()
            .map(|z| zone(z, now, config_ids.contains(&z.id.0)))
            .collect::<Vec<_>>(),
    })
}
