//! `LeaseKeeper`: when to ask for the dispatch lease, when to renew it, and
//! when to stop being the leader. Sans IO: time comes in as `now` (the local
//! monotonic clock), what the database said comes in as an
//! [`Observation`], and what to do goes out as [`Decision`]s.
//!
//! The rule that keeps a paused or cut-off leader quiet: the lease counts
//! as ours only until `asked + ttl - margin`, where `asked` is when the last
//! successful take or renewal was *sent*. The database set its expiry to
//! its own `now() + ttl` at some moment after that, so, with the two clocks
//! running at the same rate (within `margin` over one `ttl`), our deadline
//! comes before the database's expiry, and another server can take the
//! lease only after it.

use std::time::{Duration, Instant};

/// How the lease is kept.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timing {
    /// How long a take or renewal holds in the database.
    pub ttl: Duration,
    /// How often the leader renews.
    pub renew_every: Duration,
    /// How often a standby tries to take the lease.
    pub poll_every: Duration,
    /// Taken off the ttl: clock-rate differences and the time a local
    /// deadline check may take.
    pub margin: Duration,
    /// A renewal that failed (no answer) is tried again this soon.
    pub retry_every: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            ttl: Duration::from_secs(3),
            renew_every: Duration::from_secs(1),
            poll_every: Duration::from_millis(500),
            margin: Duration::from_millis(500),
            retry_every: Duration::from_millis(250),
        }
    }
}

impl Timing {
    /// Whether the lease can be renewed in time at all.
    pub fn check(&self) -> Result<(), String> {
        if self.margin + self.renew_every >= self.ttl {
            return Err(format!(
                "lease ttl {:?} must be longer than the renewal interval {:?} plus the margin {:?}",
                self.ttl, self.renew_every, self.margin
            ));
        }
        Ok(())
    }
}

/// What the database (or the store) said.
#[derive(Debug, Clone, PartialEq)]
pub enum Observation {
    /// Time passed.
    Tick,
    /// The answer to [`Decision::TryAcquire`]: the new token, or None
    /// while another holds the lease.
    Acquired(Option<u64>),
    /// The answer to [`Decision::Renew`].
    Renewed(bool),
    /// The last call failed (the database is unreachable, or refused it).
    Failed(String),
    /// A commit was refused by the fence: another server holds a larger
    /// token, or ours ran out.
    Fenced(String),
}

/// What to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Ask the database for the lease.
    TryAcquire,
    /// Extend the lease held with `token`.
    Renew { token: u64 },
    /// The lease is ours with `token`: fence the store, recover, start the
    /// fleet. Commanding is allowed until `until` (local clock).
    Lead { token: u64, until: Instant },
    /// Commanding is allowed until `until`.
    Extend { until: Instant },
    /// Not the leader any more: stop commanding and writing at once.
    StepDown(StepDown),
}

/// Why a leader stopped leading.
#[derive(Debug, Clone, PartialEq)]
pub enum StepDown {
    /// The database refused the renewal: another holds the lease, or it ran out.
    Refused,
    /// No renewal succeeded in time (the database unreachable, or this
    /// process paused), by the local clock.
    Expired { since_renewal: Duration },
    /// A commit was fenced.
    Fenced(String),
}

impl std::fmt::Display for StepDown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StepDown::Refused => f.write_str(
                "the database refused to renew the lease (another server took it, or it ran out)",
            ),
            StepDown::Expired { since_renewal } => write!(
                f,
                "no lease renewal succeeded for {:.1} s (the database unreachable, or this process paused)",
                since_renewal.as_secs_f64()
            ),
            StepDown::Fenced(why) => write!(f, "a commit was fenced: {why}"),
        }
    }
}

/// Where a server stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Standby,
    Leader { token: u64 },
    SteppedDown,
}

/// The decision-maker (see the module docs).
#[derive(Debug, Clone)]
pub struct LeaseKeeper {
    timing: Timing,
    state: State,
    /// When the call now in flight was sent, if one is.
    asked: Option<Instant>,
}

#[derive(Debug, Clone, Copy)]
enum State {
    Standby {
        next_poll: Option<Instant>,
    },
    Leader {
        token: u64,
        /// When the last successful take or renewal was sent.
        renewed: Instant,
        next_renew: Instant,
    },
    SteppedDown,
}

impl LeaseKeeper {
    /// A standby that asks for the lease at once.
    pub fn new(timing: Timing) -> LeaseKeeper {
        LeaseKeeper {
            timing,
            state: State::Standby { next_poll: None },
            asked: None,
        }
    }

    pub fn role(&self) -> Role {
        match self.state {
            State::Standby { .. } => Role::Standby,
            State::Leader { token, .. } => Role::Leader { token },
            State::SteppedDown => Role::SteppedDown,
        }
    }

    /// Whether a call is waiting for its answer.
    pub fn asking(&self) -> bool {
        self.asked.is_some()
    }

