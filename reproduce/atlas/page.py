"""The atlas's pages: a grid of every class with search by name, and one page
per class (picture, settings, run time, the judge's top 5), linkable by
index (``classes/0945.html``) and by name (``names/bell_pepper.html``).

Every page is written atomically and only from records, so a page on disk is
always whole and always agrees with the pictures beside it.  The class pages
reuse the gallery's figure (``reproduce.report.gallery``).
"""
import collections
import html
import os

from ..report.gallery import PAGE, figure_html, write_text
from .plan import class_name, slug

GRID = """<!doctype html>
<html><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: sans-serif; margin: 2em; background: #111; color: #ddd; }}
a {{ color: #9cf; }}
#search {{ font-size: 120%; width: 24em; padding: 0.3em; }}
.grid {{ display: flex; flex-wrap: wrap; gap: 6px; margin-top: 1em; }}
.cell {{ width: 150px; text-decoration: none; color: #ddd; font-size: 80%; }}
.cell img, .cell .empty {{ width: 150px; height: 150px; display: block; object-fit: cover; }}
.cell .empty {{ background: #333; }}
.cell.failed .empty {{ background: #633; }}
.cell span {{ display: block; overflow: hidden; white-space: nowrap; text-overflow: ellipsis; }}
</style></head><body>
<h1>{title}</h1>
<p>{summary}</p>
<p><input id="search" type="search" placeholder="search a class: name or index"
 autofocus> <span id="shown"></span></p>
<div class="grid" id="grid">
{cells}
</div>
<script>
// Filter the cells by a name (any synonym) or an index; ?q=NAME or #NAME
// in the address pre-fills the search, so a search is a link too.
const box = document.getElementById("search"), cells = [...document.querySelectorAll(".cell")];
function filter() {{
  const q = box.value.trim().toLowerCase();
  let n = 0;
  for (const c of cells) {{
    const hit = !q || c.dataset.names.includes(q) || c.dataset.index === q;
    c.style.display = hit ? "" : "none";
    n += hit;
  }}
  document.getElementById("shown").textContent = n + " of " + cells.length + " classes";
}}
box.addEventListener("input", filter);
box.value = new URLSearchParams(location.search).get("q")
            || decodeURIComponent(location.hash.slice(1)).replace(/_/g, " ");
filter();
</script>
</body></html>
"""

CELL = ('<a class="cell {status}" href="classes/{index:04d}.html" data-index="{index}" '
        'data-names="{names}" title="{title}">{picture}<span>{index} {name}</span></a>')


def class_page_path(index):
    return "classes/%04d.html" % index


def cell_html(index, description, record):
    """One grid cell: the picture, or an empty box while pending or failed."""
    status = record["status"] if record else "pending"
    name = class_name(description)
    picture = ('<img src="%s" loading="lazy" alt="%s">'
               % (html.escape(record["image"]), html.escape(name))
               if status == "done" else '<div class="empty"></div>')
    return CELL.format(status=status, index=index, picture=picture,
                       names=html.escape(description.lower()), name=html.escape(name),
                       title=html.escape("%s (%s)" % (description, status)))


def write_index(out_dir, classes, records, descriptions, title, manifest):
    counts = manifest["counts"]
    run, measured = manifest.get("run", {}), manifest.get("measured")
    rate = ("%.0f classes per hour (%d in %.0f s%s)" % (
        measured["classes_per_hour"], measured["rendered"], measured["seconds"],
        "" if measured is run else ", an earlier run") if measured else "no rate measured")
    summary = ("%d classes: %d rendered, %d failed, %d pending. Recipe %s on %s; "
               "this run rendered %d in %.0f s and skipped %d already done; %s. "
               "Settings: <a href=\"manifest.json\">manifest.json</a>."
               % (len(classes), counts["done"], counts["failed"], counts["pending"],
                  html.escape(manifest["settings"]["recipe"]),
                  html.escape(manifest["settings"]["weights"]), run.get("rendered", 0),
                  run.get("seconds", 0), run.get("skipped", 0), rate))
    cells = "\n".join(cell_html(i, descriptions[i], records.get(i)) for i in classes)
    write_text(GRID.format(title=html.escape(title), summary=summary, cells=cells),
               os.path.join(out_dir, "index.html"))


