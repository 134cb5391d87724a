import signal
import sys


def _interrupt(signum, frame):
    raise KeyboardInterrupt


# SIGTERM as Ctrl-C from the first line: an interrupt while the libraries
# import ends with the CLI's one line and status 130, never a traceback;
# inside main() the CLI's own handler (fileio.interrupt_scope) takes both,
# and leaves them ignored while the process exits.
signal.signal(signal.SIGTERM, _interrupt)
try:
    from .cli import main
    from .fileio import checkpoint
    status = main()
except KeyboardInterrupt:  # before main() had its handler in place
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    print("interrupted before anything was made: nothing written", file=sys.stderr)
    status = 130
else:
    checkpoint("exit")  # tests: a signal while the process exits
sys.exit(status)
