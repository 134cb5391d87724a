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
    UserError becomes one ``error:`` line and 2, Ctrl-C ``interrupted`` and
    130.  Running out of memory where no reader caught it (a step larger
    than the memory estimate, under a ``ulimit``) is one line and 2 too."""
    previous = sys.unraisablehook
    sys.unraisablehook = _quiet_memory_errors(previous)
    try:
        return action() or 0
    except UserError as exc:
        print("error: %s" % exc, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(interrupted, file=sys.stderr)
        return 130
    except MemoryError as exc:
        what = (str(exc).strip().splitlines() or ["MemoryError"])[0][:160]
        print("error: out of memory (%s); give a smaller --size or free some memory"
              % what, file=sys.stderr)
        return 2
    finally:
        sys.unraisablehook = previous


def _quiet_memory_errors(hook):
    """An unraisable-exception hook that drops MemoryErrors: short of memory,
    finalisers (a reader's __del__, a generator's close) fail too, and each
    printed "Exception ignored in: ..." with a traceback before our one
    line; what went wrong is said once, by that line."""
    def quiet(unraisable):
        if not isinstance(unraisable.exc_value, MemoryError):
            hook(unraisable)
    return quiet