def _judge_html(judge):
    items = "".join("<li>%s%s</li>" % (html.escape(name), " &larr; the target"
                                       if judge["rank"] == rank else "")
                    for rank, name in enumerate(judge["top5"], 1))
    verdict = ("puts the target at #%d" % judge["rank"] if judge["hit"]
               else "does not put the target in its top 5")
    return "<h3>The judge (%s) %s</h3><ol>%s</ol>" % (
        html.escape(judge["model"]), verdict, items)


def class_page(record, index, description, title, neighbours):
    """The page of one class, from its record (None: not rendered yet)."""
    previous, following = neighbours
    nav = " &middot; ".join(
        ['<a href="../index.html">all classes</a>']
        + (['<a href="%04d.html">&larr; %d</a>' % (previous, previous)]
           if previous is not None else [])
        + (['<a href="%04d.html">%d &rarr;</a>' % (following, following)]
           if following is not None else []))
    intro = "<p>%s</p><p>class %d: %s</p>" % (nav, index, html.escape(description))
    if record is None or record["status"] == "pending":
        return PAGE.format(title=html.escape(title), intro=intro + "<p>Not rendered yet.</p>",
                           figures="")
    if record["status"] == "failed":
        return PAGE.format(title=html.escape(title), intro=intro, figures=(
            "<p>Failed twice; the last error:</p><pre>%s</pre>"
            % html.escape(record.get("error", ""))))
    shown = dict(record, image="../" + record["image"])
    worker = record.get("worker", {})
    details = ("<p>%s recipe, %s backend, seed %d; %.1f s%s on %s (process %s)</p>"
               % (html.escape(record["recipe"]), html.escape(record["backend"]),
                  record["seed"], record["seconds"],
                  " for a batch of %d" % record["batch"] if record["batch"] > 1 else "",
                  html.escape(str(worker.get("host", "?"))), worker.get("pid", "?")))
    judge = _judge_html(record["judge"]) if record.get("judge") else \
        "<p>No judge was available for this run.</p>"
    return PAGE.format(title=html.escape("%s: %s" % (title, class_name(description))),
                       intro=intro + details + judge, figures=figure_html(shown))


def write_class_page(out_dir, record, descriptions, title, neighbours=(None, None)):
    index = record["index"]
    write_text(class_page(record, index, descriptions[index], title, neighbours),
               os.path.join(out_dir, class_page_path(index)))


def redirect(targets, name, descriptions):
    """A name's page: a redirect to its class, or a choice when classes share it."""
    if len(targets) == 1:
        url = "../%s" % class_page_path(targets[0])
        return ('<!doctype html><meta charset="utf-8"><meta http-equiv="refresh" '
                'content="0; url=%s"><a href="%s">%s</a>' % (url, url, html.escape(name)))
    links = "".join('<li><a href="../%s">%d: %s</a></li>' % (
        class_page_path(i), i, html.escape(descriptions[i])) for i in targets)
    return PAGE.format(title=html.escape(name), figures="",
                       intro="<p>%d classes are called %s:</p><ul>%s</ul>"
                             % (len(targets), html.escape(name), links))


def write_site(out_dir, classes, records, descriptions, title, manifest, pages=True):
    """index.html; with ``pages`` also every class page and every name page."""
    if pages:
        for n, index in enumerate(classes):
            neighbours = (classes[n - 1] if n else None,
                          classes[n + 1] if n + 1 < len(classes) else None)
            record = records.get(index) or {"index": index, "status": "pending"}
            write_class_page(out_dir, record, descriptions, title, neighbours)
        by_name = collections.defaultdict(list)
        for index in classes:
            by_name[slug(class_name(descriptions[index]))].append(index)
        for name, targets in by_name.items():
            write_text(redirect(targets, name.replace("_", " "), descriptions),
                       os.path.join(out_dir, "names", name + ".html"))
    write_index(out_dir, classes, records, descriptions, title, manifest)
