"""JACK MIDI peers in processes of their own, for ``test_shipped_configs``.

``python -m tests.impsy.jack_recorder record NAME`` opens a virtual JACK MIDI input ``NAME`` and
prints each message it receives as hex, one per line; ``... play NAME`` opens a virtual output
``NAME`` and sends each hex line read from stdin. Both print ``ready`` once their port is up.

Peers in other processes, not in the test's: a JACK callback into Python in the test's own
process can wait on the GIL while that process closes a port, and JACK then stalls them all.
"""

from __future__ import annotations

import sys

import mido

from foretell.bench.impsy_rig import JACK, record  # the rig's recorder, one of its peers


def play(name: str) -> None:
    backend = mido.Backend(JACK, load=True)
    with backend.open_output(name, virtual=True, client_name=name) as port:
        print("ready", flush=True)
        for line in sys.stdin:
            if line.strip():
                port.send(mido.Message.from_hex(line.strip()))
                print("sent", flush=True)


if __name__ == "__main__":
    {"record": record, "play": play}[sys.argv[1]](sys.argv[2])
