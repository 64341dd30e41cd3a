//! The dispatcher's MAVLink link: one task owning the socket, the vehicle
//! table and the protocol state; a cloneable [`LinkHandle`] to use it.
//!
//! - Sends its own GCS HEARTBEAT at 1 Hz and, when a vehicle is first seen
//!   (or comes back after a loss), asks it for the telemetry rates it needs.
//! - Commands follow the MAVLink command protocol: COMMAND_LONG/COMMAND_INT,
//!   wait for COMMAND_ACK, retransmit on timeout (COMMAND_LONG with an
//!   incremented `confirmation`), keep waiting on IN_PROGRESS, and return a
//!   typed error on denial or after the last retry.
//! - Missions, fences and rally points upload through the mission protocol,
//!   resending the last message when the vehicle falls silent, until
//!   MISSION_ACK.
//! - Parameters follow the parameter protocol: PARAM_REQUEST_READ or
//!   PARAM_SET, answered by PARAM_VALUE, resent on silence; a set is
//!   verified against the value the vehicle reports back.
//!
//! Transports: UDP "listen" (vehicles send to us; replies go to the address
//! each system id was last heard from), UDP "connect" (we send to one
//! endpoint), TCP client, and an in-memory pair for tests.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use mavlink::Message as _;
use thiserror::Error;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::{broadcast, mpsc, oneshot, watch};

use crate::codec::{FrameError, encode_v2};
use crate::mav::{
    COMMAND_INT_DATA, COMMAND_LONG_DATA, HEARTBEAT_DATA, MISSION_COUNT_DATA, MISSION_ITEM_INT_DATA,
    MISSION_REQUEST_LIST_DATA, MavAutopilot, MavCmd, MavFrame, MavMessage, MavMissionResult,
    MavMissionType, MavModeFlag, MavParamType, MavResult, MavState, MavType,
    PARAM_REQUEST_READ_DATA, PARAM_SET_DATA,
};
use crate::modes::{Autopilot, FlightMode};
use crate::signing::{Keyring, SecretKey, SignError, Signer};
use crate::state::{Fleet, Ingested, LinkStatus, LinkTimeouts, VehicleState};

/// Where the link talks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Address {
    /// Bind here; vehicles send to us (as QGroundControl listens on 14550).
    UdpIn(SocketAddr),
    /// Send to this endpoint (a vehicle or simulator listening).
    UdpOut(SocketAddr),
    /// TCP client to a vehicle or router.
    TcpOut(SocketAddr),
}

impl std::str::FromStr for Address {
    type Err = String;

    /// `udpin:HOST:PORT`, `udpout:HOST:PORT` or `tcpout:HOST:PORT`.
    fn from_str(s: &str) -> Result<Self, String> {
        let (kind, addr) = s.split_once(':').ok_or_else(|| {
            format!("`{s}` is not udpin:HOST:PORT, udpout:HOST:PORT or tcpout:HOST:PORT")
        })?;
        let addr: SocketAddr = addr
            .parse()
            .map_err(|e| format!("`{addr}` in `{s}` is not HOST:PORT with a numeric host: {e}"))?;
        match kind {
            "udpin" => Ok(Address::UdpIn(addr)),
            "udpout" => Ok(Address::UdpOut(addr)),
            "tcpout" | "tcp" => Ok(Address::TcpOut(addr)),
            other => Err(format!(
                "unknown link kind `{other}`; use udpin, udpout or tcpout"
            )),
        }
    }
}

/// Link settings.
#[derive(Debug, Clone)]
pub struct LinkConfig {
    pub system_id: u8,
    pub component_id: u8,
    pub timeouts: LinkTimeouts,
    /// Wait for COMMAND_ACK this long before retransmitting.
    pub command_timeout: Duration,
    /// Retransmissions after the first attempt.
    pub command_retries: u32,
    /// How long IN_PROGRESS keeps a command alive without news.
    pub in_progress_timeout: Duration,
    /// Mission protocol: silence before resending, and resends before giving up.
    pub mission_timeout: Duration,
    pub mission_retries: u32,
    /// Whole transfers tried before an upload fails (a vehicle that gave
    /// up, or went silent, mid-transfer gets it again).
    pub upload_attempts: u32,
    /// Message id and rate (Hz) requested from every vehicle.
    pub stream_rates: Vec<(u32, f64)>,
    /// MAVLink 2 signing: outgoing frames are signed with the key of the
    /// vehicle they go to, incoming frames verified (unsigned ones refused
    /// unless the keyring allows them). None: no signing (legacy vehicles).
    pub signing: Option<Keyring>,
    /// Link id this station signs with.
    pub signing_link_id: u8,
}

impl Default for LinkConfig {
    fn default() -> Self {
        Self {
            system_id: 255,
            component_id: 190,
            timeouts: LinkTimeouts::default(),
            command_timeout: Duration::from_millis(1000),
            command_retries: 5,
            in_progress_timeout: Duration::from_secs(30),
            mission_timeout: Duration::from_millis(1500),
            mission_retries: 5,
            upload_attempts: 3,
            // GLOBAL_POSITION_INT, SYS_STATUS, BATTERY_STATUS, MISSION_CURRENT, EXTENDED_SYS_STATE.
            stream_rates: vec![(33, 2.0), (1, 1.0), (147, 1.0), (42, 1.0), (245, 1.0)],
            signing: None,
            signing_link_id: 0,
        }
    }
}

/// Why a command did not succeed.
#[derive(Debug, Clone, Error, PartialEq)]
pub enum CommandError {
    #[error("vehicle {system_id} answered {command:?} with {result:?}")]
    Rejected {
        system_id: u8,
        command: MavCmd,
        result: MavResult,
    },
    #[error("vehicle {system_id} did not acknowledge {command:?} after {attempts} attempts")]
    Timeout {
        system_id: u8,
        command: MavCmd,
        attempts: u32,
    },
    #[error("vehicle {system_id} already has a {command:?} in flight")]
    Busy { system_id: u8, command: MavCmd },
    #[error("system id {0} is not a configured vehicle")]
    UnknownVehicle(u8),
    #[error("vehicle {system_id} has no mode {mode} on its autopilot")]
    NoSuchMode { system_id: u8, mode: FlightMode },
    #[error("the link is closed")]
    Closed,
}

