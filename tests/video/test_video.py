"""DeepDream on video, on a short synthetic clip and the tiny VGG: the film's
frame count, rate, duration and audio are kept, each frame starts from the
previous dream warped along the flow, Ctrl-C keeps a playable video and
--resume finishes it exactly, bad input gets one line; and dream.ipynb's
zoom loop, with DeepDream and with the 2015 recipe."""
import json
import os
import subprocess

import numpy as np
import pytest
import scipy.ndimage
from PIL import Image

from reproduce.cli import main
from reproduce.deepdream import dream as dd
from reproduce import objectives
from reproduce.nets.build import build_net
from reproduce.video import flow as flows
from reproduce.video import io
from reproduce.video.dream import FlowSettings, deepdream_frame, dream_film, flow_start
from reproduce.video.frames import folder_for
from reproduce.video.zoom import ZoomSettings, zoom_in, zoom_loop
from helpers.cli import one_error_line

LAYER = "relu2_1"
SIZE = (48, 40)              # (W, H) of the clip: even, and above the tiny VGG's 28
FPS, FRAMES, SHIFT = 10, 6, 3  # the pattern moves SHIFT pixels right a frame
FAST = ["--layer", "conv2_1", "--octaves", "1", "--steps", "2", "--jitter", "0",
        "--no-progress"]


def ffmpeg(*args):
    import imageio_ffmpeg
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error"]
                   + [str(a) for a in args], check=True)


