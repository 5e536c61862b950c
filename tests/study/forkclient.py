"""Client of tests/study/forkserver.py: runs `lvsdctl ARGS...` in the server, with this process's
streams, working directory and environment, and exits with the command's exit code."""

import json
import os
import socket
import sys

conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
conn.connect(os.environ["LVSDCTL_FORKSERVER"])
msg = json.dumps({"argv": sys.argv[1:], "cwd": os.getcwd(), "env": dict(os.environ)}).encode() + b"\n"
socket.send_fds(conn, [msg], [0, 1, 2])
code = b""
while len(code) < 4:
    chunk = conn.recv(4 - len(code))
    if not chunk:
        sys.exit(1)  # the child died without reporting
    code += chunk
sys.exit(int.from_bytes(code, "big", signed=True))
