"""Old films: colour black-and-white video files with steady colours and their sound kept.

* :mod:`kcolor.video.io`: reading and writing video with PyAV (mp4, mov, mkv, avi, webm):
  :func:`probe`, :func:`transcode`; frames read grey and upright, written as H.264 with
  each source frame's timestamp, the audio packets copied unchanged, atomically;
* :mod:`kcolor.video.colorize`: colouring clips frame by frame at the network's size, in
  batches (:func:`colorize_frames`, :func:`colorize_video`, :class:`VideoResult`);
* :mod:`kcolor.video.stabilize`: temporal stabilisation of the predicted ab along optical
  flow (or a plain moving average), restarted at scene cuts (:class:`Stabilizer`,
  :func:`is_scene_cut`);
* :mod:`kcolor.video.flicker`: the flicker measure (:func:`flicker`).

This package takes the colouriser as an argument (anything with ``colorize_arrays``) and
imports nothing from :mod:`kcolor.inference`; :meth:`kcolor.Colorizer.colorize_video`
delegates here.

Example:
    >>> import kcolor
    >>> colorizer = kcolor.Colorizer.from_preset()                         # doctest: +SKIP
    >>> colorizer.colorize_video("old.mp4", "colour.mp4", crf=20)          # doctest: +SKIP
"""

from kcolor.video.colorize import VideoResult, colorize_frames, colorize_video, model_size
from kcolor.video.flicker import flicker
from kcolor.video.io import (
    MAX_PIXELS,
    VIDEO_EXTENSIONS,
    VideoInfo,
    is_video_name,
    output_extension,
    probe,
    transcode,
)
from kcolor.video.stabilize import METHODS, Stabilizer, is_scene_cut

__all__ = [
    "MAX_PIXELS",
    "METHODS",
    "VIDEO_EXTENSIONS",
    "Stabilizer",
    "VideoInfo",
    "VideoResult",
    "colorize_frames",
    "colorize_video",
    "flicker",
    "is_scene_cut",
    "is_video_name",
    "model_size",
    "output_extension",
    "probe",
    "transcode",
]
