//! The control interface: a line protocol over TCP for status, the wind and
//! fault injection during drills, and the same fault grammar for `--fault`.
//!
//! ```text
//! status                               -> one JSON line: vehicles and link counters
//! fault <sysid|all> link-drop <secs>   -> drop the vehicle's link both ways
//! fault <sysid|all> packet-loss <pct>  -> drop that share of its frames both ways
//! fault <sysid|all> gps-loss           -> no GPS fix (pre-arm fails, flying: LAND)
//! fault <sysid|all> battery <pct>      -> the pack suddenly holds only <pct> %
//! fault <sysid|all> motor-failure      -> the vehicle falls
//! clear <sysid|all>                    -> clear link, packet-loss, GPS and motor faults
//! wind SPEED@FROM [GUST]               -> the wind for every vehicle (m/s, degrees it
//!                                         blows from, gust m/s; no GUST: gusts unchanged)
//! ```
//! Every line gets one reply line: `ok ...`, a JSON object, or `error: ...`.

use std::net::SocketAddr;

use anyhow::Result;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};

/// Which vehicles a command is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    All,
    System(u8),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fault {
    LinkDrop { seconds: f64 },
    PacketLoss { percent: f64 },
    GpsLoss,
    Battery { percent: f64 },
    MotorFailure,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Status,
    Fault(Target, Fault),
    Clear(Target),
    /// New steady wind for all vehicles; `gust: None` keeps the gusts.
    Wind {
        speed_mps: f64,
        from_deg: f64,
        gust_mps: Option<f64>,
    },
}

/// A command with its reply channel.
pub type Request = (Command, oneshot::Sender<String>);

pub fn parse_line(line: &str) -> Result<Command, String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    match words.as_slice() {
        ["status"] => Ok(Command::Status),
        ["clear", target] => Ok(Command::Clear(parse_target(target)?)),
        ["fault", target, rest @ ..] => {
            Ok(Command::Fault(parse_target(target)?, parse_fault(rest)?))
        }
        ["wind", rest @ ..] => parse_wind_command(rest),
        [] => Err("empty command".into()),
        _ => Err(format!(
            "unknown command `{line}`; commands: status | fault <sysid|all> <link-drop SECS|packet-loss PCT|gps-loss|battery PCT|motor-failure> | clear <sysid|all> | wind SPEED@FROM [GUST]"
        )),
    }
}

/// `--fault TARGET:KIND[:VALUE]`.
pub fn parse_startup_fault(s: &str) -> Result<(Target, Fault), String> {
    let parts: Vec<&str> = s.split(':').collect();
    match parts.as_slice() {
        [target, rest @ ..] if !rest.is_empty() => Ok((parse_target(target)?, parse_fault(rest)?)),
        _ => Err(format!(
            "--fault `{s}`: expected TARGET:KIND[:VALUE], e.g. 11:gps-loss or all:packet-loss:20"
        )),
    }
}

fn parse_wind_command(words: &[&str]) -> Result<Command, String> {
    let (wind, gust) = match words {
        [wind] => (wind, None),
        [wind, gust] => (wind, Some(crate::parse_gust(gust)?)),
        _ => return Err("wind: expected SPEED@FROM [GUST], e.g. `wind 8@270 2`".into()),
    };
    let (speed_mps, from_deg) = crate::parse_wind(wind)?;
    Ok(Command::Wind {
        speed_mps,
        from_deg,
        gust_mps: gust,
    })
}

fn parse_target(s: &str) -> Result<Target, String> {
    if s == "all" {
        return Ok(Target::All);
    }
    match s.parse::<u8>() {
        Ok(n) if n > 0 => Ok(Target::System(n)),
        _ => Err(format!(
            "target `{s}` is neither `all` nor a system id 1..=255"
        )),
    }
}

fn parse_fault(words: &[&str]) -> Result<Fault, String> {
    let number = |w: Option<&&str>, what: &str, max: f64| -> Result<f64, String> {
        let w = w.ok_or_else(|| format!("{what} needs a value"))?;
        let v: f64 = w
            .parse()
            .map_err(|_| format!("{what}: `{w}` is not a number"))?;
        if !(0.0..=max).contains(&v) {
            return Err(format!("{what}: {v} is outside 0..={max}"));
        }
        Ok(v)
    };
    match words.first().copied() {
        Some("link-drop") => Ok(Fault::LinkDrop {
            seconds: number(words.get(1), "link-drop", 86_400.0)?,
        }),
        Some("packet-loss") => Ok(Fault::PacketLoss {
            percent: number(words.get(1), "packet-loss", 100.0)?,
        }),
        Some("gps-loss") => Ok(Fault::GpsLoss),
        Some("battery") => Ok(Fault::Battery {
            percent: number(words.get(1), "battery", 100.0)?,
        }),
        Some("motor-failure") => Ok(Fault::MotorFailure),
        Some(other) => Err(format!(
            "unknown fault `{other}`; faults: link-drop, packet-loss, gps-loss, battery, motor-failure"
        )),
        None => Err("missing fault kind".into()),
    }
}