def texture(rows=64, cols=96, seed=0):
    """A smooth random colour pattern, (rows, cols, 3) float on 0..255: texture
    everywhere, so the flow is well defined."""
    rng = np.random.RandomState(seed)
    small = rng.uniform(30, 225, (rows // 8, cols // 8, 3))
    return np.clip(scipy.ndimage.zoom(small, (8, 8, 1), order=3), 0, 255)


def moving_pattern(frames=FRAMES, shift=SHIFT, size=SIZE):
    """Frame t: the texture seen through a window moved t * shift pixels left,
    so the pattern moves ``shift`` pixels right per frame.  uint8 frames."""
    big = texture()
    w, h = size
    x0 = 4 + shift * frames
    return [np.round(big[8:8 + h, x0 - shift * t:x0 - shift * t + w]).astype(np.uint8)
            for t in range(frames)]


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    """{"silent": clip.mp4, "audio": clip with a 440 Hz sine track}, same frames."""
    folder = tmp_path_factory.mktemp("clips")
    tone = folder / "tone.wav"
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:sample_rate=16000:duration=1",
           "-c:a", "pcm_s16le", tone)
    frames = moving_pattern()
    paths = {"silent": str(folder / "silent.mp4"), "audio": str(folder / "audio.mp4")}
    io.write_video(frames, paths["silent"], FPS, SIZE)
    io.write_video(frames, paths["audio"], FPS, SIZE, str(tone), "pcm_s16le")
    return paths


@pytest.fixture(scope="module")
def net(tiny_model):
    return build_net(tiny_model)


@pytest.fixture(scope="module")
def gradient(net):
    return dd.compile_gradient(net, objectives.layer_l2(LAYER))


# --------------------------------------------------------------- io and flow

def test_probe_reads_what_was_written(clips):
    silent, audio = io.probe(clips["silent"]), io.probe(clips["audio"])
    assert silent.size == SIZE and silent.fps == FPS and silent.frames == FRAMES
    assert silent.audio_codec is None and audio.audio_codec == "aac"
    frames = list(io.read_frames(clips["silent"]))
    assert len(frames) == FRAMES and frames[0].shape == (SIZE[1], SIZE[0], 3)
    # H.264 is lossy (and halves the colour resolution), but frame 2 is frame 2
    pattern = [f.astype(float) for f in moving_pattern()]
    error = np.abs(frames[2] - pattern[2]).mean()
    assert error < 8 and error < 0.5 * np.abs(frames[2] - pattern[1]).mean()


def test_farneback_finds_the_shift_and_warp_undoes_it():
    a, b = [f.astype(np.float32) for f in moving_pattern(frames=2)]
    field = flows.backward_flow(b, a, "farneback")
    inner = (slice(8, -8), slice(8, -8))
    # b[p] = a[p - SHIFT in x]: the backward flow is (-SHIFT, 0)
    np.testing.assert_allclose(field[inner].mean(axis=(0, 1)), [-SHIFT, 0], atol=0.2)
    assert np.abs(flows.warp(a, field) - b)[inner].mean() < 1.5
    assert flows.compensated_change([a, b], [a, b]) < 0.3 * flows.frame_change([a, b])


# --------------------------------------------------------------- the per-frame loop

def test_the_flow_warped_start_is_used(tmp_path, gradient):
    """Frame 1 is frame 0 shifted by SHIFT pixels: its start holds the dream
    of frame 0 shifted by SHIFT pixels, and so does its dream."""
    path = str(tmp_path / "two.mp4")
    frames = moving_pattern(frames=2)
    io.write_video(frames, path, FPS, SIZE)
    settings = dd.DreamSettings(octaves=1, steps=4, jitter=0)
    dream_one = deepdream_frame(gradient, settings)
    seen = {}

    def recording(start, index):
        seen[index] = start
        seen["dream", index] = dream_one(start, index)
        return seen["dream", index]

    inner = (slice(6, -6), slice(6, -6))
    results = {}
    for blend in (0.0, 1.0):
        dream_film(io.probe(path), recording, str(tmp_path / ("%g.mp4" % blend)), SIZE,
                   FlowSettings(blend=blend), progress=False)
        results[blend] = dict(seen)
    decoded = list(io.read_frames(path))  # what the loop saw (after H.264)
    dream0 = np.round(results[1.0]["dream", 0])  # carried on as saved
    shifted = np.roll(dream0, SHIFT, axis=1)     # the dream moved with the pattern
    start = results[1.0][1]
    assert np.abs(start - shifted)[inner].mean() < 2.0
    assert np.abs(start - dream0)[inner].mean() > 10 * np.abs(start - shifted)[inner].mean()
    # blend 0: the frame alone, the previous dream unused
    np.testing.assert_array_equal(results[0.0][1], decoded[1].astype(np.float32))
    # the dream of the warped start stays the shifted dream (plus what 4 more
    # steps add); dreamed on its own, the frame's dream differs more
    with_flow = np.abs(results[1.0]["dream", 1] - shifted)[inner].mean()
    without = np.abs(results[0.0]["dream", 1] - shifted)[inner].mean()
    assert with_flow < 0.8 * without  # 0.64 when written


@pytest.mark.slow
def test_video_keeps_rate_count_duration_and_audio(tmp_path, capsys, tiny_weights, clips):
    for kind, codec in (("audio", "aac"), ("silent", None)):
        out = tmp_path / ("%s_dream.mp4" % kind)
        assert main(["video", clips[kind], "--weights", tiny_weights, "--out", str(out)]
                    + FAST) == 0
        info = io.probe(str(out))
        assert (info.frames, info.fps, info.size) == (FRAMES, FPS, SIZE)
        assert info.seconds == pytest.approx(FRAMES / FPS)
        assert info.audio_codec == codec
        dreamed = list(io.read_frames(str(out)))
        assert np.abs(dreamed[0].astype(float) - moving_pattern()[0]).mean() > 3
    assert "wrote" in capsys.readouterr().out
    assert sorted(os.listdir(tmp_path)) == ["audio_dream.mp4", "silent_dream.mp4"]


@pytest.mark.slow
def test_ctrl_c_keeps_a_video_and_resume_finishes_it(tmp_path, capsys, tiny_weights,
                                                     clips, monkeypatch):
    from reproduce.video import dream as video_dream
    argv = ["video", clips["audio"], "--weights", tiny_weights] + FAST
    whole = tmp_path / "whole.mp4"
    assert main(argv + ["--out", str(whole), "--keep-frames"]) == 0

    real = video_dream.deepdream_frame

    def interrupted_at_3(gradient, settings, *args):
        dream_one = real(gradient, settings, *args)

        def wrapped(start, index):
            if index == 3:
                raise KeyboardInterrupt
            return dream_one(start, index)
        return wrapped

    out = tmp_path / "cut.mp4"
    monkeypatch.setattr(video_dream, "deepdream_frame", interrupted_at_3)
    assert main(argv + ["--out", str(out)]) == 130
    assert "--resume" in capsys.readouterr().out
    cut = io.probe(str(out))
    assert cut.frames == 3 and cut.audio_codec == "aac"    # playable, audio cut to it
    assert sorted(os.listdir(folder_for(str(out)))) == [
        "000000.png", "000001.png", "000002.png", "run.json"]
    monkeypatch.setattr(video_dream, "deepdream_frame", real)

    line = one_error_line(capsys, argv + ["--out", str(out)])      # no --resume
    assert "cut.frames" in line and "--resume" in line
    line = one_error_line(capsys, argv + ["--out", str(out), "--resume", "--steps", "3"])
    assert "settings" in line
    assert main(argv + ["--out", str(out), "--resume"]) == 0
    assert io.probe(str(out)).frames == FRAMES
    assert not os.path.exists(folder_for(str(out)))
    # the resumed frames are those of the run that was never interrupted
    np.testing.assert_array_equal(np.array(list(io.read_frames(str(out)))),
                                  np.array(list(io.read_frames(str(whole)))))
    kept = sorted(os.listdir(folder_for(str(whole))))
    assert kept[:FRAMES] == ["%06d.png" % i for i in range(FRAMES)]


def test_bad_input(tmp_path, capsys, tiny_weights, clips):
    text = tmp_path / "notes.mp4"
    text.write_text("not a film\n")
    audio_only = tmp_path / "tone.m4a"
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:duration=0.5", "-c:a", "aac",
           audio_only)
    out = tmp_path / "out" / "dream.mp4"
    cases = [
        ([str(text)], ["notes.mp4", "cannot read this as a video"]),
        ([str(audio_only)], ["tone.m4a", "no video stream"]),
        ([str(tmp_path / "missing.mp4")], ["missing.mp4", "no such"]),
        ([clips["silent"], "--layer", "conv9_9"], ["conv9_9", "did you mean", "conv2_1"]),
        ([clips["silent"], "--size", "47x40"], ["47x40", "even"]),
        ([clips["silent"], "--size", "4000x3000", "--max-memory", "1G"],
         ["4000x3000", "1.0 GiB", "--size"]),
        ([clips["silent"], "--blend", "1.5"], ["--blend"]),
    ]
    for extra, words in cases:
        line = one_error_line(capsys, ["video"] + extra[:1] + ["--weights", tiny_weights,
                                                               "--out", str(out)]
                              + FAST + extra[1:])
        assert all(w in line for w in words), line
    line = one_error_line(capsys, ["video", clips["silent"], "--weights", tiny_weights,
                                   "--out", str(tmp_path / "dream.avi")] + FAST)
    assert "dream.avi" in line
    assert not out.parent.exists()
    assert sorted(os.listdir(tmp_path)) == ["notes.mp4", "tone.m4a"]


