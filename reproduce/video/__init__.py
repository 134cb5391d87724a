"""DeepDream on video: flow-coherent frames from a film, and dream.ipynb's zoom loop.

* ``io``: reading a film's frames and its metadata, writing H.264 with the
  audio track of another file, animated previews (imageio-ffmpeg's ffmpeg);
* ``frames``: the frame folder a long run writes into, so Ctrl-C keeps a
  playable video and ``--resume`` continues where it stopped;
* ``flow``: optical flow (OpenCV) and the backward warp it drives;
* ``dream``: the per-frame loop of a film, each frame started from the
  previous dream warped along the flow;
* ``zoom``: dream.ipynb's last cell, each frame dreamed from the previous
  one zoomed about the centre.
"""
