"""``foretell studio``: record, dataset, train, compare and perform from a browser (docs/studio.md).

Training and scoring run as low-priority ``python -m foretell`` children (``children``), never on
the engine's loop: ``jobs`` runs one training job at a time, ``scoring`` scores a model on a take.
"""