# --------------------------------------------------------------- the zoom loop

def test_zoom_is_the_notebooks():
    frame = texture(40, 48).astype(np.float32)
    h, w, s = 40, 48, 0.05
    # dream.ipynb: nd.affine_transform(frame, [1-s,1-s,1], [h*s/2,w*s/2,0], order=1)
    notebook = scipy.ndimage.affine_transform(frame, np.diag([1 - s, 1 - s, 1]),
                                              [h * s / 2, w * s / 2, 0], order=1)
    np.testing.assert_allclose(zoom_in(frame, s), notebook, atol=1e-3)
    # about the true centre a mirror-symmetric picture stays symmetric
    mirrored = np.concatenate([frame, frame[:, ::-1]], axis=1)
    true = zoom_in(mirrored, s, "true")
    np.testing.assert_allclose(true, true[:, ::-1], atol=1e-3)
    assert np.abs(zoom_in(mirrored, s) - zoom_in(mirrored, s)[:, ::-1]).max() > 1


def test_zoom_loop_dreams_each_frame_from_the_last(tmp_path, gradient):
    image = texture(40, 48).astype(np.float32)
    dream_one = deepdream_frame(gradient, dd.DreamSettings(octaves=1, steps=2, jitter=0))
    starts = {}

    def recording(start, index):
        starts[index] = start
        return dream_one(start, index)

    out = tmp_path / "loop.mp4"
    result = zoom_loop(image, recording, str(out), ZoomSettings(frames=3, fps=5),
                       progress=False)
    assert result.frames == 3 and not result.interrupted
    info = io.probe(str(out))
    assert (info.frames, info.fps, info.size) == (3, 5, (48, 40))
    np.testing.assert_array_equal(starts[0], image)
    dream1 = np.round(dream_one(starts[1], 1))
    np.testing.assert_allclose(starts[2], zoom_in(dream1), atol=1e-3)
    assert os.listdir(tmp_path) == ["loop.mp4"]


