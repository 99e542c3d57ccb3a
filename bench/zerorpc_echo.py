"""zerorpc echo server and timing client. Runs inside the bench's own zerorpc venv only
(zerorpc pulls in gevent, which must never enter the sidecar's environment).

    python zerorpc_echo.py server ENDPOINT
    python zerorpc_echo.py client ENDPOINT COUNT SIZE   # prints a JSON list of seconds
"""

import json
import sys
import time

import zerorpc


class Echo:
    def echo(self, payload):  # type: ignore[no-untyped-def]
        return payload


def server(endpoint: str) -> None:
    s = zerorpc.Server(Echo(), heartbeat=None)
    s.bind(endpoint)
    print("ready", endpoint, flush=True)
    s.run()


def client(endpoint: str, count: int, size: int) -> None:
    c = zerorpc.Client(heartbeat=None, timeout=30)
    c.connect(endpoint)
    payload = b"x" * size
    for _ in range(200):  # warm-up
        c.echo(payload)
    out = []
    clock = time.perf_counter
    for _ in range(count):
        t0 = clock()
        c.echo(payload)
        out.append(clock() - t0)
    print(json.dumps(out))
    c.close()


if __name__ == "__main__":
    if sys.argv[1] == "server":
        server(sys.argv[2])
    else:
        client(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