/// Why an upload did not succeed.
#[derive(Debug, Clone, Error, PartialEq)]
pub enum UploadError {
    #[error("vehicle {system_id} rejected the {kind:?} upload: {result:?}")]
    Rejected {
        system_id: u8,
        kind: MavMissionType,
        result: MavMissionResult,
    },
    #[error("vehicle {system_id} stopped answering the {kind:?} upload")]
    Timeout { system_id: u8, kind: MavMissionType },
    #[error("vehicle {system_id} is already receiving an upload")]
    Busy { system_id: u8 },
    #[error("system id {0} is not a configured vehicle")]
    UnknownVehicle(u8),
    #[error("the link is closed")]
    Closed,
}

/// Why a parameter could not be read or set.
#[derive(Debug, Clone, Error, PartialEq)]
pub enum ParamError {
    #[error("vehicle {system_id} did not answer for parameter {name} after {attempts} attempts")]
    Timeout {
        system_id: u8,
        name: String,
        attempts: u32,
    },
    #[error("vehicle {system_id} reports {name} = {got} after it was set to {wanted}")]
    Mismatch {
        system_id: u8,
        name: String,
        wanted: f64,
        got: f64,
    },
    #[error("`{0}` is not a parameter name (1 to 16 ASCII characters)")]
    BadName(String),
    #[error("{0} is not a finite parameter value")]
    BadValue(f64),
    #[error("vehicle {system_id} already has a request for {name} in flight")]
    Busy { system_id: u8, name: String },
    #[error("system id {0} is not a configured vehicle")]
    UnknownVehicle(u8),
    #[error("the link is closed")]
    Closed,
}

/// A parameter as the vehicle reported it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ParamValue {
    /// The value as a number (decoded from the autopilot's encoding).
    pub value: f64,
    pub param_type: MavParamType,
}

/// Things that happened on the link.
#[derive(Debug, Clone, PartialEq)]
pub enum LinkEvent {
    /// Manned traffic a configured vehicle forwarded (ADSB_VEHICLE).
    Traffic {
        system_id: u8,
        report: crate::adsb::AdsbReport,
    },
    LinkStatus {
        system_id: u8,
        status: LinkStatus,
    },
    StatusText {
        system_id: u8,
        /// MAV_SEVERITY: 0 emergency, 1 alert, 2 critical, 3 error, 4 warning ... 7 debug.
        severity: u8,
        text: String,
    },
    /// A frame from a system id that is not configured (reported once per id).
    UnknownSystem {
        system_id: u8,
    },
    /// Rejected input: the latest error and how many frames were rejected
    /// since the last such event. Sent at most once a second, so that a flood
    /// of garbage cannot crowd state changes out of the event channel.
    BadFrame {
        error: FrameError,
        count: u64,
    },
    /// Frames claiming a configured system id from an address it is not
    /// bound to (a spoofer, or a second radio): ignored, never answered.
    /// Reported at once for a new address, then at most once a second.
    ForeignAddress {
        system_id: u8,
        from: SocketAddr,
        bound_to: SocketAddr,
        count: u64,
    },
    /// Frames refused by signature checks: the latest reason and how many
    /// were refused since the last such event (at most one a second).
    SigningRefused {
        system_id: u8,
        error: SignError,
        count: u64,
    },
    /// A system id whose link was lost is heard again from another address.
    Rebound {
        system_id: u8,
        from: SocketAddr,
        to: SocketAddr,
    },
}

/// A command to send.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Long {
        command: MavCmd,
        params: [f32; 7],
    },
    Int {
        command: MavCmd,
        frame: MavFrame,
        params: [f32; 4],
        x: i32,
        y: i32,
        z: f32,
    },
}

impl Command {
    fn id(&self) -> MavCmd {
        match self {
            Command::Long { command, .. } | Command::Int { command, .. } => *command,
        }
    }
}

enum Request {
    Command {
        system_id: u8,
        command: Command,
        reply: oneshot::Sender<Result<(), CommandError>>,
    },
    Upload {
        system_id: u8,
        kind: MavMissionType,
        items: Vec<MISSION_ITEM_INT_DATA>,
        reply: oneshot::Sender<Result<(), UploadError>>,
    },
    Param {
        system_id: u8,
        name: String,
        /// None: read; Some: write this (already encoded) value with this type.
        set: Option<(f32, MavParamType)>,
        reply: oneshot::Sender<Result<(f32, MavParamType), ParamError>>,
    },
}

/// Handle on a running link. Cheap to clone.
#[derive(Debug, Clone)]
pub struct LinkHandle {
    tx: mpsc::Sender<Request>,
    events: broadcast::Sender<LinkEvent>,
    fleet: Arc<Mutex<Fleet>>,
    local: Option<SocketAddr>,
    /// The latest telemetry change sequence number (see [`VehicleState::changed_seq`]).
    telemetry: watch::Receiver<u64>,
    /// The instant the link clock counts from.
    start: Instant,
    timeouts: LinkTimeouts,
    upload_attempts: u32,
}

