//! The cameras of a fleet, for the runtime: each vehicle's `Camera`, its
//! HTTP server and the render worker.
//!
//! The runtime hands the hub the messages `Camera::claims` and a tick. On a
//! tick, every stream due a frame that has at least one HTTP client gets a
//! render job (the vehicle's view and what is near it); a worker thread
//! renders and encodes it and puts the JPEG on the stream's `watch`
//! channel, so the simulator's loop never waits for a frame and a stream
//! nobody watches costs nothing. When the worker is behind, jobs are
//! skipped, not queued.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{SyncSender, TrySendError, sync_channel};

use anyhow::{Context, Result};
use image::RgbImage;
use mavlink_link::mav::MavMessage;
use serde::Serialize;
use tokio::net::TcpListener;

use super::jpeg;
use super::render::{self, Ground, HotKind, HotSpot, Mark, Scene, View};
use super::server::{self, Feeds, Jpeg};
use super::{Camera, CameraSpec, Pose, StreamSpec};
use crate::vehicle::Vehicle;

/// JPEG quality of the frames (good enough to read the display at ~30 KB).
const QUALITY: u8 = 70;
/// Jobs waiting for the worker before new ones are skipped.
const QUEUE: usize = 32;
/// Other vehicles farther than this are never in a frame.
const MARK_RANGE_M: f64 = 1500.0;

/// Counters for `status` and the exit statistics.
#[derive(Debug, Default, Serialize)]
pub struct CameraStats {
    pub frames_rendered: AtomicU64,
    pub frames_skipped: AtomicU64,
    pub encode_errors: AtomicU64,
    pub captures: AtomicU64,
}

/// Every camera of the fleet.
#[derive(Debug)]
pub struct Cameras {
    units: Vec<Option<Unit>>,
    ground: Arc<Ground>,
    jobs: SyncSender<Job>,
    next_frame_at: f64,
    pub stats: Arc<CameraStats>,
}

#[derive(Debug)]
struct Unit {
    camera: Camera,
    feeds: Arc<Feeds>,
    addr: SocketAddr,
}

#[derive(Debug)]
struct Job {
    view: View,
    scene: Scene,
    feeds: Arc<Feeds>,
    stream: usize,
}

/// A camera as the ready line lists it.
#[derive(Debug, Serialize)]
pub struct Listing {
    pub system_id: u8,
    pub name: String,
    pub http: String,
    pub streams: Vec<String>,
}

