"""Synthetic instruments unlike the LightPad, to see whether training's defaults generalise.

The defaults were chosen on the two LightPad sets (3 controls, touch gestures). Musicians bring
other things: one fader, a drum pad, a box of knobs, a sensor glove. Each generator here draws a
seeded dataset with that shape and rhythm, in IMPSY's layout (column 0 dt in seconds, then
controls in [0, 1]):

- ``fader``: 1 control, MIDI-quantised (1/127) sweeps sampled at about 30 Hz, 0.5-5 s apart;
- ``pads``: which of 8 pads and its velocity (1/127 steps), on a beat grid (90-140 bpm,
  sixteenths to half notes, 1 % timing jitter): dt is multi-modal;
- ``knobs``: 4 MIDI-quantised knobs turned one at a time (the others hold), steps about 20 ms
  apart, pauses of about 1.5 s;
- ``sensors``: 8 controls sampled at 100 Hz (dt almost constant), smooth motion plus noise.

They are stand-ins, not recordings: a model that beats the simple baselines on them has shown
only that nothing in training assumes the LightPad's shape (``foretell bench generalise``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from foretell.data.dataset import Dataset

MIDI_STEP = 1 / 127


def midi(values: np.ndarray) -> np.ndarray:
    """Controls quantised to MIDI's 128 steps, as a MIDI controller sends them."""
    return np.round(np.asarray(values) * 127) * MIDI_STEP


def fader(rng: np.random.Generator, events: int, performances: int) -> Dataset:
    """One fader: eased sweeps to a new value at about 30 Hz, a pause before each."""
    out, n = [], events // performances
    for _ in range(performances):
        sweeps, value, count = [], rng.uniform(), 0
        while count < n:
            target, steps = rng.uniform(), int(rng.integers(10, 60))
            eased = 0.5 - 0.5 * np.cos(np.linspace(0.0, np.pi, steps))
            dt = rng.normal(0.033, 0.004, steps).clip(0.005)
            dt[0] = rng.uniform(0.5, 5.0)
            sweeps.append(np.column_stack([dt, midi(value + (target - value) * eased)]))
            value, count = target, count + steps
        out.append(np.concatenate(sweeps)[:n])
    return Dataset(_float32(out), 2, "fader")


def pads(rng: np.random.Generator, events: int, performances: int) -> Dataset:
    """Eight drum pads hit on a beat grid: (dt, pad, velocity)."""
    out = []
    n = events // performances
    for _ in range(performances):
        beat = 60.0 / rng.uniform(90.0, 140.0)
        notes = rng.choice([0.25, 0.5, 1.0, 2.0], size=n, p=[0.4, 0.35, 0.2, 0.05])
        dt = notes * beat * (1.0 + 0.01 * rng.standard_normal(n))
        pad = rng.integers(0, 8, n) / 7
        velocity = midi(rng.integers(20, 128, n) / 127)
        out.append(np.column_stack([dt, pad, velocity]))
    return Dataset(_float32(out), 3, "pads")


def knobs(rng: np.random.Generator, events: int, performances: int, count: int = 4) -> Dataset:
    """``count`` knobs turned one at a time; every event carries all of them."""
    out, n = [], events // performances
    for _ in range(performances):
        turns, state, total = [], midi(rng.uniform(size=count)), 0
        while total < n:
            knob, steps = int(rng.integers(count)), int(rng.integers(3, 60))
            rows = np.repeat(state[None, :], steps, axis=0)
            rows[:, knob] = midi(np.linspace(state[knob], rng.uniform(), steps))
            dt = rng.exponential(0.02, steps) + 0.002
            dt[0] = rng.exponential(1.5) + 0.05
            turns.append(np.column_stack([dt, rows]))
            state, total = rows[-1].copy(), total + steps
        out.append(np.concatenate(turns)[:n])
    return Dataset(_float32(out), 1 + count, "knobs")


def sensors(rng: np.random.Generator, events: int, performances: int, count: int = 8) -> Dataset:
    """``count`` sensors sampled at 100 Hz: three slow sines each, plus noise."""
    out = []
    n = events // performances
    for _ in range(performances):
        dt = rng.normal(0.01, 0.0008, n).clip(0.002)
        t = np.cumsum(dt)[:, None]
        freq, phase = rng.uniform(0.05, 2.0, (3, count)), rng.uniform(0, 2 * np.pi, (3, count))
        motion = np.sin(2 * np.pi * freq[:, None, :] * t[None] + phase[:, None, :]).mean(0)
        values = (0.5 + 0.45 * motion + rng.normal(0.0, 0.01, (n, count))).clip(0.0, 1.0)
        out.append(np.column_stack([dt, values]))
    return Dataset(_float32(out), 1 + count, "sensors")


def _float32(performances: list[np.ndarray]) -> tuple[np.ndarray, ...]:
    return tuple(np.ascontiguousarray(p, dtype=np.float32) for p in performances)


Generator = Callable[[np.random.Generator, int, int], Dataset]


@dataclass(frozen=True)
class Instrument:
    """A synthetic instrument at its full size: events and performances drawn by default."""

    generate: Generator
    events: int
    performances: int

    def dataset(self, seed: int = 0, scale: float = 1.0) -> Dataset:
        """The instrument's dataset: ``scale`` times its events (rounded down to a multiple of
        its performances, at least 2 each), in performances of equal length."""
        events = max(int(self.events * scale), 2 * self.performances)
        return self.generate(np.random.default_rng(seed), events, self.performances)


INSTRUMENTS: dict[str, Instrument] = {
    "fader": Instrument(fader, 10_000, 8),
    "pads": Instrument(pads, 30_000, 6),
    "knobs": Instrument(knobs, 50_000, 8),
    "sensors": Instrument(sensors, 100_000, 10),
}