impl LinkHandle {
    /// The local socket address (for `udpin` with port 0).
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.local
    }

    pub fn subscribe(&self) -> broadcast::Receiver<LinkEvent> {
        self.events.subscribe()
    }

    /// Wakes when telemetry changed; the value is the latest change sequence number.
    pub fn telemetry_changes(&self) -> watch::Receiver<u64> {
        self.telemetry.clone()
    }

    /// Seconds on the link clock now (the clock of `last_heartbeat` and `changed_at`).
    pub fn link_time(&self) -> f64 {
        self.start.elapsed().as_secs_f64()
    }

    /// The link-health timeouts in force.
    pub fn timeouts(&self) -> LinkTimeouts {
        self.timeouts
    }

    /// The wall-clock instant of a link-clock time (as in `changed_at`).
    pub fn instant_of(&self, link_t: f64) -> Instant {
        self.start + Duration::from_secs_f64(link_t.max(0.0))
    }

    /// Every vehicle whose telemetry changed after `since`, with the latest sequence number.
    pub fn changed_since(&self, since: u64) -> (u64, Vec<VehicleState>) {
        let fleet = self.fleet.lock().unwrap_or_else(PoisonError::into_inner);
        (fleet.seq(), fleet.changed_since(since).cloned().collect())
    }

    /// A snapshot of one vehicle.
    pub fn vehicle(&self, system_id: u8) -> Option<VehicleState> {
        self.fleet
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(system_id)
            .cloned()
    }

    /// Binds a vehicle to `addr` for good (configuration, or an admin
    /// resolving a contest): heard only from there, sent to only there.
    /// False for a system id that is not configured.
    pub fn bind(&self, system_id: u8, addr: SocketAddr) -> bool {
        self.fleet
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pin(system_id, addr)
    }

    /// Frame counters (including frames from unknown systems).
    pub fn counters(&self) -> crate::state::IngestCounters {
        self.fleet
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .counters
            .clone()
    }

    pub async fn command(&self, system_id: u8, command: Command) -> Result<(), CommandError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Request::Command {
                system_id,
                command,
                reply,
            })
            .await
            .map_err(|_| CommandError::Closed)?;
        rx.await.map_err(|_| CommandError::Closed)?
    }

    pub async fn command_long(
        &self,
        system_id: u8,
        command: MavCmd,
        params: [f32; 7],
    ) -> Result<(), CommandError> {
        self.command(system_id, Command::Long { command, params })
            .await
    }

    pub async fn set_mode(&self, system_id: u8, mode: FlightMode) -> Result<(), CommandError> {
        let ap = self
            .vehicle(system_id)
            .ok_or(CommandError::UnknownVehicle(system_id))?
            .autopilot
            .unwrap_or(Autopilot::ArduCopter);
        let custom = ap
            .encode(mode)
            .ok_or(CommandError::NoSuchMode { system_id, mode })?;
        let (main, sub) = match ap {
            // PX4 takes main and sub mode as separate params.
            Autopilot::Px4 => (
                ((custom >> 16) & 0xFF) as f32,
                ((custom >> 24) & 0xFF) as f32,
            ),
            Autopilot::ArduCopter => (custom as f32, 0.0),
        };
        self.command_long(
            system_id,
            MavCmd::MAV_CMD_DO_SET_MODE,
            [1.0, main, sub, 0.0, 0.0, 0.0, 0.0],
        )
        .await
    }

    pub async fn arm(&self, system_id: u8, arm: bool) -> Result<(), CommandError> {
        let p1 = if arm { 1.0 } else { 0.0 };
        self.command_long(
            system_id,
            MavCmd::MAV_CMD_COMPONENT_ARM_DISARM,
            [p1, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        )
        .await
    }

    /// Reads a parameter (PARAM_REQUEST_READ, resent on silence).
    pub async fn param(&self, system_id: u8, name: &str) -> Result<ParamValue, ParamError> {
        let (raw, param_type) = self.param_request(system_id, name, None).await?;
        Ok(ParamValue {
            value: self.decode_param(system_id, param_type, raw),
            param_type,
        })
    }

    /// Sets a parameter and verifies it: reads it first (for its type and
    /// encoding), then [`LinkHandle::write_param`]. Returns the value the
    /// vehicle now holds.
    pub async fn set_param(
        &self,
        system_id: u8,
        name: &str,
        value: f64,
    ) -> Result<ParamValue, ParamError> {
        if !value.is_finite() {
            return Err(ParamError::BadValue(value));
        }
        let current = self.param(system_id, name).await?;
        self.write_param(system_id, name, value, current.param_type)
            .await
    }

    /// Sends PARAM_SET for a parameter of a known type and checks the
    /// PARAM_VALUE the vehicle answers with (the read-back).
    pub async fn write_param(
        &self,
        system_id: u8,
        name: &str,
        value: f64,
        param_type: MavParamType,
    ) -> Result<ParamValue, ParamError> {
        if !value.is_finite() {
            return Err(ParamError::BadValue(value));
        }
        let raw = self.encode_param(system_id, param_type, value);
        let (got_raw, param_type) = self
            .param_request(system_id, name, Some((raw, param_type)))
            .await?;
        let got = self.decode_param(system_id, param_type, got_raw);
        // f32 on the wire: compare at f32 precision.
        let tolerance = f64::from(f32::EPSILON) * 4.0 * value.abs().max(1.0);
        if (got - value).abs() > tolerance {
            return Err(ParamError::Mismatch {
                system_id,
                name: name.to_owned(),
                wanted: value,
                got,
            });
        }
        Ok(ParamValue {
            value: got,
            param_type,
        })
    }

    async fn param_request(
        &self,
        system_id: u8,
        name: &str,
        set: Option<(f32, MavParamType)>,
    ) -> Result<(f32, MavParamType), ParamError> {
        if name.is_empty() || name.len() > 16 || !name.is_ascii() {
            return Err(ParamError::BadName(name.to_owned()));
        }
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Request::Param {
                system_id,
                name: name.to_owned(),
                set,
                reply,
            })
            .await
            .map_err(|_| ParamError::Closed)?;
        rx.await.map_err(|_| ParamError::Closed)?
    }

    /// PX4 sends integer parameters bytewise in the float field; ArduPilot
    /// (and floats everywhere) send the number itself.
    fn bytewise(&self, system_id: u8, t: MavParamType) -> bool {
        let px4 = self
            .vehicle(system_id)
            .and_then(|v| v.autopilot)
            .is_some_and(|a| a == Autopilot::Px4);
        px4 && !matches!(
            t,
            MavParamType::MAV_PARAM_TYPE_REAL32 | MavParamType::MAV_PARAM_TYPE_REAL64
        )
    }

    fn decode_param(&self, system_id: u8, t: MavParamType, raw: f32) -> f64 {
        if !self.bytewise(system_id, t) {
            return f64::from(raw);
        }
        let bits = raw.to_bits();
        match t {
            MavParamType::MAV_PARAM_TYPE_UINT8 => f64::from(bits as u8),
            MavParamType::MAV_PARAM_TYPE_INT8 => f64::from(bits as u8 as i8),
            MavParamType::MAV_PARAM_TYPE_UINT16 => f64::from(bits as u16),
            MavParamType::MAV_PARAM_TYPE_INT16 => f64::from(bits as u16 as i16),
            MavParamType::MAV_PARAM_TYPE_UINT32 => f64::from(bits),
            _ => f64::from(bits as i32),
        }
    }

    fn encode_param(&self, system_id: u8, t: MavParamType, v: f64) -> f32 {
        if !self.bytewise(system_id, t) {
            return v as f32;
        }
        let bits = match t {
            MavParamType::MAV_PARAM_TYPE_UINT32 => v as u32,
            _ => (v as i32) as u32,
        };
        f32::from_bits(bits)
    }

    pub async fn upload(
        &self,
        system_id: u8,
        kind: MavMissionType,
        items: Vec<MISSION_ITEM_INT_DATA>,
    ) -> Result<(), UploadError> {
        // On a lossy link a vehicle gives an upload up after seconds without
        // an item (ArduPilot: 8 s), and we give up on a silent vehicle: both
        // start the whole transfer again, up to `upload_attempts` times. A
        // refusal (a bad item, no space) is final.
        let mut attempt = 1;
        loop {
            let (reply, rx) = oneshot::channel();
            self.tx
                .send(Request::Upload {
                    system_id,
                    kind,
                    items: items.clone(),
                    reply,
                })
                .await
                .map_err(|_| UploadError::Closed)?;
            let r = rx.await.map_err(|_| UploadError::Closed)?;
            let again = matches!(
                r,
                Err(UploadError::Timeout { .. })
                    | Err(UploadError::Rejected {
                        result: MavMissionResult::MAV_MISSION_OPERATION_CANCELLED,
                        ..
                    })
            );
            if !again || attempt >= self.upload_attempts {
                return r;
            }
            tracing::info!(
                system_id,
                ?kind,
                attempt,
                "upload interrupted ({r:?}); starting it again"
            );
            attempt += 1;
        }
    }
}

