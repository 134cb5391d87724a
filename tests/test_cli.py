"""The entry point itself: its name, --version, a reader that goes away,
an optional package that is not installed."""
import argparse
import os
import subprocess
import sys
import tomllib

import pytest

from reproduce import cli, paths
from reproduce.cli import main
from helpers.cli import one_error_line


def test_version_is_the_distributions(capsys):
    with open(os.path.join(paths.REPO, "pyproject.toml"), "rb") as f:
        project = tomllib.load(f)["project"]
    assert project["name"] == paths.DISTRIBUTION
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.split()[-1] == project["version"]


@pytest.mark.parametrize("argv0, prog", [
    ("/home/u/.venv/bin/reproduce", "reproduce"),
    ("/work/reproduce/__main__.py", "python -m reproduce"),
])
def test_usage_names_what_the_user_typed(argv0, prog):
    assert cli.program_name(argv0) == prog
    assert cli.build_parser(cli.program_name(argv0)).format_usage().startswith(
        "usage: %s " % prog)


def test_a_reader_that_goes_away_ends_the_command_quietly():
    """`reproduce ... | head`: the reader is gone before we write; no
    traceback, the status of a process SIGPIPE ended.  The command: one that
    prints and changes nothing, `convert-embedded` on up-to-date files."""
    from reproduce.convert.embedded import SOURCES
    if not all(os.path.exists(os.path.join(paths.WEIGHTS_DIR, s.dest)) for s in SOURCES):
        pytest.skip("the embedded weights are not converted (make weights-embedded)")
    read, write = os.pipe()
    os.close(read)
    try:
        proc = subprocess.run([sys.executable, "-m", "reproduce", "convert-embedded"],
                              stdout=write, stderr=subprocess.PIPE, text=True, cwd=paths.REPO)
    finally:
        os.close(write)
    assert (proc.returncode, proc.stderr) == (141, "")


def test_a_broken_pipe_in_any_command_is_caught_once(monkeypatch, capsys):
    def run(args):
        raise BrokenPipeError
    parser = cli.build_parser()
    monkeypatch.setattr(cli, "build_parser", lambda: _with_func(parser, run))
    assert main(["judge"]) == 141
    assert "Traceback" not in capsys.readouterr().err


@pytest.mark.parametrize("module, extra", [("distributed", "atlas"), ("torch", "torch")])
def test_a_missing_optional_package_is_one_line(monkeypatch, capsys, module, extra):
    def run(args):
        raise ModuleNotFoundError("No module named %r" % module, name=module)
    parser = cli.build_parser()
    monkeypatch.setattr(cli, "build_parser", lambda: _with_func(parser, run))
    line = one_error_line(capsys, ["atlas"])
    assert module in line and paths.how_to_make(extra) in line


def test_a_missing_required_module_is_still_a_bug(monkeypatch):
    def run(args):
        raise ModuleNotFoundError("No module named 'numpy'", name="numpy")
    parser = cli.build_parser()
    monkeypatch.setattr(cli, "build_parser", lambda: _with_func(parser, run))
    with pytest.raises(ModuleNotFoundError):
        main(["judge"])


def _with_func(parser, func):
    """``parser`` whose every command runs ``func``."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                sub.set_defaults(func=func)
    return parser
