"""Running the CLI in a test."""
from reproduce.cli import main


def one_error_line(capsys, argv):
    """Run ``argv``; assert exit status 2 and one ``error:`` line on stderr,
    no traceback; return that line."""
    assert main(argv) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), captured.err
    assert "Traceback" not in captured.err
    return lines[0]
