"""The page in a real browser: headless Chromium driven by Playwright.

It loads the page, sees the streamed frames change, asks for "volcano",
and sees the request acknowledged, the "now dreaming of" text change, and
the overlay in the frames themselves change (the black box behind the
text shrinks from a long class name to "volcano").

Needs Debian's ``chromium`` (``make system-deps`` installs it as root) and
the ``playwright`` package; skips cleanly without them.  Playwright's own
browser download is never used: we launch the system Chromium.
"""

import numpy as np
import pytest

from helpers.browser import chromium

pytestmark = pytest.mark.slow  # an optimiser process and a browser

START = "black and gold garden spider"  # a long overlay, then "volcano": a short one

# In the page: draw the current frame of the MJPEG <img> on a canvas.
# signature(): a checksum of its pixels; dark(): the share of near-black
# pixels in the overlay's corner (the box behind the text).
PROBE = """() => {
  const img = document.getElementById("stream");
  if (!img.naturalWidth) return null;
  const canvas = document.createElement("canvas");
  canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
  const ctx = canvas.getContext("2d");
  ctx.drawImage(img, 0, 0);
  const all = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
  let signature = 0;
  for (let i = 0; i < all.length; i += 7) signature = (signature * 31 + all[i]) % 1000000007;
  const rows = 24, corner = ctx.getImageData(0, 0, canvas.width, rows).data;
  let dark = 0;
  for (let i = 0; i < corner.length; i += 4)
    if (corner[i] < 40 && corner[i + 1] < 40 && corner[i + 2] < 40) dark++;
  return {signature: signature, dark: dark / (canvas.width * rows),
          width: canvas.width, height: canvas.height};
}"""


@pytest.fixture(scope="module")
def browser():
    with chromium() as launched:
        yield launched


@pytest.fixture(scope="module")
def server(tiny_model):
    from reproduce.nets.classes import find_class
    from reproduce.stream.server import make_server
    from reproduce.lsd2015.profiles import get_profile
    from reproduce.stream.requests import RequestParser, request_for
    from reproduce.stream.keyframes import LiveStream, stream_profile
    from reproduce.job import StreamJob

    # A small step keeps the picture grey, so near-black pixels are the overlay's.
    profile = stream_profile(get_profile("stream2015", [("steps_per_zoom", 2),
                                                        ("learning_rate", 0.5)]),
                             tiny_model, (96, 48), (256, 128))
    image = (128 + 8 * np.random.RandomState(0).randn(48, 96, 3)).astype(np.float32)
    descriptions = tiny_model.descriptions
    start = request_for([find_class(START, descriptions)], descriptions)
    stream = LiveStream(StreamJob(weights=tiny_model, prior="none"), profile, image,
                        RequestParser(descriptions),
                        start, hold_seconds=0, threads=1)
    stream.start(timeout=300)
    srv = make_server(stream, "127.0.0.1", 0).start()
    yield srv
    srv.stop()
    stream.stop()


def test_page_streams_and_takes_a_request(browser, server):
    page = browser.new_page()
    try:
        page.set_default_timeout(30000)
        page.goto(server.url())
        # the frames arrive and change
        page.wait_for_function("() => document.getElementById('stream').naturalWidth > 0")
        first = page.evaluate(PROBE)
        assert (first["width"], first["height"]) == (256, 128)
        page.wait_for_function("(sig) => (%s)().signature !== sig" % PROBE,
                               arg=first["signature"])
        page.wait_for_function("(t) => document.getElementById('overlay').textContent === t",
                               arg=START)
        before = page.evaluate(PROBE)["dark"]
        assert before > 0.15, "no overlay box in the frame: %.3f dark" % before

        page.fill("#text", "volcano")
        page.click("button[type=submit]")
        page.wait_for_function(
            "() => document.getElementById('reply').dataset.status === 'acknowledged'")
        assert "volcano" in page.text_content("#reply")
        page.wait_for_function(
            "() => document.getElementById('overlay').textContent === 'volcano'")
        # the overlay in the frames themselves: the box shrinks with the text
        page.wait_for_function("(limit) => (%s)().dark < limit" % PROBE,
                               arg=before * 0.6)
        after = page.evaluate(PROBE)["dark"]
        assert 0.02 < after < before * 0.6

        # an unknown word: the page shows close matches
        page.fill("#text", "volcanoe")
        page.click("button[type=submit]")
        page.wait_for_function(
            "() => document.getElementById('reply').dataset.status === 'unknown'")
        assert "volcano" in page.text_content("#reply")
    finally:
        page.close()
