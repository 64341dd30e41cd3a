//! The SBS-1 BaseStation feed (`--sbs-listen`): the comma-separated text
//! dump1090 and readsb serve on port 30003, so that tools written for a real
//! ADS-B receiver read the played-back traffic.
//!
//! Each line has the 22 standard fields and ends in CRLF:
//!
//! ```text
//! MSG,3,1,1,7808A1,1,2026/12/02,01:02:03.456,2026/12/02,01:02:03.456,,492,,,30.40500,120.45000,,,,,,0
//! ```
//!
//! 1 `MSG`, 2 transmission type, 3 session, 4 aircraft, 5 ICAO hex, 6 flight
//! id, 7-8 date and time generated, 9-10 date and time logged (UTC, the wall
//! clock: receivers stamp what they hear), 11 callsign, 12 altitude (feet;
//! here geometric, where real receivers give barometric), 13 ground speed
//! (knots), 14 track (degrees), 15-16 latitude, longitude, 17 vertical rate
//! (feet/minute), 18 squawk, 19 squawk-changed alert, 20 emergency, 21 ident,
//! 22 on the ground (flags: -1 true, 0 false, empty unknown). Sent: `MSG,1`
//! (identification: callsign) and `MSG,6` (squawk, when the aircraft has one)
//! every 5 s, `MSG,3` (airborne position) and `MSG,4` (velocity) every
//! second, all in sim time.
//!
//! Every connected client gets every line; a client that reads slowly skips
//! lines (it is told nothing, as with a real receiver's feed) and one that
//! goes away is dropped: neither ever holds the simulator up.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, broadcast};

use super::Contact;

/// Seconds of sim time between identification (`MSG,1`, `MSG,6`) lines.
pub const IDENT_EVERY_S: f64 = 5.0;
/// Clients served at once; more are turned away.
pub const MAX_CLIENTS: usize = 32;
/// Batches of lines a slow client may fall behind by before it skips some.
pub const BACKLOG: usize = 64;

const FEET_PER_M: f64 = 1.0 / 0.3048;
const KNOTS_PER_MPS: f64 = 3600.0 / 1852.0;

/// The lines for one aircraft at `at`: position and velocity, and with
/// `ident` the identification (and squawk) too.
pub fn lines(c: &Contact<'_>, ident: bool, at: DateTime<Utc>) -> String {
    let a = c.aircraft;
    let s = &c.state;
    let mut out = String::new();
    let mut line = |kind: u8, fill: &[(usize, String)]| {
        let date = at.format("%Y/%m/%d").to_string();
        let time = at.format("%H:%M:%S%.3f").to_string();
        let mut f: [String; 22] = Default::default();
        f[0] = "MSG".into();
        f[1] = kind.to_string();
        f[2] = "1".into();
        f[3] = "1".into();
        f[4] = format!("{:06X}", a.icao);
        f[5] = "1".into();
        f[6] = date.clone();
        f[7] = time.clone();
        f[8] = date;
        f[9] = time;
        // Airborne: the position messages say so.
        f[21] = "0".into();
        for (i, v) in fill {
            f[*i - 1] = v.clone();
        }
        out.push_str(&f.join(","));
        out.push_str("\r\n");
    };
    let flag = |b: bool| if b { "-1" } else { "0" }.to_owned();
    if ident {
        line(1, &[(11, a.callsign.clone())]);
        if let Some(sq) = a.squawk {
            line(
                6,
                &[
                    (18, format!("{sq:04}")),
                    (19, flag(false)),
                    (20, flag(a.emergency())),
                    (21, flag(false)),
                ],
            );
        }
    }
    line(
        3,
        &[
            (12, format!("{:.0}", s.alt_m * FEET_PER_M)),
            (15, format!("{:.5}", s.lat)),
            (16, format!("{:.5}", s.lon)),
        ],
    );
    line(
        4,
        &[
            (13, format!("{:.0}", s.ground_speed_mps * KNOTS_PER_MPS)),
            (
                14,
                format!("{:.0}", crate::physics::wrap_deg(s.track_deg.round())),
            ),
            (17, format!("{:.0}", s.vertical_mps * FEET_PER_M * 60.0)),
        ],
    );
    out
}

/// Serves the feed: every batch sent on `feed` goes to every client.
pub async fn serve(listener: TcpListener, feed: broadcast::Sender<Arc<str>>) {
    let slots = Arc::new(Semaphore::new(MAX_CLIENTS));
    loop {
        let Ok((stream, peer)) = listener.accept().await else {
            continue;
        };
        let Ok(permit) = Arc::clone(&slots).try_acquire_owned() else {
            tracing::warn!(%peer, "SBS feed: {MAX_CLIENTS} clients already; refusing another");
            continue;
        };
        let rx = feed.subscribe();
        tokio::spawn(async move {
            client(stream, rx).await;
            tracing::debug!(%peer, "SBS client gone");
            drop(permit);
        });
    }
}

