//! The no-go zones: a GeoJSON FeatureCollection read into `Zone`s, each
//! polygon checked (closed rings, [lon, lat] order, inside the region, a real
//! area), with properties taken as GIS tools write them.

use std::collections::{BTreeMap, HashSet};

use geo::{Coord, LineString, Polygon};

use super::validate::{Validator, check_lat_lon};
use crate::model::{LatLon, Zone, ZoneId, ZoneKind};
use crate::world::Region;

impl Validator {
    pub(super) fn zones(&mut self, text: &str, region: Region) -> Vec<Zone> {
        self.zones_named(text, region).0
    }

    /// The zones and their `name_zh` properties by zone id.
    pub(super) fn zones_named(
        &mut self,
        text: &str,
        region: Region,
    ) -> (Vec<Zone>, BTreeMap<String, String>) {
        let mut names_zh = BTreeMap::new();
        let fc = match text.parse::<geojson::GeoJson>() {
            Ok(geojson::GeoJson::FeatureCollection(fc)) => fc,
            Ok(_) => {
                self.err(None, "zones must be a GeoJSON FeatureCollection");
                return (Vec::new(), names_zh);
            }
            Err(e) => {
                self.err(None, format!("not valid GeoJSON: {e}"));
                return (Vec::new(), names_zh);
            }
        };
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        let mut ignored: BTreeMap<String, usize> = BTreeMap::new();
        for (i, f) in fc.features.iter().enumerate() {
            let mut props = f.properties.clone().unwrap_or_default();
            // GIS tools put the id on the Feature rather than in its properties.
            let feature_id = f.id.as_ref().map(|id| match id {
                geojson::feature::Id::String(s) => s.clone(),
                geojson::feature::Id::Number(n) => n.to_string(),
            });
            if props.get("id").is_none_or(serde_json::Value::is_null)
                && let Some(fid) = &feature_id
            {
                props.insert("id".into(), serde_json::Value::String(fid.clone()));
            }
            let id = props.get("id").and_then(|v| v.as_str()).map(str::to_owned);
            let item = match &id {
                Some(id) => format!("zone feature #{i} (\"{id}\")"),
                None => format!("zone feature #{i}"),
            };
            let raw = match RawZoneProps::from_map(&props) {
                Ok(r) => r,
                Err(problems) => {
                    for m in problems {
                        self.err(Some(item.clone()), m);
                    }
                    continue;
                }
            };
            for k in &raw.extra {
                *ignored.entry(k.clone()).or_insert(0usize) += 1;
            }
            let Some(raw_id) = raw.id.clone().filter(|s| !s.trim().is_empty()) else {
                self.err(
                    Some(item),
                    "zone has no id (give it `id` in its properties or on the Feature)",
                );
                continue;
            };
            if !seen.insert(raw_id.clone()) {
                self.err(Some(item.clone()), "duplicate zone id");
            }
            let Some(geom) = &f.geometry else {
                self.err(Some(item), "feature has no geometry");
                continue;
            };
            let geojson::Value::Polygon(rings) = &geom.value else {
                self.err(
                    Some(item),
                    "geometry must be a Polygon (split multi-polygons into one feature each)",
                );
                continue;
            };
            let Some(polygon) = self.polygon(&item, rings, region) else {
                continue;
            };
            let rescue_exempt = match flag(raw.rescue_exempt.as_ref()) {
                Ok(b) => b,
                Err(m) => {
                    self.err(Some(item.clone()), format!("rescue_exempt: {m}"));
                    false
                }
            };
            let floor_m = raw.floor_m.unwrap_or(0.0);
            let ceiling_m = raw.ceiling_m.unwrap_or_else(default_ceiling);
            if !(floor_m >= 0.0 && ceiling_m > floor_m) {
                self.err(Some(item.clone()), "need 0 <= floor_m < ceiling_m");
            }
            let window = self.window(
                &item,
                raw.active_from.as_deref(),
                raw.active_until.as_deref(),
            );
            if let Some(n) = self.name_zh(item.clone(), raw.name_zh.as_deref()) {
                names_zh.insert(raw_id.clone(), n);
            }
            out.push(Zone {
                id: ZoneId(raw_id.clone()),
                name: raw.name.unwrap_or(raw_id),
                kind: raw.kind,
                polygon,
                floor_m,
                ceiling_m,
                window,
                rescue_exempt,
            });
        }
        if !ignored.is_empty() {
            let list: Vec<String> = ignored
                .iter()
                .map(|(k, n)| format!("`{k}` ({n} feature{})", if *n == 1 { "" } else { "s" }))
                .collect();
            self.warnings.push(format!(
                "{}: ignored properties the planner does not use: {}",
                self.file.display(),
                list.join(", ")
            ));
        }
        (out, names_zh)
    }

