"""The microscope's pages, plain HTML that works from a folder (file://, no
server, no script): the net's layers with each layer's DeepDream as its
thumbnail; per layer a grid of every channel; per unit its pictures, its
settings and, for a classifier, the classes its picture raises most.

The grid stays fast with hundreds of channels: every picture is
``loading="lazy"`` with its size given, so the browser lays the page out at
once and fetches only the pictures in view.  Every page is written
atomically and only from records, so a page on disk is always whole and
agrees with the pictures beside it.
"""
import html
import os

from ..report.gallery import write_text
from .plan import image_file, layer_page, unit_page

STYLE = """body { font-family: sans-serif; margin: 2em; background: #111; color: #ddd; }
a { color: #9cf; }
.grid { display: flex; flex-wrap: wrap; gap: 4px; margin-top: 1em; }
.cell { width: %(cell)dpx; text-decoration: none; color: #aaa; font-size: 75%%; }
.cell img, .cell .empty { width: %(cell)dpx; height: %(cell)dpx; display: block; }
.empty { background: #333; } .failed .empty { background: #633; }
.layers { display: flex; flex-wrap: wrap; gap: 12px; }
.layer { width: 224px; text-decoration: none; color: #ddd; }
.layer img, .layer .empty { width: 224px; height: 224px; object-fit: cover; display: block; }
.pictures { display: flex; flex-wrap: wrap; gap: 12px; }
.picture { width: 256px; font-size: 85%%; }
.picture img { width: 256px; image-rendering: auto; }
table { border-collapse: collapse; } td { padding: 0 0.6em; }
"""
CELL = 96   # pixels a channel's picture takes in the grid

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>{title}</title>
<style>{style}</style></head><body>
<p>{nav}</p>
<h1>{title}</h1>
{body}
</body></html>
"""


def _page(title, nav, body, path, out_dir):
    write_text(PAGE.format(title=html.escape(title), nav=nav, body=body,
                           style=STYLE % {"cell": CELL}),
               os.path.join(out_dir, path))


def _up(path):
    """The way back to the output folder from the page at ``path``."""
    return "../" * path.count("/")


def _link(href, text):
    return '<a href="%s">%s</a>' % (html.escape(href), html.escape(text))


def _neighbours(sequence, item):
    i = sequence.index(item)
    return (sequence[i - 1] if i else None,
            sequence[i + 1] if i + 1 < len(sequence) else None)


# -- the index ---------------------------------------------------------------------

def write_index(out_dir, units, records, title, manifest):
    counts, run = manifest["counts"], manifest.get("run", {})
    summary = ("%s: %d layers, %d units (channels): %d rendered, %d failed, %d pending. "
               "This run rendered %d items (units and layer pictures) in %.0f s (%.0f "
               "per hour) and skipped %d already done. Settings: "
               '<a href="manifest.json">manifest.json</a>.'
               % (html.escape(manifest["model"]), len(units),
                  sum(len(c) for c in units.values()), counts["done"], counts["failed"],
                  counts["pending"], run.get("rendered", 0), run.get("seconds", 0),
                  run.get("units_per_hour", 0), run.get("skipped", 0)))
    cards = []
    for layer, channels in units.items():
        record = records.get((layer, None))
        done = sum(1 for c in channels if (records.get((layer, c)) or {}).get("status")
                   == "done")
        picture = ('<img src="%s" loading="lazy" alt="%s">'
                   % (html.escape(image_file(layer, None)), html.escape(layer))
                   if record and record["status"] == "done" else '<div class="empty"></div>')
        cards.append('<a class="layer" href="%s">%s<span>%s: %d channels shown, %d '
                     'rendered</span></a>' % (html.escape(layer_page(layer)), picture,
                                              html.escape(layer), len(channels), done))
    body = ("<p>%s</p><p>Each layer's picture is DeepDream of the whole layer on the "
            "photo below (0.5&middot;mean(a&sup2;)); open a layer for every channel.</p>"
            '<div class="layers">%s</div><h3>The photo</h3><img src="photo.png" '
            'alt="the photo every DeepDream starts from" width="224">'
            % (summary, "\n".join(cards)))
    _page(title, "", body, "index.html", out_dir)


# -- one layer -------------------------------------------------------------------------

def cell_html(layer, channel, record, up):
    status = record["status"] if record else "pending"
    picture = ('<img src="%s%s" loading="lazy" width="%d" height="%d" alt="%d">'
               % (up, html.escape(image_file(layer, channel)), CELL, CELL, channel)
               if status == "done" else '<div class="empty"></div>')
    return ('<a class="cell %s" id="c%d" href="%s%s" title="%s:%d (%s)">%s%d</a>'
            % (status, channel, up, html.escape(unit_page(layer, channel)),
               html.escape(layer), channel, status, picture, channel))


def write_layer_page(out_dir, units, records, title, layer):
    path = layer_page(layer)
    up = _up(path)
    before, after = _neighbours(list(units), layer)
    nav = " &middot; ".join(
        [_link(up + "index.html", "all layers")]
        + ([_link(up + layer_page(before), "\u2190 " + before)] if before else [])
        + ([_link(up + layer_page(after), after + " \u2192")] if after else []))
    record = records.get((layer, None))
    dream = ('<p><img src="%s%s" alt="DeepDream of %s" width="224"> DeepDream of the '
             'whole layer on the photo.</p>' % (up, html.escape(image_file(layer, None)),
                                               html.escape(layer))
             if record and record["status"] == "done" else "")
    cells = "\n".join(cell_html(layer, c, records.get((layer, c)), up)
                      for c in units[layer])
    body = ("%s<p>%d channels; each picture maximises the channel's mean activation. "
            "Click one for its negative, diverse pictures and DeepDream.</p>"
            '<div class="grid">\n%s\n</div>' % (dream, len(units[layer]), cells))
    _page("%s: %s" % (title, layer), nav, body, path, out_dir)


# -- one unit ------------------------------------------------------------------------------

CAPTIONS = {"positive": "maximises the channel", "neg": "minimises it (the negative)",
            "dream": "DeepDream of the channel on the photo"}


def unit_html(record, up):
    pictures = []
    for picture in record["pictures"]:
        kind = picture["kind"]
        caption = CAPTIONS.get(kind, "maximises it from another start")
        pictures.append('<div class="picture"><img src="%s%s" alt="%s"><br>%s<br>'
                        '<code>%s</code>, %d steps, %.1f s</div>'
                        % (up, html.escape(picture["image"]), html.escape(kind),
                           html.escape(caption), html.escape(picture["objective"]),
                           picture["steps"], picture["seconds"]))
    settings = "".join("<tr><td>%s</td><td>%s</td></tr>" % (html.escape(k),
                                                           html.escape(str(v)))
                       for k, v in sorted(record["settings"].items()))
    classes = ""
    if record.get("classes"):
        classes = ("<h3>Classes its picture raises most</h3><p>The mean logit over the "
                   "map, the positive picture against a grey one of its size:</p><ol>%s</ol>"
                   % "".join("<li>%s (+%.3g)</li>" % (html.escape(name), delta)
                             for _, name, delta in record["classes"]))
    worker = record.get("worker", {})
    return ('<div class="pictures">%s</div>%s<h3>Settings</h3><table>%s</table>'
            "<p>%.1f s on %s (process %s), %s recipe, %s backend, weights %s.</p>"
            % ("\n".join(pictures), classes, settings, record["seconds"],
               html.escape(str(worker.get("host", "?"))), worker.get("pid", "?"),
               html.escape(record["recipe"]), html.escape(record["backend"]),
               html.escape(record["weights"])))


def write_unit_page(out_dir, units, record, title="Microscope", layer=None, channel=None):
    """The page of one unit, from its record (None: not rendered yet)."""
    layer = record["layer"] if record else layer
    channel = record["channel"] if record else channel
    path = unit_page(layer, channel)
    up = _up(path)
    before, after = _neighbours(units[layer], channel)
    nav = " &middot; ".join(
        [_link(up + "index.html", "all layers"),
         _link(up + layer_page(layer) + "#c%d" % channel, layer)]
        + ([_link(up + unit_page(layer, before), "\u2190 %d" % before)]
           if before is not None else [])
        + ([_link(up + unit_page(layer, after), "%d \u2192" % after)]
           if after is not None else []))
    if record is None or record["status"] == "pending":
        body = "<p>Not rendered yet.</p>"
    elif record["status"] == "failed":
        body = ("<p>Failed twice; the last error:</p><pre>%s</pre>"
                % html.escape(record.get("error", "")))
    else:
        body = unit_html(record, up)
    _page("%s:%d" % (layer, channel), nav, body, path, out_dir)


def write_site(out_dir, units, records, title, manifest, unit_pages=True):
    """index.html and every layer page; with ``unit_pages`` every unit page."""
    for layer in units:
        write_layer_page(out_dir, units, records, title, layer)
        if unit_pages:
            for channel in units[layer]:
                write_unit_page(out_dir, units, records.get((layer, channel)), title,
                                layer, channel)
    write_index(out_dir, units, records, title, manifest)

