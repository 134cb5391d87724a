"""A screenshot of a microscope page for docs/images/microscope.png: headless
Debian Chromium (Playwright drives the system browser, as the browser test
does) opens the page from its folder, waits for the pictures in view, and
the shot is saved as a 256-colour PNG so that it stays small.

    python experiments/microscope_screenshot.py results/microscope_hed/layers/relu3_3.html
"""
import argparse
import io
import os
import sys

CHROMIUM = "/usr/bin/chromium"


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("page", help="a page of a microscope folder")
    p.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "docs",
                                                 "images", "microscope.png"))
    p.add_argument("--size", default="1000x640", help="the browser's viewport, WxH")
    args = p.parse_args(argv)
    if not os.path.isfile(args.page):
        print("error: %s: no such page; make one with `make microscope`" % args.page,
              file=sys.stderr)
        return 2
    from PIL import Image
    from playwright.sync_api import sync_playwright
    from reproduce.fileio import atomic_path
    width, height = (int(v) for v in args.size.split("x"))
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                     args=["--no-sandbox", "--disable-gpu"])
        tab = browser.new_page(viewport={"width": width, "height": height})
        tab.goto("file://" + os.path.abspath(args.page))
        tab.wait_for_load_state("load")
        tab.wait_for_function("() => [...document.images].filter(i => i.loading !== 'lazy'"
                              " || i.getBoundingClientRect().top < innerHeight)"
                              ".every(i => i.complete)")
        shot = tab.screenshot()
        browser.close()
    image = Image.open(io.BytesIO(shot)).convert("RGB").quantize(256)
    with atomic_path(args.out) as tmp:
        image.save(tmp, format="PNG", optimize=True)
    print("%s: %d KB" % (args.out, os.path.getsize(args.out) // 1024))
    return 0


if __name__ == "__main__":
    sys.exit(main())
