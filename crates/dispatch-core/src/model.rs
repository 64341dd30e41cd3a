//! Domain types: hangars, drones, no-go zones, incidents and patrols.
//!
//! These are plain data. Behaviour lives in [`crate::world`] (indexing),
//! [`crate::routing`], [`crate::assign`] and [`crate::dispatch`].

use std::fmt;

use chrono::{DateTime, Utc};
use geo::Polygon;
use serde::{Deserialize, Serialize};

/// A point in time. The core never reads a clock: callers pass `now` in.
pub type Timestamp = DateTime<Utc>;

/// WGS84 position in decimal degrees.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LatLon {
    pub lat: f64,
    pub lon: f64,
}

impl LatLon {
    pub const fn new(lat: f64, lon: f64) -> Self {
        Self { lat, lon }
    }
}

impl fmt::Display for LatLon {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.5},{:.5}", self.lat, self.lon)
    }
}

macro_rules! string_id {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self(s.to_owned())
            }
        }
    };
}

string_id!(
    /// Configured hangar identifier, e.g. `yanguan`.
    HangarId
);
string_id!(
    /// Configured drone identifier, e.g. `yg-1`.
    DroneId
);
string_id!(
    /// No-go zone identifier, from the GeoJSON feature's `id` property.
    ZoneId
);
string_id!(
    /// Patrol route identifier.
    PatrolId
);

/// Incident identifier, allocated by the dispatcher in reporting order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct IncidentId(pub u64);

impl fmt::Display for IncidentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// A payload or sensor a drone carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Capability {
    Lifebuoy,
    Loudspeaker,
    ThermalCamera,
    Spotlight,
    ZoomCamera,
}

impl Capability {
    pub const ALL: [Capability; 5] = [
        Capability::Lifebuoy,
        Capability::Loudspeaker,
        Capability::ThermalCamera,
        Capability::Spotlight,
        Capability::ZoomCamera,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Capability::Lifebuoy => "lifebuoy",
            Capability::Loudspeaker => "loudspeaker",
            Capability::ThermalCamera => "thermal_camera",
            Capability::Spotlight => "spotlight",
            Capability::ZoomCamera => "zoom_camera",
        }
    }

    const fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of capabilities as a bit set, so that the hot candidate filter is one AND.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct CapabilitySet(u8);

impl CapabilitySet {
    pub const EMPTY: CapabilitySet = CapabilitySet(0);

    pub fn contains_all(self, required: CapabilitySet) -> bool {
        self.0 & required.0 == required.0
    }

    /// Capabilities in `required` that `self` lacks.
    pub fn missing(self, required: CapabilitySet) -> CapabilitySet {
        CapabilitySet(required.0 & !self.0)
    }

    pub fn insert(&mut self, c: Capability) {
        self.0 |= c.bit();
    }

    pub fn contains(self, c: Capability) -> bool {
        self.0 & c.bit() != 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn iter(self) -> impl Iterator<Item = Capability> {
        Capability::ALL
            .into_iter()
            .filter(move |c| self.0 & c.bit() != 0)
    }
}

impl FromIterator<Capability> for CapabilitySet {
    fn from_iter<T: IntoIterator<Item = Capability>>(iter: T) -> Self {
        let mut s = CapabilitySet::EMPTY;
        for c in iter {
            s.insert(c);
        }
        s
    }
}

impl fmt::Debug for CapabilitySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

impl fmt::Display for CapabilitySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.iter().map(Capability::as_str).collect();
        f.write_str(&names.join("+"))
    }
}

impl Serialize for CapabilitySet {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

impl<'de> Deserialize<'de> for CapabilitySet {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Vec::<Capability>::deserialize(d)?;
        Ok(v.into_iter().collect())
    }
}

/// A drone hangar ("nest"): where drones park, charge and launch from.
#[derive(Debug, Clone, Serialize)]
pub struct Hangar {
    pub id: HangarId,
    pub name: String,
    pub position: LatLon,
    /// Number of drone bays.
    pub slots: u32,
    /// Whether bays charge docked drones.
    pub charging: bool,
    /// Battery percentage points gained per minute while docked and charging.
    pub charge_rate_pct_per_min: f64,
    /// Seconds from the launch order to lift-off (roof opening, pre-flight checks).
    pub launch_delay_s: f64,
}

/// Flight-performance figures of one airframe, used for ETA and energy budgets.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Performance {
    /// Horizontal cruise speed in still air, m/s.
    pub cruise_speed_mps: f64,
    /// Vertical climb rate, m/s.
    pub climb_rate_mps: f64,
    /// Vertical descent rate, m/s.
    pub descent_rate_mps: f64,
    /// Flight time on a full battery in cruise, minutes.
    pub endurance_min: f64,
    /// The most airspeed the frame makes, m/s: against a headwind the ground
    /// speed drops once cruise needs more than this.
    pub max_airspeed_mps: f64,
    /// The strongest mean wind the airframe is flown in, m/s.
    pub max_wind_mps: f64,
    /// The strongest gust it is flown in, m/s.
    pub max_gust_mps: f64,
}

