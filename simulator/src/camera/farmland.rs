//! The farmland under every frame: parcels of 40 x 25 ground metres, each
//! in a colour of its own (a hash of the parcel), ploughed in rows 2 m
//! apart across it.
//!
//! The fill walks each pixel row in runs: along a row the ground position
//! is linear in x, so the pixel where the parcel, and within it the
//! ploughed row, next changes is known in advance, and the pixels up to it
//! get one colour without being looked at one by one. A run ends a little before the
//! computed boundary (`SAFETY_PX`), and the pixel after it is computed
//! afresh, so the runs draw what a pixel-by-pixel fill would.

use image::RgbImage;

use super::raster::Rgb;

/// Parcel size east-west and north-south, metres.
const PARCEL_E_M: f64 = 40.0;
const PARCEL_N_M: f64 = 25.0;
/// Distance between ploughed rows, metres.
const FURROW_M: f64 = 2.0;
/// How much darker every other ploughed row is.
const FURROW_SHADE: u8 = 8;
/// A run stops this many pixels short of the boundary it computed, so that
/// rounding never carries a colour past it.
const SAFETY_PX: f64 = 1e-3;

/// Where the frame lies on the ground, in absolute metres (east, north of
/// the origin of longitude and the equator), so that the pattern stays put
/// as the vehicle moves.
#[derive(Debug, Clone, Copy)]
pub(super) struct Layout {
    /// The ground under the frame's centre.
    pub e0: f64,
    pub n0: f64,
    /// Ground step per pixel along a row (x) and down a column (y).
    pub de_x: f64,
    pub dn_x: f64,
    pub de_y: f64,
    pub dn_y: f64,
    /// The frame's centre, pixels.
    pub cx: f64,
    pub cy: f64,
}

/// Fills every pixel of `img` with the farmland, parcels in `fields`.
pub(super) fn fill(img: &mut RgbImage, at: &Layout, fields: &[Rgb; 4]) {
    let w = img.width() as usize;
    if w == 0 {
        return;
    }
    for (y, row) in img.chunks_exact_mut(3 * w).enumerate() {
        let fy = y as f64 + 0.5 - at.cy;
        let fx = 0.5 - at.cx;
        // Ground position of pixel x: (e + x de_x, n + x dn_x).
        let e = at.e0 + fx * at.de_x + fy * at.de_y;
        let n = at.n0 + fx * at.dn_x + fy * at.dn_y;
        let mut x = 0;
        while x < w {
            // A parcel's span of the row...
            let xf = x as f64;
            let (ie, in_) = (
                cell(e + xf * at.de_x, PARCEL_E_M),
                cell(n + xf * at.dn_x, PARCEL_N_M),
            );
            let h = hash(ie, in_);
            let base = fields[(h & 3) as usize];
            let parcel_end = run_end(xf, ie, PARCEL_E_M, e, at.de_x)
                .min(run_end(xf, in_, PARCEL_N_M, n, at.dn_x))
                .min(w);
            // ...in runs of one ploughed row, which run across the parcel
            // east-west or north-south.
            let (along, d) = if h & 4 == 0 {
                (e, at.de_x)
            } else {
                (n, at.dn_x)
            };
            while x < parcel_end {
                let xf = x as f64;
                let furrow = cell(along + xf * d, FURROW_M);
                let end = run_end(xf, furrow, FURROW_M, along, d).min(parcel_end);
                let color = shade(base, h, furrow);
                for p in row[3 * x..3 * end].chunks_exact_mut(3) {
                    p.copy_from_slice(&color);
                }
                x = end;
            }
        }
    }
}

/// The colour of a parcel whose hash is `h`, on ploughed row `furrow`.
fn shade(base: Rgb, h: u32, furrow: i64) -> Rgb {
    let dark = if furrow & 1 == 0 { 0 } else { FURROW_SHADE };
    let var = ((h >> 3) & 7) as u8;
    base.map(|c| c.saturating_sub(dark).saturating_add(var))
}

/// Which cell of `size` metres the ground coordinate `v` falls in.
fn cell(v: f64, size: f64) -> i64 {
    floor(v / size)
}

