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
//!
//! Inside: `handle` ([`LinkHandle`]) and `params` (its parameter calls),
//! `driver` (the link task and what comes in), `send` (signing and routing
//! what goes out), `gate` ([`SendGate`], the permission to send at all), `protocol` (commands, missions, parameters on the task's
//! side), `transport` (the sockets) and `error`.

mod driver;
mod error;
mod gate;
mod handle;
mod params;
mod protocol;
mod send;
mod transport;

pub use error::{CommandError, ParamError, UploadError};
pub use gate::SendGate;
pub use handle::LinkHandle;
pub use params::ParamValue;
pub use transport::Transport;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{broadcast, mpsc, oneshot, watch};

use crate::codec::FrameError;
use crate::mav::{MISSION_ITEM_INT_DATA, MavCmd, MavFrame, MavMissionType, MavParamType};
use crate::signing::{Keyring, SignError, Signer};
use crate::state::{Fleet, LinkStatus, LinkTimeouts};
use driver::Driver;

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
    /// When given, no frame leaves the link unless the gate is open at the
    /// moment it is written (a dispatch server that may have lost its
    /// lease sends nothing). None: always open.
    pub send_gate: Option<SendGate>,
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
            send_gate: None,
        }
    }
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
    /// A COMMAND_LONG to the vehicle's camera component (100) instead of
    /// its autopilot. Its COMMAND_ACK settles it like any other: one
    /// command of a kind at a time per vehicle, whichever component.
    Camera {
        command: MavCmd,
        params: [f32; 7],
    },
}

impl Command {
    fn id(&self) -> MavCmd {
        match self {
            Command::Long { command, .. }
            | Command::Int { command, .. }
            | Command::Camera { command, .. } => *command,
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
