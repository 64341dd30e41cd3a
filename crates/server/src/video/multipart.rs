//! An MJPEG (`multipart/x-mixed-replace`) body split into its JPEG frames,
//! sans IO: bytes in as they come, whole frames out.
//!
//! Each part is a boundary line, headers, an empty line and the body; the
//! body ends after `Content-Length` bytes when the part says it (cameras,
//! ffmpeg's `mpjpeg`), else at the next boundary. A part that is not a JPEG
//! (no SOI marker) is skipped and counted; headers longer than 16 KiB or a
//! part larger than `MAX_PART` are an error: the stream is not MJPEG.

use bytes::{Buf as _, Bytes, BytesMut};

/// A frame larger than this is not believed (a 4K JPEG is a few MB).
pub const MAX_PART: usize = 8 * 1024 * 1024;
const MAX_HEADERS: usize = 16 * 1024;

/// Why a stream is not MJPEG.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PartError {
    #[error("a part's headers run past {MAX_HEADERS} bytes")]
    HeadersTooLong,
    #[error("a part runs past {MAX_PART} bytes")]
    TooLarge,
    #[error("bad Content-Length `{0}`")]
    BadLength(String),
}

/// The parser of one stream.
#[derive(Debug)]
pub struct Parts {
    delimiter: Vec<u8>,
    buf: BytesMut,
    /// Parts skipped: not `image/jpeg`, or no JPEG start marker.
    pub skipped: u64,
}

impl Parts {
    /// For the `boundary` of the response's Content-Type (with or without
    /// the leading `--`, as servers differ).
    pub fn new(boundary: &str) -> Parts {
        let b = boundary.trim_matches('"');
        let b = b.strip_prefix("--").unwrap_or(b);
        Parts {
            delimiter: format!("--{b}").into_bytes(),
            buf: BytesMut::new(),
            skipped: 0,
        }
    }

    /// Takes `data` in; returns the JPEG frames it completed.
    pub fn push(&mut self, data: &[u8]) -> Result<Vec<Bytes>, PartError> {
        self.buf.extend_from_slice(data);
        let mut out = Vec::new();
        loop {
            let Some(start) = find(&self.buf, &self.delimiter, 0) else {
                // Keep what may be the start of a delimiter.
                let keep = self.delimiter.len().min(self.buf.len());
                if self.buf.len() > MAX_PART {
                    return Err(PartError::TooLarge);
                }
                let drop = self.buf.len() - keep;
                self.buf.advance(drop);
                return Ok(out);
            };
            let heads_at = start + self.delimiter.len();
            let Some(heads_end) = find(&self.buf, b"\r\n\r\n", heads_at) else {
                if self.buf.len() - heads_at > MAX_HEADERS {
                    return Err(PartError::HeadersTooLong);
                }
                self.buf.advance(start);
                return Ok(out);
            };
            if heads_end - heads_at > MAX_HEADERS {
                return Err(PartError::HeadersTooLong);
            }
            let heads = String::from_utf8_lossy(&self.buf[heads_at..heads_end]).into_owned();
            let body_at = heads_end + 4;
            let (mut jpeg_type, mut length) = (true, None);
            for line in heads.lines() {
                let Some((k, v)) = line.split_once(':') else {
                    continue;
                };
                match k.trim().to_ascii_lowercase().as_str() {
                    "content-type" => jpeg_type = v.trim().eq_ignore_ascii_case("image/jpeg"),
                    "content-length" => {
                        let n: usize = v
                            .trim()
                            .parse()
                            .map_err(|_| PartError::BadLength(v.trim().to_owned()))?;
                        if n > MAX_PART {
                            return Err(PartError::TooLarge);
                        }
                        length = Some(n);
                    }
                    _ => {}
                }
            }
            let body_end = match length {
                Some(n) if self.buf.len() >= body_at + n => body_at + n,
                Some(_) => {
                    self.buf.advance(start);
                    return Ok(out);
                }
                None => match find(&self.buf, &self.delimiter, body_at) {
                    Some(next) => {
                        let mut e = next;
                        if e >= body_at + 2 && &self.buf[e - 2..e] == b"\r\n" {
                            e -= 2;
                        }
                        e
                    }
                    None => {
                        if self.buf.len() - body_at > MAX_PART {
                            return Err(PartError::TooLarge);
                        }
                        self.buf.advance(start);
                        return Ok(out);
                    }
                },
            };
            let body = &self.buf[body_at..body_end];
            if jpeg_type && body.starts_with(&[0xFF, 0xD8]) {
                out.push(Bytes::copy_from_slice(body));
            } else {
                self.skipped += 1;
            }
            self.buf.advance(body_end);
        }
    }
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if from >= hay.len() || needle.is_empty() {
        return None;
    }
    hay[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(body: &[u8], length: bool) -> Vec<u8> {
        let mut v = b"--frame\r\nContent-Type: image/jpeg\r\n".to_vec();
        if length {
            v.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
        }
        v.extend_from_slice(b"\r\n");
        v.extend_from_slice(body);
        v.extend_from_slice(b"\r\n");
        v
    }

    const JPEG: &[u8] = b"\xFF\xD8 a frame \xFF\xD9";

    #[test]
    fn frames_with_and_without_length_arrive_whole_whatever_the_chunks() {
        let mut stream = part(JPEG, true);
        stream.extend(part(b"\xFF\xD8 two --fra \xFF\xD9", false));
        stream.extend(part(JPEG, true));
        stream.extend(b"--frame\r\n");
        for chunk in [1, 3, 7, 64, 4096] {
            let mut p = Parts::new("frame");
            let mut got = Vec::new();
            for c in stream.chunks(chunk) {
                got.extend(p.push(c).unwrap_or_default());
            }
            assert_eq!(got.len(), 3, "chunk {chunk}");
            assert_eq!(&got[0][..], JPEG);
            assert_eq!(&got[1][..], b"\xFF\xD8 two --fra \xFF\xD9");
        }
    }

    #[test]
    fn garbage_is_skipped_or_refused_never_a_panic() {
        let mut p = Parts::new("\"--frame\"");
        let mut s = part(b"not a jpeg", true);
        s.extend(part(JPEG, true));
        let got = p.push(&s).unwrap_or_default();
        assert_eq!((got.len(), p.skipped), (1, 1));
        let mut p = Parts::new("frame");
        assert_eq!(
            p.push(b"--frame\r\nContent-Length: lots\r\n\r\n"),
            Err(PartError::BadLength("lots".into()))
        );
        let mut p = Parts::new("frame");
        assert_eq!(
            p.push(b"--frame\r\nContent-Length: 99999999999\r\n\r\n"),
            Err(PartError::TooLarge)
        );
        let mut p = Parts::new("frame");
        let noise = vec![b'x'; 64 * 1024];
        assert_eq!(p.push(&noise), Ok(vec![]));
        let mut long = b"--frame\r\n".to_vec();
        long.extend(vec![b'h'; 20 * 1024]);
        let mut p = Parts::new("frame");
        assert_eq!(p.push(&long), Err(PartError::HeadersTooLong));
    }
}
