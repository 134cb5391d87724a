"""The README a newcomer reads first: short, a picture on the first screen,
every command in it one the CLI accepts, every link one that exists."""
import os
import re
import shlex

import pytest

from reproduce import paths
from reproduce.cli import build_parser

ROOT = paths.REPO
DOCS = os.path.join(ROOT, "docs")


def _read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


README = _read(os.path.join(ROOT, "README.md"))


def _section(title):
    """The README's text from the heading ``## title`` to the next heading."""
    return README.split("## " + title, 1)[1].split("\n## ", 1)[0]


def _commands(text=README):
    """The `reproduce ...` lines of ``text``'s code blocks, continuations joined."""
    blocks = re.findall(r"```\n(.*?)```", text, re.S)
    lines = "\n".join(blocks).replace("\\\n", " ").splitlines()
    return [line.split("  #")[0].strip() for line in lines
            if line.startswith("reproduce ")]


def test_short_with_a_picture_on_the_first_screen():
    assert len(README.encode()) <= 15 * 1024
    first_screen = "\n".join(README.splitlines()[:25])
    [image] = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", first_screen)
    assert os.path.isfile(os.path.join(ROOT, image))


def test_the_two_set_up_commands_come_first():
    setup = README.index("make setup")
    assert setup < README.index("make test") < README.index("reproduce ")


def test_no_test_count_to_go_stale():
    for text in [README, _read(os.path.join(DOCS, "tests.md"))]:
        assert not re.search(r"\b\d+ tests\b", text.split("| run |")[0])


@pytest.mark.parametrize("line", _commands())
def test_every_command_parses(line):
    """Each command names options the CLI has (parsed, not run)."""
    argv = shlex.split(line)[1:]
    args = build_parser("reproduce").parse_args(argv)
    assert callable(args.func)


def test_commands_that_need_a_download_are_marked():
    downloads = ("vgg16.h5", "googlenet", "make weights", "make figures")
    offline = _section("Try it offline")
    assert not [w for w in downloads if w in offline]
    for line in _commands(offline):  # dream's default weights are VGG-16's
        assert not line.startswith("reproduce dream ") or \
            "--weights weights/efficientnet_lite0.h5" in line, line
    block = re.findall(r"```\n(.*?)```", _section("With a download"), re.S)[0]
    for line in block.replace("\\\n", " ").splitlines():
        assert "⬇" in line, line


def test_make_targets_exist():
    makefile = _read(os.path.join(ROOT, "Makefile"))
    targets = set(re.findall(r"^([a-z0-9-]+):", makefile, re.M))
    for target in set(re.findall(r"(?:`|^)make ([a-z0-9-]+)", README, re.M)):
        assert target in targets, target


def test_links_lead_somewhere():
    pages = [os.path.join(ROOT, "README.md")] + [
        os.path.join(DOCS, n) for n in os.listdir(DOCS) if n.endswith(".md")]
    for page in pages:
        for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", _read(page)):
            if re.match(r"[a-z]+:", target):
                continue
            path = os.path.normpath(os.path.join(os.path.dirname(page), target))
            # the tutorial notebook's folder arrives with the Python API's pages
            if os.path.relpath(path, ROOT).startswith("notebooks"):
                continue
            assert os.path.exists(path), "%s links to a missing %s" % (page, target)