/// The byte pipe under the link.
pub enum Transport {
    Udp {
        socket: UdpSocket,
        peer: Option<SocketAddr>,
    },
    Tcp(TcpStream),
    /// In-memory datagrams, for tests: what the link sends goes to `tx`.
    Memory {
        tx: mpsc::UnboundedSender<Vec<u8>>,
        rx: mpsc::UnboundedReceiver<Vec<u8>>,
    },
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Transport::Udp { socket, peer } => {
                write!(f, "Udp({:?} -> {peer:?})", socket.local_addr().ok())
            }
            Transport::Tcp(_) => f.write_str("Tcp"),
            Transport::Memory { .. } => f.write_str("Memory"),
        }
    }
}

impl Transport {
    pub async fn open(address: &Address) -> std::io::Result<Transport> {
        Ok(match address {
            Address::UdpIn(a) => {
                let socket = UdpSocket::bind(a).await?;
                widen_receive_buffer(&socket);
                Transport::Udp { socket, peer: None }
            }
            Address::UdpOut(a) => {
                let any: SocketAddr = if a.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" }
                    .parse()
                    .map_err(|e| std::io::Error::other(format!("{e}")))?;
                Transport::Udp {
                    socket: UdpSocket::bind(any).await?,
                    peer: Some(*a),
                }
            }
            Address::TcpOut(a) => Transport::Tcp(TcpStream::connect(a).await?),
        })
    }

    /// An in-memory transport and the far end (frames sent by the link, frames to the link).
    pub fn memory() -> (
        Transport,
        mpsc::UnboundedReceiver<Vec<u8>>,
        mpsc::UnboundedSender<Vec<u8>>,
    ) {
        let (to_far, from_link) = mpsc::unbounded_channel();
        let (to_link, from_far) = mpsc::unbounded_channel();
        (
            Transport::Memory {
                tx: to_far,
                rx: from_far,
            },
            from_link,
            to_link,
        )
    }

    fn local_addr(&self) -> Option<SocketAddr> {
        match self {
            Transport::Udp { socket, .. } => socket.local_addr().ok(),
            Transport::Tcp(s) => s.local_addr().ok(),
            Transport::Memory { .. } => None,
        }
    }
}

struct PendingCommand {
    command: Command,
    attempts: u32,
    confirmation: u8,
    deadline: Instant,
    reply: oneshot::Sender<Result<(), CommandError>>,
}

struct PendingParam {
    /// The message to resend on silence.
    msg: MavMessage,
    attempts: u32,
    deadline: Instant,
    reply: oneshot::Sender<Result<(f32, MavParamType), ParamError>>,
}

struct PendingUpload {
    kind: MavMissionType,
    items: Vec<MISSION_ITEM_INT_DATA>,
    /// What we sent last (to resend on silence).
    last: MavMessage,
    deadline: Instant,
    resends: u32,
    /// The last item went out: on silence, ask for the vehicle's count too
    /// (its MISSION_ACK may be what was lost).
    final_sent: bool,
    reply: oneshot::Sender<Result<(), UploadError>>,
}

struct Driver {
    cfg: LinkConfig,
    transport: Transport,
    fleet: Arc<Mutex<Fleet>>,
    events: broadcast::Sender<LinkEvent>,
    /// Where each system id was last heard from (UDP listen mode).
    addrs: HashMap<u8, SocketAddr>,
    status: HashMap<u8, LinkStatus>,
    commands: HashMap<(u8, u32), PendingCommand>,
    uploads: HashMap<u8, PendingUpload>,
    params: HashMap<(u8, String), PendingParam>,
    seq: u8,
    start: Instant,
    tcp_buf: Vec<u8>,
    telemetry: watch::Sender<u64>,
    /// Rejected frames not yet reported, and when the last report went out.
    bad_pending: u64,
    bad_reported_at: Option<Instant>,
    /// Frames from foreign addresses per (system id, address) not yet
    /// reported, and when that pair was last reported.
    foreign: HashMap<(u8, SocketAddr), (u64, Option<Instant>)>,
    signer: Signer,
    /// Signature refusals not yet reported, and when the last report went out.
    refused_pending: u64,
    refused_reported_at: Option<Instant>,
}

/// Opens the transport and starts the link task.
pub async fn connect(
    address: &Address,
    system_ids: impl IntoIterator<Item = u8>,
    cfg: LinkConfig,
) -> std::io::Result<LinkHandle> {
    let transport = Transport::open(address).await?;
    Ok(spawn(transport, system_ids, cfg))
}

