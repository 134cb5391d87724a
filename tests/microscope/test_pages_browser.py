"""The microscope's pages in a real browser (headless Debian Chromium driven
by Playwright, as tests/stream/test_browser.py), opened from the folder
with file:// (no server): the index links every layer, a layer of 832
channels lays out at once and fetches only the pictures in view (lazy
loading), and the links from the grid to a unit and back work.

The pages are written by ``page.write_site`` from records of small
pictures made here, so no net is rendered.
"""

import numpy as np
import pytest

from helpers.browser import chromium
from reproduce.fileio import save_image
from reproduce.microscope import page, plan
from reproduce.report.gallery import write_record

pytestmark = pytest.mark.slow  # a browser

UNITS = {"relu1_1": [0, 1, 2], "inception_4c/output": list(range(832))}


def _record(out, layer, channel, rng):
    kinds = [""] if channel is None else ["", "neg", "div1", "dream"]
    files = {}
    for kind in kinds:
        path = plan.image_file(layer, channel, kind)
        save_image(rng.uniform(0, 255, (8, 8, 3)).astype(np.float32), str(out / path))
        files[path] = "x"
    record = {"layer": layer, "channel": channel, "status": "done", "digest": "d",
              "image": plan.image_file(layer, channel), "files": files,
              "pictures": [{"kind": k or "positive", "image": plan.image_file(layer, channel, k),
                            "objective": "%s:%s" % (layer, channel), "seconds": 1.0,
                            "steps": 2} for k in kinds],
              "seconds": 1.0, "weights": "w.h5", "recipe": "fourier", "seed": 0,
              "backend": "theano", "settings": {"layer": layer},
              "classes": [[1, "goldfish", 0.5]], "worker": {"host": "h", "pid": 1}}
    write_record(record, str(out / plan.record_file(layer, channel)))
    return record


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    rng = np.random.RandomState(0)
    records = {(layer, c): _record(out, layer, c, rng) for layer, c in plan.items(UNITS)}
    save_image(rng.uniform(0, 255, (8, 8, 3)).astype(np.float32), str(out / "photo.png"))
    manifest = {"model": "synthetic", "counts": {"done": 835 - 2, "failed": 0, "pending": 0},
                "run": {}}
    page.write_site(str(out), UNITS, records, "Microscope test", manifest)
    return out


@pytest.fixture(scope="module")
def browser():
    with chromium() as launched:
        yield launched


LOADED = "() => [...document.images].filter(i => i.complete && i.naturalWidth > 0).length"


def test_index_grid_and_unit_pages_from_the_folder(site, browser):
    tab = browser.new_page(viewport={"width": 1000, "height": 700})
    tab.goto((site / "index.html").as_uri())
    assert tab.locator("a.layer").count() == 2
    tab.wait_for_function("() => [...document.images].every(i => i.complete)")
    assert tab.evaluate(LOADED) == 3   # two layer pictures and the photo

    tab.click("text=inception_4c/output: 832 channels shown")
    assert tab.url.endswith("layers/inception_4c_output.html")
    cells = tab.locator("a.cell")
    assert cells.count() == 832
    assert tab.locator('a.cell img[loading="lazy"]').count() == 832
    tab.wait_for_load_state("load")
    # lazy: only the pictures near the view were fetched, the grid is laid out
    loaded = tab.evaluate(LOADED)
    assert 0 < loaded < 300, loaded
    box = tab.locator("#c831").bounding_box()
    assert box and box["y"] > 2000     # the last cell far below the view
    tab.locator("#c831").scroll_into_view_if_needed()
    tab.wait_for_function("() => document.querySelector('#c831 img').naturalWidth > 0")

    tab.click("#c831")
    assert tab.url.endswith("units/inception_4c_output/0831.html")
    tab.wait_for_function("() => [...document.images].every(i => i.complete)")
    assert tab.evaluate(LOADED) == 4   # positive, negative, diverse, dream
    assert "goldfish" in tab.content()
    tab.click("text=\u2190 830")
    assert tab.url.endswith("0830.html")
    tab.click("text=inception_4c/output")
    assert "layers/inception_4c_output.html#c830" in tab.url
    tab.click("text=all layers")
    assert tab.url.endswith("index.html")
    tab.close()
