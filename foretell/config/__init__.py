"""The run configuration: frozen dataclasses read from TOML, checked once, opening nothing.

Where each part lives:

- ``run``: ``RunConfig`` and its sections (``[model]``, ``[interaction]``, ``[osc]``, ``[log]``),
  reading TOML (``load_config``, ``config_from_dict``) and ``override`` for flags;
- ``instruments``: one ``[instrument.NAME]`` table of an ensemble;
- ``transports``: ``[midi]``, ``[serial]``, ``[websocket]``;
- ``sections``: each instrument's transport sections, checked across instruments;
- ``live_keys``: the live settings' keys (``pi_temp``, ``threshold``, ...), from their table;
- ``learn``: ``[learn]`` (learning while playing); ``dashboard``: ``[dashboard]``.

IMPSY's config format is read by ``foretell.impsy.config``, which maps it onto these.
"""

from foretell.config.run import (
    MAX_DIMENSION,
    InteractionConfig,
    LogConfig,
    ModelConfig,
    OscConfig,
    RunConfig,
    config_from_dict,
    load_config,
    override,
    read_toml,
)

__all__ = [
    "MAX_DIMENSION",
    "InteractionConfig",
    "LogConfig",
    "ModelConfig",
    "OscConfig",
    "RunConfig",
    "config_from_dict",
    "load_config",
    "override",
    "read_toml",
]
