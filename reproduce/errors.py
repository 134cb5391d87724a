"""The one exception type that reaches a user as a single line."""
import sys


class UserError(Exception):
    """Bad input or a missing file: the CLI prints ``error: <message>`` and exits 2.

    The message names the file and the problem, and says what to do.
    """


def unknown(what, name, names, n=4):
    """The error for a ``name`` that is none of ``names``: the closest few
    ("did you mean"), not the whole list (a net's layers made a line of
    3,427 characters)."""
    import difflib
    names = list(names)
    text = str(name)
    hits = difflib.get_close_matches(text[:200], names, n=n, cutoff=0.0) or names[:n]
    return UserError("unknown %s %r; did you mean %s? (%d in all, %s to %s)" % (
        what, text if len(text) <= 60 else text[:57] + "...", ", ".join(hits),
        len(names), names[0] if names else "-", names[-1] if names else "-"))


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
