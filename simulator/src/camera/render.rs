//! The camera's picture: a nadir (straight down, nose up) view of the
//! ground under a vehicle, from its position, height, heading and the
//! lens's horizontal field of view, with the on-screen display of a real
//! payload (name, sensor, clock, altitude, heading, position).
//!
//! Pure: `render(view, scene)` is a function of its arguments (the clock
//! is the view's text), so a state always gives the same frame. What is
//! drawn: farmland in parcels, the water (river channel, bay) with its
//! embankment, zones outlined in their colour, the scene's casualty or
//! fire, and other vehicles in view. A thermal sensor draws the same world
//! through a white-hot palette: cool water dark, ground grey, people and
//! fire white.

use std::sync::Arc;

use image::RgbImage;

use super::farmland;
use super::raster::{self, Rgb};

/// Metres per degree of latitude (spherical, as the rest of the simulator).
const M_PER_DEG: f64 = 111_320.0;
/// The camera never sits lower than this above the ground (on a dock the
/// lens is still above the floor).
const MIN_HEIGHT_M: f64 = 3.0;

/// Where the camera is and what it looks through.
#[derive(Debug, Clone, PartialEq)]
pub struct View {
    pub lat: f64,
    pub lon: f64,
    /// Height above the ground, metres.
    pub alt_m: f64,
    /// The way the top of the picture points, degrees from north.
    pub heading_deg: f64,
    pub hfov_deg: f64,
    /// How far the gimbal looks forward from straight down, degrees (0:
    /// nadir). The picture is centred where the optical axis meets the
    /// ground, at the slant range's scale (an affine approximation of the
    /// oblique view: no perspective foreshortening).
    pub tilt_deg: f64,
    pub width: u32,
    pub height: u32,
    pub thermal: bool,
    /// Seconds of sim time: the fire's flicker.
    pub t_s: f64,
    /// Top-left caption, e.g. the vehicle's name.
    pub caption: String,
    /// Top-right clock text, e.g. `12:03:04Z`.
    pub clock: String,
}

