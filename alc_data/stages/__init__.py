"""The stage layer: one module per pipeline stage (ingest, superpixels, pseudo_label, train, score,
correct, annotate, evaluate, diff, export, publish, check, run).

Each stage module defines

- ``<Stage>Options``: a frozen dataclass. Every field is typed; modes are ``str`` enums (so a recipe
  value or a command-line string converts with ``Mode(value)``); registry names are checked in
  ``__post_init__``; each default is written once, there. The CLI and ``alc_data.loop.config`` build
  the same options object, and a recipe key maps onto a field of the same name.
- one function named after the stage, ``<stage>(ws, options) -> <Stage>Result``, returning a frozen
  :class:`alc_data.results.JsonResult` (what ``--json`` prints).

The cores the stages call (scoring, correction, ...) trust the options they are given and never check
them again. Public library functions that users call directly (``score_superpixels``,
``score_probabilities``, ...) keep their own checks, once, at that boundary.
"""
