//! Settings the scenario carries for the rest of the system: the fleet's
//! MAVLink links, the dispatch server's (map tiles, tokens, event log, write
//! rates, TLS files) and MAVLink 2 signing, with the look-up of signing keys.

use std::collections::BTreeMap;
use std::path::PathBuf;

/// One MAVLink link of the fleet (a radio network, a MAVLink router's port).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkSpec {
    pub name: String,
    /// Where to open it (`udpin:HOST:PORT`...), unless given on the command line.
    pub address: Option<String>,
}

/// The link name of a scenario without `[[link]]`.
pub const DEFAULT_LINK: &str = "default";

/// What the dispatch server reads from the scenario file.
#[derive(Debug, Clone, Default)]
pub struct ServerSettings {
    /// An optional online tile layer for the map (`{z}/{x}/{y}` URL); the
    /// offline basemap is always there.
    pub tile_url: Option<String>,
    /// Attribution shown with the tile layer.
    pub tile_attribution: Option<String>,
    /// Access tokens (`[[token]]`), more may come from the environment.
    pub tokens: Vec<TokenConfig>,
    /// The durable event log (SQLite file), relative paths resolved against
    /// the configuration file's directory. None: nothing is kept.
    pub event_log: Option<PathBuf>,
    /// Changes (reports, launches, commands, zones) per minute and burst
    /// per token before `429 Too Many Requests`; None: the server's default.
    pub write_rate_per_min: Option<u32>,
    pub write_burst: Option<u32>,
    /// HTTPS for the API, websocket and map (`tls_cert` and `tls_key`,
    /// both or neither); None: plain HTTP.
    pub tls: Option<TlsFiles>,
}

/// The PEM files the server's TLS is read from, relative paths resolved
/// against the configuration file's directory. Only their names are
/// checked here; the server reads them at start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// The certificate chain, the server's own certificate first.
    pub cert: PathBuf,
    /// Its private key.
    pub key: PathBuf,
}

/// What the dispatch servers of one region share (`[cluster]`).
#[derive(Debug, Clone, Default)]
pub struct ClusterSettings {
    /// The event log in PostgreSQL (`postgres://USER@HOST:PORT/DATABASE`),
    /// instead of `[server] event_log`'s SQLite file.
    pub database: Option<String>,
    /// This server's name in the dispatch lease (`dispatcher serve --node`):
    /// with `database`, the server is one of several, leader or standby.
    pub node: Option<String>,
    /// The NATS server the cluster's servers talk over (`nats://HOST:PORT`,
    /// `dispatcher serve --bus`): fleet events to every server, writes
    /// forwarded to the leader.
    pub bus: Option<String>,
    /// The first token of every NATS subject the cluster uses (default
    /// `fleet`): two clusters on one NATS server keep apart by it.
    pub subject_prefix: Option<String>,
    /// The cluster's servers as the map reaches them (`https://HOST:PORT`):
    /// a map whose server dies reconnects to the next one.
    pub servers: Vec<String>,
}

/// Whether `url` names a NATS server: `nats://HOST:PORT` (or `tls://`),
/// several separated by commas.
pub fn valid_bus_url(url: &str) -> bool {
    url.split(',').all(|u| {
        let u = u.trim();
        let rest = u
            .strip_prefix("nats://")
            .or_else(|| u.strip_prefix("tls://"));
        rest.is_some_and(|r| !r.is_empty() && !r.contains(char::is_whitespace))
    })
}

/// Whether `prefix` can start NATS subjects: dot-separated tokens of
/// letters, digits, `_` or `-`, at most 64 characters in all.
pub fn valid_subject_prefix(prefix: &str) -> bool {
    prefix.len() <= 64
        && prefix.split('.').all(|t| {
            !t.is_empty()
                && t.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'))
        })
}

/// Whether `name` can name a server in the dispatch lease: 1 to 64
/// letters, digits, `.`, `_` or `-`.
pub fn valid_node_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// One access token and its role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenConfig {
    pub name: String,
    /// `viewer`, `dispatcher` or `admin`.
    pub role: String,
    pub token: String,
}

