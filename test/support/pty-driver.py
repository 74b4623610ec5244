#!/usr/bin/env python3
"""Runs a command on a pseudo-terminal, as a person at a terminal would (test/support/pty.ts).

    pty-driver.py COLS ROWS -- COMMAND [ARGS...]

The command gets a real terminal (isatty, raw mode, window size, Ctrl-C through the line
discipline: writing \\x03 sends SIGINT to its foreground process group, eksctl included).
Everything it writes to the terminal is copied to our stdout; everything written to our stdin is
typed into the terminal. Our exit status is the command's, or 128 + the signal that ended it.
Only the standard library: no native module to build (node-pty), works offline.
"""
import errno
import fcntl
import os
import pty
import select
import signal
import struct
import sys
import termios


def main() -> int:
    if len(sys.argv) < 5 or sys.argv[3] != "--":
        sys.stderr.write("usage: pty-driver.py COLS ROWS -- COMMAND [ARGS...]\n")
        return 2
    cols, rows, argv = int(sys.argv[1]), int(sys.argv[2]), sys.argv[4:]
    pid, fd = pty.fork()
    if pid == 0:
        # The child: its stdin/stdout/stderr are the terminal. Size it before the command starts.
        try:
            fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
            os.execvp(argv[0], argv)
        except Exception as e:  # exec failed: say so on the terminal
            os.write(2, f"pty-driver: cannot run {argv[0]}: {e}\n".encode())
        os._exit(127)

    def stop(signum, _frame):
        # The test gave up on us: take the whole terminal session down with us.
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass
        os._exit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    out = sys.stdout.buffer
    stdin_open = True
    status = None
    drain_rounds = 0
    while True:
        fds = [fd] + ([0] if stdin_open else [])
        ready, _, _ = select.select(fds, [], [], 0.1)
        if fd in ready:
            try:
                data = os.read(fd, 65536)
            except OSError as e:
                if e.errno != errno.EIO:  # EIO: every holder of the terminal has closed it
                    raise
                data = b""
            if not data:
                break
            out.write(data)
            out.flush()
        if 0 in ready:
            data = os.read(0, 65536)
            if not data:
                stdin_open = False
            while data:
                n = os.write(fd, data)
                data = data[n:]
        if status is None:
            done, st = os.waitpid(pid, os.WNOHANG)
            if done:
                status = st
        elif not ready:
            # The command has exited: a few quiet rounds and whatever it wrote has been read,
            # even if a leftover grandchild still holds the terminal open.
            drain_rounds += 1
            if drain_rounds >= 5:
                break
    if status is None:
        _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    return code if code >= 0 else 128 - code


if __name__ == "__main__":
    sys.exit(main())
