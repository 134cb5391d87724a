"""Running the CLI in a test: checks that several test folders make."""
import os

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


def assert_user_error(capsys, argv, names, out_dir=None):
    """Run the CLI; check exit 2 and one error line naming ``names``."""
    assert main(argv) == 2
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("error: ") and str(names) in lines[0], lines[0]
    assert "Traceback" not in captured.err and captured.out == ""
    if out_dir is not None:
        assert os.listdir(out_dir) == [], "a failed conversion left files behind"
    return lines[0]


def snapshot(*folders):
    """{path: (size, mtime, mode)} of everything under ``folders``."""
    out = {}
    for folder in folders:
        for root, dirs, names in os.walk(folder):
            for name in dirs + names:
                path = os.path.join(root, name)
                st = os.lstat(path)
                out[path] = (st.st_size, st.st_mtime_ns, st.st_mode)
    return out


def assert_refused(capsys, argv, folders):
    """Run ``argv``: exit status 2, one ``error:`` line on stderr, no
    traceback, and nothing under ``folders`` created or changed; returns
    the line."""
    before = snapshot(*folders)
    status = main(argv)
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert status == 2, (status, captured.err[-500:])
    assert len(lines) == 1 and lines[0].startswith("error: "), captured.err[-500:]
    assert "Traceback" not in captured.err
    assert snapshot(*folders) == before, "files were created or changed"
    return lines[0]