async fn client(mut stream: TcpStream, mut rx: broadcast::Receiver<Arc<str>>) {
    loop {
        match rx.recv().await {
            Ok(batch) => {
                if stream.write_all(batch.as_bytes()).await.is_err() {
                    return;
                }
            }
            Err(broadcast::error::RecvError::Lagged(n)) => {
                tracing::debug!("SBS client too slow: {n} batches skipped");
            }
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::io::{AsyncBufReadExt, BufReader};

    use super::*;
    use crate::traffic::motion::{Route, State, Waypoint};
    use crate::traffic::{Aircraft, Emitter};

    fn aircraft(squawk: Option<u16>) -> Aircraft {
        let w = |lat, lon| Waypoint {
            lat,
            lon,
            alt_m: 150.0,
        };
        Aircraft {
            icao: 0x7808A1,
            callsign: "B7301".into(),
            emitter: Emitter::Rotorcraft,
            squawk,
            speed_mps: 40.0,
            start_s: 0.0,
            route: Route::new(vec![w(30.40, 120.45), w(30.41, 120.55)], true),
        }
    }

    fn at() -> DateTime<Utc> {
        DateTime::from_timestamp_millis(1_796_166_123_456).expect("a valid time")
    }

    fn state() -> State {
        State {
            lat: 30.405,
            lon: 120.45,
            alt_m: 150.0,
            track_deg: 84.6,
            ground_speed_mps: 40.0,
            vertical_mps: 2.0,
        }
    }

    #[test]
    fn formats_basestation_lines() {
        let a = aircraft(Some(7700));
        let c = Contact {
            aircraft: &a,
            state: state(),
        };
        let text = lines(&c, true, at());
        assert!(text.ends_with("\r\n") && !text.contains("\n\r"));
        let got: Vec<&str> = text.split("\r\n").filter(|l| !l.is_empty()).collect();
        let stamp = "2026/12/01,23:02:03.456,2026/12/01,23:02:03.456";
        assert_eq!(
            got,
            [
                format!("MSG,1,1,1,7808A1,1,{stamp},B7301,,,,,,,,,,,0"),
                format!("MSG,6,1,1,7808A1,1,{stamp},,,,,,,,7700,0,-1,0,0"),
                // 150 m = 492 ft.
                format!("MSG,3,1,1,7808A1,1,{stamp},,492,,,30.40500,120.45000,,,,,,0"),
                // 40 m/s = 78 kt; 2 m/s = 394 ft/min.
                format!("MSG,4,1,1,7808A1,1,{stamp},,,78,85,,,394,,,,,0"),
            ]
        );
        for l in &got {
            assert_eq!(l.split(',').count(), 22, "{l}");
        }
    }

    #[test]
    fn without_ident_only_position_and_velocity() {
        let a = aircraft(None);
        let c = Contact {
            aircraft: &a,
            state: state(),
        };
        let text = lines(&c, false, at());
        let kinds: Vec<&str> = text.lines().map(|l| &l[..5]).collect();
        assert_eq!(kinds, ["MSG,3", "MSG,4"]);
        let with_ident = lines(&c, true, at());
        assert!(!with_ident.contains("MSG,6"), "no squawk, no MSG,6");
    }

    #[tokio::test]
    async fn every_client_gets_the_feed_and_a_stalled_one_holds_nobody_up() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        let (tx, _) = broadcast::channel::<Arc<str>>(BACKLOG);
        tokio::spawn(serve(listener, tx.clone()));
        // One client that never reads, one that goes away, one that reads.
        let _stalled = TcpStream::connect(addr).await.expect("connect");
        drop(TcpStream::connect(addr).await.expect("connect"));
        let reader = TcpStream::connect(addr).await.expect("connect");
        let mut lines_in = BufReader::new(reader).lines();
        // Wait until all three are subscribed.
        while tx.receiver_count() < 3 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        // Far more than the stalled client's socket and backlog hold.
        let batch: Arc<str> = Arc::from("x".repeat(10_000) + "\r\n");
        for _ in 0..2_000 {
            // Never blocks, whoever is connected.
            let _ = tx.send(Arc::clone(&batch));
            tokio::task::yield_now().await;
        }
        let _ = tx.send(Arc::from("MSG,last\r\n"));
        let got = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                match lines_in.next_line().await {
                    Ok(Some(l)) if l == "MSG,last" => return true,
                    Ok(Some(_)) => {}
                    _ => return false,
                }
            }
        })
        .await;
        assert_eq!(got, Ok(true));
    }
}
