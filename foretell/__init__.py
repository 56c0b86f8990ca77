"""foretell: real-time predictive musical interaction.

A mixture density recurrent network (MDRNN) learns how a performer plays a new instrument and,
during performance, predicts the next control values *and when they will happen*.

Public API (everything else is internal):

- ``foretell.data.dataset``: ``load_dataset(path)`` -> ``Dataset`` (IMPSY's ``.npz`` layout, validated).
- ``foretell.model.runtime``: ``load_runtime(path)`` -> ``Runtime`` with ``predict``, ``sample``,
  ``reset`` (NumPy only; never imports torch).
- ``foretell.model.fileformat``: ``save_model`` / ``load_model`` for ``.ftm`` files (safetensors + JSON).
- ``foretell.train.loop``: ``train(dataset, config)`` (needs the ``train`` extra: torch).
- ``foretell.errors``: ``ForetellError`` and its subclasses, each a one-line message.
"""

__version__ = "0.1.0"
