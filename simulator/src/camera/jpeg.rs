//! A frame as a baseline JPEG (`jpeg-encoder`, chroma 4:2:0).
//!
//! The encoder's own RGB input converts every pixel to YCbCr; a frame is
//! mostly runs of one colour (the farmland's ploughed rows, water, text),
//! so `Frame` hands it the rows already converted, a colour at a time:
//! a pixel the colour of the one before it costs a comparison.

use image::RgbImage;
use jpeg_encoder::{ColorType, Encoder, EncodingError, ImageBuffer, JpegColorType, SamplingFactor};

/// `img` as a baseline JPEG of `quality` (1..=100), chroma 4:2:0.
pub fn encode_jpeg(img: &RgbImage, quality: u8) -> Result<Vec<u8>, EncodingError> {
    let mut out = Vec::with_capacity(64 * 1024);
    let mut enc = Encoder::new(&mut out, quality.clamp(1, 100));
    enc.set_sampling_factor(SamplingFactor::F_2_2);
    match Frame::new(img) {
        Some(frame) => enc.encode_image(frame)?,
        // Larger than a JPEG can be: the encoder says so.
        None => enc.encode(img.as_raw(), u16::MAX, u16::MAX, ColorType::Rgb)?,
    }
    Ok(out)
}

/// An RGB frame as the encoder's YCbCr rows.
struct Frame<'a> {
    img: &'a RgbImage,
    width: u16,
    height: u16,
}

impl<'a> Frame<'a> {
    fn new(img: &'a RgbImage) -> Option<Frame<'a>> {
        Some(Frame {
            img,
            width: u16::try_from(img.width()).ok()?,
            height: u16::try_from(img.height()).ok()?,
        })
    }
}

impl ImageBuffer for Frame<'_> {
    fn get_jpeg_color_type(&self) -> JpegColorType {
        JpegColorType::Ycbcr
    }

    fn width(&self) -> u16 {
        self.width
    }

    fn height(&self) -> u16 {
        self.height
    }

    fn fill_buffers(&self, y: u16, buffers: &mut [Vec<u8>; 4]) {
        let stride = 3 * usize::from(self.width);
        let start = usize::from(y) * stride;
        let Some(row) = self.img.as_raw().get(start..start + stride) else {
            return;
        };
        let [luma, cb, cr, _] = buffers;
        let n = luma.len();
        for plane in [&mut *luma, &mut *cb, &mut *cr] {
            plane.resize(n + usize::from(self.width), 0);
        }
        let out = luma[n..]
            .iter_mut()
            .zip(cb[n..].iter_mut().zip(cr[n..].iter_mut()));
        // The last colour converted (to begin with, black).
        let mut last = ([0u8; 3], jpeg_encoder::rgb_to_ycbcr(0, 0, 0));
        for (p, (y, (b, r))) in row.chunks_exact(3).zip(out) {
            let rgb = [p[0], p[1], p[2]];
            if rgb != last.0 {
                last = (rgb, jpeg_encoder::rgb_to_ycbcr(rgb[0], rgb[1], rgb[2]));
            }
            (*y, *b, *r) = last.1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_converts_as_the_encoder_converts_rgb() {
        // Runs of one colour and a colour per pixel.
        let img = RgbImage::from_fn(40, 16, |x, y| {
            if y < 8 {
                image::Rgb([200, 30, (x / 7) as u8 * 40])
            } else {
                image::Rgb([x as u8 * 6, y as u8 * 15, 255 - x as u8])
            }
        });
        let ours = encode_jpeg(&img, 70).unwrap_or_default();
        let mut theirs = Vec::new();
        let mut enc = Encoder::new(&mut theirs, 70);
        enc.set_sampling_factor(SamplingFactor::F_2_2);
        enc.encode(img.as_raw(), 40, 16, ColorType::Rgb)
            .unwrap_or_default();
        assert!(ours.len() > 200);
        assert_eq!(ours, theirs);
    }
}