/// A closed ring of (lat, lon) points with its bounding box.
#[derive(Debug, Clone, PartialEq)]
pub struct Ring {
    pub points: Vec<(f64, f64)>,
    min: (f64, f64),
    max: (f64, f64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ZoneStyle {
    /// Permanent no-go (airport, plant): red.
    NoGo,
    /// Temporary closure: orange.
    Temporary,
    /// Crowd on an embankment: yellow.
    Crowd,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ZoneMark {
    pub ring: Ring,
    pub style: ZoneStyle,
}

/// What does not move: water and zones.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Ground {
    pub water: Vec<Ring>,
    pub zones: Vec<ZoneMark>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HotKind {
    /// A casualty: a person in the water or on the ground.
    Person,
    Fire,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HotSpot {
    pub lat: f64,
    pub lon: f64,
    pub kind: HotKind,
}

/// Another vehicle, drawn where it is when it is in view.
#[derive(Debug, Clone, PartialEq)]
pub struct Mark {
    pub lat: f64,
    pub lon: f64,
    pub name: String,
}

/// Everything a frame shows besides the view itself.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scene {
    pub ground: Arc<Ground>,
    pub hotspots: Vec<HotSpot>,
    pub vehicles: Vec<Mark>,
}

impl Ring {
    pub fn new(points: Vec<(f64, f64)>) -> Ring {
        let mut min = (f64::INFINITY, f64::INFINITY);
        let mut max = (f64::NEG_INFINITY, f64::NEG_INFINITY);
        for &(a, b) in &points {
            min = (min.0.min(a), min.1.min(b));
            max = (max.0.max(a), max.1.max(b));
        }
        Ring { points, min, max }
    }
}

/// The frame for `view` of `scene`.
pub fn render(view: &View, scene: &Scene) -> RgbImage {
    let mut img = RgbImage::new(0, 0);
    render_into(&mut img, view, scene);
    img
}

/// The frame for `view` of `scene`, drawn in `img` (whatever it held:
/// every pixel is drawn), which is resized to the view's size if it is not
/// that already, so that a worker reuses one buffer for all its frames.
pub fn render_into(img: &mut RgbImage, view: &View, scene: &Scene) {
    let size = (view.width.max(16), view.height.max(16));
    if img.dimensions() != size {
        *img = RgbImage::new(size.0, size.1);
    }
    let cam = Projection::new(view);
    let pal = if view.thermal { &WHITE_HOT } else { &DAYLIGHT };
    farmland::fill(img, &cam.layout(), &pal.fields);
    for ring in &scene.ground.water {
        if cam.may_see(ring) {
            let pts = cam.ring(ring);
            raster::fill_polygon(img, &pts, pal.water, 1.0);
            let bank = (3.0 / cam.m_per_px).clamp(1.0, 6.0);
            stroke(img, &pts, bank, pal.bank);
        }
    }
    for hs in &scene.hotspots {
        cam.hotspot(img, pal, hs, view.t_s);
    }
    for v in &scene.vehicles {
        cam.vehicle(img, pal, v);
    }
    for z in &scene.ground.zones {
        if cam.may_see(&z.ring) {
            let pts = cam.ring(&z.ring);
            let color = zone_color(z.style);
            raster::fill_polygon(img, &pts, color, 0.12);
            stroke(img, &pts, 2.0, color);
        }
    }
    osd(img, view);
}

/// Colours of one sensor.
struct Palette {
    /// Parcel colours of the farmland.
    fields: [Rgb; 4],
    water: Rgb,
    bank: Rgb,
    person: Rgb,
    /// Ring of disturbed water round a person.
    wake: Rgb,
    fire_core: Rgb,
    fire_rim: Rgb,
    vehicle: Rgb,
}

const DAYLIGHT: Palette = Palette {
    fields: [[86, 112, 58], [104, 126, 66], [122, 118, 74], [74, 98, 60]],
    water: [104, 98, 78],
    bank: [168, 166, 154],
    person: [255, 110, 20],
    wake: [150, 146, 128],
    fire_core: [255, 236, 150],
    fire_rim: [226, 84, 20],
    vehicle: [40, 40, 44],
};

/// White-hot: the warmer, the whiter.
const WHITE_HOT: Palette = Palette {
    fields: [[92, 92, 92], [100, 100, 100], [110, 110, 110], [86, 86, 86]],
    water: [44, 44, 44],
    bank: [128, 128, 128],
    person: [250, 250, 250],
    wake: [70, 70, 70],
    fire_core: [255, 255, 255],
    fire_rim: [190, 190, 190],
    vehicle: [214, 214, 214],
};

fn zone_color(s: ZoneStyle) -> Rgb {
    match s {
        ZoneStyle::NoGo => [230, 40, 40],
        ZoneStyle::Temporary => [250, 150, 30],
        ZoneStyle::Crowd => [250, 220, 40],
    }
}

/// Ground metres to pixels for one view.
struct Projection {
    /// The picture's centre.
    lat: f64,
    lon: f64,
    /// The camera itself.
    own: (f64, f64),
    cos_lat: f64,
    sin_h: f64,
    cos_h: f64,
    m_per_px: f64,
    cx: f64,
    cy: f64,
    /// Ground distance from the centre to a corner of the picture, metres.
    reach_m: f64,
}

impl Projection {
    fn new(v: &View) -> Projection {
        let h = v.heading_deg.to_radians();
        let alt = if v.alt_m.is_finite() {
            v.alt_m.max(MIN_HEIGHT_M)
        } else {
            MIN_HEIGHT_M
        };
        let hfov = v.hfov_deg.clamp(1.0, 170.0).to_radians();
        let (w, ht) = (f64::from(v.width.max(16)), f64::from(v.height.max(16)));
        let tilt = if v.tilt_deg.is_finite() {
            v.tilt_deg.clamp(0.0, 70.0).to_radians()
        } else {
            0.0
        };
        let slant = alt / tilt.cos();
        let m_per_px = 2.0 * slant * (hfov / 2.0).tan() / w;
        let cos_lat = v.lat.to_radians().cos().max(0.01);
        // The ground point the optical axis meets, ahead along the heading.
        let ahead = alt * tilt.tan();
        let (sin_h, cos_h) = if h.is_finite() {
            h.sin_cos()
        } else {
            (0.0, 1.0)
        };
        let lat = v.lat + ahead * cos_h / M_PER_DEG;
        let lon = v.lon + ahead * sin_h / (M_PER_DEG * cos_lat);
        Projection {
            lat,
            lon,
            own: (v.lat, v.lon),
            cos_lat,
            sin_h,
            cos_h,
            m_per_px,
            cx: w / 2.0,
            cy: ht / 2.0,
            reach_m: m_per_px * w.hypot(ht) / 2.0,
        }
    }

    fn px(&self, lat: f64, lon: f64) -> (f64, f64) {
        let dn = (lat - self.lat) * M_PER_DEG;
        let de = (lon - self.lon) * M_PER_DEG * self.cos_lat;
        let f = dn * self.cos_h + de * self.sin_h;
        let r = de * self.cos_h - dn * self.sin_h;
        (self.cx + r / self.m_per_px, self.cy - f / self.m_per_px)
    }

    fn ring(&self, r: &Ring) -> Vec<(f64, f64)> {
        r.points.iter().map(|&(a, b)| self.px(a, b)).collect()
    }

    /// Whether the ring's box comes within the picture's reach.
    fn may_see(&self, r: &Ring) -> bool {
        let pad_lat = self.reach_m / M_PER_DEG;
        let pad_lon = pad_lat / self.cos_lat;
        !(self.lat < r.min.0 - pad_lat
            || self.lat > r.max.0 + pad_lat
            || self.lon < r.min.1 - pad_lon
            || self.lon > r.max.1 + pad_lon)
    }

    /// Where the frame lies on the ground, for the farmland.
    fn layout(&self) -> farmland::Layout {
        let m = self.m_per_px;
        farmland::Layout {
            e0: self.lon * M_PER_DEG * self.cos_lat,
            n0: self.lat * M_PER_DEG,
            de_x: self.cos_h * m,
            dn_x: -self.sin_h * m,
            de_y: -self.sin_h * m,
            dn_y: -self.cos_h * m,
            cx: self.cx,
            cy: self.cy,
        }
    }

    fn hotspot(&self, img: &mut RgbImage, pal: &Palette, hs: &HotSpot, t: f64) {
        let c = self.px(hs.lat, hs.lon);
        let m = self.m_per_px;
        match hs.kind {
            HotKind::Person => {
                let (core, wake) = ((0.45 / m).max(2.0), (1.6 / m).max(4.0));
                let (wake_c, person) = (pal.wake, pal.person);
                raster::disc(img, c, wake, |d| (wake_c, 0.8 * (1.0 - d as f32)));
                raster::disc(img, c, core, |_| (person, 1.0));
            }
            HotKind::Fire => {
                // Flames flicker a few times a second.
                let flicker = 0.85 + 0.15 * (t * 7.0).sin().abs();
                let r = (14.0 * flicker / m).max(4.0);
                let (core, rim) = (pal.fire_core, pal.fire_rim);
                raster::disc(img, c, r * 1.8, |d| (rim, 0.55 * (1.0 - d as f32)));
                raster::disc(img, c, r, |d| {
                    (raster::blend(core, rim, d as f32), 1.0 - 0.3 * d as f32)
                });
            }
        }
    }

    fn vehicle(&self, img: &mut RgbImage, pal: &Palette, v: &Mark) {
        let (x, y) = self.px(v.lat, v.lon);
        // A vehicle on the same pad (the hangar's bays share its position)
        // is under the lens, not in the picture.
        let dn = (v.lat - self.own.0) * M_PER_DEG;
        let de = (v.lon - self.own.1) * M_PER_DEG * self.cos_lat;
        if dn.hypot(de) < 1.5 {
            return;
        }
        let s = (0.8 / self.m_per_px).clamp(5.0, 24.0);
        if x < -s || y < -s || x > f64::from(img.width()) + s || y > f64::from(img.height()) + s {
            return;
        }
        raster::line(img, (x - s, y - s), (x + s, y + s), 2.0, pal.vehicle);
        raster::line(img, (x - s, y + s), (x + s, y - s), 2.0, pal.vehicle);
        raster::text(
            img,
            (x + s + 3.0) as i64,
            (y - 3.0) as i64,
            &v.name,
            1,
            [255, 255, 255],
        );
    }
}

fn stroke(img: &mut RgbImage, pts: &[(f64, f64)], width: f64, color: Rgb) {
    for i in 0..pts.len() {
        raster::line(img, pts[i], pts[(i + 1) % pts.len()], width, color);
    }
}

/// The on-screen display: caption and sensor, clock, crosshair, a north
/// arrow, height, heading and position.
fn osd(img: &mut RgbImage, v: &View) {
    let (w, h) = (i64::from(img.width()), i64::from(img.height()));
    let white = [255, 255, 255];
    let sensor = if v.thermal { "IR WHITE-HOT" } else { "EO" };
    raster::text(img, 8, 8, &format!("{} {sensor}", v.caption), 2, white);
    let cw = i64::from(super::font::width(&v.clock, 2));
    raster::text(img, w - cw - 8, 8, &v.clock, 2, white);
    let alt = if v.alt_m.is_finite() { v.alt_m } else { 0.0 };
    let hdg = v.heading_deg.rem_euclid(360.0);
    raster::text(
        img,
        8,
        h - 24,
        &format!(
            "ALT {alt:.0}M  HDG {hdg:03.0}°  TILT {:.0}°  FOV {:.0}°",
            v.tilt_deg, v.hfov_deg
        ),
        2,
        white,
    );
    let pos = format!("{:.5}N {:.5}E", v.lat, v.lon);
    let pw = i64::from(super::font::width(&pos, 1));
    raster::text(img, w - pw - 8, h - 14, &pos, 1, white);
    // Crosshair.
    let (cx, cy) = ((w / 2) as f64, (h / 2) as f64);
    for (a, b) in [
        ((cx - 18.0, cy), (cx - 6.0, cy)),
        ((cx + 6.0, cy), (cx + 18.0, cy)),
        ((cx, cy - 18.0), (cx, cy - 6.0)),
        ((cx, cy + 6.0), (cx, cy + 18.0)),
    ] {
        raster::line(img, a, b, 2.0, white);
    }
    // North arrow under the clock: north is `heading` to the left of up.
    let (ax, ay) = ((w - 30) as f64, 56.0);
    let n = (-v.heading_deg).to_radians();
    let tip = (ax + 14.0 * n.sin(), ay - 14.0 * n.cos());
    raster::line(img, (ax, ay), tip, 2.0, [230, 40, 40]);
    raster::text(
        img,
        (tip.0 - 3.0) as i64,
        (tip.1 - 12.0) as i64,
        "N",
        1,
        white,
    );
}
