"""IMPSY compatibility: an IMPSY user's trained models and config files, without TensorFlow.

- ``keras_import.import_impsy_model(path)`` -> ``ImportedModel`` (a ``ModelFile`` plus how it was
  read); save it with ``foretell.model.fileformat.save_model``. Needs h5py (``foretell[impsy]``).
- ``architecture``: the model's shape from its Keras config, its file name or its weights.
- ``h5_layouts``: the Keras 2 and Keras 3 weight layouts IMPSY files come in.
- ``tflite_import``: IMPSY 1.1's builtins-only ``.tflite`` (the ``tflite`` FlatBuffer reader).
- ``config``, ``io_sections``: IMPSY's ``config.toml`` -> foretell's ``RunConfig``, its MIDI,
  WebSocket and serial sections with IMPSY's semantics.
- ``convert``: Keras arrays -> foretell tensors and the ``ModelSpec`` that runs them as IMPSY does.

See ``docs/migrating-from-impsy.md``.
"""
