"""Bad input to the commands added since the first table (tests/test_fuzz.py):
``video``, ``deepdream --zoom-frames``, Caffe conversion, ``download``,
``atlas``, ``run-scripts``, and what the first campaign left.  Each row must
end with one ``error:`` line on stderr, exit status 2, no traceback, and no
new or replaced file, before any model is compiled (the commands run
in-process on the tiny test model, as in tests/test_fuzz.py)."""
import os
import shlex
import shutil
import subprocess
import sys

import h5py
import numpy as np
import pytest
from PIL import Image

from reproduce.cli import main

from helpers.caffe_models import (caffemodel_bytes, prototxt_text, random_blobs,
                                  small_net, write_caffe)
from helpers.matfiles import matconvnet_tree, write_v5
from helpers.cli import assert_refused
from test_fuzz import bomb_png
from test_hostile_files import WEIGHT_CASES

CAFFE_INPUT = (3, 23, 19)


def ffmpeg(*args):
    import imageio_ffmpeg
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error"]
                   + [str(a) for a in args], check=True)


# ------------------------------------------------------------------ the inputs

def _varint(n):
    out = b""
    while True:
        out += bytes([(n & 0x7F) | (0x80 if n > 0x7F else 0)])
        n >>= 7
        if not n:
            return out


def nested_unknown_bytes(depth, field=999):
    """A protobuf message holding an unknown field nested ``depth`` deep."""
    data = b""
    for _ in range(depth):
        data = _varint(field << 3 | 2) + _varint(len(data)) + data
    return data


def _caffe_files(d):
    from reproduce.convert.caffe_schema import messages
    caffemodel, prototxt, blobs = write_caffe(d / "caffe", small_net(), CAFFE_INPUT)
    shutil.copy(caffemodel, d / "m.caffemodel")
    shutil.copy(prototxt, d / "m.prototxt")
    good = open(prototxt).read()

    def variant(name, edit):
        net = small_net()
        edit(net)
        (d / name).write_text(prototxt_text(net, CAFFE_INPUT))

    variant("stride0-conv.prototxt", lambda net: net[0].update(stride=0))
    variant("stride0-pool.prototxt", lambda net: net[2].update(stride=0))
    variant("kernel0-pool.prototxt", lambda net: net[2].update(kernel=0))
    variant("dup.prototxt", lambda net: net[2].update(name="c1/3x3"))
    deep = ('layer { name: "x" type: "ReLU" bottom: "fc/out" top: "fc/out" %s }'
            % ("nest { " * 3000 + "}" * 3000))  # a valid layer but for the nesting
    (d / "deep.prototxt").write_text(good + deep)
    (d / "nested40.prototxt").write_text(good + deep.replace("3000", "40").replace(
        "nest { " * 3000, "nest { " * 40).replace("}" * 3000, "}" * 40))
    (d / "v1enum.prototxt").write_text(
        'input: "data"\ninput_dim: 1\ninput_dim: 3\ninput_dim: 23\ninput_dim: 19\n'
        'layers { name: "r" type: 99 bottom: "data" top: "r" }\n')
    # caffemodels: blob shapes that are negative or overflow 64 bits, a
    # duplicate layer, an unknown field nested past protobuf's limit
    NetParameter = messages()["NetParameter"]

    def model_with(shape):
        net = NetParameter(name="bad")
        layer = net.layer.add(name="c1/3x3", type="Convolution")
        layer.blobs.add().shape.dim.extend(shape)
        return net.SerializeToString()

    v1 = NetParameter(name="v1")
    v1.layers.add(name="c1/3x3", type=4).blobs.add(num=1, channels=1, height=1, width=1,
                                                   data=[1.0])
    data = v1.SerializeToString()
    assert data.count(b"\x28\x04") == 1  # type: CONVOLUTION, the one varint 4 of field 5
    (d / "v1enum.caffemodel").write_bytes(data.replace(b"\x28\x04", b"\x28\x63"))
    (d / "negative.caffemodel").write_bytes(model_with([-6, 3, 3, 3]))
    (d / "overflow.caffemodel").write_bytes(model_with([2 ** 32, 2 ** 32, 1, 1]))
    (d / "deep.caffemodel").write_bytes(open(caffemodel, "rb").read()
                                        + nested_unknown_bytes(300))
    net = small_net()
    (d / "dup.caffemodel").write_bytes(caffemodel_bytes(
        net + [dict(net[0])], dict(random_blobs(net, CAFFE_INPUT)), extra=False))
    (d / "binary-labels.txt").write_bytes(bytes(range(256)) * 4)