impl Performance {
    /// Figures for an airframe with the usual margins: 1.34 times cruise
    /// airspeed, flown in up to 12 m/s of wind and 15 m/s gusts.
    pub fn with_defaults(
        cruise_speed_mps: f64,
        climb_rate_mps: f64,
        descent_rate_mps: f64,
        endurance_min: f64,
    ) -> Self {
        Performance {
            cruise_speed_mps,
            climb_rate_mps,
            descent_rate_mps,
            endurance_min,
            max_airspeed_mps: cruise_speed_mps * DEFAULT_AIRSPEED_FACTOR,
            max_wind_mps: DEFAULT_MAX_WIND_MPS,
            max_gust_mps: DEFAULT_MAX_GUST_MPS,
        }
    }

    /// The figures the wind triangle needs.
    pub fn airspeeds(&self) -> crate::wind::Airspeeds {
        crate::wind::Airspeeds {
            cruise_mps: self.cruise_speed_mps,
            max_airspeed_mps: self.max_airspeed_mps,
        }
    }
}

/// Maximum airspeed over cruise speed when the configuration gives none.
pub const DEFAULT_AIRSPEED_FACTOR: f64 = 1.34;
/// Wind limits when the configuration gives none, m/s (a typical dock
/// drone's rating).
pub const DEFAULT_MAX_WIND_MPS: f64 = 12.0;
pub const DEFAULT_MAX_GUST_MPS: f64 = 15.0;

/// What a drone is doing, as the dispatcher understands it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DroneState {
    Docked,
    Charging,
    Preflight,
    EnRoute,
    OnScene,
    Returning,
    Landing,
    Lost,
    Maintenance,
}

impl DroneState {
    pub fn as_str(self) -> &'static str {
        match self {
            DroneState::Docked => "docked",
            DroneState::Charging => "charging",
            DroneState::Preflight => "preflight",
            DroneState::EnRoute => "en_route",
            DroneState::OnScene => "on_scene",
            DroneState::Returning => "returning",
            DroneState::Landing => "landing",
            DroneState::Lost => "lost",
            DroneState::Maintenance => "maintenance",
        }
    }

    /// On the ground in a hangar and able to launch.
    pub fn is_on_ground(self) -> bool {
        matches!(self, DroneState::Docked | DroneState::Charging)
    }
}

impl fmt::Display for DroneState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The task a drone is flying, with what the preemption rule needs to know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Tasking {
    pub incident: IncidentId,
    pub kind: IncidentKind,
    pub priority: u8,
    pub life_threatening: bool,
}

/// A drone of the fleet.
#[derive(Debug, Clone, Serialize)]
pub struct Drone {
    pub id: DroneId,
    pub name: String,
    pub hangar: HangarId,
    /// MAVLink system id of its flight controller (unique on its link).
    pub system_id: u8,
    /// The MAVLink link it is heard on (a configured link's name).
    pub link: String,
    /// Where on that link it is heard from, when the configuration pins it.
    pub address: Option<std::net::SocketAddr>,
    pub capabilities: CapabilitySet,
    pub performance: Performance,
    pub state: DroneState,
    pub battery_pct: f64,
    pub position: LatLon,
    pub task: Option<Tasking>,
}

/// What a no-go zone protects; decides nothing by itself but is shown to users.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ZoneKind {
    Airport,
    Nuclear,
    Crowd,
    TemporaryClosure,
    Military,
    Other,
}

/// When a zone is in force. `None` ends are open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ActiveWindow {
    pub from: Option<Timestamp>,
    pub until: Option<Timestamp>,
}

impl ActiveWindow {
    pub const PERMANENT: ActiveWindow = ActiveWindow {
        from: None,
        until: None,
    };

    pub fn is_permanent(&self) -> bool {
        self.from.is_none() && self.until.is_none()
    }

    /// Whether the zone is in force at any moment of `[start, end]`.
    pub fn overlaps(&self, start: Timestamp, end: Timestamp) -> bool {
        self.from.is_none_or(|f| f <= end) && self.until.is_none_or(|u| u > start)
    }

    /// Whether the zone is in force at `t`.
    pub fn active_at(&self, t: Timestamp) -> bool {
        self.overlaps(t, t)
    }

    /// Whether the window has ended for good at `now`.
    pub fn expired(&self, now: Timestamp) -> bool {
        self.until.is_some_and(|u| u <= now)
    }
}

/// A no-go zone: a polygon (with holes) and an altitude band in metres above ground.
#[derive(Debug, Clone, Serialize)]
pub struct Zone {
    pub id: ZoneId,
    pub name: String,
    pub kind: ZoneKind,
    /// Exterior and holes, x = lon, y = lat.
    #[serde(skip)]
    pub polygon: Polygon<f64>,
    pub floor_m: f64,
    pub ceiling_m: f64,
    pub window: ActiveWindow,
    /// A rescue flight may enter it on its final leg to reach a target inside.
    pub rescue_exempt: bool,
}

