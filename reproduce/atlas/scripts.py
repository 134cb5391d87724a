"""Any list of scripts as Dask tasks, one script per task: ``make figures``
(one figure per script) and ``make deepdream-figures`` on a cluster.

Each task runs ``python SCRIPT ARGS...`` in the clone on its worker (or,
in an installed copy, in the folder the command was started from; the
project and that folder at the same path on every machine, the results
folder on a shared disk) and returns its exit status, run time and the tail of its
output; the driver prints them as they come.  A script that exits non-zero
is reported, not retried (a figure script's failure is its own, not the
worker's); the other scripts go on.
"""
import os
import subprocess
import sys
import time

from ..paths import IN_CLONE, REPO


def script_folder():
    """Where scripts are found and run: the clone's experiments/ are named
    from the clone (`make figures`); an installed copy has none, so a user's
    own scripts are named from the working folder."""
    return REPO if IN_CLONE else os.getcwd()

TAIL = 2000  # characters of a script's output sent back


def _die_with_parent():
    """The script ends with its worker (Linux's PR_SET_PDEATHSIG), so a
    closed cluster leaves no orphan rendering on."""
    try:
        import ctypes
        import signal
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


def run_script(script, args, cwd):
    """Run one script to its end; a dict of what happened."""
    started = time.time()
    done = subprocess.run([sys.executable, script] + list(args), cwd=cwd,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          preexec_fn=_die_with_parent)
    return {"script": script, "returncode": done.returncode,
            "seconds": round(time.time() - started, 1), "host": os.uname().nodename,
            "output": done.stdout[-TAIL:]}


def run_scripts(scripts, args, client, out=sys.stdout, cwd=None):
    """Run every script of ``scripts`` with ``args`` as one task each on
    ``client``'s cluster, in ``cwd`` (default :func:`script_folder`);
    returns their results in the order they finished."""
    from distributed import as_completed
    cwd = cwd or script_folder()
    futures = [client.submit(run_script, s, list(args), cwd, key="script-%d-%s" % (i, s),
                             pure=False) for i, s in enumerate(scripts)]
    results = []
    try:
        for future in as_completed(futures):
            result = future.result()
            results.append(result)
            print("%s: %s in %.0f s on %s" % (
                result["script"], "done" if result["returncode"] == 0 else
                "FAILED (exit %d)" % result["returncode"], result["seconds"],
                result["host"]), file=out, flush=True)
            if result["returncode"] != 0:
                print(result["output"], file=out)
    except KeyboardInterrupt:
        client.cancel(futures)
        raise
    return results