/// Starts the link task on an open transport.
pub fn spawn(
    transport: Transport,
    system_ids: impl IntoIterator<Item = u8>,
    cfg: LinkConfig,
) -> LinkHandle {
    let (tx, rx) = mpsc::channel(256);
    let (events, _) = broadcast::channel(1024);
    let mut fleet = Fleet::new(system_ids);
    if let Some(keys) = &cfg.signing {
        fleet.require_signatures(keys.clone());
    }
    let fleet = Arc::new(Mutex::new(fleet));
    let signer = Signer::new(cfg.signing_link_id);
    let local = transport.local_addr();
    let (telemetry_tx, telemetry) = watch::channel(0);
    let timeouts = cfg.timeouts;
    let upload_attempts = cfg.upload_attempts.max(1);
    let start = Instant::now();
    let driver = Driver {
        cfg,
        transport,
        fleet: Arc::clone(&fleet),
        events: events.clone(),
        addrs: HashMap::new(),
        status: HashMap::new(),
        commands: HashMap::new(),
        uploads: HashMap::new(),
        params: HashMap::new(),
        seq: 0,
        start,
        tcp_buf: Vec::new(),
        telemetry: telemetry_tx,
        bad_pending: 0,
        bad_reported_at: None,
        foreign: HashMap::new(),
        signer,
        refused_pending: 0,
        refused_reported_at: None,
    };
    tokio::spawn(driver.run(rx));
    LinkHandle {
        tx,
        events,
        fleet,
        local,
        telemetry,
        start,
        timeouts,
        upload_attempts,
    }
}

impl Driver {
    async fn run(mut self, mut rx: mpsc::Receiver<Request>) {
        let mut tick = tokio::time::interval(Duration::from_millis(50));
        let mut next_heartbeat = Instant::now();
        let mut buf = vec![0u8; 65_536];
        loop {
            tokio::select! {
                req = rx.recv() => match req {
                    Some(r) => self.request(r).await,
                    None => break,
                },
                _ = tick.tick() => {
                    let now = Instant::now();
                    if now >= next_heartbeat {
                        next_heartbeat = now + Duration::from_secs(1);
                        self.heartbeat().await;
                    }
                    self.timers(now).await;
                }
                got = recv(&mut self.transport, &mut buf, &mut self.tcp_buf) => match got {
                    Ok(Some((data, from))) => self.datagram(&data, from).await,
                    Ok(None) => {}
                    Err(e) => {
                        tracing::warn!("link receive error: {e}");
                        if matches!(self.transport, Transport::Tcp(_) | Transport::Memory { .. }) {
                            break;
                        }
                    }
                },
            }
        }
    }

    fn link_t(&self) -> f64 {
        self.start.elapsed().as_secs_f64()
    }

    /// The frames to send for `msg`: one unsigned frame without signing;
    /// with signing, one frame per key, each with the system ids it is for
    /// (None: every destination).
    fn frames(
        &mut self,
        system_id: Option<u8>,
        msg: &MavMessage,
    ) -> Vec<(Option<Vec<u8>>, Vec<u8>)> {
        let plain = encode_v2(self.cfg.system_id, self.cfg.component_id, self.seq, msg);
        self.seq = self.seq.wrapping_add(1);
        let Some(keys) = &self.cfg.signing else {
            return vec![(None, plain)];
        };
        let extra = MavMessage::extra_crc(msg.message_id());
        let systems: Vec<u8> = match system_id {
            Some(s) => vec![s],
            None => self
                .fleet
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .iter()
                .map(|v| v.system_id)
                .collect(),
        };
        // Group the systems by the key they hold (None: no key, unsigned).
        let mut groups: Vec<(Option<&SecretKey>, Vec<u8>)> = Vec::new();
        for s in systems {
            let k = keys.key_for(s);
            match groups.iter_mut().find(|(g, _)| *g == k) {
                Some((_, v)) => v.push(s),
                None => groups.push((k, vec![s])),
            }
        }
        groups
            .into_iter()
            .map(|(k, systems)| {
                let bytes = match k {
                    Some(k) => self.signer.sign(k, &plain, extra),
                    None => plain.clone(),
                };
                (Some(systems), bytes)
            })
            .collect()
    }

    async fn send(&mut self, system_id: Option<u8>, msg: &MavMessage) {
        for (systems, bytes) in self.frames(system_id, msg) {
            // Nothing goes to a contested vehicle, nor to an address only
            // contested vehicles are heard from; a bound (or pinned) address
            // is where a vehicle is.
            let now = self.link_t();
            let (routed, contested_only) = {
                let fleet = self.fleet.lock().unwrap_or_else(PoisonError::into_inner);
                let contested = |s: &u8| fleet.get(*s).is_some_and(|v| v.contested_at(now));
                let to = |s: &u8| -> Option<SocketAddr> {
                    if contested(s) {
                        return None;
                    }
                    fleet
                        .get(*s)
                        .and_then(|v| v.bound_to)
                        .or_else(|| self.addrs.get(s).copied())
                };
                let routed: Vec<SocketAddr> = match &systems {
                    Some(list) => list.iter().filter_map(to).collect(),
                    None => self.addrs.keys().filter_map(to).collect(),
                };
                let only = systems
                    .as_ref()
                    .is_some_and(|l| !l.is_empty() && l.iter().all(contested));
                (routed, only)
            };
            if contested_only && !matches!(self.transport, Transport::Udp { peer: None, .. }) {
                tracing::debug!("nothing sent to contested system(s) {systems:?}");
                continue;
            }
            let result = match &mut self.transport {
                Transport::Udp { socket, peer } => {
                    let mut dests: Vec<SocketAddr> = match peer {
                        Some(_) if contested_only => vec![],
                        Some(p) => vec![*p],
                        None => routed,
                    };
                    dests.sort();
                    dests.dedup();
                    let mut r = Ok(());
                    for d in dests {
                        if let Err(e) = socket.send_to(&bytes, d).await {
                            r = Err(e);
                        }
                    }
                    r
                }
                Transport::Tcp(s) => s.write_all(&bytes).await,
                Transport::Memory { tx, .. } => tx
                    .send(bytes)
                    .map_err(|_| std::io::Error::other("far end closed")),
            };
            if let Err(e) = result {
                tracing::debug!("link send error: {e}");
            }
        }
    }

    async fn heartbeat(&mut self) {
        let hb = MavMessage::HEARTBEAT(HEARTBEAT_DATA {
            custom_mode: 0,
            mavtype: MavType::MAV_TYPE_GCS,
            autopilot: MavAutopilot::MAV_AUTOPILOT_INVALID,
            base_mode: MavModeFlag::empty(),
            system_status: MavState::MAV_STATE_ACTIVE,
            mavlink_version: 3,
        });
        self.send(None, &hb).await;
    }

