"""``python -m reproduce stream``: the zooming stream recorded to a video."""
import os

import numpy as np
import pytest

from reproduce.cli import main

COMMON = ["--size", "64x48", "--prior", "none", "--set", "steps_per_zoom=2",
          "--no-progress"]


def video_frames(path):
    """Decoded frames (n, H, W, 3) uint8 and the stream's fps."""
    import imageio_ffmpeg
    reader = imageio_ffmpeg.read_frames(str(path))
    meta = next(reader)
    width, height = meta["size"]
    frames = [np.frombuffer(f, np.uint8).reshape(height, width, 3) for f in reader]
    return np.array(frames), meta["fps"]


def preview_frames(path):
    """(frames shown, size): the encoder may merge near-identical frames, so
    frames are counted by duration, in PREVIEW_MS units."""
    from PIL import Image, ImageSequence

    from reproduce.video.io import PREVIEW_MS
    total = 0
    with Image.open(path) as im:
        for frame in ImageSequence.Iterator(im):
            frame.load()  # WebP sets the frame's duration when it decodes it
            total += frame.info["duration"]
        return round(total / float(PREVIEW_MS)), im.size


@pytest.mark.slow
def test_records_a_video_and_a_preview(tmp_path, tiny_weights, capsys):
    out = tmp_path / "dream.mp4"
    argv = ["stream", "--weights", tiny_weights, "--out", str(out), "--seconds", "1.2",
            "--request", "volcano", "--request", "bee and analog clock"] + COMMON
    assert main(argv) == 0
    frames, fps = video_frames(out)
    assert fps == 25 and frames.shape == (30, 48, 64, 3)
    assert np.abs(frames[-1].astype(int) - frames[0]).mean() > 1  # it zooms and dreams
    count, size = preview_frames(tmp_path / "dream.webp")
    assert count == 15 and size == (64, 48)  # every 2nd frame
    assert "wrote" in capsys.readouterr().out
    assert sorted(os.listdir(tmp_path)) == ["dream.mp4", "dream.webp"]  # no temp files

    # the same options give the same video
    again = tmp_path / "again.mp4"
    assert main(argv[:4] + [str(again), "--preview", "none"] + argv[5:]) == 0
    np.testing.assert_array_equal(video_frames(again)[0], frames)


@pytest.mark.slow
def test_ctrl_c_keeps_what_was_recorded(tmp_path, tiny_weights, monkeypatch, capsys):
    from reproduce.stream import keyframes as stream

    real = stream.recorded_frames

    def interrupted(*args, **kwargs):
        for i, frame in enumerate(real(*args, **kwargs)):
            if i == 10:
                raise KeyboardInterrupt
            yield frame

    monkeypatch.setattr(stream, "recorded_frames", interrupted)
    out = tmp_path / "cut.mp4"
    assert main(["stream", "--weights", tiny_weights, "--out", str(out), "--classes",
                 "volcano", "--seconds", "10", "--preview", str(tmp_path / "cut.gif")]
                + COMMON) == 130
    assert video_frames(out)[0].shape[0] == 10  # a finished, playable file
    assert preview_frames(tmp_path / "cut.gif")[0] == 4  # frames 0, 3, 6, 9 of 250
    assert "stopped early" in capsys.readouterr().out


@pytest.mark.slow
def test_a_failed_preview_keeps_the_video(tmp_path, tiny_weights, monkeypatch, capsys):
    from reproduce.video import io

    def full(self, path, frame_ms=io.PREVIEW_MS):
        raise OSError("No space left on device")

    monkeypatch.setattr(io.Preview, "save", full)
    out = tmp_path / "v.mp4"
    assert main(["stream", "--weights", tiny_weights, "--out", str(out), "--classes",
                 "volcano", "--seconds", "0.4"] + COMMON) == 0
    assert "preview not written" in capsys.readouterr().err
    assert video_frames(out)[0].shape[0] == 10
    assert os.listdir(tmp_path) == ["v.mp4"]  # no preview, no temporary files


@pytest.mark.parametrize("extra, out_name, names", [
    (["--request", "volcanoe"], "v.mp4", "volcano"),   # unknown, with close matches
    (["--size", "63x48"], "v.mp4", "even"),              # H.264 needs even sizes
    (["--classes", "volcano"], "v.avi", "v.avi"),
    (["--classes", "volcano", "--preview", "p.png"], "v.mp4", "p.png"),
    (["--classes", "volcano", "--size", "64"], "v.mp4", "WIDTHxHEIGHT"),
    (["--classes", "no such class"], "v.mp4", "closest"),
])
def test_bad_options_are_one_line(tmp_path, tiny_weights, capsys, extra, out_name, names):
    argv = ["stream", "--weights", tiny_weights, "--out", str(tmp_path / out_name),
            "--seconds", "1"] + COMMON + extra
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: ") and names in err, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert os.listdir(tmp_path) == []


def test_missing_default_weights_say_how_to_make_them(tmp_path, capsys, monkeypatch):
    from reproduce import paths
    monkeypatch.setattr(paths, "EMBEDDED_CLASSIFIER", str(tmp_path / "efficientnet_lite0.h5"))
    monkeypatch.chdir(tmp_path)
    assert main(["stream", "--out", "v.mp4", "--classes", "volcano"]) == 2
    assert "make weights-embedded" in capsys.readouterr().err


@pytest.mark.slow
def test_the_fourier_recipe_streams_too(tmp_path, tiny_weights):
    """``stream --recipe fourier``: the same builder as ``dream``, so the
    Fourier renderer zooms and dreams between key frames as the 2015 one does."""
    out = tmp_path / "fourier.mp4"
    assert main(["stream", "--weights", tiny_weights, "--out", str(out), "--seconds",
                 "0.8", "--classes", "goldfish", "--recipe", "fourier", "--size", "64x64",
                 "--set", "steps_per_zoom=2", "--preview", "none", "--no-progress"]) == 0
    frames, fps = video_frames(out)
    assert fps == 25 and frames.shape == (20, 64, 64, 3)
    assert np.abs(frames[-1].astype(int) - frames[0]).mean() > 1
