"""Ctrl-C and SIGTERM sent to the real commands, each run as its own process
(``python -m reproduce ...``) on the tiny test model.

A signal must land in a known phase, so the commands run with
``REPRODUCE_CHECKPOINTS`` set: they print ``checkpoint NAME K pid=P`` at a
few points (``h5read``: the HDF5 reader's child, before anything is
compiled; ``step``: each step of a run loop; ``save.EXT``: a file written
and about to be renamed into place) and wait there while NAME.hold exists.
The tests wait on those lines, send their signals and remove the hold: no
sleep decides a phase.  The 20 ms between two signals is the double
Ctrl-C being tested, not a wait.

Every case asserts exit status 130, the output complete and decodable (or
absent, when nothing was made), and no ``.tmp-*`` file anywhere.
"""
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOUBLE = 0.02  # seconds between the two signals of a double Ctrl-C
HUMAN_DOUBLE = (0.1, 0.2)  # ... and as a person presses it twice
pytestmark = pytest.mark.slow


RUN_CLI = "\nimport sys\nfrom reproduce.cli import main\nsys.exit(main(sys.argv[1:]))\n"
# every compile passes checkpoint "compile" (a test-only wrapper of theano.function)
COMPILE_CHECKPOINT = """
import reproduce.backend
import theano
from reproduce.fileio import checkpoint
compile_function = theano.function


def function(*args, **kwargs):
    checkpoint("compile")
    return compile_function(*args, **kwargs)


theano.function = function
"""
RUNNING, CHILDREN = [], []  # commands started, and serve's optimiser processes