    async fn datagram(&mut self, data: &[u8], from: Option<SocketAddr>) {
        let now = self.link_t();
        let mut out = Ingested::default();
        let seq = {
            let mut fleet = self.fleet.lock().unwrap_or_else(PoisonError::into_inner);
            fleet.timeouts = self.cfg.timeouts;
            fleet.ingest_from(data, from, now, &mut out);
            fleet.seq()
        };
        if out.telemetry_changed {
            self.telemetry.send_replace(seq);
        }
        for sysid in out.new_unknown_systems {
            tracing::warn!(
                system_id = sysid,
                "frames from an unconfigured system id; ignored"
            );
            let _ = self
                .events
                .send(LinkEvent::UnknownSystem { system_id: sysid });
        }
        for (system_id, report) in out.traffic {
            let _ = self.events.send(LinkEvent::Traffic { system_id, report });
        }
        for (system_id, severity, text) in out.texts {
            let _ = self.events.send(LinkEvent::StatusText {
                system_id,
                severity,
                text,
            });
        }
        self.bad_pending += out.errors.len() as u64;
        if let Some(error) = out.errors.pop()
            && self
                .bad_reported_at
                .is_none_or(|t| t.elapsed() >= Duration::from_secs(1))
        {
            let count = std::mem::take(&mut self.bad_pending);
            self.bad_reported_at = Some(Instant::now());
            let _ = self.events.send(LinkEvent::BadFrame { error, count });
        }
        self.refused_pending += out.signing.len() as u64;
        if let Some((system_id, error)) = out.signing.pop()
            && self
                .refused_reported_at
                .is_none_or(|t| t.elapsed() >= Duration::from_secs(1))
        {
            let count = std::mem::take(&mut self.refused_pending);
            self.refused_reported_at = Some(Instant::now());
            let _ = self.events.send(LinkEvent::SigningRefused {
                system_id,
                error,
                count,
            });
        }
        for (system_id, from, to) in std::mem::take(&mut out.rebound) {
            self.addrs.insert(system_id, to);
            let _ = self.events.send(LinkEvent::Rebound {
                system_id,
                from,
                to,
            });
        }
        for (system_id, from, bound_to) in std::mem::take(&mut out.foreign) {
            if self.foreign.len() >= 1024 && !self.foreign.contains_key(&(system_id, from)) {
                // An address spray: forget the oldest bookkeeping, keep counting.
                self.foreign.clear();
            }
            let key = (system_id, from);
            let n = self.foreign.entry(key).or_insert((0, None));
            n.0 += 1;
            if n.1
                .is_none_or(|t: Instant| t.elapsed() >= Duration::from_secs(1))
            {
                let count = std::mem::take(&mut n.0);
                n.1 = Some(Instant::now());
                let _ = self.events.send(LinkEvent::ForeignAddress {
                    system_id,
                    from,
                    bound_to,
                    count,
                });
            }
        }
        for sysid in out.heartbeats {
            if let Some(addr) = from {
                self.addrs.insert(sysid, addr);
            }
            let prev = self.status.insert(sysid, LinkStatus::Up);
            if prev != Some(LinkStatus::Up) {
                let _ = self.events.send(LinkEvent::LinkStatus {
                    system_id: sysid,
                    status: LinkStatus::Up,
                });
                if prev.is_none() || prev == Some(LinkStatus::Lost) {
                    self.request_streams(sysid).await;
                }
            }
        }
        for frame in out.protocol {
            if let Some(addr) = from {
                self.addrs.entry(frame.system_id).or_insert(addr);
            }
            self.protocol(frame.system_id, frame.message).await;
        }
    }

    /// Asks a vehicle for the telemetry rates the dispatcher needs (fire and forget:
    /// the acks are not awaited; a vehicle that comes back after a loss is asked again).
    async fn request_streams(&mut self, sysid: u8) {
        for (id, hz) in self.cfg.stream_rates.clone() {
            let msg = MavMessage::COMMAND_LONG(COMMAND_LONG_DATA {
                param1: id as f32,
                param2: (1e6 / hz) as f32,
                command: MavCmd::MAV_CMD_SET_MESSAGE_INTERVAL,
                target_system: sysid,
                target_component: 1,
                ..Default::default()
            });
            self.send(Some(sysid), &msg).await;
        }
    }

    async fn protocol(&mut self, sysid: u8, msg: MavMessage) {
        match msg {
            MavMessage::COMMAND_ACK(ack) => {
                let key = (sysid, ack.command as u32);
                let Some(p) = self.commands.get_mut(&key) else {
                    return; // an ack for a fire-and-forget request, or a duplicate
                };
                match ack.result {
                    MavResult::MAV_RESULT_ACCEPTED => {
                        if let Some(p) = self.commands.remove(&key) {
                            let _ = p.reply.send(Ok(()));
                        }
                    }
                    MavResult::MAV_RESULT_IN_PROGRESS => {
                        p.deadline = Instant::now() + self.cfg.in_progress_timeout;
                    }
                    result => {
                        if let Some(p) = self.commands.remove(&key) {
                            let _ = p.reply.send(Err(CommandError::Rejected {
                                system_id: sysid,
                                command: ack.command,
                                result,
                            }));
                        }
                    }
                }
            }
            MavMessage::PARAM_VALUE(v) => {
                let name = v.param_id.to_str().unwrap_or_default().to_owned();
                if let Some(p) = self.params.remove(&(sysid, name)) {
                    let _ = p.reply.send(Ok((v.param_value, v.param_type)));
                }
            }
            MavMessage::MISSION_REQUEST_INT(r) => {
                self.mission_request(sysid, r.seq, r.mission_type).await
            }
            #[allow(deprecated)]
            MavMessage::MISSION_REQUEST(r) => {
                self.mission_request(sysid, r.seq, r.mission_type).await
            }
            MavMessage::MISSION_COUNT(c) => {
                // The answer to the count request sent after the last item:
                // the vehicle holds as many items as were sent, so the
                // upload went through and only its MISSION_ACK was lost.
                // (ArduPilot answers no count while it is still receiving,
                // so an older mission of the same length cannot answer.)
                let done = self.uploads.get(&sysid).is_some_and(|up| {
                    up.final_sent
                        && up.kind == c.mission_type
                        && usize::from(c.count) == up.items.len()
                });
                if done && let Some(up) = self.uploads.remove(&sysid) {
                    let _ = up.reply.send(Ok(()));
                }
            }
            MavMessage::MISSION_ACK(a) => {
                let Some(up) = self.uploads.get(&sysid) else {
                    return;
                };
                if a.mission_type != up.kind {
                    return;
                }
                if a.mavtype == MavMissionResult::MAV_MISSION_INVALID_SEQUENCE
                    || (up.final_sent && a.mavtype == MavMissionResult::MAV_MISSION_DENIED)
                {
                    // ArduPilot's answer to an item it did not ask for (our
                    // resend crossed its next request), or to our count
                    // request while it still receives: the upload goes on.
                    return;
                }
                if let Some(up) = self.uploads.remove(&sysid) {
                    let r = if a.mavtype == MavMissionResult::MAV_MISSION_ACCEPTED {
                        Ok(())
                    } else {
                        Err(UploadError::Rejected {
                            system_id: sysid,
                            kind: up.kind,
                            result: a.mavtype,
                        })
                    };
                    let _ = up.reply.send(r);
                }
            }
            _ => {}
        }
    }

