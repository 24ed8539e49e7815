"""Slow clients against the GENI AM's limits (GENILabTests).

Usage: geni_slow_clients.py HOST PORT CERT KEY COUNT
Opens COUNT TLS connections that each send half a request and stop (the AM's max_connections is COUNT), then a
fifth, which the AM must close at once; waits for the AM to close the slow ones (its 30 s request deadline), then
calls GetVersion. Prints one JSON object: held, fifth_refused, closed_after_seconds, served_after (the geni_code).
Every wait is bounded; exits 0 when it could measure.
"""
import json
import socket
import ssl
import sys
import time
import xmlrpc.client

host, port, cert, key, count = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])
context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
context.check_hostname = False
context.verify_mode = ssl.CERT_NONE
context.load_cert_chain(cert, key)
partial = b"POST / HTTP/1.1\r\nHost: am\r\nContent-Type: text/xml\r\nContent-Length: 500\r\n\r\n<?xml"

held = []
for _ in range(count):
    raw = socket.create_connection((host, port), timeout=30)
    tls = context.wrap_socket(raw)
    tls.sendall(partial)
    held.append((tls, time.monotonic()))

# The fifth: closed by the AM before or during the handshake, or its first read ends at once.
fifth_refused = False
try:
    raw = socket.create_connection((host, port), timeout=30)
    tls = context.wrap_socket(raw)
    tls.settimeout(10)
    tls.sendall(partial)
    fifth_refused = tls.recv(1) == b""
except TimeoutError:
    fifth_refused = False  # served: the connection stayed open
except (ssl.SSLError, ConnectionError, OSError):
    fifth_refused = True

closed_after = []
for tls, opened in held:
    tls.settimeout(max(1.0, 150 - (time.monotonic() - opened)))
    try:
        while tls.recv(4096):
            pass
    except (ssl.SSLError, ConnectionError, OSError):
        pass
    closed_after.append(round(time.monotonic() - opened, 1))
    tls.close()

proxy = xmlrpc.client.ServerProxy(f"https://{host}:{port}/", context=context)
served_after = proxy.GetVersion({})["code"]["geni_code"]
print(json.dumps({"held": len(held), "fifth_refused": fifth_refused, "closed_after_seconds": closed_after,
                  "served_after": served_after}))
