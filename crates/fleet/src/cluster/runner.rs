//! The async side of the lease: a task that feeds the [`LeaseKeeper`] a
//! tick every 100 ms and the database's answers, makes the calls it decides
//! on blocking threads (the lease's connection is synchronous), and carries
//! out the rest: the send gate, the status, the news.

// The runtime's side: it reads the monotonic clock and spawns.
#![allow(clippy::disallowed_methods)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use super::keeper::{Decision, LeaseKeeper, Observation, Role, StepDown, Timing};
use crate::store::{Backend, DatabaseHealth, DatabaseState};
use crate::store_pg_lease::{Fence, Lease, LeaseState};
use mavlink_link::link::SendGate;

/// Where this server stands, for `/api/health`.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterStatus {
    pub node: String,
    pub role: Role,
    /// The lease's holder as last read (None: nobody holds it).
    pub leader: Option<String>,
    /// The lease's age when it was read (since its last take or renewal)
    /// and when that was, on the local clock.
    pub lease_age: Option<(Duration, Instant)>,
    /// The database as the lease's calls found it (None: not answered yet):
    /// what a standby, which writes no log, knows of it.
    pub database: Option<DatabaseHealth>,
}

impl ClusterStatus {
    /// Since the lease was last taken or renewed, as of now.
    pub fn lease_age(&self) -> Option<Duration> {
        self.lease_age.map(|(age, read)| age + read.elapsed())
    }
}

/// What the server must act on.
#[derive(Debug, Clone, PartialEq)]
pub enum News {
    /// The lease is ours: fence the store with `fence`, recover, start the fleet.
    Lead { token: u64, fence: Fence },
    /// Not the leader any more: the gate is shut; stop at once.
    SteppedDown(StepDown),
}

/// The running keeper. Cheap to clone.
#[derive(Debug, Clone)]
pub struct ClusterHandle {
    status: watch::Receiver<ClusterStatus>,
    commands: mpsc::UnboundedSender<Command>,
    gate: SendGate,
}

enum Command {
    Fenced(String),
    Release(oneshot::Sender<Result<bool, String>>),
}

/// Starts keeping the lease for `node`; the gate opens only while this
/// server leads.
pub fn start(
    lease: Lease,
    node: String,
    timing: Timing,
    gate: SendGate,
) -> (ClusterHandle, mpsc::UnboundedReceiver<News>) {
    let (status_tx, status) = watch::channel(ClusterStatus {
        node: node.clone(),
        role: Role::Standby,
        leader: None,
        lease_age: None,
        database: None,
    });
    let (commands, rx) = mpsc::unbounded_channel();
    let (news_tx, news) = mpsc::unbounded_channel();
    let runner = Runner {
        lease: Arc::new(lease),
        node,
        timing,
        gate: gate.clone(),
        status: status_tx,
        news: news_tx,
        keeper: LeaseKeeper::new(timing),
    };
    tokio::spawn(runner.run(rx));
    (
        ClusterHandle {
            status,
            commands,
            gate,
        },
        news,
    )
}

impl ClusterHandle {
    pub fn status(&self) -> watch::Receiver<ClusterStatus> {
        self.status.clone()
    }

    /// A commit was fenced: nothing more goes out (at once, before the
    /// keeper hears of it), and the keeper steps down.
    pub fn fenced(&self, why: String) {
        self.gate.close();
        let _ = self.commands.send(Command::Fenced(why));
    }

    /// A clean stop: shuts the gate and gives the lease up, so that a
    /// standby takes it at once. Ok(false): it was not ours any more.
    pub async fn release(&self) -> Result<bool, String> {
        self.gate.close();
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(Command::Release(tx))
            .map_err(|_| "the lease keeper has stopped".to_owned())?;
        rx.await
            .map_err(|_| "the lease keeper has stopped".to_owned())?
    }
}

struct Runner {
    lease: Arc<Lease>,
    node: String,
    timing: Timing,
    gate: SendGate,
    status: watch::Sender<ClusterStatus>,
    news: mpsc::UnboundedSender<News>,
    keeper: LeaseKeeper,
}

/// What a call on the lease's connection answered.
enum Answer {
    Acquired(Option<u64>, Option<LeaseState>),
    Renewed(bool),
    /// The error, and the state it puts the database in.
    Failed(String, DatabaseState),
}