/// `v.floor() as i64`, without the library call `f64::floor` is on
/// targets without SSE4.1 (the default x86-64 one): the fill does it a few
/// times for every run of pixels.
fn floor(v: f64) -> i64 {
    let t = v as i64;
    if (t as f64) > v { t - 1 } else { t }
}

/// The first pixel after `x` that may lie outside cell `k` (of `size`
/// metres) of the coordinate `v0 + x d`; at least `x + 1`.
fn run_end(x: f64, k: i64, size: f64, v0: f64, d: f64) -> usize {
    // The boundary the coordinate moves towards.
    let edge = if d > 0.0 {
        (k + 1) as f64 * size
    } else if d < 0.0 {
        k as f64 * size
    } else {
        return usize::MAX;
    };
    let cross = (edge - v0) / d - SAFETY_PX;
    if !cross.is_finite() || cross >= usize::MAX as f64 {
        return usize::MAX;
    }
    // Pixels up to floor(cross) are in the cell.
    (floor(cross.max(x)) as usize).saturating_add(1)
}

/// A small integer hash (for the fields' pattern), stable across runs.
fn hash(a: i64, b: i64) -> u32 {
    let mut x = (a as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ (b as u64).wrapping_mul(0xC2B2_AE3D_27D4_EB4F);
    x ^= x >> 29;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^= x >> 32;
    x as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The farmland pixel by pixel, as the fill's definition.
    fn reference(img: &mut RgbImage, at: &Layout, fields: &[Rgb; 4]) {
        for (x, y, p) in img.enumerate_pixels_mut() {
            let fx = f64::from(x) + 0.5 - at.cx;
            let fy = f64::from(y) + 0.5 - at.cy;
            let e = at.e0 + fx * at.de_x + fy * at.de_y;
            let n = at.n0 + fx * at.dn_x + fy * at.dn_y;
            let h = hash(
                (e / PARCEL_E_M).floor() as i64,
                (n / PARCEL_N_M).floor() as i64,
            );
            let along = if h & 4 == 0 { e } else { n };
            let furrow = (along / FURROW_M).floor() as i64;
            p.0 = shade(fields[(h & 3) as usize], h, furrow);
        }
    }

    fn layout(heading_deg: f64, m_per_px: f64) -> Layout {
        let (s, c) = heading_deg.to_radians().sin_cos();
        Layout {
            // Haining: about 11.6 million metres east, 3.4 million north.
            e0: 11_602_345.6,
            n0: 3_381_523.4,
            de_x: c * m_per_px,
            dn_x: -s * m_per_px,
            de_y: -s * m_per_px,
            dn_y: -c * m_per_px,
            cx: 320.0,
            cy: 180.0,
        }
    }

    #[test]
    fn the_runs_draw_what_a_pixel_by_pixel_fill_draws() {
        let fields = [[86, 112, 58], [104, 126, 66], [122, 118, 74], [74, 98, 60]];
        for heading in [0.0, 30.0, 90.0, 137.5, 180.0, 270.0, 359.9] {
            for m_per_px in [0.006, 0.11, 0.9, 45.0] {
                let at = layout(heading, m_per_px);
                let mut runs = RgbImage::new(640, 360);
                let mut pixels = RgbImage::new(640, 360);
                fill(&mut runs, &at, &fields);
                reference(&mut pixels, &at, &fields);
                let differ = runs
                    .pixels()
                    .zip(pixels.pixels())
                    .filter(|(a, b)| a != b)
                    .count();
                assert_eq!(differ, 0, "heading {heading}, {m_per_px} m/px");
            }
        }
    }

    #[test]
    fn every_pixel_is_farmland_even_on_a_frame_one_pixel_wide() {
        let fields = [[1, 1, 1], [2, 2, 2], [3, 3, 3], [4, 4, 4]];
        let mut img = RgbImage::from_pixel(1, 5, image::Rgb([200, 0, 0]));
        fill(&mut img, &layout(45.0, 0.1), &fields);
        assert!(img.pixels().all(|p| p.0[0] < 20 && p.0[1] == p.0[0]));
    }
}
