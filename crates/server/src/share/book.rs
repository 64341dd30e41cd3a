//! The share book, sans IO: every decision about share links, as
//! `Book::handle(now, input) -> output` on the wall-clock time it is given.
//! Whether a link opens (unknown, revoked, expired, PIN needed, wrong,
//! locked after too many wrong ones), what is to be logged, whether an open
//! view may stay open, and ([`Scope`]) what a view may see. The IO around
//! it (`super`) draws the tokens, logs the entries and feeds each logged
//! entry back as [`Input::Logged`]; the book itself never changes a share
//! but from a logged entry, so what it holds is what the log holds.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Duration, Utc};
use dispatch_core::{DroneId, IncidentId};
use fleet::{PinDigest, ShareChange, ShareEntry};

type Timestamp = DateTime<Utc>;

/// Wrong PINs in a row that lock a share.
pub const MAX_PIN_TRIES: u32 = 5;
/// How long a share stays locked after them.
pub const PIN_LOCK_S: i64 = 300;
/// Openings kept in memory per share (the log keeps them all).
pub const OPENINGS_KEPT: usize = 200;
/// A view asking again from the same address and browser within this is
/// the same opening (a reconnect, a page that follows the state by
/// asking), not a new one in the log.
pub const SAME_OPENING_S: i64 = 600;

/// The share book.
#[derive(Debug, Default)]
pub struct Book {
    shares: BTreeMap<u64, Share>,
    by_token: HashMap<String, u64>,
    next_id: u64,
}

/// What a share shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Incident(IncidentId),
    Drone(DroneId),
}

/// One share as the book knows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Share {
    pub id: u64,
    pub target: Target,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub by: String,
    pub has_pin: bool,
    pub revoked: Option<(Timestamp, String)>,
    /// Newest last, at most [`OPENINGS_KEPT`].
    pub openings: Vec<Opening>,
    /// How many openings there were in all.
    pub opened: u64,
    token_sha256: String,
    pin: Option<PinDigest>,
    wrong_pins: u32,
    locked_until: Option<Timestamp>,
}

/// Who opened a share.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Visitor {
    pub address: Option<String>,
    pub forwarded_for: Option<String>,
    pub user_agent: Option<String>,
}

/// One logged opening.
#[derive(Debug, Clone, PartialEq)]
pub struct Opening {
    pub at: Timestamp,
    pub visitor: Visitor,
}

/// A share's state at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Active,
    Revoked,
    Expired,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// An entry that is in the log: replayed at start, or just committed.
    Logged(ShareEntry),
    /// A dispatcher shares `target` (the IO checked that it exists).
    Create {
        token_sha256: String,
        target: Target,
        expires_in: Duration,
        pin: Option<PinDigest>,
        by: String,
    },
    Revoke {
        id: u64,
        by: String,
    },
    /// A view presents its token (and PIN). With a visitor, the opening is
    /// to be logged; without, it is a view's socket re-checking.
    Open {
        token_sha256: String,
        pin: Option<String>,
        visitor: Option<Visitor>,
    },
    /// Whether an open view may stay open.
    Watch {
        id: u64,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// Log this entry, then feed it back as [`Input::Logged`].
    Record(ShareEntry),
    /// The view opens on this share; `record` is its opening, to log.
    Granted {
        id: u64,
        target: Target,
        expires_at: Timestamp,
        record: Option<ShareEntry>,
    },
    /// The view may stay open.
    Live {
        expires_at: Timestamp,
    },
    Refused(Refusal),
    /// A logged entry taken in (or one naming an unknown share, ignored).
    Applied,
}

/// Why not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    Unknown,
    Revoked,
    Expired,
    PinRequired,
    WrongPin { left: u32 },
    Locked { retry_after_s: u64 },
    AlreadyRevoked,
}

