"""Domain errors. Each message is one sentence naming what was wrong (and what to try).

The CLI turns any ``ForetellError`` into one line on stderr and exit status 1; nothing here prints.
"""


class ForetellError(Exception):
    """Base class of every error foretell raises on purpose."""


class DatasetError(ForetellError):
    """A dataset file is missing, malformed or holds invalid values."""


class ModelFileError(ForetellError):
    """A model file is missing, truncated, corrupt, of another version or of the wrong shape."""


class ConfigError(ForetellError):
    """A configuration file or option has an unknown key or an invalid value."""


class DependencyError(ForetellError):
    """An optional dependency (torch, h5py, a MIDI backend, ...) is not available."""


class ImportModelError(ForetellError):
    """A foreign (IMPSY/Keras) model file cannot be imported."""


class ControlError(ForetellError):
    """A live-control command is unknown or has an invalid argument."""


class OscError(ForetellError):
    """An OSC packet cannot be decoded, or an OSC socket cannot be opened."""


class LogFormatError(ForetellError):
    """A performance log cannot be read or turned into a dataset."""