    async fn mission_request(&mut self, sysid: u8, seq: u16, kind: MavMissionType) {
        let timeout = self.cfg.mission_timeout;
        let Some(up) = self.uploads.get_mut(&sysid) else {
            return;
        };
        if kind != up.kind {
            return;
        }
        let Some(item) = up.items.get(usize::from(seq)) else {
            return;
        };
        let mut item = item.clone();
        item.seq = seq;
        item.target_system = sysid;
        item.mission_type = kind;
        let msg = MavMessage::MISSION_ITEM_INT(item);
        up.final_sent = usize::from(seq) + 1 == up.items.len();
        up.last = msg.clone();
        up.deadline = Instant::now() + timeout;
        up.resends = 0;
        self.send(Some(sysid), &msg).await;
    }

    fn knows(&self, system_id: u8) -> bool {
        self.fleet
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(system_id)
            .is_some()
    }

    async fn request(&mut self, r: Request) {
        match r {
            Request::Command {
                system_id,
                command,
                reply,
            } => {
                if !self.knows(system_id) {
                    let _ = reply.send(Err(CommandError::UnknownVehicle(system_id)));
                    return;
                }
                let key = (system_id, command.id() as u32);
                // Same for a command nobody waits for any more.
                if self
                    .commands
                    .get(&key)
                    .is_some_and(|c| !c.reply.is_closed())
                {
                    let _ = reply.send(Err(CommandError::Busy {
                        system_id,
                        command: command.id(),
                    }));
                    return;
                }
                let p = PendingCommand {
                    command,
                    attempts: 1,
                    confirmation: 0,
                    deadline: Instant::now() + self.cfg.command_timeout,
                    reply,
                };
                let msg = command_msg(system_id, &p.command, p.confirmation);
                self.commands.insert(key, p);
                self.send(Some(system_id), &msg).await;
            }
            Request::Upload {
                system_id,
                kind,
                items,
                reply,
            } => {
                if !self.knows(system_id) {
                    let _ = reply.send(Err(UploadError::UnknownVehicle(system_id)));
                    return;
                }
                // An upload whose requester has gone (a launch called off) is
                // superseded: a new MISSION_COUNT restarts the transaction on
                // the vehicle, as the mission protocol allows.
                if self
                    .uploads
                    .get(&system_id)
                    .is_some_and(|u| !u.reply.is_closed())
                {
                    let _ = reply.send(Err(UploadError::Busy { system_id }));
                    return;
                }
                let count = MavMessage::MISSION_COUNT(MISSION_COUNT_DATA {
                    count: items.len() as u16,
                    target_system: system_id,
                    target_component: 1,
                    mission_type: kind,
                    opaque_id: 0,
                });
                self.uploads.insert(
                    system_id,
                    PendingUpload {
                        kind,
                        items,
                        last: count.clone(),
                        deadline: Instant::now() + self.cfg.mission_timeout,
                        resends: 0,
                        final_sent: false,
                        reply,
                    },
                );
                self.send(Some(system_id), &count).await;
            }
            Request::Param {
                system_id,
                name,
                set,
                reply,
            } => {
                if !self.knows(system_id) {
                    let _ = reply.send(Err(ParamError::UnknownVehicle(system_id)));
                    return;
                }
                let key = (system_id, name);
                if self.params.get(&key).is_some_and(|p| !p.reply.is_closed()) {
                    let _ = reply.send(Err(ParamError::Busy {
                        system_id,
                        name: key.1,
                    }));
                    return;
                }
                let param_id = key.1.as_str().into();
                let msg = match set {
                    None => MavMessage::PARAM_REQUEST_READ(PARAM_REQUEST_READ_DATA {
                        param_index: -1,
                        target_system: system_id,
                        target_component: 1,
                        param_id,
                    }),
                    Some((value, param_type)) => MavMessage::PARAM_SET(PARAM_SET_DATA {
                        param_value: value,
                        target_system: system_id,
                        target_component: 1,
                        param_id,
                        param_type,
                    }),
                };
                self.params.insert(
                    key,
                    PendingParam {
                        msg: msg.clone(),
                        attempts: 1,
                        deadline: Instant::now() + self.cfg.command_timeout,
                        reply,
                    },
                );
                self.send(Some(system_id), &msg).await;
            }
        }
    }