def _mat_files(d, tiny_model):
    def mat(name, edit):
        tree = matconvnet_tree(tiny_model)
        edit(tree)
        write_v5(str(d / name), tree)

    mat("numeric-name.mat", lambda t: t["layers"][0].update(name=np.array([[7.0]])))
    mat("nan-pad.mat", lambda t: t["layers"][0].update(pad=np.array([[np.nan] * 4])))
    mat("text-mean.mat", lambda t: t["normalization"].update(averageImage="mean"))
    mat("text-size.mat", lambda t: t["normalization"].update(imageSize="224x224"))
    mat("no-classes.mat", lambda t: t.update(classes={"name": [], "description": []}))


@pytest.fixture(scope="module")
def files(tmp_path_factory, tiny_weights, tiny_model):
    """The inputs every case may name, in one folder: good ones and bad ones."""
    d = tmp_path_factory.mktemp("inputs")
    photo = np.random.RandomState(0).rand(40, 48, 3) * 255
    Image.fromarray(photo.astype(np.uint8)).save(d / "photo.png")
    Image.fromarray(photo.astype(np.uint8)).save(d / "photo.mp4", format="PNG")
    bomb_png(d / "bomb.png")
    shutil.copy(tiny_weights, d / "w.h5")
    shutil.copy(tiny_weights, d / "damaged.h5")
    with h5py.File(d / "damaged.h5", "a") as f:
        WEIGHT_CASES[0][1](f)
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=48x40:rate=6", "-f", "lavfi", "-i",
           "sine=frequency=440:sample_rate=8000", "-t", "1", "-c:v", "libx264",
           "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", d / "film.mp4")
    damaged = bytearray((d / "film.mp4").read_bytes())
    start = damaged.find(b"mdat") + 4  # the frames and the sound, zeroed in the middle
    span = len(damaged) - start
    damaged[start + span // 4:start + span * 3 // 5] = bytes(span * 3 // 5 - span // 4)
    (d / "damaged.mp4").write_bytes(bytes(damaged))
    os.mkfifo(d / "fifo.mp4")
    (d / "folder.mp4").mkdir()
    os.symlink("/dev/null", d / "device.mp4")
    (d / "busy.frames").write_text("a file where the frames would go\n")
    for name, text in (("damaged", '{"layer": "conv2_1", '), ("list", "[1, 2]"),
                       ("deep", "[" * 100000 + "]" * 100000)):
        (d / (name + ".frames")).mkdir()
        (d / (name + ".frames") / "run.json").write_text(text)
    (d / "loop.frames").mkdir()
    shutil.copy(d / "photo.png", d / "loop.frames" / "000000.png")
    (d / "binary.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff\xfe" * 20)
    _caffe_files(d)
    _mat_files(d, tiny_model)
    from reproduce.prior.fit import Prior, save_prior
    filters = np.random.RandomState(0).randn(8, 8, 3, 4).astype(np.float32)
    save_prior(Prior("gaussian", filters, np.zeros(4, np.float32)), str(d / "huge-prior.h5"))
    with h5py.File(d / "huge-prior.h5", "a") as f:
        f["filters"][...] = filters * np.float32(1e30)  # finite in float32, not squared
    return d


def _cases():
    """(id, argv with {d} for the inputs folder and {o} for the output folder)."""
    W = "--weights {d}/w.h5"
    VIDEO = "video {d}/film.mp4 %s --layer conv2_1 --out {o}/x.mp4" % W
    ZOOM = "deepdream {d}/photo.png %s --layer conv2_1 --zoom-frames 2 --out {o}/x.mp4" % W
    CAFFE = "convert-weights {d}/m.caffemodel {o}/x.h5 --prototxt {d}/m.prototxt"
    ATLAS = ("atlas %s --recipe fourier --judge none --classes 0-1 --out-dir {o}/atlas"
             % W)
    SCRIPTS = "run-scripts experiments/bee.py"
    out = []

    def add(name, argv, says=""):
        """``says``: words the error line must hold, where the reason matters."""
        out.append(pytest.param(argv, says, id=name))

    # video and the zoom loop: outputs refused before the first frame
    for cmd, line in (("video", VIDEO), ("zoom", ZOOM)):
        for label, bad in (("fifo", "{d}/fifo.mp4"), ("folder", "{d}/folder.mp4"),
                           ("device", "{d}/device.mp4"), ("parent-is-file",
                                                          "{d}/photo.png/x.mp4"),
                           ("proc", "/proc/x.mp4"), ("too-long", "{o}/%s.mp4" % ("n" * 300)),
                           ("frames-is-a-file", "{d}/busy.mp4")):
            add("%s-out-%s" % (cmd, label), line.replace("{o}/x.mp4", bad))
        for label in ("damaged", "list", "deep"):
            add("%s-resume-%s-state" % (cmd, label),
                line.replace("{o}/x.mp4", "{d}/%s.mp4" % label) + " --resume")
    add("video-damaged-film", VIDEO.replace("film.mp4", "damaged.mp4"), "is damaged")
    add("video-out-is-the-film", VIDEO.replace("{o}/x.mp4", "{d}/film.mp4"), "same file")
    add("video-out-is-the-film-by-another-path",
        VIDEO.replace("{o}/x.mp4", "{d}/../%s/film.mp4" % "{dname}"), "same file")
    add("zoom-out-is-the-photo", ZOOM.replace("photo.png", "photo.mp4")
        .replace("{o}/x.mp4", "{d}/photo.mp4"), "same file")
    add("zoom-photo-inside-the-frame-folder", ZOOM.replace(
        "{d}/photo.png", "{d}/loop.frames/000000.png").replace("{o}/x.mp4", "{d}/loop.mp4"))
    for fps in ("inf", "1e300", "1e-300", "nan", "0", "-25"):
        add("zoom-fps-" + fps, ZOOM + " --fps " + fps)
    # Caffe
    for name, says in (("stride0-conv", "stride"), ("stride0-pool", "stride"),
                       ("kernel0-pool", "kernel_size"), ("dup", "two layers"),
                       ("deep", "nested"), ("nested40", "nested"), ("v1enum", "99")):
        add("caffe-prototxt-" + name, CAFFE.replace("m.prototxt", name + ".prototxt"), says)
    for name, says in (("negative", "negative"), ("overflow", "4294967296"),
                       ("deep", "nested"), ("dup", "two layers"), ("v1enum", "no type")):
        add("caffe-model-" + name, CAFFE.replace("m.caffemodel", name + ".caffemodel"), says)
    add("caffe-prototxt-dev-zero", CAFFE.replace("{d}/m.prototxt", "/dev/zero"))
    add("caffe-model-dev-zero", "convert-weights /dev/zero {o}/x.h5 --prototxt {d}/m.prototxt")
    add("caffe-labels-dev-zero", CAFFE + " --labels /dev/zero")
    add("caffe-labels-binary", CAFFE + " --labels {d}/binary-labels.txt")
    # download: checked before any connection
    add("download-url-without-scheme", "download vgg16 --url example.com/vgg16.mat "
                                       "--dest {o}/w")
    add("download-url-garbage", "download googlenet --url ':::' --dest {o}/w")
    add("download-dest-a-file", "download vgg16 --dest {d}/photo.png")
    add("download-dest-proc", "download vgg16 --dest /proc/weights")
    add("download-dest-device", "download vgg16 --dest /dev/null")
    # atlas and run-scripts: refused before a cluster starts
    add("atlas-binary-classes", ATLAS.replace("0-1", "{d}/binary.txt"))
    add("atlas-classes-device", ATLAS.replace("0-1", "/dev/zero"))
    for label, bad in (("garbage", "'no such thing'"), ("http", "http://localhost:8786"),
                       ("no-port", "tcp://localhost"), ("bad-port", "tcp://h:99999")):
        add("atlas-scheduler-" + label, ATLAS + " --scheduler " + bad)
        add("run-scripts-scheduler-" + label, SCRIPTS + " --scheduler " + bad)
    for workers in ("-1", "0", "100000"):
        add("atlas-workers" + workers, ATLAS + " --workers " + workers)
        add("run-scripts-workers" + workers, SCRIPTS + " --workers " + workers)
    for label, bad in (("file", "{d}/photo.png"), ("device", "/dev/null"),
                       ("proc", "/proc/atlas")):
        add("atlas-out-dir-" + label, ATLAS.replace("{o}/atlas", bad))
    add("atlas-damaged-judge", ATLAS.replace("--judge none", "--judge {d}/damaged.h5"))
    add("atlas-bomb-start", ATLAS + " --start {d}/bomb.png")
    add("run-scripts-unclosed-quote", SCRIPTS + " --args \"--quick 'x\"")
    # the first campaign's: outputs under /proc, refused before the run
    add("dream-out-proc", "dream %s --prior none --classes bee --out /proc/x.png" % W,
        "cannot make a file in /proc")
    add("sweep-out-dir-proc", "sweep {d}/photo.png %s --out-dir /proc/sweep" % W)
    add("sweep-out-dir-a-file", "sweep {d}/photo.png %s --out-dir {d}/photo.png" % W)
    add("stream-out-proc", "stream %s --prior none --out /proc/x.mp4 --seconds 1" % W)
    add("convert-weights-out-proc", CAFFE.replace("{o}/x.h5", "/proc/x.h5"))
    add("convert-embedded-dest-proc", "convert-embedded --dest /proc/weights")
    add("convert-embedded-dest-a-file", "convert-embedded --dest {d}/photo.png")
    add("fit-prior-out-proc", "fit-prior --out /proc/p.h5")
    add("dream-prior-1e30-filters", "dream %s --prior {d}/huge-prior.h5 --classes bee "
                                    "--out {o}/x.png" % W, "overflow")
    add("deepdream-unknown-layer", "deepdream {d}/photo.png %s --layer conv9_9 --out "
                                   "{o}/x.png" % W, "did you mean")
    # MatConvNet fields of the wrong kind
    for name in ("numeric-name", "nan-pad", "text-mean", "text-size", "no-classes"):
        add("matconvnet-" + name, "convert-weights {d}/%s.mat {o}/x.h5" % name)
    add("fit-prior-patches-1e12", "fit-prior --patches 1000000000000 --out {o}/p.h5")
    add("fit-prior-patches-float", "fit-prior --patches 1e12 --out {o}/p.h5")
    return out


CASES = _cases()


@pytest.mark.parametrize("template,says", CASES)
def test_refused_cleanly(template, says, files, tmp_path, capsys):
    line = assert_refused(capsys, shlex.split(template.format(
        d=files, o=tmp_path, dname=files.name)), [files, tmp_path])
    assert says in line and len(line) < 600, line


# ------------------------------------------------------------------ beyond the table

def test_two_runs_writing_one_output_the_second_is_refused(files, tmp_path, capsys):
    """Both used to report success, the slower one's file replacing the
    other's: now the path is held from the first run's check to its end,
    and a second run (this process or another: an flock) is refused up
    front; once the first ends, the path is free again."""
    from reproduce.fileio import check_output, interrupt_scope
    out = tmp_path / "x.png"
    argv = ["dream", "--weights", str(files / "w.h5"), "--prior", "none", "--classes",
            "bee", "--out", str(out), "--steps", "0"]  # --steps 0: refused if it got so far
    with interrupt_scope():
        check_output(out)                        # the first run, holding the path
        assert main(argv) == 2
        line = capsys.readouterr().err.strip()
        assert "another run (process %d) is writing it" % os.getpid() in line, line
    with interrupt_scope():
        check_output(out)                        # released when the first ended
    assert not out.exists()


def test_logits_past_the_class_names_get_a_placeholder(tmp_path, capsys, tiny_model,
                                                       files):
    """Weights may have more logits than names (Inception: 1008 and 1000);
    classify's top classes used to raise IndexError."""
    import dataclasses
    from reproduce.nets.weights import save_model
    model = dataclasses.replace(tiny_model, descriptions=tiny_model.descriptions[:2],
                                wnids=tiny_model.wnids[:2])
    save_model(model, str(tmp_path / "few.h5"))
    assert main(["classify", str(files / "photo.png"), "--weights",
                 str(tmp_path / "few.h5"), "--top", "5"]) == 0
    captured = capsys.readouterr()
    assert "no class name" in captured.out and captured.err == ""


def test_an_unknown_layer_names_the_closest_not_all():
    from reproduce.errors import unknown
    names = ["inception_%s/%s" % (block, part) for block in ("3a", "3b", "4a", "4b", "4c")
             for part in ("1x1", "3x3", "5x5", "pool_proj", "output")] * 8
    line = str(unknown("layer", "inception_4c/outptu", names))
    assert "did you mean inception_4c/output" in line and len(line) < 300, line


def test_a_variable_rate_film_keeps_its_timing(tmp_path):
    """Frames held for 0.1 s, then 0.5 s: counted at the film's rate (frames
    repeated where held), not as stored, so the video lasts as long as the
    film and its sound is not cut (6 stored frames at 10 fps gave 0.6 s of
    a 2 s film)."""
    from reproduce.video import io
    film = tmp_path / "vfr.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=48x40:rate=10:duration=0.6",
           "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=8000:duration=2",
           "-vf", "setpts='if(lt(N,4),N*0.1,(N-4)*0.5+1.0)/TB'", "-fps_mode", "vfr",
           "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", film)
    info = io.probe(str(film))
    assert info.fps == 10 and abs(info.seconds - 2.0) <= 0.15, info
    assert sum(1 for _ in io.read_frames(str(film))) >= info.frames