@pytest.fixture(autouse=True)
def _kill_leftovers():
    """A failed test leaves no command (nor its children) running."""
    yield
    while RUNNING:
        proc = RUNNING.pop()
        if proc.poll() is None:
            below = descendants(proc.pid)
            proc.kill()
            proc.wait(30)
            for pid in below:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
    while CHILDREN:  # a worker that outlived its server (the failure tested for)
        pid = CHILDREN.pop()
        if b"multiprocessing" in cmdline(pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


class Command:
    """``python -m reproduce ARGV`` with checkpoints; ``holds``: {name: K}."""

    def __init__(self, argv, folder, holds=(), new_session=False, prelude=None):
        self.folder = folder / "checkpoints"
        self.folder.mkdir(exist_ok=True)
        for name, k in dict(holds).items():
            self.hold(name, k)
        env = dict(os.environ, REPRODUCE_CHECKPOINTS=str(self.folder),
                   PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
        self.proc = subprocess.Popen(
            [sys.executable] + (["-m", "reproduce"] if prelude is None else
                                ["-c", prelude + RUN_CLI]) + [str(a) for a in argv],
            cwd=str(folder), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, start_new_session=new_session)
        RUNNING.append(self.proc)
        self.lines = {"out": [], "err": []}
        self.changed = threading.Condition()
        self.readers = [threading.Thread(target=self._read, args=(stream, key), daemon=True)
                        for stream, key in ((self.proc.stdout, "out"),
                                            (self.proc.stderr, "err"))]
        for reader in self.readers:
            reader.start()

    def _read(self, stream, key):
        for line in stream:
            with self.changed:
                self.lines[key].append(line.rstrip("\n"))
                self.changed.notify_all()
        with self.changed:
            self.lines[key].append(None)  # end of stream
            self.changed.notify_all()

    def hold(self, name, k=1):
        (self.folder / (name + ".hold")).write_text(str(k))

    def release(self, name):
        os.remove(self.folder / (name + ".hold"))

    def wait_for(self, pattern, key="err", timeout=600):
        """The first line matching ``pattern`` (a regex) -> its match."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                for line in self.lines[key]:
                    if line is None:
                        raise AssertionError("ended before %r: %s" % (pattern, self.text()))
                    found = regex.search(line)
                    if found:
                        return found
                left = deadline - time.monotonic()
                assert left > 0, "no %r within %d s: %s" % (pattern, timeout, self.text())
                self.changed.wait(left)

    def checkpoint(self, name, k=1):
        """Wait for checkpoint NAME's K-th pass -> the pid that printed it."""
        return int(self.wait_for(r"^checkpoint %s %d pid=(\d+)$" % (re.escape(name), k))[1])

    def send(self, *signals, gap=DOUBLE):
        for i, sig in enumerate(signals):
            if i:
                time.sleep(gap)
            self.proc.send_signal(sig)

    def finish(self, timeout=300):
        code = self.proc.wait(timeout)
        for reader in self.readers:
            reader.join(10)
        return code

    def text(self):
        return "\n".join(str(line) for key in ("out", "err") for line in self.lines[key])

    def stderr(self):
        return [line for line in self.lines["err"]
                if line is not None and not line.startswith("checkpoint ")]


def stop_then_save(run, k, first, save, *second):
    """``first`` at the K-th step; ``first`` again while the first one
    unwinds (the run loop's checkpoint "stop"); ``second`` (signals 20 ms
    apart) while the file of checkpoint ``save`` waits to be renamed; and
    ``first`` once more while the process exits (checkpoint "exit"): each
    later signal is noted, none loses the save or the status 130."""
    run.hold("stop")
    run.checkpoint("step", k)
    run.send(first)
    run.release("step")
    run.checkpoint("stop")
    run.send(first)
    run.release("stop")
    run.checkpoint(save)
    run.send(*second)
    run.release(save)
    late_signal(run, first)


def late_signal(run, sig):
    """``sig`` while the process exits, after the command returned: status 130,
    no traceback."""
    run.checkpoint("exit")
    run.send(sig)
    run.release("exit")
    assert run.finish() == 130, run.text()
    assert "Traceback" not in run.text(), run.text()


def no_tmp(*folders):
    for folder in folders:
        for root, _, names in os.walk(folder):
            leftovers = [n for n in names if n.startswith(".tmp-")]
            assert not leftovers, (root, leftovers)


def gone(pid, timeout=10.0):
    """Whether process ``pid`` has ended (or is a zombie) within ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with open("/proc/%d/stat" % pid) as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return True
        if state in ("Z", "X"):
            return True
        if time.monotonic() > deadline:
            return False
        threading.Event().wait(0.05)


def descendants(pid):
    """Every process below ``pid``, from /proc's children lists."""
    out, todo = [], [pid]
    while todo:
        parent = todo.pop()
        for task in os.listdir("/proc/%d/task" % parent):
            try:
                with open("/proc/%d/task/%s/children" % (parent, task)) as f:
                    kids = [int(k) for k in f.read().split()]
            except OSError:
                continue
            out += kids
            todo += kids
    return out


def cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read()
    except OSError:
        return b""


def decoded_png(path, shape=None):
    with Image.open(path) as im:
        im.load()
        image = np.asarray(im)
    assert image.ndim == 3 and image.shape[2] == 3
    if shape is not None:
        assert image.shape[:2] == shape
    return image


def video_frames(path):
    import imageio_ffmpeg
    reader = imageio_ffmpeg.read_frames(str(path))
    meta = next(reader)
    return meta, sum(1 for _ in reader)


@pytest.fixture(scope="module")
def photo(tmp_path_factory):
    path = tmp_path_factory.mktemp("photo") / "photo.png"
    rng = np.random.RandomState(0)
    Image.fromarray((rng.rand(36, 44, 3) * 255).astype(np.uint8)).save(path)
    return str(path)


def dream_argv(weights, out, steps=20):
    return ["dream", "--weights", weights, "--classes", "bee", "--prior", "none",
            "--profile", "stream2015",
            "--set", "image_size=64x48", "--steps", str(steps), "--no-progress", "--out", out]


# ------------------------------------------------------- before the first step

@pytest.mark.parametrize("sig, target", [(signal.SIGTERM, "command"),
                                         (signal.SIGINT, "group"), (signal.SIGINT, "reader")],
                         ids=["sigterm", "ctrl-c-to-the-group", "ctrl-c-reaching-the-reader"])
def test_interrupt_while_loading_writes_nothing(tiny_weights, tmp_path, sig, target):
    """During the weights' load (the reader's child process, before any
    compile): one line, status 130, no file, and the child gone too, also
    when the signal reaches the whole process group, as the terminal's
    Ctrl-C and `timeout`'s SIGTERM do, and when it ends the reader first
    (an interrupt, not a "damaged file" with status 2)."""
    out = tmp_path / "out" / "x.png"
    run = Command(dream_argv(tiny_weights, out), tmp_path, {"h5read": 1},
                  new_session=target == "group")
    child = run.checkpoint("h5read")
    assert child != run.proc.pid
    if target == "group":
        os.killpg(run.proc.pid, sig)
    elif target == "reader":
        os.kill(child, sig)
    else:
        run.send(sig)
    assert run.finish() == 130
    assert run.stderr() == ["interrupted before anything was made: nothing written"]
    assert gone(child)
    assert not out.parent.exists()


@pytest.mark.parametrize("command", ["dream", "deepdream"])
def test_interrupt_while_compiling_writes_nothing(tiny_weights, tmp_path, photo, command):
    """SIGTERM to the process group (as `timeout` sends it) while Theano
    compiles the step: one line, status 130, no file."""
    out = tmp_path / "out" / "x.png"
    argv = dream_argv(tiny_weights, out) if command == "dream" else [
        "deepdream", photo, "--weights", tiny_weights, "--layer", "conv2_1",
        "--no-progress", "--out", out]
    run = Command(argv, tmp_path, {"compile": 1}, new_session=True,
                  prelude=COMPILE_CHECKPOINT)
    run.checkpoint("compile")
    os.killpg(run.proc.pid, signal.SIGTERM)
    assert run.finish() == 130, run.text()
    assert run.stderr() == ["interrupted before anything was made: nothing written"]
    assert not out.parent.exists()
    no_tmp(tmp_path)


# ------------------------------------------------------- steps, then the save

def test_dream_interrupt_then_double_interrupt_in_the_save(tiny_weights, tmp_path):
    """SIGTERM during the steps keeps the picture so far; Ctrl-C and SIGTERM
    during its save (20 ms apart) do not lose it."""
    out = tmp_path / "x.png"
    run = Command(dream_argv(tiny_weights, out), tmp_path, {"step": 3, "save.png": 1, "exit": 1})
    stop_then_save(run, 3, signal.SIGTERM, "save.png", signal.SIGINT, signal.SIGTERM)
    decoded_png(out, (48, 64))
    assert "stopped early, %s: 3 steps" % out in run.text()
    no_tmp(tmp_path)


def test_dream_double_ctrl_c_in_the_final_save(tiny_weights, tmp_path):
    """A run that finished: two Ctrl-C 20 ms apart while its picture is
    being saved; the picture is kept and named."""
    out = tmp_path / "x.png"
    run = Command(dream_argv(tiny_weights, out, steps=2), tmp_path, {"save.png": 1, "exit": 1})
    run.checkpoint("save.png")
    run.send(signal.SIGINT, signal.SIGINT)
    run.release("save.png")
    late_signal(run, signal.SIGINT)
    decoded_png(out, (48, 64))
    assert run.stderr() == ["interrupted: kept %s" % out]
    no_tmp(tmp_path)


def test_deepdream_double_interrupt_in_the_save(tiny_weights, tmp_path, photo):
    out = tmp_path / "dd.png"
    run = Command(["deepdream", photo, "--weights", tiny_weights, "--layer", "conv2_1",
                   "--octaves", "2", "--steps", "3", "--no-progress", "--out", out],
                  tmp_path, {"step": 2, "save.png": 1, "exit": 1})
    stop_then_save(run, 2, signal.SIGINT, "save.png", signal.SIGINT, signal.SIGTERM)
    decoded_png(out, (36, 44))
    assert "stopped early" in run.text()
    no_tmp(tmp_path)


def test_class_model_double_interrupt_in_the_save(tiny_weights, tmp_path, tiny_model):
    out = tmp_path / "cm.png"
    name = tiny_model.descriptions[1].split(",")[0]
    run = Command(["class-model", "--weights", tiny_weights, "--classes", name,
                   "--steps", "50", "--learning-rate", "10", "--no-progress", "--out", out],
                  tmp_path, {"step": 2, "save.png": 1, "exit": 1})
    stop_then_save(run, 2, signal.SIGTERM, "save.png", signal.SIGTERM, signal.SIGINT)
    decoded_png(out, (28, 28))
    no_tmp(tmp_path)


def test_stream_double_interrupt_in_the_save(tiny_weights, tmp_path):
    """The recording: Ctrl-C at frame 4, then a double Ctrl-C while the
    video is being renamed into place; the video and its preview are kept."""
    out, preview = tmp_path / "s.mp4", tmp_path / "s.gif"
    run = Command(["stream", "--weights", tiny_weights, "--out", out, "--classes", "volcano",
                   "--seconds", "10", "--size", "64x48", "--prior", "none", "--set",
                   "steps_per_zoom=2", "--no-progress", "--preview", preview],
                  tmp_path, {"step": 4, "save.mp4": 1, "exit": 1})
    stop_then_save(run, 4, signal.SIGINT, "save.mp4", signal.SIGINT, signal.SIGINT)
    meta, frames = video_frames(out)
    assert frames == 4
    with Image.open(preview) as im:
        assert im.n_frames >= 1
    no_tmp(tmp_path)


def test_video_double_interrupt_in_the_save(tiny_weights, tmp_path):
    """``video``: SIGTERM in frame 2's dream, then SIGINT + SIGTERM while the
    video is renamed into place: a video of the one frame finished."""
    clip = clip_file(tmp_path)
    out = tmp_path / "v.mp4"
    # frame 0: dream steps 1, 2, its frame tick 3; frame 1's first step is 4
    run = Command(["video", clip, "--weights", tiny_weights, "--out", out, "--layer",
                   "conv2_1", "--octaves", "1", "--steps", "2", "--jitter", "0",
                   "--no-progress"], tmp_path, {"step": 4, "save.mp4": 1, "exit": 1})
    stop_then_save(run, 4, signal.SIGTERM, "save.mp4", signal.SIGINT, signal.SIGTERM)
    assert video_frames(out)[1] == 1
    no_tmp(tmp_path)


def clip_file(folder):
    from reproduce.video import io
    clip = str(folder / "clip.mp4")
    rng = np.random.RandomState(1)
    io.write_video([(rng.rand(40, 48, 3) * 255).astype(np.uint8) for _ in range(4)],
                   clip, 10, (48, 40))
    return clip


@pytest.mark.parametrize("command, gap", [("stream", HUMAN_DOUBLE[0]),
                                          ("video", HUMAN_DOUBLE[1])])
def test_double_ctrl_c_as_a_person_presses_it(tiny_weights, tmp_path, command, gap):
    """Ctrl-C in the steps and again 0.1 or 0.2 s later, wherever that lands
    (the loop unwinding, the encoder finishing, the save): status 130, no
    traceback, the video complete and playable."""
    out = tmp_path / "out.mp4"
    argv = (["stream", "--weights", tiny_weights, "--out", out, "--classes", "volcano",
             "--seconds", "10", "--size", "64x48", "--prior", "none", "--set",
             "steps_per_zoom=2", "--no-progress"] if command == "stream" else
            ["video", clip_file(tmp_path), "--weights", tiny_weights, "--out", out,
             "--layer", "conv2_1", "--octaves", "1", "--steps", "2", "--jitter", "0",
             "--no-progress"])
    run = Command(argv, tmp_path, {"step": 4})
    run.checkpoint("step", 4)
    run.release("step")
    run.send(signal.SIGINT, signal.SIGINT, gap=gap)
    assert run.finish() == 130, run.text()
    assert "Traceback" not in run.text(), run.text()
    assert video_frames(out)[1] >= 1
    no_tmp(tmp_path)


def cluster_argv(command, weights, out):
    """``atlas`` or ``microscope`` on the tiny model, one local Dask worker."""
    if command == "atlas":
        return ["atlas", "--weights", weights, "--classes", "0-5", "--set",
                "image_size=64x48", "--steps", "2", "--prior", "none", "--judge", "none",
                "--workers", "1", "--out-dir", out, "--no-progress"]
    return ["microscope", "--weights", weights, "--layers", "relu1_1,relu2_1", "--channels",
            "3", "--size", "64", "--steps", "2", "--diverse", "0", "--dream-octaves", "1",
            "--dream-steps", "1", "--photo-size", "64", "--workers", "1", "--out-dir", out,
            "--no-progress"]


@pytest.mark.parametrize("command", ["atlas", "microscope"])
def test_double_ctrl_c_at_the_terminal_on_a_dask_cluster(tiny_weights, tmp_path, command):
    """``atlas`` and ``microscope`` on a local Dask cluster, Ctrl-C pressed
    twice (0.1 s apart) at the terminal, which signals the whole process
    group, while the driver saves a page: status 130, one line on stderr
    (no worker's KeyboardInterrupt, no multiprocessing warning about leaked
    semaphores), the manifest and the index complete with what was made, no
    ``.tmp-*`` file, and no worker left behind; a last Ctrl-C while the
    process exits changes nothing."""
    out = tmp_path / command
    run = Command(cluster_argv(command, tiny_weights, out), tmp_path,
                  {"save.html": 1, "exit": 1}, new_session=True)
    run.checkpoint("save.html")  # only the driver writes pages: a record arrived
    workers = descendants(run.proc.pid)
    assert workers, "%s started no worker process" % command
    os.killpg(run.proc.pid, signal.SIGINT)
    run.release("save.html")
    time.sleep(HUMAN_DOUBLE[0])  # the person's second press, wherever it lands
    os.killpg(run.proc.pid, signal.SIGINT)
    late_signal(run, signal.SIGINT)
    assert run.stderr() == ["(stopping already: what was made is being kept)"], run.text()
    assert "interrupted: kept what was made" in run.text(), run.text()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["run"]["rendered"] >= 1, manifest
    assert "</html>" in (out / "index.html").read_text()
    no_tmp(tmp_path)
    assert all(gone(pid) for pid in workers), [cmdline(p) for p in workers]


# ----------------------------------------------------------------------- sweep

def sweep_argv(weights, photo, folder):
    return ["sweep", photo, "--weights", weights, "--layers", "conv1_2,conv2_1",
            "--size", "44x36", "--octaves", "1", "--steps", "2", "--no-progress",
            "--out-dir", folder]


def listed(folder):
    """The pictures index.html shows, and the records in the folder."""
    page = open(os.path.join(folder, "index.html")).read()
    shown = re.findall(r'src="([^"]+\.png)"', page)
    records = sorted(n for n in os.listdir(folder) if n.endswith(".json"))
    return shown, records


def test_sweep_interrupted_in_a_layer_keeps_a_complete_gallery(tiny_weights, tmp_path,
                                                               photo):
    """SIGTERM in the second layer's steps: the first layer whole, the
    second as far as it got, and a page listing exactly those."""
    folder = tmp_path / "sweep"
    run = Command(sweep_argv(tiny_weights, photo, folder), tmp_path, {"step": 3})
    run.checkpoint("step", 3)  # layer 2's first step (layer 1 made steps 1, 2)
    run.send(signal.SIGTERM)
    run.release("step")
    assert run.finish() == 130, run.text()
    shown, records = listed(folder)
    assert shown == ["00_input.png", "01_relu1_2.png", "02_relu2_1.png"]
    assert records == ["00_input.json", "01_relu1_2.json", "02_relu2_1.json"]
    second = json.load(open(folder / "02_relu2_1.json"))
    assert second["interrupted"] and second["steps"] == 1
    assert not json.load(open(folder / "01_relu1_2.json"))["interrupted"]
    for name in shown:
        decoded_png(folder / name, (36, 44))
    no_tmp(tmp_path)


def test_sweep_double_interrupt_in_the_last_page_save(tiny_weights, tmp_path, photo):
    folder = tmp_path / "sweep"
    run = Command(sweep_argv(tiny_weights, photo, folder), tmp_path, {"save.html": 2, "exit": 1})
    run.checkpoint("save.html", 2)  # the page after the last layer
    run.send(signal.SIGINT, signal.SIGINT)
    run.release("save.html")
    late_signal(run, signal.SIGTERM)
    shown, records = listed(folder)
    assert shown == ["00_input.png", "01_relu1_2.png", "02_relu2_1.png"]
    assert len(records) == 3
    no_tmp(tmp_path)


def test_sweep_interrupted_before_its_first_layer_writes_nothing(tiny_weights, tmp_path,
                                                                 photo):
    """Before the first layer's first step (here while the weights load)
    nothing is written, not even the start photo: no folder."""
    folder = tmp_path / "sweep"
    run = Command(sweep_argv(tiny_weights, photo, folder), tmp_path, {"h5read": 1})
    run.checkpoint("h5read")
    run.send(signal.SIGTERM)
    assert run.finish() == 130, run.text()
    assert not folder.exists()


# ----------------------------------------------------------------------- serve

def http_get(port, path, timeout=5):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    conn.request("GET", path)
    response = conn.getresponse()
    return response.status, response.read()


def serve(tiny_weights, tmp_path, *extra, holds=(), ready=True):
    run = Command(["serve", "--weights", tiny_weights, "--size", "64x64", "--prior", "none",
                   "--port", "0", "--host", "127.0.0.1", "--threads", "1"] + list(extra),
                  tmp_path, holds, new_session=True)
    port = int(run.wait_for(r"the page is at http://127\.0\.0\.1:(\d+)/", "out")[1])
    if not ready:
        return run, port, []
    run.wait_for(r"^dreaming of ", "out")  # the optimiser is compiled and running
    assert http_get(port, "/status")[0] == 200
    workers = descendants(run.proc.pid)
    CHILDREN.extend(workers)
    assert workers, "serve started no optimiser process"
    return run, port, workers


def test_serve_sigterm_leaves_no_process_and_caps_each_client(tiny_weights, tmp_path):
    run, port, workers = serve(tiny_weights, tmp_path, "--queue", "6")
    # one client (an address) may hold half the queue (3 of 6), however many
    # connections it opens at once; another address still gets in
    names = ["bee", "pizza", "goldfish", "banana", "daisy", "lemon", "broccoli", "hen"]
    socks = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in names]
    for sock, name in zip(socks, names):
        body = json.dumps({"text": name}).encode()
        sock.sendall(b"POST /request HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                     b"\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s"
                     % (len(body), body))
    replies = []
    for sock in socks:
        data = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        sock.close()
        replies.append(json.loads(data.split(b"\r\n\r\n", 1)[1]))
    # the first shows at once (the start request holds for none); 3 wait
    waiting = [r for r in replies if r["status"] == "acknowledged" and r["position"]]
    busy = [r for r in replies if r["status"] == "busy"]
    assert (len(waiting), len(busy)) == (3, 4), replies
    assert all("you have 3 requests waiting" in r["message"] for r in busy)
    other = socket.create_connection(("127.0.0.1", port), timeout=10,
                                     source_address=("127.0.0.2", 0))
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.sock = other
    conn.request("POST", "/request", json.dumps({"text": "volcano"}),
                 {"Content-Type": "application/json"})
    assert json.loads(conn.getresponse().read())["status"] == "acknowledged"
    conn.close()

    run.send(signal.SIGTERM)
    assert run.finish(60) == 130, run.text()
    assert "stopped" in run.lines["out"]
    assert all(gone(pid) for pid in workers), workers


def test_serve_killed_takes_its_optimiser_along(tiny_weights, tmp_path):
    run, port, workers = serve(tiny_weights, tmp_path)
    run.send(signal.SIGKILL)
    assert run.finish(60) == -signal.SIGKILL
    assert all(gone(pid) for pid in workers), workers


SERVE_PHASES = ("starting", "dreaming", "optimiser gone", "optimiser stopped")


def test_serve_stops_at_once_every_time(tiny_weights, tmp_path):
    """20 runs of ``serve``, Ctrl-C and SIGTERM in turn, sent to the
    process or to its whole process group (as the terminal and `timeout`
    do), in four phases: while the optimiser starts (held at its first
    line), while it dreams, just after it was killed (the watchdog may be
    restarting it) and while it is stopped (SIGSTOP: it answers nothing).
    Each run ends within seconds with status 130 and "stopped", no
    traceback, and no process of it left (from /proc).  The first alone
    (it may compile what the cache lacks: two processes compiling one
    module at once can trip over Theano's cache), then two at a time."""
    from concurrent.futures import ThreadPoolExecutor
    serve_and_stop(tiny_weights, tmp_path, 0)
    with ThreadPoolExecutor(2) as pool:
        for future in [pool.submit(serve_and_stop, tiny_weights, tmp_path, i)
                       for i in range(1, 20)]:
            future.result()


def serve_and_stop(tiny_weights, tmp_path, i):
    phase = SERVE_PHASES[i % len(SERVE_PHASES)]
    sig = (signal.SIGINT, signal.SIGTERM)[i % 2]
    folder = tmp_path / str(i)
    folder.mkdir()
    if phase == "starting":
        run, port, _ = serve(tiny_weights, folder, holds={"optimiser": 1}, ready=False)
        workers = [run.checkpoint("optimiser")]
        CHILDREN.extend(workers)
    else:
        run, port, workers = serve(tiny_weights, folder)
        optimiser = [pid for pid in workers if b"spawn_main" in cmdline(pid)]
        assert len(optimiser) == 1, [cmdline(pid) for pid in workers]
        if phase == "optimiser gone":
            os.kill(optimiser[0], signal.SIGKILL)
        elif phase == "optimiser stopped":
            os.kill(optimiser[0], signal.SIGSTOP)
    if i % 4 < 2:
        os.killpg(run.proc.pid, sig)
    else:
        run.send(sig)
    started = time.monotonic()
    code = run.finish(60)
    seconds = time.monotonic() - started
    assert code == 130, (i, phase, sig, run.text())
    assert seconds < 15, (i, phase, seconds)
    assert "stopped" in run.lines["out"], (i, phase, run.text())
    assert "Traceback" not in run.text(), (i, phase, run.text())
    assert all(gone(pid) for pid in workers), (i, phase, workers)