    fn polygon(
        &mut self,
        item: &str,
        rings: &[Vec<Vec<f64>>],
        region: Region,
    ) -> Option<Polygon<f64>> {
        let before = self.problems.len();
        if rings.is_empty() {
            self.err(Some(item.to_owned()), "polygon has no rings");
            return None;
        }
        let mut lines = Vec::new();
        for (r, ring) in rings.iter().enumerate() {
            let role = if r == 0 {
                "exterior ring".to_owned()
            } else {
                format!("hole #{}", r - 1)
            };
            if ring.len() < 4 {
                self.err(
                    Some(item.to_owned()),
                    format!(
                        "{role} has {} positions; a closed ring needs at least 4",
                        ring.len()
                    ),
                );
                continue;
            }
            if ring.first() != ring.last() {
                self.err(
                    Some(item.to_owned()),
                    format!("{role} is open: its first and last positions differ (GeoJSON rings must be closed)"),
                );
                continue;
            }
            let mut coords = Vec::new();
            for (k, pos) in ring.iter().enumerate() {
                let [lon, lat] = pos.as_slice()[..] else {
                    if pos.len() < 2 {
                        self.err(
                            Some(item.to_owned()),
                            format!("{role} position {k} has fewer than 2 numbers"),
                        );
                        continue;
                    }
                    // Altitude in a third ordinate is allowed and ignored.
                    coords.push(Coord {
                        x: pos[0],
                        y: pos[1],
                    });
                    continue;
                };
                coords.push(Coord { x: lon, y: lat });
            }
            for (k, c) in coords.iter().enumerate() {
                if let Err(m) = check_lat_lon(c.y, c.x) {
                    self.err(
                        Some(item.to_owned()),
                        format!(
                            "{role} position {k} [{}, {}]: {m} (GeoJSON order is [lon, lat])",
                            c.x, c.y
                        ),
                    );
                    break;
                }
                if !region.contains(LatLon::new(c.y, c.x)) {
                    let hint = if region.contains(LatLon::new(c.x, c.y)) {
                        "; it looks like [lat, lon], GeoJSON order is [lon, lat]"
                    } else {
                        ""
                    };
                    self.err(
                        Some(item.to_owned()),
                        format!(
                            "{role} position {k} [{}, {}] is outside the scenario region{hint}",
                            c.x, c.y
                        ),
                    );
                    break;
                }
            }
            lines.push(LineString::new(coords));
        }
        if self.problems.len() > before || lines.is_empty() {
            return None;
        }
        let exterior = lines.remove(0);
        let polygon = Polygon::new(exterior, lines);
        if let Err(e) = crate::polygon_check::check_polygon(&polygon) {
            self.err(Some(item.to_owned()), format!("invalid polygon: {e}"));
            return None;
        }
        // A sliver of float noise passes the exact test; a zone must cover
        // ground (square metres, from the area in degrees at its latitude).
        let area_m2 = {
            use geo::{Area, Centroid};
            let lat = polygon.centroid().map_or(0.0, |c| c.y());
            polygon.unsigned_area() * 111_195.0 * 111_195.0 * lat.to_radians().cos()
        };
        if area_m2.is_nan() || area_m2 < 1.0 {
            self.err(
                Some(item.to_owned()),
                format!(
                    "invalid polygon: it covers {area_m2:.3} m² (a zone must cover at least 1 m²)"
                ),
            );
            return None;
        }
        Some(polygon)
    }
}

