"""Bad input to the real commands, table-driven: each case must end with one
``error:`` line on stderr, exit status 2, no traceback, and no new or
replaced file.  The commands run in-process (``reproduce.cli.main``) on the
tiny test model, so every case is refused before anything is compiled; a
unit test checks the signals.  ``make fuzz`` runs the larger
set (tests/fuzz_large.py)."""
import os
import shutil
import signal
import struct
import zlib

import h5py
import numpy as np
import pytest
from PIL import Image

from helpers.cli import assert_refused
from test_hostile_files import WEIGHT_CASES


# ------------------------------------------------------------------ the inputs

def _png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(
        ">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def bomb_png(path, width=30000, height=30000):
    """A PNG whose header declares width x height pixels, in a few bytes."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    data = zlib.compress(b"\0" * 1024)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header)
                     + _png_chunk(b"IDAT", data) + _png_chunk(b"IEND", b""))


@pytest.fixture(scope="module")
def files(tmp_path_factory, tiny_weights):
    """The inputs every case may name, in one folder: good ones and bad ones."""
    d = tmp_path_factory.mktemp("inputs")
    photo = d / "photo.png"
    Image.fromarray((np.random.RandomState(0).rand(40, 48, 3) * 255).astype(np.uint8)).save(photo)
    bomb_png(d / "bomb.png")
    (d / "text.png").write_text("not an image\n" * 10)
    (d / "cut.png").write_bytes(photo.read_bytes()[:200])
    (d / "folder.png").mkdir()
    (d / "notes.mat").write_text("not a mat file")
    os.mkfifo(d / "fifo.png")
    shutil.copy(tiny_weights, d / "w.h5")
    for i, (_, edit, _) in enumerate(WEIGHT_CASES):
        shutil.copy(tiny_weights, d / ("bad%d.h5" % i))
        with h5py.File(d / ("bad%d.h5" % i), "a") as f:
            edit(f)
    (d / "prior.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 100)
    return d


def _cases():
    """(id, argv with {d} for the inputs folder and {o} for the output folder)."""
    W = "--weights {d}/w.h5"
    DREAM = "dream %s --prior none --classes bee --out {o}/x.png" % W
    DEEP = "deepdream {d}/photo.png %s --layer conv2_1 --out {o}/x.png" % W
    LSQ = "class-model --method lsq --start {d}/photo.png %s --layer conv2_1 --out {o}/x.png" % W
    SIM = "class-model --method simonyan %s --classes bee --out {o}/x.png" % W
    CLS = "classify {d}/photo.png %s" % W
    SERVE = "serve %s --prior none --port 0" % W
    STREAM = "stream %s --prior none --out {o}/x.mp4 --seconds 1" % W
    REF = "reference-vectors %s --prior {d}/prior.h5 --out {o}/r.h5" % W
    out = []

    def add(name, argv):
        out.append(pytest.param(argv, id=name))

    # outputs that would destroy something or fail after the work
    for cmd, flag in (("dream", DREAM), ("deepdream", DEEP), ("class-model", SIM),
                      ("stream", STREAM), ("reference-vectors", REF)):
        target = "{o}/x.mp4" if cmd == "stream" else "{o}/r.h5" if cmd == "reference-vectors" \
            else "{o}/x.png"
        for label, bad in (("dev-null", "/dev/null"), ("folder", "{o}"), ("fifo", "{d}/fifo.png"),
                           ("parent-is-file", "{d}/photo.png/x.png"), ("empty", "''"),
                           ("too-long", "{o}/" + "n" * 300 + ".png")):
            add("%s-out-%s" % (cmd, label), flag.replace(target, bad))
    add("convert-same-file", "convert-weights {d}/notes.mat {d}/notes.mat")
    add("convert-dst-folder", "convert-weights {d}/notes.mat {o}")
    add("fit-prior-dev-null", "fit-prior --out /dev/null")
    add("deepdream-out-is-input", DEEP.replace("{o}/x.png", "{d}/photo.png"))
    # settings
    for setting in ("steps=0", "steps=-3", "learning_rate=nan", "learning_rate=inf",
                    "learning_rate=-1", "prior_strength=nan", "zoom_speed=0",
                    "zoom_speed=nan", "rotation_per_frame=inf", "image_size=100",
                    "image_size=1x2x3", "image_size=0x0", "image_size=100000x100000",
                    "prior_scales=", "net_scales=0", "fps=0", "fps=100000000",
                    "clip=255,0", "beta1=1", "beta2=1.5", "epsilon=0", "mean=median",
                    "update=sgd", "layer=nosuch", "layer=input", "steps_per_zoom=0",
                    "frames_per_key=0", "steps=ten", "nosuch=1"):
        add("dream-set-" + setting, DREAM + " --set " + setting)
    for setting in ("decay_power=nan", "pyramid_levels=0", "pad=-1", "jitter=-1",
                    "scales=", "scales=0", "param=voxels", "colors=cmyk", "amplitude=0"):
        add("fourier-set-" + setting, DREAM + " --recipe fourier --set " + setting)
    add("dream-steps-0", DREAM + " --steps 0")
    add("dream-steps-negative", DREAM + " --steps -5")
    add("dream-third-class", DREAM + " --classes cat --classes dog")
    add("dream-class-superscript", DREAM.replace("bee", "²"))
    add("dream-class-5000-digits", DREAM.replace("bee", "9" * 5000))
    add("dream-seed-negative", DREAM + " --seed -1")
    add("dream-seed-2-32", DREAM + " --seed 4294967296")
    add("dream-unknown-recipe", DREAM + " --recipe nosuch")
    add("dream-unknown-profile", DREAM + " --profile nosuch")
    add("dream-unknown-prior", DREAM.replace("--prior none", "--prior {d}/nosuch.h5"))
    add("dream-damaged-prior", DREAM.replace("--prior none", "--prior {d}/prior.h5"))
    for option in ("--octaves 0", "--octave-scale 1", "--octave-scale nan", "--step-size nan",
                   "--step-size 0", "--jitter -1", "--steps 0", "--seed -1",
                   "--layer nosuch", "--layer input", "--size 0x0", "--size 3x4x5",
                   "--max-memory lots", "--channel 100000"):
        add("deepdream" + option.replace(" ", "="), DEEP + " " + option)
    for option in ("--k nan", "--k 0", "--weight inf", "--weight -1", "--iterations 0",
                   "--layer input", "--regulariser l1"):
        add("lsq" + option.replace(" ", "="), LSQ + " " + option)
    for option in ("--steps 0", "--learning-rate nan", "--l2 inf", "--size 0x0"):
        add("simonyan" + option.replace(" ", "="), SIM + " " + option)
    add("simonyan-unknown-class", SIM.replace("bee", "'no such thing at all'"))
    for option in ("--top -1", "--top 0", "--size huge", "--max-memory 1"):
        add("classify" + option.replace(" ", "="), CLS + " " + option)
    for option in ("--port 70000", "--port -1", "--queue 0", "--max-clients 0",
                   "--client-timeout inf", "--client-timeout 0", "--threads 0",
                   "--hold 0", "--hold inf", "--size 0x0", "--size 100000x100000",
                   "--classes a --classes b --classes c", "--stream-size 3"):
        add("serve" + option.replace(" ", "="), SERVE + " " + option)
    for option in ("--seconds inf", "--seconds 0", "--seconds nan", "--quality 11",
                   "--quality nan", "--preview x.bmp"):
        add("stream" + option.replace(" ", "="), STREAM + " " + option)
    add("stream-unknown-video", STREAM.replace("x.mp4", "x.avi"))
    add("fit-prior-iterations-0", "fit-prior --iterations 0 --out {o}/p.h5")
    add("fit-prior-seed", "fit-prior --seed -2 --out {o}/p.h5")
    add("reference-seed", REF + " --seed 99999999999")
    add("reference-three-classes", REF + " --classes a --classes b --classes c")
    # images
    for label in ("bomb", "text", "cut", "folder", "fifo", "missing"):
        add("classify-image-" + label, CLS.replace("photo.png", label + ".png"))
        add("deepdream-image-" + label, DEEP.replace("photo.png", label + ".png"))
    add("dream-start-bomb", DREAM + " --start {d}/bomb.png")
    # our weights, damaged (tests/test_hostile_files.py's cases)
    for i, (name, _, _) in enumerate(WEIGHT_CASES):
        add("classify-weights-" + name.replace(" ", "-"),
            CLS.replace("{d}/w.h5", "{d}/bad%d.h5" % i))
    add("dream-weights-damaged", DREAM.replace("{d}/w.h5", "{d}/bad0.h5"))
    add("classify-weights-not-hdf5", CLS.replace("{d}/w.h5", "{d}/photo.png"))
    add("classify-weights-folder", CLS.replace("{d}/w.h5", "{d}"))
    # argparse
    add("no-command", "")
    add("unknown-command", "nosuch")
    add("dream-unknown-option", DREAM + " --colour red")
    add("classify-no-image", CLS.replace("{d}/photo.png ", ""))  # --weights defaults to the embedded one
    return out


CASES = _cases()


@pytest.mark.parametrize("template", CASES)
def test_refused_cleanly(template, files, tmp_path, capsys):
    import shlex
    assert_refused(capsys, shlex.split(template.format(d=files, o=tmp_path)),
                   [files, tmp_path])
    assert os.path.exists("/dev/null") and not os.path.isfile("/dev/null")


# ------------------------------------------------------------------ signals

def test_second_interrupt_during_save_keeps_the_picture(tmp_path, monkeypatch):
    """Ctrl-C while the final picture is written: the file is completed and
    renamed first, then the interrupt arrives."""
    from reproduce import fileio
    real_save = Image.Image.save

    def save(self, *args, **kwargs):
        os.kill(os.getpid(), signal.SIGINT)  # the second Ctrl-C, mid-write
        return real_save(self, *args, **kwargs)

    monkeypatch.setattr(Image.Image, "save", save)
    out = tmp_path / "x.png"
    with pytest.raises(KeyboardInterrupt):
        fileio.save_image(np.full((8, 8, 3), 100, np.float32), out)
    assert Image.open(out).size == (8, 8)
    assert [p.name for p in tmp_path.iterdir()] == ["x.png"]  # no .tmp-*


def test_sigterm_is_an_interrupt():
    """Under the CLI, SIGTERM arrives as KeyboardInterrupt, so each command
    keeps what it made exactly as on Ctrl-C; the handler is restored after."""
    from reproduce.fileio import interrupt_scope
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(KeyboardInterrupt):
        with interrupt_scope():
            os.kill(os.getpid(), signal.SIGTERM)
            signal.sigtimedwait([], 0) if hasattr(signal, "sigtimedwait") else None
            for _ in range(1000):  # the handler runs between bytecodes
                pass
    assert signal.getsignal(signal.SIGTERM) is before


# ------------------------------------------------------------------ the one image loader

def test_sixteen_bit_png_is_scaled(tmp_path):
    from reproduce.fileio import load_image
    path = tmp_path / "deep.png"
    Image.fromarray(np.full((4, 5), 32768, np.uint16)).save(path)
    image = load_image(path)
    assert image.shape == (4, 5, 3) and abs(float(image.mean()) - 127.5) < 1


def test_exif_orientation_is_applied(tmp_path):
    from reproduce.fileio import image_header, load_image
    path = tmp_path / "turned.jpg"
    pixels = np.zeros((10, 30, 3), np.uint8)
    pixels[:, :10] = 255                      # white on the left, as stored
    exif = Image.Exif()
    exif[0x0112] = 6                          # shown turned a quarter clockwise
    Image.fromarray(pixels).save(path, exif=exif, quality=95)
    image = load_image(path)
    assert image_header(path) == (10, 30) and image.shape == (30, 10, 3)
    assert image[:10].mean() > 200 and image[-10:].mean() < 50  # white now on top


def test_alpha_is_dropped(tmp_path):
    from reproduce.fileio import load_image
    path = tmp_path / "clear.png"
    Image.fromarray(np.dstack([np.full((3, 3, 3), 200, np.uint8),
                               np.zeros((3, 3, 1), np.uint8)]), "RGBA").save(path)
    image = load_image(path)
    assert image.shape == (3, 3, 3) and np.all(image == 200)


def test_memory_check_runs_before_decoding(tmp_path, monkeypatch):
    from reproduce import fileio
    from reproduce.errors import UserError
    decoded = []
    monkeypatch.setattr(fileio, "_decode", lambda im, size: decoded.append(1))
    path = tmp_path / "p.png"
    Image.new("RGB", (64, 48)).save(path)

    def refuse(width, height):
        raise UserError("too big: %dx%d" % (width, height))

    with pytest.raises(UserError, match="too big: 64x48"):
        fileio.load_image(path, check=refuse)
    assert decoded == []