impl Cameras {
    /// Binds one HTTP port per camera on `host` (port chosen by the
    /// system) and starts the servers and the render worker. `specs` has
    /// one entry per vehicle, in the runtime's order.
    pub async fn start(
        specs: Vec<Option<CameraSpec>>,
        host: IpAddr,
        ground: Ground,
    ) -> Result<Cameras> {
        let stats = Arc::new(CameraStats::default());
        let (jobs, rx) = sync_channel::<Job>(QUEUE);
        let worker_stats = Arc::clone(&stats);
        std::thread::Builder::new()
            .name("camera-render".into())
            .spawn(move || {
                // One frame buffer for every job: each frame draws all of it.
                let mut frame = RgbImage::new(0, 0);
                let mut seq = 0u64;
                while let Ok(job) = rx.recv() {
                    seq += 1;
                    render::render_into(&mut frame, &job.view, &job.scene);
                    match encode(&frame, seq) {
                        Some(jpeg) => {
                            worker_stats.frames_rendered.fetch_add(1, Ordering::Relaxed);
                            if let Some((_, tx)) = job.feeds.streams.get(job.stream) {
                                tx.send_replace(Some(jpeg));
                            }
                        }
                        None => {
                            worker_stats.encode_errors.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            })
            .context("cannot start the camera render thread")?;
        let mut units = Vec::with_capacity(specs.len());
        for spec in specs {
            let Some(spec) = spec else {
                units.push(None);
                continue;
            };
            let listener = TcpListener::bind(SocketAddr::new(host, 0))
                .await
                .with_context(|| format!("cannot bind a camera's HTTP port on {host}"))?;
            let addr = listener.local_addr()?;
            let paths: Vec<&'static str> = spec.streams.iter().map(|s| s.path).collect();
            let feeds = Arc::new(Feeds::new(&paths));
            tokio::spawn(server::serve(listener, Arc::clone(&feeds)));
            units.push(Some(Unit {
                camera: Camera::new(spec, format!("http://{addr}")),
                feeds,
                addr,
            }));
        }
        Ok(Cameras {
            units,
            ground: Arc::new(ground),
            jobs,
            next_frame_at: 0.0,
            stats,
        })
    }

    /// Whether vehicle `i`'s camera is to answer `msg`.
    pub fn claims(&self, i: usize, msg: &MavMessage) -> bool {
        matches!(self.units.get(i), Some(Some(_))) && Camera::claims(msg)
    }

    /// Vehicle `i`'s camera's answer to `msg` from `src`, to be sent from
    /// component 100. A still asked for is rendered and stored before the
    /// answer goes out, so its URL serves it at once.
    pub fn handle(
        &mut self,
        i: usize,
        msg: &MavMessage,
        src: (u8, u8),
        vehicles: &[&Vehicle],
    ) -> Vec<MavMessage> {
        let Some(Some(unit)) = self.units.get_mut(i) else {
            return Vec::new();
        };
        let Some(v) = vehicles.get(i) else {
            return Vec::new();
        };
        let p = v.camera_pose();
        let pose = Pose {
            lat: p.lat,
            lon: p.lon,
            alt_amsl_m: p.amsl_m,
            rel_alt_m: p.rel_alt_m,
            heading_deg: p.heading_deg,
            tilt_deg: f64::from(unit.camera.spec.streams[0].tilt_deg),
            time_boot_ms: p.time_boot_ms,
            time_utc_us: chrono::Utc::now().timestamp_micros().max(0) as u64,
        };
        let answer = unit.camera.handle(msg, src, &pose);
        if let Some(index) = answer.capture {
            let s = &unit.camera.spec.streams[0];
            let view = view_of(v, s, p.time_boot_ms as f64 / 1000.0);
            let scene = scene_near(&self.ground, i, vehicles);
            // A capture's number is its image index.
            let seq = u64::from(index);
            match render_jpeg(&view, &scene, seq) {
                Some(jpeg) => {
                    unit.feeds.store_capture(index, jpeg);
                    self.stats.captures.fetch_add(1, Ordering::Relaxed);
                }
                None => {
                    self.stats.encode_errors.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        answer.messages
    }

    /// Queues a frame of every watched stream whose time has come
    /// (`wall_t` in wall seconds: viewers watch in wall time).
    pub fn tick(&mut self, wall_t: f64, sim_t: f64, vehicles: &[&Vehicle]) {
        if wall_t < self.next_frame_at {
            return;
        }
        let period = self
            .units
            .iter()
            .flatten()
            .flat_map(|u| u.camera.spec.streams.iter())
            .map(|s| 1.0 / f64::from(s.fps.max(0.1)))
            .fold(f64::INFINITY, f64::min);
        if !period.is_finite() {
            self.next_frame_at = f64::INFINITY;
            return;
        }
        // Keep the cadence; after a stall, start again from now.
        self.next_frame_at = if wall_t - self.next_frame_at > period {
            wall_t + period
        } else {
            self.next_frame_at + period
        };
        for (i, unit) in self.units.iter().enumerate() {
            let Some(unit) = unit else { continue };
            let Some(v) = vehicles.get(i) else { continue };
            for (k, s) in unit.camera.spec.streams.iter().enumerate() {
                let watched = unit
                    .feeds
                    .streams
                    .get(k)
                    .is_some_and(|(_, tx)| tx.receiver_count() > 0);
                if !watched {
                    continue;
                }
                let job = Job {
                    view: view_of(v, s, sim_t),
                    scene: scene_near(&self.ground, i, vehicles),
                    feeds: Arc::clone(&unit.feeds),
                    stream: k,
                };
                match self.jobs.try_send(job) {
                    Ok(()) => {}
                    Err(TrySendError::Full(_)) => {
                        self.stats.frames_skipped.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(TrySendError::Disconnected(_)) => {
                        self.stats.encode_errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }
    }

    /// The cameras for the ready line.
    pub fn listing(&self, vehicles: &[&Vehicle]) -> Vec<Listing> {
        self.units
            .iter()
            .zip(vehicles)
            .filter_map(|(u, v)| {
                let u = u.as_ref()?;
                Some(Listing {
                    system_id: v.system_id(),
                    name: v.name().to_owned(),
                    http: u.addr.to_string(),
                    streams: u
                        .camera
                        .spec
                        .streams
                        .iter()
                        .map(|s| u.camera.uri(s))
                        .collect(),
                })
            })
            .collect()
    }
}

fn render_jpeg(view: &View, scene: &Scene, seq: u64) -> Option<Jpeg> {
    encode(&render::render(view, scene), seq)
}

/// `img` as the JPEG of frame `seq`, stamped with it and the time.
fn encode(img: &RgbImage, seq: u64) -> Option<Jpeg> {
    let jpeg = jpeg::encode_jpeg(img, QUALITY).ok()?;
    Some(Jpeg::from(stamped(
        jpeg,
        seq,
        chrono::Utc::now().timestamp_micros(),
    )))
}

/// The frame with a JPEG comment (COM, `FF FE`) after its start of image:
/// `frame <seq> t=<Unix microseconds>`, the frame's number and when it was
/// made. Two frames of a view that did not change differ by it, and a
/// viewer can tell how old a frame is (scripts/bench-video.py); decoders
/// skip comments.
pub(crate) fn stamped(jpeg: Vec<u8>, seq: u64, unix_us: i64) -> Vec<u8> {
    if !jpeg.starts_with(&[0xFF, 0xD8]) {
        return jpeg;
    }
    let text = format!("frame {seq} t={unix_us}");
    // The segment's length counts its two length bytes, not the marker.
    let len = u16::try_from(text.len() + 2).unwrap_or(u16::MAX);
    let mut out = Vec::with_capacity(jpeg.len() + text.len() + 4);
    out.extend_from_slice(&jpeg[..2]);
    out.extend_from_slice(&[0xFF, 0xFE]);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(text.as_bytes());
    out.extend_from_slice(&jpeg[2..]);
    out
}

fn view_of(v: &Vehicle, s: &StreamSpec, t_s: f64) -> View {
    let p = v.camera_pose();
    View {
        lat: p.lat,
        lon: p.lon,
        alt_m: p.rel_alt_m,
        heading_deg: p.heading_deg,
        hfov_deg: f64::from(s.hfov_deg),
        tilt_deg: f64::from(s.tilt_deg),
        width: u32::from(s.width),
        height: u32::from(s.height),
        thermal: s.thermal,
        t_s,
        caption: v.name().to_uppercase(),
        clock: chrono::Utc::now().format("%H:%M:%SZ").to_string(),
    }
}

/// The scenes of every loaded mission, and the vehicles near vehicle `i`.
fn scene_near(ground: &Arc<Ground>, i: usize, vehicles: &[&Vehicle]) -> Scene {
    let me = vehicles.get(i).map(|v| v.camera_pose());
    let mut hotspots: Vec<HotSpot> = Vec::new();
    let mut marks = Vec::new();
    for (k, v) in vehicles.iter().enumerate() {
        if let Some(s) = v.mission_scene() {
            let hs = HotSpot {
                lat: s.lat,
                lon: s.lon,
                kind: if s.fire {
                    HotKind::Fire
                } else {
                    HotKind::Person
                },
            };
            if !hotspots.contains(&hs) {
                hotspots.push(hs);
            }
        }
        if k == i {
            continue;
        }
        let p = v.camera_pose();
        if let Some(m) = me {
            let dn = (p.lat - m.lat) * 111_320.0;
            let de = (p.lon - m.lon) * 111_320.0 * m.lat.to_radians().cos();
            if dn.hypot(de) <= MARK_RANGE_M {
                marks.push(Mark {
                    lat: p.lat,
                    lon: p.lon,
                    name: v.name().to_uppercase(),
                });
            }
        }
    }
    Scene {
        ground: Arc::clone(ground),
        hotspots,
        vehicles: marks,
    }
}
