"""The one exception type that reaches a user as a single line."""


class UserError(Exception):
    """Bad input or a missing file: the CLI prints ``error: <message>`` and exits 2.

    The message names the file and the problem, and says what to do.
    """
