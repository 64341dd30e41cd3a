//! Drawing primitives on an RGB frame: polygon fill (scanline, even-odd),
//! thick lines, discs, blending and the bitmap font. Coordinates are pixels
//! as `f64`; anything outside the frame is clipped, never an error.

use image::RgbImage;

use super::font;

pub(super) type Rgb = [u8; 3];

/// `dst` moved towards `src` by `alpha` (0: unchanged, 1: `src`).
pub(super) fn blend(dst: Rgb, src: Rgb, alpha: f32) -> Rgb {
    mix(dst, src, opacity(alpha))
}

/// `alpha` in 256ths (0..=256), for `mix`.
fn opacity(alpha: f32) -> u32 {
    (alpha.clamp(0.0, 1.0) * 256.0 + 0.5) as u32
}

/// `dst` moved towards `src` by `a` 256ths, in integers: this runs for
/// every pixel of a zone.
fn mix(dst: Rgb, src: Rgb, a: u32) -> Rgb {
    let m = |d: u8, s: u8| ((u32::from(d) * (256 - a) + u32::from(s) * a + 128) >> 8) as u8;
    [m(dst[0], src[0]), m(dst[1], src[1]), m(dst[2], src[2])]
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
    let stride = 3 * img.width() as usize;
    let a = opacity(alpha);
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
            if xb < xa {
                continue;
            }
            // The span's pixels, straight from the row.
            let row = y as usize * stride;
            let span = &mut img.as_mut()[row + 3 * xa as usize..row + 3 * (xb as usize + 1)];
            for p in span.chunks_exact_mut(3) {
                let c = if a >= 256 {
                    color
                } else {
                    mix([p[0], p[1], p[2]], color, a)
                };
                p.copy_from_slice(&c);
            }
        }
    }
}

/// A line `width` pixels thick from `a` to `b`.
pub(super) fn line(img: &mut RgbImage, a: (f64, f64), b: (f64, f64), width: f64, color: Rgb) {
    let r = (width / 2.0).max(0.5);
    // Only the part that can touch the frame is walked: a zone's or the
    // bay's edge may be kilometres long, thousands of frames wide.
    let frame = (
        (-r, -r),
        (f64::from(img.width()) + r, f64::from(img.height()) + r),
    );
    let Some((a, b)) = clip(a, b, frame) else {
        return;
    };
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let len = dx.hypot(dy);
    let steps = len.ceil().max(1.0) as i64;
    let ri = r.ceil() as i64;
    for s in 0..=steps {
        let t = s as f64 / steps as f64;
        let (cx, cy) = ((a.0 + dx * t).round() as i64, (a.1 + dy * t).round() as i64);
        for oy in -ri + 1..ri {
            for ox in -ri + 1..ri {
                plot(img, cx + ox, cy + oy, color, 1.0);
            }
        }
    }
}

/// The part of segment `a`-`b` inside the box `(min, max)` (Liang-Barsky),
/// if any; `None` as well for a segment with a coordinate not finite.
fn clip(
    a: (f64, f64),
    b: (f64, f64),
    (min, max): ((f64, f64), (f64, f64)),
) -> Option<((f64, f64), (f64, f64))> {
    if ![a.0, a.1, b.0, b.1].iter().all(|v| v.is_finite()) {
        return None;
    }
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let (mut t0, mut t1) = (0.0f64, 1.0f64);
    // Each side: the segment's inward speed `p` and the room `q` to it.
    for (p, q) in [
        (-dx, a.0 - min.0),
        (dx, max.0 - a.0),
        (-dy, a.1 - min.1),
        (dy, max.1 - a.1),
    ] {
        if p == 0.0 {
            if q < 0.0 {
                return None;
            }
        } else {
            let t = q / p;
            if p < 0.0 {
                t0 = t0.max(t);
            } else {
                t1 = t1.min(t);
            }
        }
    }
    if t0 > t1 {
        return None;
    }
    let at = |t: f64| (a.0 + dx * t, a.1 + dy * t);
    Some((at(t0), at(t1)))
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
            let (ox, oy) = (x as f64 + 0.5 - c.0, y as f64 + 0.5 - c.1);
            let d = (ox * ox + oy * oy).sqrt() / r;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn painted(img: &RgbImage) -> usize {
        img.pixels().filter(|p| p.0 != [0, 0, 0]).count()
    }

    #[test]
    fn a_line_kilometres_long_is_drawn_where_it_crosses_the_frame_only() {
        let mut img = RgbImage::new(64, 32);
        // A bay's shore at a dock's scale: millions of pixels long.
        line(&mut img, (-3e6, 16.0), (3e6, 16.0), 2.0, [9, 9, 9]);
        assert_eq!(painted(&img), 64);
        assert!((0..64).all(|x| img.get_pixel(x, 16).0 == [9, 9, 9]));
        // Beside the frame, or not finite: nothing.
        line(&mut img, (-3e6, -40.0), (3e6, -40.0), 2.0, [5, 5, 5]);
        line(&mut img, (f64::NAN, 3.0), (10.0, 3.0), 2.0, [5, 5, 5]);
        line(&mut img, (0.0, 3.0), (f64::INFINITY, 3.0), 2.0, [5, 5, 5]);
        assert_eq!(painted(&img), 64);
        // Diagonal, ending inside: from the clipped edge to its end.
        let mut img = RgbImage::new(64, 32);
        line(&mut img, (-1e5, -1e5), (20.0, 20.0), 2.0, [9, 9, 9]);
        assert_eq!(img.get_pixel(0, 0).0, [9, 9, 9]);
        assert_eq!(img.get_pixel(20, 20).0, [9, 9, 9]);
        assert_eq!(img.get_pixel(21, 21).0, [0, 0, 0]);
    }

    #[test]
    fn blending_goes_from_the_ground_to_the_colour() {
        let (d, s) = ([10, 200, 0], [250, 0, 100]);
        assert_eq!(blend(d, s, 0.0), d);
        assert_eq!(blend(d, s, 1.0), s);
        assert_eq!(blend(d, s, 0.5), [130, 100, 50]);
        assert_eq!(blend(d, s, f32::NAN), d);
        assert_eq!(blend(d, s, 7.0), s);
    }

    #[test]
    fn a_translucent_polygon_tints_and_an_opaque_one_covers() {
        let mut img = RgbImage::from_pixel(40, 20, image::Rgb([100, 100, 100]));
        let square = [(5.0, 5.0), (15.0, 5.0), (15.0, 15.0), (5.0, 15.0)];
        fill_polygon(&mut img, &square, [200, 0, 0], 0.25);
        assert_eq!(img.get_pixel(10, 10).0, [125, 75, 75]);
        assert_eq!(img.get_pixel(20, 10).0, [100, 100, 100]);
        // Partly outside the frame: clipped, not an error.
        let wide = [(-50.0, -5.0), (100.0, -5.0), (100.0, 8.0), (-50.0, 8.0)];
        fill_polygon(&mut img, &wide, [0, 0, 255], 1.0);
        assert_eq!(img.get_pixel(0, 0).0, [0, 0, 255]);
        assert_eq!(img.get_pixel(39, 7).0, [0, 0, 255]);
        assert_eq!(img.get_pixel(39, 8).0, [100, 100, 100]);
    }
}
