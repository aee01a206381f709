"""Runs the Temporal dev server for a `durable-llm` process and stops it when that process goes.

    python _server_guard.py temporal server start-dev ...

Started as a script (no package import, so it starts in milliseconds). The parent holds this
process's stdin open while it needs the server: at end of input (the parent stopped it, exited,
or was killed with any signal) the server is terminated, so it is never left orphaned.
"""

import subprocess
import sys
import threading

GRACE_SECONDS = 10


def main() -> int:
    # close_fds=False: the server inherits the data directory's lock, held while it runs.
    server = subprocess.Popen(sys.argv[1:], stdin=subprocess.DEVNULL, close_fds=False)

    def stop_at_end_of_input() -> None:
        sys.stdin.buffer.read()
        server.terminate()
        try:
            server.wait(timeout=GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            server.kill()

    threading.Thread(target=stop_at_end_of_input, daemon=True).start()
    return server.wait()


if __name__ == "__main__":
    sys.exit(main())
