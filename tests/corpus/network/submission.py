"""Tries to open TCP connections to the loopback and to a public DNS server.

Only ever run inside the sandbox's empty network namespace, where both fail at once.
"""
import socket

for host, port in (("127.0.0.1", 8080), ("8.8.8.8", 53)):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(2)
    try:
        sock.connect((host, port))
        print(f"NET {host}:{port} connected")
    except OSError as exc:
        print(f"NET {host}:{port} {type(exc).__name__}: {exc}")
    finally:
        sock.close()