/// Serves the control interface until the process ends.
pub async fn serve(listener: TcpListener, tx: mpsc::Sender<Request>) {
    loop {
        let Ok((stream, peer)) = listener.accept().await else {
            continue;
        };
        let tx = tx.clone();
        tokio::spawn(async move {
            if let Err(e) = session(stream, tx).await {
                tracing::debug!(%peer, "control session ended: {e}");
            }
        });
    }
}

async fn session(stream: tokio::net::TcpStream, tx: mpsc::Sender<Request>) -> Result<()> {
    let (r, mut w) = stream.into_split();
    let mut lines = BufReader::new(r).lines();
    while let Some(line) = lines.next_line().await? {
        let reply = match parse_line(line.trim()) {
            Ok(cmd) => {
                let (otx, orx) = oneshot::channel();
                if tx.send((cmd, otx)).await.is_err() {
                    "error: simulator is shutting down".to_owned()
                } else {
                    orx.await.unwrap_or_else(|_| "error: no reply".to_owned())
                }
            }
            Err(e) => format!("error: {e}"),
        };
        w.write_all(reply.as_bytes()).await?;
        w.write_all(b"\n").await?;
    }
    Ok(())
}

/// The address the control interface listens on, for the ready line.
pub fn describe(addr: Option<SocketAddr>) -> serde_json::Value {
    addr.map(|a| serde_json::Value::String(a.to_string()))
        .unwrap_or(serde_json::Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_commands_and_rejects_bad_ones_clearly() {
        assert_eq!(parse_line("status"), Ok(Command::Status));
        assert_eq!(
            parse_line("fault 11 link-drop 30"),
            Ok(Command::Fault(
                Target::System(11),
                Fault::LinkDrop { seconds: 30.0 }
            ))
        );
        assert_eq!(parse_line("clear all"), Ok(Command::Clear(Target::All)));
        assert_eq!(
            parse_startup_fault("all:packet-loss:20"),
            Ok((Target::All, Fault::PacketLoss { percent: 20.0 }))
        );
        assert!(
            parse_line("fault 11 packet-loss 120").is_err_and(|e| e.contains("outside 0..=100"))
        );
        assert!(
            parse_line("fault x gps-loss")
                .is_err_and(|e| e.contains("neither `all` nor a system id"))
        );
        assert!(
            parse_line("fault 11 lightning")
                .is_err_and(|e| e.contains("unknown fault `lightning`"))
        );
        assert!(parse_line("jump").is_err_and(|e| e.contains("unknown command")));
        assert!(parse_startup_fault("gps-loss").is_err());
    }

    #[test]
    fn parses_wind_and_rejects_bad_wind_clearly() {
        let wind = |s, f, g| {
            Ok(Command::Wind {
                speed_mps: s,
                from_deg: f,
                gust_mps: g,
            })
        };
        assert_eq!(parse_line("wind 8@270"), wind(8.0, 270.0, None));
        assert_eq!(parse_line("wind 8.5@-90 2"), wind(8.5, 270.0, Some(2.0)));
        assert_eq!(parse_line("wind 0@720 0"), wind(0.0, 0.0, Some(0.0)));
        let err = |line: &str, expected: &str| {
            let e = parse_line(line).expect_err(line);
            assert!(e.contains(expected), "`{line}`: {e}");
        };
        err("wind", "expected SPEED@FROM [GUST]");
        err("wind 8", "is not SPEED@FROM_DEG");
        err("wind 8@270 2 3", "expected SPEED@FROM [GUST]");
        err("wind fast@270", "wind speed `fast`");
        err("wind 41@270", "outside 0..=40");
        err("wind -1@270", "outside 0..=40");
        err("wind nan@270", "outside 0..=40");
        err("wind 8@north", "wind direction `north`");
        err("wind 8@inf", "is not a number of degrees");
        err("wind 8@NaN", "is not a number of degrees");
        err("wind 8@270 -2", "gust -2 m/s is outside 0..=20");
        err("wind 8@270 x", "gust `x`");
    }
}
