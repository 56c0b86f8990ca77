"""foretell: real-time predictive musical interaction.

A mixture density recurrent network (MDRNN) learns how a performer plays a new instrument and,
during performance, predicts the next control values *and when they will happen*.

Public API (everything else is internal):

- ``foretell.data.dataset``: ``load_dataset(path)`` -> ``Dataset`` (IMPSY's ``.npz`` layout,
  validated), ``save_dataset``.
- ``foretell.model.protocol``: ``load_voice(path, seed)`` -> a ``Voice`` with ``observe``,
  ``sample``, ``predict``, ``reset`` on a shared ``Model`` of any kind (``load(path)``,
  ``model.voice(rng)``); NumPy only, never imports torch. The dense MDRNN is
  ``foretell.model.runtime``.
- ``foretell.model.fileformat``: ``save_model`` / ``load_model`` for ``.ftm`` files
  (safetensors + JSON metadata).
- ``foretell.train.loop``: ``train(...)`` (needs the ``train`` extra: torch).
- ``foretell.run``: ``run(config)`` -> ``RunSummary``: play a ``RunConfig`` (what ``foretell run``
  does) until Ctrl-C or ``Running.stop()``, and say what happened.
- ``foretell.perform``: the performance engine; ``foretell.io``: its transports.
- ``foretell.impsy``: import IMPSY's Keras models and config files.
- ``foretell.errors``: ``ForetellError`` and its subclasses, each a one-line message.
"""

__version__ = "0.1.0"
