"""Fixtures every test package may use: a dummy JACK server for MIDI (``tests/jack.py``)."""

pytest_plugins = ["tests.jack"]