def test_dask_workers_start_with_ctrl_c_blocked_and_the_driver_keeps_its_own():
    """A terminal's Ctrl-C reaches every process of its group: processes
    started while the cluster starts have SIGINT blocked (inherited across
    exec), so only the driver answers it and no worker prints a
    KeyboardInterrupt traceback; a Ctrl-C the driver gets meanwhile is
    raised once the start is over, not lost."""
    import os
    import signal
    from reproduce.atlas.cluster import _hold_ctrl_c
    probe = [sys.executable, "-c", "import signal; print(int(signal.SIGINT in "
                                   "signal.pthread_sigmask(signal.SIG_BLOCK, [])))"]
    # as a CLI process starts: Python's handler, SIGINT not blocked (whatever
    # the tests before left in this process)
    handler = signal.signal(signal.SIGINT, signal.default_int_handler)
    before = signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    try:
        release = _hold_ctrl_c()
        try:
            inside = subprocess.run(probe, stdout=subprocess.PIPE, text=True).stdout
            os.kill(os.getpid(), signal.SIGINT)  # held, or taken by another thread
        except KeyboardInterrupt:  # another thread took it: raised at once, not lost
            release()
        else:
            with pytest.raises(KeyboardInterrupt):
                release()
                for _ in range(1000):  # the handler runs at the next bytecode
                    pass
        outside = subprocess.run(probe, stdout=subprocess.PIPE, text=True).stdout
        assert (inside.strip(), outside.strip()) == ("1", "0")
        assert _sigint_blocked() is False
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)
        signal.signal(signal.SIGINT, handler)


