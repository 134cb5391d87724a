"""Gallery pages: one HTML page from JSON records of pictures, written atomically.

A record describes one picture in its folder::

    {"name": "bee", "image": "bee.png", "classes": ["bee"], "caption": "...",
     "seconds": 81.2, "steps": 200, "quick": false, "weights": "vgg16.h5",
     "prior": "weights/prior_student.h5", "settings": {...}}

``classes`` holds what the picture shows: class names for class pictures,
the layer's name for DeepDream pictures.  A record of a video adds
``"video": "clip.mp4"``; its ``image`` is then an animated preview (WebP
or GIF), shown where the browser cannot play the video.  Pictures appear
in the order of
their record files' names.  ``experiments/figure.py`` and the DeepDream
commands write such records; ``experiments/gallery.py`` is the CLI.
"""
import glob
import html
import json
import os

from ..fileio import atomic_path

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: sans-serif; margin: 2em; background: #111; color: #ddd; }}
a {{ color: #9cf; }}
.figure {{ display: inline-block; vertical-align: top; width: 440px; margin: 0 1em 2em 0; }}
.figure img, .figure video {{ width: 100%; }}
details {{ font-size: 80%; color: #999; }}
table {{ border-collapse: collapse; }} td {{ padding: 0 0.5em; }}
</style></head><body>
<h1>{title}</h1>
<p>{intro}</p>
{figures}
</body></html>
"""

FIGURE = """<div class="figure">{media}
<h3>{classes}</h3><p>{caption}</p>
<p>{steps} steps in {seconds} s{quick}; weights {weights}; prior {prior}</p>
<details><summary>settings</summary><table>{settings}</table></details></div>"""

IMAGE = '<img src="{image}" alt="{alt}">'
# muted + playsinline: browsers only autoplay muted videos; the preview
# inside shows where <video> or H.264 is not supported
VIDEO = ('<video src="{video}" poster="{image}" controls loop muted autoplay '
         'playsinline><img src="{image}" alt="{alt}"></video>')

REQUIRED = {"image", "classes", "settings"}


def media_html(record):
    """The picture of a record: <img>, or <video> with the preview inside."""
    values = dict(image=html.escape(record["image"]), alt=html.escape(record["name"]))
    if record.get("video"):
        return VIDEO.format(video=html.escape(record["video"]), **values)
    return IMAGE.format(**values)


def figure_html(record):
    """One record -> its <div class="figure">."""
    settings = "".join("<tr><td>%s</td><td>%s</td></tr>" % (html.escape(k),
                                                           html.escape(str(v)))
                       for k, v in sorted(record["settings"].items()))
    return FIGURE.format(
        media=media_html(record),
        classes=html.escape(" (lower half) + ".join(record["classes"])
                            + (" (upper half)" if len(record["classes"]) > 1 else "")),
        caption=html.escape(record["caption"]), steps=record["steps"],
        seconds=record["seconds"], quick=" (QUICK run)" if record["quick"] else "",
        weights=html.escape(record["weights"]), prior=html.escape(record["prior"]),
        settings=settings)


def write_record(record, path):
    """Write one record as JSON to ``path``, atomically."""
    with atomic_path(path) as tmp:
        with open(tmp, "w") as f:
            json.dump(record, f, indent=1)


def read_records(folder):
    """The gallery records in ``folder``/*.json, in file-name order (others skipped)."""
    records = []
    for path in sorted(glob.glob(os.path.join(folder, "*.json"))):
        with open(path) as f:
            record = json.load(f)
        if isinstance(record, dict) and REQUIRED <= set(record):
            records.append(record)
    return records


def build(results, title, intro, records=None):
    """Write ``results``/index.html from ``records`` (default: all in the folder).

    ``intro`` is HTML.  Returns (path of the page, number of figures).
    """
    records = read_records(results) if records is None else records
    page = PAGE.format(title=html.escape(title), intro=intro,
                       figures="\n".join(figure_html(r) for r in records))
    out = os.path.join(results, "index.html")
    write_text(page, out)
    return out, len(records)


def write_text(text, path):
    """Write a page (or any text) to ``path``, atomically."""
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