    /// Takes in what happened at `now` and says what to do.
    pub fn handle(&mut self, now: Instant, obs: Observation) -> Vec<Decision> {
        let mut out = Vec::new();
        if matches!(self.state, State::SteppedDown) {
            return out;
        }
        let asked = match obs {
            Observation::Tick | Observation::Fenced(_) => None,
            _ => self.asked.take(),
        };
        match (self.state, obs) {
            (_, Observation::Fenced(why)) => {
                return self.step_down(StepDown::Fenced(why));
            }
            (State::Standby { .. }, Observation::Acquired(Some(token))) => {
                let Some(at) = asked else {
                    return out; // an answer nobody asked for
                };
                if now >= self.until(at) {
                    // Answered too late to command on (this process was
                    // paused): let it run out and take it again.
                    self.state = State::Standby {
                        next_poll: Some(now + self.timing.poll_every),
                    };
                    return out;
                }
                self.state = State::Leader {
                    token,
                    renewed: at,
                    next_renew: at + self.timing.renew_every,
                };
                out.push(Decision::Lead {
                    token,
                    until: self.until(at),
                });
            }
            (State::Standby { .. }, Observation::Acquired(None) | Observation::Failed(_)) => {
                let from = asked.unwrap_or(now);
                self.state = State::Standby {
                    next_poll: Some(from + self.timing.poll_every),
                };
            }
            (State::Leader { token, .. }, Observation::Renewed(true)) => {
                if let Some(at) = asked {
                    self.state = State::Leader {
                        token,
                        renewed: at,
                        next_renew: at + self.timing.renew_every,
                    };
                    if now < self.until(at) {
                        out.push(Decision::Extend {
                            until: self.until(at),
                        });
                    }
                }
            }
            (State::Leader { .. }, Observation::Renewed(false)) => {
                return self.step_down(StepDown::Refused);
            }
            (State::Leader { token, renewed, .. }, Observation::Failed(_)) => {
                self.state = State::Leader {
                    token,
                    renewed,
                    next_renew: now + self.timing.retry_every,
                };
            }
            // Ticks, and answers that do not fit the role (ignored).
            _ => {}
        }
        // Whatever came in: past our deadline, we are not the leader.
        if let State::Leader { renewed, .. } = self.state
            && now >= self.until(renewed)
        {
            let mut down = self.step_down(StepDown::Expired {
                since_renewal: now.saturating_duration_since(renewed),
            });
            out.append(&mut down);
            return out;
        }
        if self.asked.is_none() {
            match self.state {
                State::Standby { next_poll } if next_poll.is_none_or(|t| now >= t) => {
                    self.asked = Some(now);
                    out.push(Decision::TryAcquire);
                }
                State::Leader {
                    token, next_renew, ..
                } if now >= next_renew => {
                    self.asked = Some(now);
                    out.push(Decision::Renew { token });
                }
                _ => {}
            }
        }
        out
    }

    /// Until when a take or renewal sent at `at` lets this server command.
    fn until(&self, at: Instant) -> Instant {
        at + self.timing.ttl - self.timing.margin
    }