def _sigint_blocked():
    import signal
    return signal.SIGINT in signal.pthread_sigmask(signal.SIG_BLOCK, [])


def test_header_limit_holds_for_a_request_sent_in_one_piece():
    """Over MAX_HEAD bytes of headers sent at once (with their blank line)
    used to be read as a whole request; now it is answered 431, as when it
    arrives in pieces."""
    import socket
    from reproduce.stream.server import DreamServer, MAX_HEAD
    server = DreamServer(("127.0.0.1", 0), stream=None).start()
    try:
        with socket.create_connection(server.server_address[:2], timeout=10) as sock:
            sock.sendall(b"GET /status HTTP/1.0\r\nX-Filler: " + b"a" * MAX_HEAD
                         + b"\r\n\r\n")
            reply = sock.makefile("rb").read()  # to the server's close
    finally:
        server.stop()
    assert reply.startswith(b"HTTP/1.0 431"), reply[:80]


def test_an_unknown_request_costs_a_bounded_number_of_comparisons(monkeypatch):
    """Each unknown request is answered with close class names: difflib
    compared the text with all ~2,000 names (0.15-0.3 s of CPU a request, so
    200 requests at once held /status for 9.9 s); now it ranks a shortlist
    of SHORTLIST names per subject, chosen by shared letter pairs."""
    import difflib
    import random
    import string
    from reproduce.nets.classes import SHORTLIST, imagenet_descriptions
    from reproduce.stream.requests import RequestParser
    parser = RequestParser(imagenet_descriptions()[0])
    calls = []
    ratio = difflib.SequenceMatcher.ratio
    monkeypatch.setattr(difflib.SequenceMatcher, "ratio",
                        lambda self: calls.append(1) or ratio(self))
    rng = random.Random(0)
    junk = " and ".join("".join(rng.choice(string.ascii_lowercase) for _ in range(2000))
                        for _ in range(2))
    request = parser.parse(junk)
    assert not request.ok and len(request.suggestions) >= 3
    assert 0 < len(calls) <= 2 * SHORTLIST, len(calls)
    assert "volcano" in parser.parse("volcanoe").suggestions  # still the closest


