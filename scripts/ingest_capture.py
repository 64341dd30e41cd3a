"""Telemetry capture tools for the ingest benchmark.

  filter RAW OUT    keep the HEARTBEAT, SYS_STATUS, ATTITUDE, GLOBAL_POSITION_INT
                    and BATTERY_STATUS datagrams of a `drone-sim --record` file
  pymavlink FILE    decode FILE with pymavlink, print frames/s (best of 5)

File format (as drone-sim --record writes it): for each datagram, its length
as a little-endian u32, then its bytes.
"""

import os
import struct
import sys
import time

KEEP = {0, 1, 30, 33, 147}


def datagrams(path):
    with open(path, "rb") as f:
        data = f.read()
    i = 0
    while i + 4 <= len(data):
        (n,) = struct.unpack_from("<I", data, i)
        yield data[i + 4:i + 4 + n]
        i += 4 + n


def msgid(d):
    if d[0] == 0xFD:
        return d[7] | d[8] << 8 | d[9] << 16
    return d[5]


def filter_capture(raw, out):
    kept = 0
    with open(out, "wb") as f:
        for d in datagrams(raw):
            if msgid(d) in KEEP:
                f.write(struct.pack("<I", len(d)) + d)
                kept += 1
    print(f"{kept} datagrams written to {out}")


def pymavlink_rate(path):
    os.environ.setdefault("MAVLINK20", "1")
    from pymavlink.dialects.v20 import ardupilotmega as apm

    dgs = list(datagrams(path))
    best = 0.0
    for _ in range(5):
        mav = apm.MAVLink(None)
        mav.robust_parsing = True
        n = 0
        t0 = time.perf_counter()
        for d in dgs:
            msgs = mav.parse_buffer(d)
            if msgs:
                n += len(msgs)
        dt = time.perf_counter() - t0
        best = max(best, n / dt)
    print(f"pymavlink: {len(dgs)} datagrams, {best:,.0f} frames/s")
    return best


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "filter":
        filter_capture(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 3 and sys.argv[1] == "pymavlink":
        pymavlink_rate(sys.argv[2])
    else:
        sys.exit(__doc__)