impl Book {
    pub fn handle(&mut self, now: Timestamp, input: Input) -> Output {
        match input {
            Input::Logged(e) => {
                self.apply(e);
                Output::Applied
            }
            Input::Create {
                token_sha256,
                target,
                expires_in,
                pin,
                by,
            } => {
                // Taken now, so that two creations under way never share one.
                self.next_id = self.next_id.max(1);
                let id = self.next_id;
                self.next_id += 1;
                let (incident, drone) = match target {
                    Target::Incident(i) => (Some(i), None),
                    Target::Drone(d) => (None, Some(d)),
                };
                Output::Record(ShareEntry {
                    share: id,
                    at: now,
                    change: ShareChange::Created {
                        token_sha256,
                        incident,
                        drone,
                        expires_at: now + expires_in,
                        pin,
                        by,
                    },
                })
            }
            Input::Revoke { id, by } => match self.shares.get(&id) {
                None => Output::Refused(Refusal::Unknown),
                Some(s) if s.revoked.is_some() => Output::Refused(Refusal::AlreadyRevoked),
                Some(_) => Output::Record(ShareEntry {
                    share: id,
                    at: now,
                    change: ShareChange::Revoked { by },
                }),
            },
            Input::Open {
                token_sha256,
                pin,
                visitor,
            } => self.open(now, &token_sha256, pin.as_deref(), visitor),
            Input::Watch { id } => match self.shares.get(&id) {
                None => Output::Refused(Refusal::Unknown),
                Some(s) => match s.status(now) {
                    Status::Active => Output::Live {
                        expires_at: s.expires_at,
                    },
                    Status::Revoked => Output::Refused(Refusal::Revoked),
                    Status::Expired => Output::Refused(Refusal::Expired),
                },
            },
        }
    }

    /// Every share, newest first.
    pub fn list(&self) -> impl Iterator<Item = &Share> {
        self.shares.values().rev()
    }

    pub fn get(&self, id: u64) -> Option<&Share> {
        self.shares.get(&id)
    }

    /// The share behind a token's hash (a look, not a PIN try).
    pub fn by_token(&self, token_sha256: &str) -> Option<&Share> {
        self.by_token
            .get(token_sha256)
            .and_then(|id| self.shares.get(id))
    }

    fn open(
        &mut self,
        now: Timestamp,
        token_sha256: &str,
        pin: Option<&str>,
        visitor: Option<Visitor>,
    ) -> Output {
        let Some(s) = self
            .by_token
            .get(token_sha256)
            .and_then(|id| self.shares.get_mut(id))
        else {
            return Output::Refused(Refusal::Unknown);
        };
        match s.status(now) {
            Status::Active => {}
            Status::Revoked => return Output::Refused(Refusal::Revoked),
            Status::Expired => return Output::Refused(Refusal::Expired),
        }
        if let Some(digest) = &s.pin {
            if let Some(until) = s.locked_until {
                if now < until {
                    let left = (until - now).num_milliseconds().max(0) as u64;
                    return Output::Refused(Refusal::Locked {
                        retry_after_s: left.div_ceil(1000).max(1),
                    });
                }
                s.locked_until = None;
                s.wrong_pins = 0;
            }
            let Some(pin) = pin else {
                return Output::Refused(Refusal::PinRequired);
            };
            if !super::secret::pin_matches(digest, pin) {
                s.wrong_pins += 1;
                if s.wrong_pins >= MAX_PIN_TRIES {
                    s.wrong_pins = 0;
                    s.locked_until = Some(now + Duration::seconds(PIN_LOCK_S));
                    return Output::Refused(Refusal::Locked {
                        retry_after_s: PIN_LOCK_S as u64,
                    });
                }
                return Output::Refused(Refusal::WrongPin {
                    left: MAX_PIN_TRIES - s.wrong_pins,
                });
            }
            s.wrong_pins = 0;
        }
        let seen_lately = |v: &Visitor| {
            s.openings
                .iter()
                .rev()
                .take_while(|o| now - o.at < Duration::seconds(SAME_OPENING_S))
                .any(|o| o.visitor == *v)
        };
        let record = visitor.filter(|v| !seen_lately(v)).map(|v| ShareEntry {
            share: s.id,
            at: now,
            change: ShareChange::Opened {
                address: v.address,
                forwarded_for: v.forwarded_for,
                user_agent: v.user_agent,
            },
        });
        Output::Granted {
            id: s.id,
            target: s.target.clone(),
            expires_at: s.expires_at,
            record,
        }
    }

