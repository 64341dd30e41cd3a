//! Drawing primitives on an RGB frame: polygon fill (scanline, even-odd),
//! thick lines, discs, blending and the bitmap font. Coordinates are pixels
//! as `f64`; anything outside the frame is clipped, never an error.

use image::RgbImage;

use super::font;

pub(super) type Rgb = [u8; 3];

/// `dst` moved towards `src` by `alpha` (0: unchanged, 1: `src`).
pub(super) fn blend(dst: Rgb, src: Rgb, alpha: f32) -> Rgb {
    let a = alpha.clamp(0.0, 1.0);
    let mix = |d: u8, s: u8| (f32::from(d) + (f32::from(s) - f32::from(d)) * a).round() as u8;
    [
        mix(dst[0], src[0]),
        mix(dst[1], src[1]),
        mix(dst[2], src[2]),
    ]
}

/// Paints pixel (x, y) with `color` at `alpha`; outside the frame, nothing.
pub(super) fn plot(img: &mut RgbImage, x: i64, y: i64, color: Rgb, alpha: f32) {
    if x < 0 || y < 0 || x >= i64::from(img.width()) || y >= i64::from(img.height()) {
        return;
    }
    let p = img.get_pixel_mut(x as u32, y as u32);
    p.0 = if alpha >= 1.0 {
        color
    } else {
        blend(p.0, color, alpha)
    };
}

/// Fills the polygon `pts` (closed implicitly) with the even-odd rule.
pub(super) fn fill_polygon(img: &mut RgbImage, pts: &[(f64, f64)], color: Rgb, alpha: f32) {
    if pts.len() < 3 {
        return;
    }
    let h = f64::from(img.height());
    let (mut ymin, mut ymax) = (f64::INFINITY, f64::NEG_INFINITY);
    for &(_, y) in pts {
        ymin = ymin.min(y);
        ymax = ymax.max(y);
    }
    if !(ymin.is_finite() && ymax.is_finite()) {
        return;
    }
    let y0 = ymin.max(0.0).floor() as i64;
    let y1 = ymax.min(h - 1.0).ceil() as i64;
    let w = i64::from(img.width());
    let mut xs: Vec<f64> = Vec::with_capacity(8);
    for y in y0..=y1 {
        let sy = y as f64 + 0.5;
        xs.clear();
        for i in 0..pts.len() {
            let (ax, ay) = pts[i];
            let (bx, by) = pts[(i + 1) % pts.len()];
            if (ay <= sy && by > sy) || (by <= sy && ay > sy) {
                xs.push(ax + (sy - ay) / (by - ay) * (bx - ax));
            }
        }
        xs.sort_by(f64::total_cmp);
        for pair in xs.chunks_exact(2) {
            let xa = (pair[0] - 0.5).ceil().max(0.0) as i64;
            let xb = ((pair[1] - 0.5).floor() as i64).min(w - 1);
            for x in xa..=xb {
                plot(img, x, y, color, alpha);
            }
        }
    }
}

/// A line `width` pixels thick from `a` to `b`.
pub(super) fn line(img: &mut RgbImage, a: (f64, f64), b: (f64, f64), width: f64, color: Rgb) {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let len = dx.hypot(dy);
    if !len.is_finite() {
        return;
    }
    // Clip the work, not the geometry: a line far longer than the frame is
    // walked only while it can touch it.
    let limit = 4.0 * f64::from(img.width() + img.height());
    if len > 100.0 * limit {
        return;
    }
    let steps = len.ceil().max(1.0) as i64;
    let r = (width / 2.0).max(0.5);
    let ri = r.ceil() as i64;
    for s in 0..=steps {
        let t = s as f64 / steps as f64;
        let (x, y) = (a.0 + dx * t, a.1 + dy * t);
        if x < -r || y < -r || x > f64::from(img.width()) + r || y > f64::from(img.height()) + r {
            continue;
        }
        let (cx, cy) = (x.round() as i64, y.round() as i64);
        for oy in -ri + 1..ri {
            for ox in -ri + 1..ri {
                plot(img, cx + ox, cy + oy, color, 1.0);
            }
        }
    }
}

/// A disc of radius `r` whose colour and opacity depend on the distance
/// from its centre as a fraction of `r` (0 at the centre, 1 at the rim).
pub(super) fn disc(img: &mut RgbImage, c: (f64, f64), r: f64, shade: impl Fn(f64) -> (Rgb, f32)) {
    if !(r.is_finite() && c.0.is_finite() && c.1.is_finite()) || r <= 0.0 {
        return;
    }
    let (x0, x1) = ((c.0 - r).floor() as i64, (c.0 + r).ceil() as i64);
    let (y0, y1) = ((c.1 - r).floor() as i64, (c.1 + r).ceil() as i64);
    let x0 = x0.max(0);
    let y0 = y0.max(0);
    let x1 = x1.min(i64::from(img.width()) - 1);
    let y1 = y1.min(i64::from(img.height()) - 1);
    for y in y0..=y1 {
        for x in x0..=x1 {
            let d = (x as f64 + 0.5 - c.0).hypot(y as f64 + 0.5 - c.1) / r;
            if d <= 1.0 {
                let (color, alpha) = shade(d);
                plot(img, x, y, color, alpha);
            }
        }
    }
}

/// `text` with its top-left corner at (x, y), `scale` pixels per font
/// pixel, with a one-pixel dark shadow so that it reads on any ground.
pub(super) fn text(img: &mut RgbImage, x: i64, y: i64, s: &str, scale: u32, color: Rgb) {
    for (shadow, col) in [(1, [0, 0, 0]), (0, color)] {
        let mut cx = x + shadow;
        for c in s.chars() {
            if let Some(g) = font::glyph(c) {
                for (row, bits) in g.iter().enumerate() {
                    for column in 0..5 {
                        if bits & (0x10 >> column) != 0 {
                            for sy in 0..scale {
                                for sx in 0..scale {
                                    plot(
                                        img,
                                        cx + i64::from(column * scale + sx),
                                        y + shadow
                                            + (row as i64) * i64::from(scale)
                                            + i64::from(sy),
                                        col,
                                        1.0,
                                    );
                                }
                            }
                        }
                    }
                }
            }
            cx += i64::from(font::ADVANCE * scale);
        }
    }
}
