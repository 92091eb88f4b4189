"""Helpers for tests and benchmark smoke runs, never used by the library itself.

- :mod:`alc_data.testing.annotate`: a demo workspace with an open round, an ``alc-data annotate``
  server subprocess, headless Chromium;
- :mod:`alc_data.testing.foundation`: tiny random GroundingDINO and SAM checkpoints, the hub cache;
- :mod:`alc_data.testing.models`: a tiny random SegFormer.
"""