    async fn timers(&mut self, now: Instant) {
        // Command retransmissions and timeouts.
        let due: Vec<(u8, u32)> = self
            .commands
            .iter()
            .filter(|(_, p)| now >= p.deadline)
            .map(|(k, _)| *k)
            .collect();
        for key in due {
            let Some(mut p) = self.commands.remove(&key) else {
                continue;
            };
            if p.attempts > self.cfg.command_retries {
                let _ = p.reply.send(Err(CommandError::Timeout {
                    system_id: key.0,
                    command: p.command.id(),
                    attempts: p.attempts,
                }));
                continue;
            }
            p.attempts += 1;
            p.confirmation = p.confirmation.saturating_add(1);
            p.deadline = now + self.cfg.command_timeout;
            let msg = command_msg(key.0, &p.command, p.confirmation);
            self.commands.insert(key, p);
            self.send(Some(key.0), &msg).await;
        }
        // Parameter requests: resend (a PARAM_SET is idempotent) or give up.
        let due: Vec<(u8, String)> = self
            .params
            .iter()
            .filter(|(_, p)| now >= p.deadline)
            .map(|(k, _)| k.clone())
            .collect();
        for key in due {
            let Some(mut p) = self.params.remove(&key) else {
                continue;
            };
            if p.attempts > self.cfg.command_retries || p.reply.is_closed() {
                let _ = p.reply.send(Err(ParamError::Timeout {
                    system_id: key.0,
                    name: key.1,
                    attempts: p.attempts,
                }));
                continue;
            }
            p.attempts += 1;
            p.deadline = now + self.cfg.command_timeout;
            let msg = p.msg.clone();
            self.params.insert(key.clone(), p);
            self.send(Some(key.0), &msg).await;
        }
        // Mission upload resends.
        let due: Vec<u8> = self
            .uploads
            .iter()
            .filter(|(_, u)| now >= u.deadline)
            .map(|(k, _)| *k)
            .collect();
        for sysid in due {
            let Some(mut up) = self.uploads.remove(&sysid) else {
                continue;
            };
            if up.resends >= self.cfg.mission_retries {
                let _ = up.reply.send(Err(UploadError::Timeout {
                    system_id: sysid,
                    kind: up.kind,
                }));
                continue;
            }
            up.resends += 1;
            up.deadline = now + self.cfg.mission_timeout;
            let msg = up.last.clone();
            let verify = up.final_sent.then_some(MavMessage::MISSION_REQUEST_LIST(
                MISSION_REQUEST_LIST_DATA {
                    target_system: sysid,
                    target_component: 1,
                    mission_type: up.kind,
                },
            ));
            self.uploads.insert(sysid, up);
            self.send(Some(sysid), &msg).await;
            if let Some(v) = verify {
                self.send(Some(sysid), &v).await;
            }
        }
        // Link health.
        let t = self.link_t();
        let changes: Vec<(u8, LinkStatus)> = {
            let fleet = self.fleet.lock().unwrap_or_else(PoisonError::into_inner);
            fleet
                .iter()
                .filter_map(|v| {
                    let s = v.link_at(t, &self.cfg.timeouts);
                    (self.status.get(&v.system_id).is_some_and(|old| *old != s))
                        .then_some((v.system_id, s))
                })
                .collect()
        };
        for (system_id, status) in changes {
            self.status.insert(system_id, status);
            if let Some(v) = self
                .fleet
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .get_mut(system_id)
            {
                v.link = status;
            }
            let _ = self
                .events
                .send(LinkEvent::LinkStatus { system_id, status });
        }
    }
}

fn command_msg(system_id: u8, c: &Command, confirmation: u8) -> MavMessage {
    match c {
        Command::Long { command, params } => MavMessage::COMMAND_LONG(COMMAND_LONG_DATA {
            param1: params[0],
            param2: params[1],
            param3: params[2],
            param4: params[3],
            param5: params[4],
            param6: params[5],
            param7: params[6],
            command: *command,
            target_system: system_id,
            target_component: 1,
            confirmation,
        }),
        Command::Int {
            command,
            frame,
            params,
            x,
            y,
            z,
        } => MavMessage::COMMAND_INT(COMMAND_INT_DATA {
            param1: params[0],
            param2: params[1],
            param3: params[2],
            param4: params[3],
            x: *x,
            y: *y,
            z: *z,
            command: *command,
            target_system: system_id,
            target_component: 1,
            frame: *frame,
            current: 0,
            autocontinue: 0,
        }),
    }
}

/// Receives one datagram (or, on TCP, whatever bytes arrived, framed later by the codec).
async fn recv(
    t: &mut Transport,
    buf: &mut [u8],
    tcp_buf: &mut Vec<u8>,
) -> std::io::Result<Option<(Vec<u8>, Option<SocketAddr>)>> {
    match t {
        Transport::Udp { socket, .. } => {
            let (n, from) = socket.recv_from(buf).await?;
            Ok(Some((buf[..n].to_vec(), Some(from))))
        }
        Transport::Tcp(s) => {
            let n = s.read(buf).await?;
            if n == 0 {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "TCP peer closed",
                ));
            }
            tcp_buf.extend_from_slice(&buf[..n]);
            // Hand over only complete frames; keep a partial tail for the next read.
            let cut = complete_prefix(tcp_buf);
            let data: Vec<u8> = tcp_buf.drain(..cut).collect();
            Ok(Some((data, None)))
        }
        Transport::Memory { rx, .. } => match rx.recv().await {
            Some(d) => Ok(Some((d, None))),
            None => Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "in-memory peer closed",
            )),
        },
    }
}

/// Length of the prefix of a byte stream made of whole frames (or junk).
fn complete_prefix(b: &[u8]) -> usize {
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            0xFD => {
                if b.len() < i + 10 {
                    return i;
                }
                let signed = b[i + 2] & 1 != 0;
                let total = 12 + usize::from(b[i + 1]) + if signed { 13 } else { 0 };
                if b.len() < i + total {
                    return i;
                }
                i += total;
            }
            0xFE => {
                if b.len() < i + 6 {
                    return i;
                }
                let total = 8 + usize::from(b[i + 1]);
                if b.len() < i + total {
                    return i;
                }
                i += total;
            }
            _ => i += 1,
        }
    }
    i
}

/// A whole fleet sends to one socket: a default receive buffer (about 200
/// KiB on Linux) overflows in the once-a-second burst of 250 vehicles'
/// heartbeats and status messages, and the lost heartbeats look like lost
/// links. Ask for 4 MiB (the kernel may cap it at `net.core.rmem_max`).
fn widen_receive_buffer(socket: &UdpSocket) {
    const WANT: usize = 4 << 20;
    let s = socket2::SockRef::from(socket);
    if let Err(e) = s.set_recv_buffer_size(WANT) {
        tracing::warn!("cannot widen the MAVLink socket's receive buffer: {e}");
        return;
    }
    // Linux reports twice the size it books; below half of what was asked
    // for, the cap is low: say so, as dropped frames will follow.
    if let Ok(got) = s.recv_buffer_size()
        && got < WANT
    {
        tracing::warn!(
            "the MAVLink socket's receive buffer is {got} bytes (asked for {WANT}): raise net.core.rmem_max for a large fleet"
        );
    }
}