impl Zone {
    /// Whether this zone blocks flight at `altitude_m` at some moment of `[start, end]`.
    pub fn blocks(&self, altitude_m: f64, start: Timestamp, end: Timestamp) -> bool {
        self.floor_m <= altitude_m
            && altitude_m <= self.ceiling_m
            && self.window.overlaps(start, end)
    }
}

/// The kinds of incident the dispatcher handles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentKind {
    SpectatorInDangerZone,
    PersonInWater,
    TidalSurgeWarning,
    HighriseFire,
    ForestFire,
    MissingPerson,
    Patrol,
}

impl IncidentKind {
    pub const ALL: [IncidentKind; 7] = [
        IncidentKind::SpectatorInDangerZone,
        IncidentKind::PersonInWater,
        IncidentKind::TidalSurgeWarning,
        IncidentKind::HighriseFire,
        IncidentKind::ForestFire,
        IncidentKind::MissingPerson,
        IncidentKind::Patrol,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            IncidentKind::SpectatorInDangerZone => "spectator_in_danger_zone",
            IncidentKind::PersonInWater => "person_in_water",
            IncidentKind::TidalSurgeWarning => "tidal_surge_warning",
            IncidentKind::HighriseFire => "highrise_fire",
            IncidentKind::ForestFire => "forest_fire",
            IncidentKind::MissingPerson => "missing_person",
            IncidentKind::Patrol => "patrol",
        }
    }

    pub fn parse(s: &str) -> Option<IncidentKind> {
        IncidentKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl fmt::Display for IncidentKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How the dispatcher treats one kind of incident; comes from configuration.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct KindPolicy {
    /// 1 (lowest) to 5 (highest).
    pub priority: u8,
    /// Life-threatening incidents may take a drone from non-life-threatening work.
    pub life_threatening: bool,
    pub capabilities: CapabilitySet,
    /// Planned time over the scene (hover, orbit, search), seconds.
    pub on_scene_s: f64,
    /// May a flight for this kind enter a rescue-exempt zone on its final leg?
    pub rescue: bool,
}

/// Where an incident is in its life cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentStatus {
    Queued,
    Proposed,
    Assigned,
    EnRoute,
    OnScene,
    Returning,
    Resolved,
    Cancelled,
    Failed,
}

impl IncidentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            IncidentStatus::Queued => "queued",
            IncidentStatus::Proposed => "proposed",
            IncidentStatus::Assigned => "assigned",
            IncidentStatus::EnRoute => "en_route",
            IncidentStatus::OnScene => "on_scene",
            IncidentStatus::Returning => "returning",
            IncidentStatus::Resolved => "resolved",
            IncidentStatus::Cancelled => "cancelled",
            IncidentStatus::Failed => "failed",
        }
    }

    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            IncidentStatus::Resolved | IncidentStatus::Cancelled | IncidentStatus::Failed
        )
    }

    /// Whether a drone is held for the incident in this status.
    pub fn holds_drone(self) -> bool {
        matches!(
            self,
            IncidentStatus::Proposed
                | IncidentStatus::Assigned
                | IncidentStatus::EnRoute
                | IncidentStatus::OnScene
                | IncidentStatus::Returning
        )
    }

    /// The legal life-cycle moves. `Queued` is reachable again from the pre-flight
    /// statuses, when a proposal is declined or its drone is preempted or lost.
    pub fn can_move_to(self, next: IncidentStatus) -> bool {
        use IncidentStatus::*;
        if self.is_terminal() {
            return false;
        }
        matches!(
            (self, next),
            (_, Cancelled | Failed)
                | (Queued, Proposed | Assigned)
                | (Proposed, Assigned | Queued)
                | (Assigned, EnRoute | Queued)
                | (EnRoute, OnScene | Returning | Queued)
                | (OnScene, Returning | Resolved | Queued)
                | (Returning, Resolved)
        )
    }
}

impl fmt::Display for IncidentStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One incident and what is known of it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Incident {
    pub id: IncidentId,
    pub kind: IncidentKind,
    pub position: LatLon,
    pub priority: u8,
    pub reported_at: Timestamp,
    pub required: CapabilitySet,
    pub status: IncidentStatus,
    pub drone: Option<DroneId>,
    /// Why it is queued, failed or cancelled.
    pub reason: Option<String>,
    /// Patrol route served, for patrol incidents.
    pub patrol: Option<PatrolId>,
}

/// A patrol route flown by an available drone during its window.
#[derive(Debug, Clone, Serialize)]
pub struct PatrolRoute {
    pub id: PatrolId,
    pub name: String,
    pub waypoints: Vec<LatLon>,
    pub window: ActiveWindow,
    /// Minutes between two passes; `None` for a single pass per window.
    pub repeat_every_min: Option<f64>,
    pub capabilities: CapabilitySet,
}