    fn step_down(&mut self, why: StepDown) -> Vec<Decision> {
        self.state = State::SteppedDown;
        self.asked = None;
        vec![Decision::StepDown(why)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    /// A keeper and a simulated clock.
    struct Sim {
        keeper: LeaseKeeper,
        t0: Instant,
        now: Instant,
    }

    impl Sim {
        // Any instant will do as the origin of simulated time.
        #[allow(clippy::disallowed_methods)]
        fn new() -> Sim {
            let t0 = Instant::now();
            Sim {
                keeper: LeaseKeeper::new(Timing::default()),
                t0,
                now: t0,
            }
        }

        fn at(&mut self, ms: u32, obs: Observation) -> Vec<Decision> {
            self.now = self.t0 + ms * MS;
            self.keeper.handle(self.now, obs)
        }

        fn t(&self, ms: u32) -> Instant {
            self.t0 + ms * MS
        }
    }

    #[test]
    fn a_standby_polls_every_half_second_until_the_lease_is_free() {
        let mut s = Sim::new();
        assert_eq!(s.at(0, Observation::Tick), vec![Decision::TryAcquire]);
        assert_eq!(s.at(50, Observation::Tick), vec![], "one call at a time");
        assert_eq!(s.at(80, Observation::Acquired(None)), vec![]);
        // The next poll is half a second after the last one was sent.
        assert_eq!(s.at(400, Observation::Tick), vec![]);
        assert_eq!(s.at(500, Observation::Tick), vec![Decision::TryAcquire]);
        assert_eq!(s.at(520, Observation::Failed("down".into())), vec![]);
        assert_eq!(s.at(1000, Observation::Tick), vec![Decision::TryAcquire]);
        assert_eq!(s.keeper.role(), Role::Standby);
    }

    #[test]
    fn a_leader_renews_every_second_and_commands_until_ttl_minus_margin_after_each_renewal() {
        let mut s = Sim::new();
        s.at(0, Observation::Tick);
        let lead = s.at(30, Observation::Acquired(Some(7)));
        // Counted from when the take was sent, not answered.
        assert_eq!(
            lead,
            vec![Decision::Lead {
                token: 7,
                until: s.t(2500)
            }]
        );
        assert_eq!(s.keeper.role(), Role::Leader { token: 7 });
        assert_eq!(s.at(900, Observation::Tick), vec![]);
        assert_eq!(
            s.at(1000, Observation::Tick),
            vec![Decision::Renew { token: 7 }]
        );
        assert_eq!(
            s.at(1040, Observation::Renewed(true)),
            vec![Decision::Extend { until: s.t(3500) }]
        );
        assert_eq!(
            s.at(2000, Observation::Tick),
            vec![Decision::Renew { token: 7 }]
        );
    }

    #[test]
    fn a_refused_renewal_or_a_fenced_commit_steps_down_at_once_and_for_good() {
        let mut s = Sim::new();
        s.at(0, Observation::Tick);
        s.at(10, Observation::Acquired(Some(1)));
        s.at(1000, Observation::Tick);
        assert_eq!(
            s.at(1010, Observation::Renewed(false)),
            vec![Decision::StepDown(StepDown::Refused)]
        );
        assert_eq!(s.keeper.role(), Role::SteppedDown);
        assert_eq!(
            s.at(5000, Observation::Tick),
            vec![],
            "stepped down is final"
        );
        assert_eq!(s.at(5000, Observation::Acquired(Some(2))), vec![]);

        let mut s = Sim::new();
        s.at(0, Observation::Tick);
        s.at(10, Observation::Acquired(Some(1)));
        assert_eq!(
            s.at(300, Observation::Fenced("token 2 holds".into())),
            vec![Decision::StepDown(StepDown::Fenced("token 2 holds".into()))]
        );
    }

    #[test]
    fn an_unreachable_database_is_retried_and_the_leader_steps_down_before_the_lease_can_run_out() {
        let mut s = Sim::new();
        s.at(0, Observation::Tick);
        s.at(10, Observation::Acquired(Some(3)));
        assert_eq!(
            s.at(1000, Observation::Tick),
            vec![Decision::Renew { token: 3 }]
        );
        assert_eq!(s.at(1100, Observation::Failed("timeout".into())), vec![]);
        assert_eq!(
            s.at(1350, Observation::Tick),
            vec![Decision::Renew { token: 3 }]
        );
        // That call hangs: nothing answers; the deadline passes on a tick.
        assert_eq!(s.at(2400, Observation::Tick), vec![]);
        assert_eq!(
            s.at(2500, Observation::Tick),
            vec![Decision::StepDown(StepDown::Expired {
                since_renewal: 2500 * MS
            })]
        );
    }

    #[test]
    fn a_leader_paused_past_its_lease_steps_down_on_whatever_wakes_it_even_a_late_yes() {
        // Paused right after sending a renewal; the database said yes at
        // once, but the answer is read 10 s later.
        let mut s = Sim::new();
        s.at(0, Observation::Tick);
        s.at(10, Observation::Acquired(Some(4)));
        assert_eq!(
            s.at(1000, Observation::Tick),
            vec![Decision::Renew { token: 4 }]
        );
        // No extension: the deadline of that renewal is long past.
        assert_eq!(
            s.at(11_000, Observation::Renewed(true)),
            vec![Decision::StepDown(StepDown::Expired {
                since_renewal: 10_000 * MS
            })]
        );
        // Woken by a tick instead.
        let mut s = Sim::new();
        s.at(0, Observation::Tick);
        s.at(10, Observation::Acquired(Some(4)));
        assert!(matches!(
            s.at(9_000, Observation::Tick).as_slice(),
            [Decision::StepDown(StepDown::Expired { .. })]
        ));
    }

    #[test]
    fn a_take_answered_too_late_is_not_a_lead_and_the_standby_asks_again() {
        let mut s = Sim::new();
        s.at(0, Observation::Tick);
        assert_eq!(s.at(4000, Observation::Acquired(Some(9))), vec![]);
        assert_eq!(s.keeper.role(), Role::Standby);
        assert_eq!(s.at(4500, Observation::Tick), vec![Decision::TryAcquire]);
        assert!(matches!(
            s.at(4510, Observation::Acquired(Some(10))).as_slice(),
            [Decision::Lead { token: 10, .. }]
        ));
    }

    #[test]
    fn timings_that_cannot_renew_in_time_are_refused() {
        let t = Timing {
            ttl: Duration::from_secs(1),
            ..Timing::default()
        };
        assert!(t.check().is_err());
        assert!(Timing::default().check().is_ok());
    }
}