    fn apply(&mut self, e: ShareEntry) {
        match e.change {
            ShareChange::Created {
                token_sha256,
                incident,
                drone,
                expires_at,
                pin,
                by,
            } => {
                let target = match (incident, drone) {
                    (Some(i), _) => Target::Incident(i),
                    (None, Some(d)) => Target::Drone(d),
                    // Never written so; nothing to show.
                    (None, None) => return,
                };
                self.next_id = self.next_id.max(e.share + 1);
                self.by_token.insert(token_sha256.clone(), e.share);
                self.shares.insert(
                    e.share,
                    Share {
                        id: e.share,
                        target,
                        created_at: e.at,
                        expires_at,
                        by,
                        has_pin: pin.is_some(),
                        revoked: None,
                        openings: Vec::new(),
                        opened: 0,
                        token_sha256,
                        pin,
                        wrong_pins: 0,
                        locked_until: None,
                    },
                );
            }
            ShareChange::Revoked { by } => {
                if let Some(s) = self.shares.get_mut(&e.share)
                    && s.revoked.is_none()
                {
                    s.revoked = Some((e.at, by));
                }
            }
            ShareChange::Opened {
                address,
                forwarded_for,
                user_agent,
            } => {
                if let Some(s) = self.shares.get_mut(&e.share) {
                    s.opened += 1;
                    if s.openings.len() >= OPENINGS_KEPT {
                        s.openings.remove(0);
                    }
                    s.openings.push(Opening {
                        at: e.at,
                        visitor: Visitor {
                            address,
                            forwarded_for,
                            user_agent,
                        },
                    });
                }
            }
        }
    }
}

impl Share {
    pub fn status(&self, now: Timestamp) -> Status {
        if self.revoked.is_some() {
            Status::Revoked
        } else if now >= self.expires_at {
            Status::Expired
        } else {
            Status::Active
        }
    }
}

/// What an open view may see: the shared incident and the drone serving
/// it, or the shared drone and the incident it serves. It follows the
/// incident events the view is sent (a reassigned incident shows its new
/// drone and no longer the old one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    target: Target,
    incident: Option<IncidentId>,
    drones: BTreeSet<DroneId>,
}

impl Scope {
    /// At opening: for an incident, the drone serving it now; for a drone,
    /// the incident it serves now.
    pub fn new(
        target: &Target,
        now_serving: Option<DroneId>,
        now_serves: Option<IncidentId>,
    ) -> Scope {
        match target {
            Target::Incident(i) => Scope {
                target: target.clone(),
                incident: Some(*i),
                drones: now_serving.into_iter().collect(),
            },
            Target::Drone(d) => Scope {
                target: target.clone(),
                incident: now_serves,
                drones: [d.clone()].into(),
            },
        }
    }

    /// An incident's news: `drone` serves it now (None: no drone), and it
    /// has ended or not. Returns whether the view is to be sent it.
    pub fn on_incident(&mut self, incident: IncidentId, drone: Option<&str>, ended: bool) -> bool {
        match &self.target {
            Target::Incident(i) if *i == incident => {
                self.drones = drone.map(|d| DroneId(d.to_owned())).into_iter().collect();
                true
            }
            Target::Incident(_) => false,
            Target::Drone(d) => {
                let serves = drone == Some(d.0.as_str());
                if serves && !ended {
                    self.incident = Some(incident);
                    true
                } else if self.incident == Some(incident) {
                    // Its end, or its drone changed: the last news of it.
                    if !serves {
                        self.incident = None;
                    }
                    true
                } else {
                    false
                }
            }
        }
    }

    pub fn sees_drone(&self, drone: &str) -> bool {
        self.drones.iter().any(|d| d.0 == drone)
    }

    pub fn sees_incident(&self, incident: IncidentId) -> bool {
        self.incident == Some(incident)
    }

    pub fn incident(&self) -> Option<IncidentId> {
        self.incident
    }

