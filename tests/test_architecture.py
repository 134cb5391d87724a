"""The house rules the layout keeps, checked on the source: the module map
has no cycle, argparse stays in the CLI, no command imports another."""
import ast
import os

import pytest

from reproduce.paths import REPO

PACKAGES = ("reproduce", "reproduce_torch")


def modules():
    """{dotted module name: path} of every module of our packages."""
    found = {}
    for package in PACKAGES:
        for folder, _, files in os.walk(os.path.join(REPO, package)):
            for name in files:
                if name.endswith(".py"):
                    path = os.path.join(folder, name)
                    dotted = os.path.relpath(path, REPO)[:-3].replace(os.sep, ".")
                    found[dotted[:-len(".__init__")] if dotted.endswith("__init__")
                          else dotted] = path
    return found


def imports(name, path, known):
    """The modules of ours that ``name`` imports anywhere (also inside functions)."""
    package = name if path.endswith("__init__.py") else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(open(path).read(), path)):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[:len(parts) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            targets = [base] + ["%s.%s" % (base, alias.name) for alias in node.names]
        else:
            continue
        out.update(t for t in targets if t in known and t != name)
    return out


def graph():
    known = modules()
    edges = {name: imports(name, path, known) for name, path in known.items()}
    # A package's own __init__ holds a docstring only: importing a submodule
    # runs it, which is no dependency of ours.
    return {name: {t for t in targets if not name.startswith(t + ".")}
            for name, targets in edges.items()}


def cycles(edges):
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, found, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_the_module_map_has_no_import_cycle():
    edges = graph()
    assert len(edges) > 40 and "reproduce.recipes" in edges["reproduce.stream.setup"]
    assert cycles(edges) == []


def test_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_argparse_stays_in_the_cli():
    """Below the CLI the library takes values, never an argparse namespace."""
    outside = []
    for name, path in modules().items():
        if name == "reproduce.cli" or name.startswith("reproduce.commands"):
            continue
        source = open(path).read()
        tree = ast.parse(source, path)
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module] if isinstance(node, ast.ImportFrom) else []
            if "argparse" in names or "Namespace" in source:
                outside.append(name)
    assert sorted(set(outside)) == []


@pytest.mark.parametrize("command", sorted(
    n for n in modules() if n.startswith("reproduce.commands.")
    and not n.rpartition(".")[2].startswith("_")))
def test_no_command_imports_another(command):
    others = {t for t in graph()[command] if t.startswith("reproduce.commands.")
              and not t.rpartition(".")[2].startswith("_")}
    assert others == set()