@pytest.mark.slow
def test_cli_zoom_loops(tmp_path, capsys, tiny_weights):
    photo = tmp_path / "photo.png"
    Image.fromarray(texture(40, 48).astype(np.uint8)).save(photo)
    out = tmp_path / "loop.mp4"
    assert main(["deepdream", str(photo), "--weights", tiny_weights, "--zoom-frames",
                 "3", "--fps", "8", "--out", str(out)] + FAST) == 0
    assert (io.probe(str(out)).frames, io.probe(str(out)).fps) == (3, 8)
    out15 = tmp_path / "loop15.mp4"
    assert main(["deepdream", str(photo), "--weights", tiny_weights, "--zoom-frames",
                 "2", "--recipe", "lsd2015", "--classes", "volcano", "--prior", "none",
                 "--steps", "2", "--no-progress", "--out", str(out15)]) == 0
    frames = list(io.read_frames(str(out15)))
    assert len(frames) == 2 and np.abs(frames[1].astype(float) - frames[0]).mean() > 1
    assert "wrote" in capsys.readouterr().out
    line = one_error_line(capsys, ["deepdream", str(photo), "--weights", tiny_weights,
                                   "--out", str(tmp_path / "x.mp4")] + FAST)
    assert "--zoom-frames" in line
    line = one_error_line(capsys, ["deepdream", str(photo), "--weights", tiny_weights,
                                   "--zoom-frames", "2", "--recipe", "lsd2015",
                                   "--prior", "none", "--out", str(tmp_path / "y.mp4")])
    assert "--classes" in line
    assert sorted(os.listdir(tmp_path)) == ["loop.mp4", "loop15.mp4", "photo.png"]


def test_gallery_shows_a_video(tmp_path):
    from reproduce.report.gallery import build, write_record
    record = {"name": "v", "image": "v.webp", "video": "v.mp4", "classes": ["relu4_3"],
              "caption": "c", "seconds": 1, "steps": 2, "quick": False, "weights": "w",
              "prior": "none", "settings": {}}
    write_record(record, str(tmp_path / "v.json"))
    page, n = build(str(tmp_path), "t", "")
    text = open(page).read()
    assert n == 1 and '<video src="v.mp4" poster="v.webp"' in text
    assert '<img src="v.webp"' in text
    assert json.load(open(tmp_path / "v.json"))["video"] == "v.mp4"


def test_a_preview_keeps_every_kth_frame_at_the_films_pace(tmp_path):
    from PIL import ImageSequence
    frames = [np.full((48, 672, 3), i, np.uint8) for i in range(250)]
    path = str(tmp_path / "p.gif")
    assert io.save_preview(iter(frames), path, frame_ms=40) == 84  # every 3rd
    with Image.open(path) as im:
        shown = [(f.info["duration"], f.convert("L").getpixel((0, 0)))
                 for f in ImageSequence.Iterator(im)]
        assert im.size == (io.PREVIEW_WIDTH, 24)
    assert [value for _, value in shown] == list(range(0, 250, 3))
    assert {duration for duration, _ in shown} == {120}  # 3 frames of 40 ms each
    assert io.save_preview([], str(tmp_path / "none.gif")) == 0
    assert sorted(os.listdir(tmp_path)) == ["p.gif"]


@pytest.mark.parametrize("photo, size, want, said", [
    ((451, 300), None, (450, 300), True),     # scikit-image's cat: rounded, and said
    ((451, 301), "226", (226, 150), True),    # --size N: the longer side, then even
    ((40, 48), None, (40, 48), False),        # even already: nothing to say
    ((451, 300), "45x31", (45, 31), False),   # WxH as given: the encoder refuses it by name
])
def test_zoom_loop_frames_are_even(tmp_path, capsys, photo, size, want, said):
    import argparse
    from reproduce.commands.deepdream import zoom_size
    path = tmp_path / "photo.png"
    Image.new("RGB", photo).save(path)
    assert tuple(zoom_size(argparse.Namespace(image=str(path), size=size))) == want
    out = capsys.readouterr().out
    assert ("H.264 needs an even width and height" in out) == said
    if said:
        assert "%dx%d" % want in out
