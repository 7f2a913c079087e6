#!/usr/bin/env python3
"""systemd's side of sd_notify, for run-installed-agent.sh: binds a Unix datagram socket and prints
each notification as it arrives, on one line after the time it arrived (seconds, monotonic clock):
"12.345 READY=1", fields of one datagram joined by spaces. Exits 0 after STOPPING=1, or 1 when none
came for TIMEOUT s.

    notify-receiver.py SOCKET_PATH TIMEOUT_SECONDS
"""
import socket
import sys
import time


def main(path, timeout):
    receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    receiver.bind(path)
    receiver.settimeout(timeout)
    while True:
        try:
            message = receiver.recv(4096).decode()
        except socket.timeout:
            print(f"no notification for {timeout} s", file=sys.stderr)
            return 1
        fields = message.split("\n")
        print(f"{time.monotonic():.3f} {' '.join(fields)}", flush=True)
        if "STOPPING=1" in fields:
            return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], float(sys.argv[2])))