def test_out_of_memory_is_one_line_without_finalisers_noise(capsys, monkeypatch):
    """Short of memory, a reader's finaliser fails too: that printed
    "Exception ignored in: ..." and its traceback before our line (and a
    MemoryError in a step, beyond the memory estimate, was a traceback)."""
    from reproduce.errors import exit_status
    seen = []
    monkeypatch.setattr(sys, "unraisablehook", seen.append)

    class Reader:
        def __del__(self):
            raise MemoryError

    def action():
        Reader()  # dropped at once: its __del__ fails, "unraisable"
        raise MemoryError("Unable to allocate 24.3 MiB for an array with shape "
                          "(1, 4, 1094, 1458)\nHINT: Use the Theano flag ...")

    assert exit_status(action) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: out of memory (Unable"), lines
    assert seen == [] and sys.unraisablehook == seen.append


def test_a_library_caller_cannot_ask_for_minus_one_workers():
    """-1 workers made Dask wait for ever; the CLI refuses it as it reads the
    option, the library before starting anything."""
    from reproduce.atlas.cluster import local_cluster
    from reproduce.errors import UserError
    for workers in (-1, 0, 10 ** 6):
        with pytest.raises(UserError, match="--workers"):
            local_cluster(workers)


def test_progress_bars_make_no_semaphore():
    """tqdm's default lock is also a multiprocessing RLock (a named
    semaphore, made even for a disabled bar); a Dask worker killed while it
    rendered left it, and multiprocessing's resource tracker warned about
    "leaked semaphore objects" on the terminal.  Our bars take a thread lock."""
    code = ("import multiprocessing.synchronize as s\n"
            "def refuse(*a, **k):\n"
            "    raise AssertionError('a semaphore was made')\n"
            "s.SemLock.__init__ = refuse\n"
            "from reproduce.loop import Loop, progress_bar\n"
            "progress_bar(total=2, disable=True).close()\n"
            "with Loop(3, progress=False) as loop:\n"
            "    loop.tick()\n"
            "print('ok')\n")
    out = subprocess.run([sys.executable, "-c", code], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True,
                         cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    assert out.stdout.strip() == "ok", out.stderr[-2000:]
