"""Build ``results/index.html`` from the figure records in ``results/*.json``.

Usage: python experiments/gallery.py [--results results] [--title TEXT]
"""
import argparse
import glob
import html
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from reproduce.fileio import atomic_path  # noqa: E402

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: sans-serif; margin: 2em; background: #111; color: #ddd; }}
.figure {{ display: inline-block; vertical-align: top; width: 440px; margin: 0 1em 2em 0; }}
.figure img {{ width: 100%; }}
details {{ font-size: 80%; color: #999; }}
table {{ border-collapse: collapse; }} td {{ padding: 0 0.5em; }}
</style></head><body>
<h1>{title}</h1>
<p>{intro}</p>
{figures}
</body></html>
"""

FIGURE = """<div class="figure"><img src="{image}" alt="{alt}">
<h3>{classes}</h3><p>{caption}</p>
<p>{steps} steps in {seconds} s{quick}; weights {weights}; prior {prior}</p>
<details><summary>settings</summary><table>{settings}</table></details></div>"""


def figure_html(record):
    settings = "".join("<tr><td>%s</td><td>%s</td></tr>" % (html.escape(k),
                                                           html.escape(str(v)))
                       for k, v in sorted(record["settings"].items()))
    return FIGURE.format(
        image=html.escape(record["image"]), alt=html.escape(record["name"]),
        classes=html.escape(" (lower half) + ".join(record["classes"])
                            + (" (upper half)" if len(record["classes"]) > 1 else "")),
        caption=html.escape(record["caption"]), steps=record["steps"],
        seconds=record["seconds"], quick=" (QUICK run)" if record["quick"] else "",
        weights=html.escape(record["weights"]), prior=html.escape(record["prior"]),
        settings=settings)


def build(results, title, intro):
    records = []
    for path in sorted(glob.glob(os.path.join(results, "*.json"))):
        with open(path) as f:
            record = json.load(f)
        if {"image", "classes", "settings"} <= set(record):
            records.append(record)
    page = PAGE.format(title=html.escape(title), intro=intro,
                       figures="\n".join(figure_html(r) for r in records))
    out = os.path.join(results, "index.html")
    with atomic_path(out) as tmp:
        with open(tmp, "w") as f:
            f.write(page)
    return out, len(records)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--results", default=os.path.join(os.path.dirname(HERE), "results"))
    p.add_argument("--title", default="The 2015 LSD neural net gallery, reproduced")
    args = p.parse_args(argv)
    out, n = build(args.results, args.title,
                   "Each picture: VGG-16 logits pushed up with the 2015 update rule, "
                   "the Student-t patch prior and the zoom, as on the 2015 stream.")
    print("%s: %d figures" % (out, n))
    return 0


if __name__ == "__main__":
    sys.exit(main())
