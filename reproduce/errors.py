"""The one exception type that reaches a user as a single line."""
import sys


class UserError(Exception):
    """Bad input or a missing file: the CLI prints ``error: <message>`` and exits 2.

    The message names the file and the problem, and says what to do.
    """


def exit_status(action, interrupted="interrupted"):
    """Run ``action()`` for an entry point: its status (None -> 0); a
    UserError becomes one ``error:`` line and 2, Ctrl-C ``interrupted`` and 130."""
    try:
        return action() or 0
    except UserError as exc:
        print("error: %s" % exc, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(interrupted, file=sys.stderr)
        return 130
