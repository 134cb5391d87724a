"""Theano's compile-lock lines never reach the user: nothing when stderr is not
a terminal, one line of ours when it is (reproduce/backend.py)."""
import os
import subprocess
import sys

import pytest

# Holds the compile lock as another live process would (this process's
# parent's pid), then lets go once Theano has said it waits: the wait is seen
# through a filter put in front of ours, not guessed with a sleep.
WAITER = r"""
import logging, os, shutil, socket, sys, tempfile, threading
import reproduce.backend
from theano.gof import compilelock

lockdir = os.path.join(tempfile.mkdtemp(), "lock_dir")
os.mkdir(lockdir)
with open(os.path.join(lockdir, "lock"), "w") as f:
    f.write("%d_x_%s\n" % (os.getppid(), socket.gethostname()))
waiting = threading.Event()

class Seen(logging.Filter):
    def filter(self, record):
        if record.getMessage().startswith("Waiting for existing lock"):
            waiting.set()
        return True

logger = logging.getLogger("theano.gof.compilelock")
logger.filters.insert(0, Seen())
threading.Thread(target=lambda: (waiting.wait(60), shutil.rmtree(lockdir))).start()
compilelock.lock(lockdir, timeout=None, min_wait=0.01, max_wait=0.02)
print("locked after waiting" if waiting.is_set() else "locked without waiting")
"""


def test_no_lock_lines_on_a_plain_stderr():
    done = subprocess.run([sys.executable, "-c", WAITER], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "locked after waiting"
    assert done.stderr == ""


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal")
def test_one_line_of_ours_at_a_terminal():
    master, slave = os.openpty()
    try:
        done = subprocess.run([sys.executable, "-c", WAITER], stdout=subprocess.PIPE,
                              stderr=slave, text=True, timeout=120)
        os.close(slave)
        seen = b""
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # the terminal closed: all read
                break
            if not chunk:
                break
            seen += chunk
    finally:
        os.close(master)
    assert done.stdout.strip() == "locked after waiting"
    lines = seen.decode().splitlines()
    assert lines == ["waiting for another run's compile to finish (it shares this "
                     "machine's compile cache)..."]


class _Terminal:
    """A stderr that says it is a terminal and keeps what is written."""

    def __init__(self, tty):
        self.tty, self.text = tty, ""

    def isatty(self):
        return self.tty

    def write(self, text):
        self.text += text

    def flush(self):
        pass


@pytest.mark.parametrize("tty", [True, False])
def test_the_first_compile_of_a_process_is_announced_once_to_a_terminal(monkeypatch, tty):
    """Every C module Theano builds goes through GCC_compiler.compile_str; the
    first one of a process says "compiling C code, once", at a terminal only."""
    from theano.gof import cmodule
    from reproduce import backend
    built = []
    monkeypatch.setattr(cmodule.GCC_compiler, "compile_str",
                        staticmethod(lambda *args, **kw: built.append(args)))
    backend._announce_first_compile()
    stderr = _Terminal(tty)
    monkeypatch.setattr(sys, "stderr", stderr)
    cmodule.GCC_compiler.compile_str("a", "src")
    cmodule.GCC_compiler.compile_str("b", "src")
    assert [a[0] for a in built] == ["a", "b"]
    lines = stderr.text.splitlines()
    assert lines == ([backend.COMPILE_NOTE % (backend.COMPILE_ESTIMATE,
                                              backend.theano.config.compiledir)]
                     if tty else [])
