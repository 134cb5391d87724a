"""The port x stage table as text, and the expectations file it is checked against."""
import json

from .stages import STAGES, Cell

WIDTH = 10  # a cell's column


def cell_of(d):
    return Cell(d["verdict"], d.get("measure", ""), d.get("note", ""), d.get("factor"))


def render(table):
    """The table as text: one block per mode, each cell's short verdict, then
    the notes behind every cell that is not identical or agrees."""
    lines = ["Conformance on %s at %dx%d: each port against the 2015 reference, stage by "
             "stage" % (table["model"], *table["size"])]
    titles = [t for _, t, _ in STAGES]
    name_width = max(len(r["port"]) for r in table["ports"]) + 2
    notes = []
    for mode in table["modes"]:
        lines += ["", "mode: %s" % mode,
                  " " * name_width + "".join(t[:WIDTH - 1].ljust(WIDTH) for t in titles)]
        for row in table["ports"]:
            if row["status"] != "ran":
                text = "%s: %s" % (row["status"], row["reason"])
                lines.append(row["port"].ljust(name_width) + text)
                continue
            cells = [cell_of(row["cells"][mode][k]) for k, _, _ in STAGES]
            lines.append(row["port"].ljust(name_width) + "".join(
                c.short().ljust(WIDTH) for c in cells))
            for (key, title, _), c in zip(STAGES, cells):
                if c.verdict not in ("identical", "agrees"):
                    notes.append("  %s, %s, %s: %s%s%s" % (
                        row["port"], mode, title, c.short(),
                        ": " + c.measure if c.measure else "",
                        " (%s)" % c.note if c.note else ""))
    versions = ["%s %s" % (r["package"] or r["port"], r["version"]) for r in table["ports"]]
    lines += ["", "versions: " + ", ".join(versions), "", "why:"] + notes
    return "\n".join(lines)


def expectations(table):
    """What the tests pin: per port its version and each cell's verdict (with k)."""
    out = {}
    for row in table["ports"]:
        entry = {"version": row["version"], "status": row["status"]}
        if row["status"] == "ran":
            entry["installed"] = row["installed"]
            entry["cells"] = {mode: {stage: cell_of(d).key() for stage, d in cells.items()}
                              for mode, cells in row["cells"].items()}
        out[row["port"]] = entry
    return out


def changes(table, expected):
    """Lines naming every cell (or port version) that differs from ``expected``
    (a dict as :func:`expectations` makes, keyed by model name)."""
    mine = expectations(table)
    want = expected.get(table["model"])
    if want is None:
        return ["no expectations for model %s" % table["model"]]
    lines = []
    for port, entry in mine.items():
        old = want.get(port)
        if old is None:
            lines.append("%s: not in the expectations" % port)
            continue
        if entry["status"] != old["status"]:
            lines.append("%s: %s, expected %s" % (port, entry["status"], old["status"]))
            continue
        if entry.get("installed") != old.get("installed"):
            lines.append("%s: installed %s, expected %s" % (port, entry.get("installed"),
                                                             old.get("installed")))
        for mode, cells in entry.get("cells", {}).items():
            for stage, verdict in cells.items():
                before = old["cells"][mode].get(stage)
                if verdict != before:
                    lines.append("%s, %s, %s: %s, expected %s" % (port, mode, stage,
                                                                   verdict, before))
    return lines


def dumps(table):
    return json.dumps(table, indent=1, sort_keys=False)


def write_json(path, table):
    from ..fileio import atomic_path
    with atomic_path(path) as tmp:
        with open(tmp, "w") as f:
            f.write(dumps(table) + "\n")


def write_expectations(path, table, keep=None):
    """Write ``table``'s cells under its model's name, keeping the other
    models' entries of ``keep`` (a dict read before)."""
    from ..fileio import atomic_path
    data = dict(keep or {})
    data[table["model"]] = expectations(table)
    with atomic_path(path) as tmp:
        with open(tmp, "w") as f:
            json.dump(data, f, indent=1, sort_keys=True)
            f.write("\n")


def read_expectations(path):
    """The expectations file -> dict; a missing or unreadable one is a UserError."""
    from ..errors import UserError
    try:
        with open(path) as f:
            data = json.load(f)
    except OSError as exc:
        raise UserError("--expect %s: cannot read it (%s)" % (path, exc.strerror))
    except ValueError as exc:
        raise UserError("--expect %s: not JSON (%s); write one with --write-expect"
                        % (path, str(exc).splitlines()[0]))
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise UserError("--expect %s: expected {model: {port: ...}}; write one with "
                        "--write-expect" % path)
    return data