/// A zone's properties as GIS tools write them: optional fields may be
/// absent or `null` (QGIS writes empty fields so), booleans may be 0/1, and
/// properties the planner does not use (`stroke`, `fill`...) are kept aside
/// and reported once per file.
struct RawZoneProps {
    id: Option<String>,
    name: Option<String>,
    /// The name in Simplified Chinese, for the map in Chinese.
    name_zh: Option<String>,
    kind: ZoneKind,
    floor_m: Option<f64>,
    ceiling_m: Option<f64>,
    active_from: Option<String>,
    active_until: Option<String>,
    rescue_exempt: Option<serde_json::Value>,
    /// Names of the properties the planner does not use.
    extra: Vec<String>,
}

impl RawZoneProps {
    const KNOWN: [&'static str; 10] = [
        "id",
        "name",
        "name_zh",
        "kind",
        "floor_m",
        "ceiling_m",
        "active_from",
        "active_until",
        "rescue_exempt",
        "note",
    ];

    /// Reads each property on its own, so that every problem names its property.
    fn from_map(m: &serde_json::Map<String, serde_json::Value>) -> Result<Self, Vec<String>> {
        let mut problems = Vec::new();
        fn get<T: serde::de::DeserializeOwned>(
            m: &serde_json::Map<String, serde_json::Value>,
            key: &str,
            problems: &mut Vec<String>,
        ) -> Option<T> {
            match m.get(key) {
                None | Some(serde_json::Value::Null) => None,
                Some(v) => serde_json::from_value(v.clone())
                    .map_err(|e| problems.push(format!("property `{key}`: {e}")))
                    .ok(),
            }
        }
        let id = get(m, "id", &mut problems);
        let name = get(m, "name", &mut problems);
        let name_zh = get(m, "name_zh", &mut problems);
        let kind: Option<ZoneKind> = get(m, "kind", &mut problems);
        let floor_m = get(m, "floor_m", &mut problems);
        let ceiling_m = get(m, "ceiling_m", &mut problems);
        let active_from = get(m, "active_from", &mut problems);
        let active_until = get(m, "active_until", &mut problems);
        let _note: Option<String> = get(m, "note", &mut problems);
        if kind.is_none() && m.get("kind").is_none_or(serde_json::Value::is_null) {
            problems.push(
                "property `kind` is missing: airport, nuclear, crowd, temporary_closure, military or other"
                    .into(),
            );
        }
        let extra = m
            .keys()
            .filter(|k| !Self::KNOWN.contains(&k.as_str()))
            .cloned()
            .collect();
        match kind {
            Some(kind) if problems.is_empty() => Ok(RawZoneProps {
                id,
                name,
                name_zh,
                kind,
                floor_m,
                ceiling_m,
                active_from,
                active_until,
                rescue_exempt: m.get("rescue_exempt").cloned(),
                extra,
            }),
            _ => Err(problems),
        }
    }
}

/// A boolean property written as `true`/`false`, `1`/`0`, or absent/`null` (false).
fn flag(v: Option<&serde_json::Value>) -> Result<bool, String> {
    match v {
        None | Some(serde_json::Value::Null) => Ok(false),
        Some(serde_json::Value::Bool(b)) => Ok(*b),
        Some(serde_json::Value::Number(n)) if n.as_f64() == Some(1.0) => Ok(true),
        Some(serde_json::Value::Number(n)) if n.as_f64() == Some(0.0) => Ok(false),
        Some(other) => Err(format!("expected true, false, 1 or 0, found {other}")),
    }
}

fn default_ceiling() -> f64 {
    10_000.0
}
