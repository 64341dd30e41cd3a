//! The byte pipe under the link: UDP (listen or connect), TCP and an
//! in-memory pair for tests, and the receive side (TCP bytes cut at whole
//! frames, a widened UDP receive buffer).

use std::net::SocketAddr;

use tokio::io::AsyncReadExt;
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::mpsc;

use super::Address;

/// The byte pipe under the link.
pub enum Transport {
    Udp {
        socket: UdpSocket,
        peer: Option<SocketAddr>,
    },
    Tcp(TcpStream),
    /// In-memory datagrams, for tests: what the link sends goes to `tx`.
    Memory {
        tx: mpsc::UnboundedSender<Vec<u8>>,
        rx: mpsc::UnboundedReceiver<Vec<u8>>,
    },
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Transport::Udp { socket, peer } => {
                write!(f, "Udp({:?} -> {peer:?})", socket.local_addr().ok())
            }
            Transport::Tcp(_) => f.write_str("Tcp"),
            Transport::Memory { .. } => f.write_str("Memory"),
        }
    }
}

impl Transport {
    pub async fn open(address: &Address) -> std::io::Result<Transport> {
        Ok(match address {
            Address::UdpIn(a) => {
                let socket = UdpSocket::bind(a).await?;
                widen_receive_buffer(&socket);
                Transport::Udp { socket, peer: None }
            }
            Address::UdpOut(a) => {
                let any: SocketAddr = if a.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" }
                    .parse()
                    .map_err(|e| std::io::Error::other(format!("{e}")))?;
                Transport::Udp {
                    socket: UdpSocket::bind(any).await?,
                    peer: Some(*a),
                }
            }
            Address::TcpOut(a) => Transport::Tcp(TcpStream::connect(a).await?),
        })
    }

    /// An in-memory transport and the far end (frames sent by the link, frames to the link).
    pub fn memory() -> (
        Transport,
        mpsc::UnboundedReceiver<Vec<u8>>,
        mpsc::UnboundedSender<Vec<u8>>,
    ) {
        let (to_far, from_link) = mpsc::unbounded_channel();
        let (to_link, from_far) = mpsc::unbounded_channel();
        (
            Transport::Memory {
                tx: to_far,
                rx: from_far,
            },
            from_link,
            to_link,
        )
    }

    pub(super) fn local_addr(&self) -> Option<SocketAddr> {
        match self {
            Transport::Udp { socket, .. } => socket.local_addr().ok(),
            Transport::Tcp(s) => s.local_addr().ok(),
            Transport::Memory { .. } => None,
        }
    }
}

/// Receives one datagram (or, on TCP, whatever bytes arrived, framed later by the codec).
pub(super) async fn recv(
    t: &mut Transport,
    buf: &mut [u8],
    tcp_buf: &mut Vec<u8>,
) -> std::io::Result<Option<(Vec<u8>, Option<SocketAddr>)>> {
    match t {
        Transport::Udp { socket, .. } => {
            let (n, from) = socket.recv_from(buf).await?;
            Ok(Some((buf[..n].to_vec(), Some(from))))
        }
        Transport::Tcp(s) => {
            let n = s.read(buf).await?;
            if n == 0 {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "TCP peer closed",
                ));
            }
            tcp_buf.extend_from_slice(&buf[..n]);
            // Hand over only complete frames; keep a partial tail for the next read.
            let cut = complete_prefix(tcp_buf);
            let data: Vec<u8> = tcp_buf.drain(..cut).collect();
            Ok(Some((data, None)))
        }
        Transport::Memory { rx, .. } => match rx.recv().await {
            Some(d) => Ok(Some((d, None))),
            None => Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "in-memory peer closed",
            )),
        },
    }
}

/// Length of the prefix of a byte stream made of whole frames (or junk).
fn complete_prefix(b: &[u8]) -> usize {
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            0xFD => {
                if b.len() < i + 10 {
                    return i;
                }
                let signed = b[i + 2] & 1 != 0;
                let total = 12 + usize::from(b[i + 1]) + if signed { 13 } else { 0 };
                if b.len() < i + total {
                    return i;
                }
                i += total;
            }
            0xFE => {
                if b.len() < i + 6 {
                    return i;
                }
                let total = 8 + usize::from(b[i + 1]);
                if b.len() < i + total {
                    return i;
                }
                i += total;
            }
            _ => i += 1,
        }
    }
    i
}

/// A whole fleet sends to one socket: a default receive buffer (about 200
/// KiB on Linux) overflows in the once-a-second burst of 250 vehicles'
/// heartbeats and status messages, and the lost heartbeats look like lost
/// links. Ask for 4 MiB (the kernel may cap it at `net.core.rmem_max`).
fn widen_receive_buffer(socket: &UdpSocket) {
    const WANT: usize = 4 << 20;
    let s = socket2::SockRef::from(socket);
    if let Err(e) = s.set_recv_buffer_size(WANT) {
        tracing::warn!("cannot widen the MAVLink socket's receive buffer: {e}");
        return;
    }
    // Linux reports twice the size it books; below half of what was asked
    // for, the cap is low: say so, as dropped frames will follow.
    if let Ok(got) = s.recv_buffer_size()
        && got < WANT
    {
        tracing::warn!(
            "the MAVLink socket's receive buffer is {got} bytes (asked for {WANT}): raise net.core.rmem_max for a large fleet"
        );
    }
}