/// Where a MAVLink signing key comes from. The key itself is never printed.
#[derive(Clone, PartialEq, Eq)]
pub enum KeySource {
    /// 64 hexadecimal digits written in the configuration file.
    Inline(String),
    /// The name of an environment variable holding the 64 digits.
    Env(String),
}

impl std::fmt::Debug for KeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeySource::Inline(_) => f.write_str("Inline(<redacted>)"),
            KeySource::Env(name) => write!(f, "Env({name})"),
        }
    }
}

/// MAVLink 2 signing settings of the scenario.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SigningSettings {
    /// The key of every drone without its own.
    pub default: Option<KeySource>,
    /// Keys of single drones, by MAVLink system id.
    pub drones: BTreeMap<u8, KeySource>,
    /// Refuse to start when a key is missing from the environment.
    pub require: bool,
    /// Accept unsigned frames (migration, legacy vehicles); signed frames are
    /// still verified, and simulated vehicles still refuse unsigned commands.
    pub allow_unsigned: bool,
    /// Link id this station signs with.
    pub link_id: u8,
}

/// Signing keys resolved from the settings and the environment (64
/// hexadecimal digits each; `Debug` does not show them).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SigningKeys {
    pub default: Option<String>,
    pub drones: BTreeMap<u8, String>,
    pub allow_unsigned: bool,
    pub link_id: u8,
    /// Lines for the log: keys that were configured but are not set.
    pub warnings: Vec<String>,
}

impl std::fmt::Debug for SigningKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKeys")
            .field("default", &self.default.as_ref().map(|_| "<redacted>"))
            .field("drones", &self.drones.keys().collect::<Vec<_>>())
            .field("allow_unsigned", &self.allow_unsigned)
            .finish()
    }
}

impl SigningKeys {
    /// Whether any link is signed.
    pub fn enabled(&self) -> bool {
        self.default.is_some() || !self.drones.is_empty()
    }
}

/// Checks that `s` is 64 hexadecimal digits, without repeating it.
pub fn check_key_hex(s: &str) -> Result<(), String> {
    let s = s.trim();
    if s.len() != 64 {
        return Err(format!(
            "a signing key is 64 hexadecimal digits (32 bytes); this one has {} characters",
            s.len()
        ));
    }
    match s.chars().position(|c| !c.is_ascii_hexdigit()) {
        Some(i) => Err(format!(
            "a signing key is 64 hexadecimal digits; character {} is not one",
            i + 1
        )),
        None => Ok(()),
    }
}

impl SigningSettings {
    /// Looks the keys up (`env` reads an environment variable). A variable
    /// that is not set is an error when `require` is on, else a warning and
    /// that link stays unsigned.
    pub fn resolve(&self, env: impl Fn(&str) -> Option<String>) -> Result<SigningKeys, String> {
        let mut out = SigningKeys {
            allow_unsigned: self.allow_unsigned,
            link_id: self.link_id,
            ..SigningKeys::default()
        };
        let mut get = |src: &KeySource, what: &str| -> Result<Option<String>, String> {
            match src {
                KeySource::Inline(k) => Ok(Some(k.trim().to_owned())),
                KeySource::Env(name) => match env(name) {
                    Some(k) => check_key_hex(&k)
                        .map(|()| Some(k.trim().to_owned()))
                        .map_err(|e| format!("{what}: environment variable {name}: {e}")),
                    None if self.require => Err(format!(
                        "{what}: signing is required but environment variable {name} is not set"
                    )),
                    None => {
                        out.warnings.push(format!(
                            "{what}: environment variable {name} is not set; that MAVLink link is not signed"
                        ));
                        Ok(None)
                    }
                },
            }
        };
        let default = match &self.default {
            Some(src) => get(src, "[signing]")?,
            None => None,
        };
        let mut drones = BTreeMap::new();
        for (sysid, src) in &self.drones {
            if let Some(k) = get(src, &format!("drone with system id {sysid}"))? {
                drones.insert(*sysid, k);
            }
        }
        if self.require && default.is_none() && drones.is_empty() {
            return Err("[signing] require = true but no key is configured".to_owned());
        }
        out.default = default;
        out.drones = drones;
        Ok(out)
    }
}

/// Roles a token may have, weakest first.
pub const ROLES: [&str; 3] = ["viewer", "dispatcher", "admin"];
