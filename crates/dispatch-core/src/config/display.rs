//! What the scenario says about showing it to people, and nothing the
//! planner uses: the time zone the map writes times in (`[scenario]
//! time_zone`, an IANA name) and the names in Simplified Chinese
//! (`name_zh` on the scenario, hangars, drones and zones).
//!
//! The names are kept beside the model, not in it: the core decides with
//! ids and never shows a name, so a translation is the map's business,
//! handed to it by the server as a table keyed by id.

use std::collections::BTreeMap;

use chrono_tz::Tz;

use super::raw::{RawDrone, RawHangar, RawScenario};
use super::validate::Validator;

/// The zone when `[scenario]` names none: UTC, which is at least never
/// wrong about what a time stamp means (the API's times are UTC too).
pub const DEFAULT_TIME_ZONE: Tz = Tz::UTC;

/// Names in Simplified Chinese, by id, where the configuration gives one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LocalNames {
    pub scenario: Option<String>,
    pub hangars: BTreeMap<String, String>,
    pub drones: BTreeMap<String, String>,
    pub zones: BTreeMap<String, String>,
}

/// The longest name taken, in characters (a label on a map, not a text).
const MAX_NAME_CHARS: usize = 80;

impl Validator {
    /// `[scenario] time_zone`: an IANA name such as `Asia/Shanghai`.
    pub(super) fn time_zone(&mut self, raw: Option<&str>) -> Tz {
        let Some(name) = raw else {
            return DEFAULT_TIME_ZONE;
        };
        match name.parse::<Tz>() {
            Ok(tz) => tz,
            Err(_) => {
                self.err(
                    Some("[scenario]".to_owned()),
                    format!(
                        "time_zone `{name}` is not an IANA time zone name \
                         (such as \"Asia/Shanghai\" or \"UTC\"; names are case-sensitive)"
                    ),
                );
                DEFAULT_TIME_ZONE
            }
        }
    }

    /// The `name_zh` of the scenario, its hangars and its drones (the zones'
    /// come with the zones file).
    pub(super) fn names_zh(
        &mut self,
        scenario: &RawScenario,
        hangars: &[RawHangar],
        drones: &[RawDrone],
    ) -> LocalNames {
        let mut names = LocalNames {
            scenario: self.name_zh("[scenario]".to_owned(), scenario.name_zh.as_deref()),
            ..LocalNames::default()
        };
        for h in hangars {
            if let Some(n) = self.name_zh(format!("hangar \"{}\"", h.id), h.name_zh.as_deref()) {
                names.hangars.insert(h.id.clone(), n);
            }
        }
        for d in drones {
            if let Some(n) = self.name_zh(format!("drone \"{}\"", d.id), d.name_zh.as_deref()) {
                names.drones.insert(d.id.clone(), n);
            }
        }
        names
    }

    /// One `name_zh`: absent is fine, blank or overlong is a problem.
    pub(super) fn name_zh(&mut self, item: String, raw: Option<&str>) -> Option<String> {
        let name = raw?.trim();
        if name.is_empty() {
            self.err(Some(item), "name_zh is empty (leave it out to show `name`)");
            return None;
        }
        let chars = name.chars().count();
        if chars > MAX_NAME_CHARS {
            self.err(
                Some(item),
                format!("name_zh has {chars} characters; at most {MAX_NAME_CHARS}"),
            );
            return None;
        }
        Some(name.to_owned())
    }
}