    pub fn drones(&self) -> impl Iterator<Item = &DroneId> {
        self.drones.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::share::secret;

    fn t0() -> Timestamp {
        "2026-09-28T05:00:00Z"
            .parse()
            .unwrap_or_else(|e| panic!("{e}"))
    }

    fn at(s: i64) -> Timestamp {
        t0() + Duration::seconds(s)
    }

    /// A book with one share of incident 7 made at t0 for 2 h (with `pin`);
    /// returns its id.
    fn book_with(pin: Option<&str>) -> (Book, u64) {
        let mut b = Book::default();
        let pin = pin.map(|p| secret::pin_digest(p).unwrap_or_else(|e| panic!("{e}")));
        let out = b.handle(
            t0(),
            Input::Create {
                token_sha256: "h1".into(),
                target: Target::Incident(IncidentId(7)),
                expires_in: Duration::hours(2),
                pin,
                by: "desk".into(),
            },
        );
        let Output::Record(e) = out else {
            panic!("{out:?}")
        };
        let id = e.share;
        // Nothing exists before it is logged.
        assert_eq!(open(&mut b, 1, None), Output::Refused(Refusal::Unknown));
        assert_eq!(b.handle(t0(), Input::Logged(e)), Output::Applied);
        (b, id)
    }

    fn open(b: &mut Book, s: i64, pin: Option<&str>) -> Output {
        b.handle(
            at(s),
            Input::Open {
                token_sha256: "h1".into(),
                pin: pin.map(str::to_owned),
                visitor: None,
            },
        )
    }

    fn check(out: Output, expected: Result<(), Refusal>) {
        match (out, expected) {
            (Output::Granted { .. }, Ok(())) => {}
            (Output::Refused(r), Err(e)) => assert_eq!(r, e),
            (o, e) => panic!("got {o:?}, expected {e:?}"),
        }
    }

    #[test]
    fn a_share_opens_until_it_expires() {
        let (mut b, id) = book_with(None);
        check(open(&mut b, 60, None), Ok(()));
        check(open(&mut b, 7199, Some("ignored")), Ok(()));
        check(open(&mut b, 7200, None), Err(Refusal::Expired));
        assert_eq!(
            b.handle(at(7199), Input::Watch { id }),
            Output::Live {
                expires_at: at(7200)
            }
        );
        assert_eq!(
            b.handle(at(7200), Input::Watch { id }),
            Output::Refused(Refusal::Expired)
        );
        // A token that is not the share's.
        let other = b.handle(
            at(1),
            Input::Open {
                token_sha256: "h2".into(),
                pin: None,
                visitor: None,
            },
        );
        assert_eq!(other, Output::Refused(Refusal::Unknown));
    }

    #[test]
    fn a_revoked_share_closes_and_cannot_be_revoked_twice() {
        let (mut b, id) = book_with(None);
        let out = b.handle(
            at(10),
            Input::Revoke {
                id,
                by: "desk".into(),
            },
        );
        let Output::Record(e) = out else {
            panic!("{out:?}")
        };
        // Still open until the revocation is logged.
        check(open(&mut b, 11, None), Ok(()));
        b.handle(at(11), Input::Logged(e));
        check(open(&mut b, 12, None), Err(Refusal::Revoked));
        assert_eq!(
            b.handle(at(12), Input::Watch { id }),
            Output::Refused(Refusal::Revoked)
        );
        assert_eq!(
            b.handle(
                at(13),
                Input::Revoke {
                    id,
                    by: "desk".into()
                }
            ),
            Output::Refused(Refusal::AlreadyRevoked)
        );
        assert_eq!(
            b.handle(
                at(13),
                Input::Revoke {
                    id: 99,
                    by: "desk".into()
                }
            ),
            Output::Refused(Refusal::Unknown)
        );
        assert_eq!(b.get(id).map(|s| s.status(at(14))), Some(Status::Revoked));
    }

    #[test]
    fn wrong_pins_are_refused_then_lock_the_share_for_a_while() {
        let (mut b, _) = book_with(Some("2468"));
        check(open(&mut b, 1, None), Err(Refusal::PinRequired));
        check(
            open(&mut b, 2, Some("1111")),
            Err(Refusal::WrongPin { left: 4 }),
        );
        // A right PIN resets the count.
        check(open(&mut b, 3, Some("2468")), Ok(()));
        for (i, left) in [4, 3, 2, 1].into_iter().enumerate() {
            check(
                open(&mut b, 4 + i as i64, Some("0000")),
                Err(Refusal::WrongPin { left }),
            );
        }
        check(
            open(&mut b, 10, Some("0000")),
            Err(Refusal::Locked { retry_after_s: 300 }),
        );
        // Locked: even the right PIN waits, and is told how long.
        check(
            open(&mut b, 70, Some("2468")),
            Err(Refusal::Locked { retry_after_s: 240 }),
        );
        check(open(&mut b, 310, Some("2468")), Ok(()));
        // The count starts again after the lock.
        check(
            open(&mut b, 311, Some("9")),
            Err(Refusal::WrongPin { left: 4 }),
        );
    }

    #[test]
    fn an_opening_with_a_visitor_is_to_be_logged_and_listed_once_logged() {
        let (mut b, id) = book_with(None);
        let v = Visitor {
            address: Some("192.0.2.7:5000".into()),
            forwarded_for: None,
            user_agent: Some("crew tablet".into()),
        };
        let out = b.handle(
            at(5),
            Input::Open {
                token_sha256: "h1".into(),
                pin: None,
                visitor: Some(v.clone()),
            },
        );
        let Output::Granted {
            record: Some(e),
            target,
            ..
        } = out
        else {
            panic!("{out:?}")
        };
        assert_eq!(target, Target::Incident(IncidentId(7)));
        assert_eq!(b.get(id).map(|s| s.opened), Some(0));
        b.handle(at(5), Input::Logged(e));
        let s = b.get(id).unwrap_or_else(|| panic!("no share"));
        assert_eq!(s.opened, 1);
        assert_eq!(
            s.openings,
            vec![Opening {
                at: at(5),
                visitor: v.clone()
            }]
        );
        // The same visitor again soon: the same opening; later, or another: a new one.
        let again = |b: &mut Book, t: i64, v: &Visitor| match b.handle(
            at(t),
            Input::Open {
                token_sha256: "h1".into(),
                pin: None,
                visitor: Some(v.clone()),
            },
        ) {
            Output::Granted { record, .. } => record.is_some(),
            o => panic!("{o:?}"),
        };
        assert!(!again(&mut b, 60, &v));
        let other = Visitor {
            address: Some("198.51.100.1:1".into()),
            ..v.clone()
        };
        assert!(again(&mut b, 60, &other));
        assert!(again(&mut b, 5 + SAME_OPENING_S, &v));
    }

    #[test]
    fn replayed_entries_rebuild_the_book_and_its_numbering() {
        let (b, id) = book_with(Some("1234"));
        let s = b.get(id).unwrap_or_else(|| panic!("no share")).clone();
        let mut again = Book::default();
        again.handle(
            at(0),
            Input::Logged(ShareEntry {
                share: 41,
                at: at(0),
                change: ShareChange::Created {
                    token_sha256: "h1".into(),
                    incident: None,
                    drone: Some(DroneId("yg-1".into())),
                    expires_at: at(60),
                    pin: s.pin.clone(),
                    by: "desk".into(),
                },
            }),
        );
        check(open(&mut again, 1, Some("1234")), Ok(()));
        let next = again.handle(
            at(2),
            Input::Create {
                token_sha256: "h3".into(),
                target: Target::Drone(DroneId("yg-2".into())),
                expires_in: Duration::hours(1),
                pin: None,
                by: "desk".into(),
            },
        );
        assert!(
            matches!(next, Output::Record(ShareEntry { share: 42, .. })),
            "{next:?}"
        );
    }

    #[test]
    fn an_incident_share_sees_its_incident_and_whichever_drone_serves_it() {
        let mut s = Scope::new(
            &Target::Incident(IncidentId(7)),
            Some(DroneId("yg-1".into())),
            None,
        );
        assert!(s.sees_drone("yg-1") && !s.sees_drone("yg-2"));
        assert!(s.sees_incident(IncidentId(7)) && !s.sees_incident(IncidentId(8)));
        assert!(!s.on_incident(IncidentId(8), Some("yg-2"), false));
        assert!(s.sees_drone("yg-1") && !s.sees_drone("yg-2"));
        // Reassigned: the new drone, not the old one.
        assert!(s.on_incident(IncidentId(7), Some("yg-2"), false));
        assert!(s.sees_drone("yg-2") && !s.sees_drone("yg-1"));
    }

    #[test]
    fn a_drone_share_sees_the_drone_and_the_incident_it_serves_while_it_does() {
        let mut s = Scope::new(&Target::Drone(DroneId("yg-1".into())), None, None);
        assert!(s.sees_drone("yg-1") && !s.sees_drone("yg-2"));
        assert!(!s.on_incident(IncidentId(3), Some("yg-2"), false));
        assert!(s.on_incident(IncidentId(4), Some("yg-1"), false));
        assert!(s.sees_incident(IncidentId(4)) && !s.sees_incident(IncidentId(3)));
        // Reassigned away: the view hears that last, then nothing more of it.
        assert!(s.on_incident(IncidentId(4), Some("yg-2"), false));
        assert!(!s.sees_incident(IncidentId(4)));
        assert!(!s.on_incident(IncidentId(4), Some("yg-2"), false));
    }
}
