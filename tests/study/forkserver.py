"""A fork server for tests that run many lvsdctl commands from a shell script.

Each lvsdctl process spends seconds importing torch and friends before it computes anything; the study
script runs ~45 of them. The server imports everything once, then forks a child per command: the child
takes the client's stdin/stdout/stderr (passed over a Unix socket), working directory, environment and
arguments, runs the real CLI (`lvsdctl.cli.main.app`) and returns its exit code. To the script it is
the same command with the same files, streams and exit codes, minus the import time.

    python tests/study/forkserver.py SOCKET       # prints "ready" when it accepts commands
    python -S tests/study/forkclient.py ARGS...   # $LVSDCTL_FORKSERVER names the socket
"""

from __future__ import annotations

import json
import os
import socket
import sys


def preload() -> None:
    import torch

    torch.set_num_threads(1)
    torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))])  # imports torch._dynamo once
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot  # noqa: F401
    import captum.attr  # noqa: F401
    import scipy.stats  # noqa: F401
    import sklearn.metrics  # noqa: F401
    import statsmodels.stats.anova  # noqa: F401

    import lvsdctl.cli.main  # noqa: F401
    import lvsdctl.evaluate.api  # noqa: F401
    import lvsdctl.explain.cohort  # noqa: F401
    import lvsdctl.finetune.api  # noqa: F401
    import lvsdctl.stats.api  # noqa: F401
    import lvsdctl.train.baseline  # noqa: F401


def _recv(conn: socket.socket) -> tuple[dict, list[int]]:
    data, fds, _, _ = socket.recv_fds(conn, 1 << 20, 3)
    while not data.endswith(b"\n"):
        more = conn.recv(1 << 20)
        if not more:
            break
        data += more
    return json.loads(data), fds


def serve_one(conn: socket.socket) -> None:
    """In the child: become the client's command, run it, report the exit code."""
    msg, fds = _recv(conn)
    if os.environ.get("LVSDCTL_FORKSERVER_LOG"):
        with open(os.environ["LVSDCTL_FORKSERVER_LOG"], "a") as fh:
            fh.write(f"{os.getpid()} {' '.join(msg['argv'][:3])}\n")
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    os.chdir(msg["cwd"])
    os.environ.clear()
    os.environ.update(msg["env"])
    sys.argv = ["lvsdctl", *msg["argv"]]
    code = 0
    try:
        from lvsdctl.cli.main import app

        app(args=msg["argv"], prog_name="lvsdctl")
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:  # noqa: BLE001 - report like an unhandled error would
        import traceback

        traceback.print_exc()
        code = 1
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # noqa: BLE001
                pass
    conn.sendall(code.to_bytes(4, "big", signed=True))
    conn.close()
    os._exit(code)


def main(path: str) -> None:
    preload()
    import gc

    gc.freeze()  # the preloaded objects stay out of the children's collections: fewer pages copied on write
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(8)
    print("ready", flush=True)
    while True:
        conn, _ = server.accept()
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            server.close()
            serve_one(conn)
        conn.close()
        _reap()


def _reap() -> None:
    """Collect finished children (so their CPU time counts towards this process's, and the test's);
    with $LVSDCTL_FORKSERVER_LOG, append each one's CPU seconds to that file."""
    log = os.environ.get("LVSDCTL_FORKSERVER_LOG")
    try:
        while True:
            pid, _, usage = os.wait4(-1, os.WNOHANG)
            if not pid:
                break
            if log:
                with open(log, "a") as fh:
                    fh.write(f"{pid} {usage.ru_utime + usage.ru_stime:.2f}\n")
    except ChildProcessError:
        pass


if __name__ == "__main__":
    main(sys.argv[1])