impl Runner {
    async fn run(mut self, mut commands: mpsc::UnboundedReceiver<Command>) {
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut call: Option<JoinHandle<Answer>> = None;
        loop {
            let obs = tokio::select! {
                _ = tick.tick() => Observation::Tick,
                answer = async {
                    match call.as_mut() {
                        Some(h) => h.await,
                        None => std::future::pending().await,
                    }
                } => {
                    call = None;
                    self.database(match &answer {
                        Ok(Answer::Failed(e, state)) => Err((e.as_str(), *state)),
                        Ok(_) => Ok(()),
                        Err(_) => Err(("the lease call failed", DatabaseState::Failing)),
                    });
                    match answer {
                        Ok(Answer::Acquired(got, state)) => {
                            if let Some(s) = state {
                                self.seen(&s);
                            }
                            Observation::Acquired(got)
                        }
                        Ok(Answer::Renewed(ok)) => Observation::Renewed(ok),
                        Ok(Answer::Failed(e, _)) => {
                            tracing::warn!("dispatch lease: {e}");
                            Observation::Failed(e)
                        }
                        Err(e) => Observation::Failed(format!("the lease call failed: {e}")),
                    }
                }
                cmd = commands.recv() => match cmd {
                    Some(Command::Fenced(why)) => Observation::Fenced(why),
                    Some(Command::Release(reply)) => {
                        let _ = reply.send(self.release().await);
                        return;
                    }
                    // Every handle is gone: nobody acts on the news.
                    None => {
                        self.gate.close();
                        return;
                    }
                },
            };
            let now = Instant::now();
            for d in self.keeper.handle(now, obs) {
                match d {
                    Decision::TryAcquire => call = Some(self.try_acquire()),
                    Decision::Renew { token } => call = Some(self.renew(token)),
                    Decision::Lead { token, until } => {
                        self.gate.open_until(until);
                        self.status.send_modify(|s| {
                            s.role = Role::Leader { token };
                            s.leader = Some(self.node.clone());
                            s.lease_age = Some((Duration::ZERO, now));
                        });
                        let fence = self.lease.fence(token);
                        let _ = self.news.send(News::Lead { token, fence });
                    }
                    Decision::Extend { until } => {
                        self.gate.open_until(until);
                        let renewed = until - (self.timing.ttl - self.timing.margin);
                        self.status.send_modify(|s| {
                            s.lease_age = Some((Duration::ZERO, renewed));
                        });
                    }
                    Decision::StepDown(why) => {
                        self.gate.close();
                        self.status.send_modify(|s| s.role = Role::SteppedDown);
                        let _ = self.news.send(News::SteppedDown(why));
                        return;
                    }
                }
            }
        }
    }

    /// What the last lease call says of the database.
    fn database(&self, answer: Result<(), (&str, DatabaseState)>) {
        let now = chrono::Utc::now();
        let state = answer.map_or_else(|(_, s)| s, |()| DatabaseState::Ok);
        self.status.send_if_modified(|st| {
            let h = st
                .database
                .get_or_insert_with(|| DatabaseHealth::new(Backend::Postgres, now));
            let mut changed = false;
            if h.state != state {
                h.state = state;
                h.since = now;
                changed = true;
            }
            if let Err((e, _)) = answer {
                h.last_error = Some(e.to_owned());
                h.last_error_at = Some(now);
                changed = true;
            }
            changed
        });
    }

    /// The lease as read by a standby: who leads, since when.
    fn seen(&self, s: &LeaseState) {
        let leader = s.live.then(|| s.holder.clone()).flatten();
        let age = s.live.then_some((s.age, Instant::now()));
        self.status.send_modify(|st| {
            st.leader = leader;
            st.lease_age = age;
        });
    }

    fn try_acquire(&self) -> JoinHandle<Answer> {
        let (lease, node, ttl) = (Arc::clone(&self.lease), self.node.clone(), self.timing.ttl);
        tokio::task::spawn_blocking(move || match lease.try_acquire(&node, ttl) {
            Ok(Some(token)) => Answer::Acquired(Some(token), None),
            // Who holds it, for health; a failed read is no answer.
            Ok(None) => Answer::Acquired(None, lease.current().ok().flatten()),
            Err(e) => failed(&e),
        })
    }

    fn renew(&self, token: u64) -> JoinHandle<Answer> {
        let (lease, node, ttl) = (Arc::clone(&self.lease), self.node.clone(), self.timing.ttl);
        tokio::task::spawn_blocking(move || match lease.renew(&node, token, ttl) {
            Ok(ok) => Answer::Renewed(ok),
            Err(e) => failed(&e),
        })
    }

    async fn release(&mut self) -> Result<bool, String> {
        self.gate.close();
        let Role::Leader { token } = self.keeper.role() else {
            return Ok(false);
        };
        self.status.send_modify(|s| s.role = Role::SteppedDown);
        let (lease, node) = (Arc::clone(&self.lease), self.node.clone());
        tokio::task::spawn_blocking(move || lease.release(&node, token))
            .await
            .map_err(|e| format!("releasing the lease failed: {e}"))?
            .map_err(|e| e.to_string())
    }
}

fn failed(e: &crate::store::StoreError) -> Answer {
    Answer::Failed(e.to_string(), DatabaseHealth::state_of(e))
}
