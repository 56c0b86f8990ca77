// Sound: a small WebAudio synth, a different voice for you and for the model.
import { $ } from "./shared/dom.js";
import { toast } from "./page.js";

const PENTATONIC = [0, 2, 4, 7, 9];

export const synth = {
  /** @type {AudioContext | null} */
  ctx: null,
  /** @type {GainNode | null} */
  out: null,
  on: false,
  voices: 0,
  last: { user: 0, model: 0 },

  wake() {
    if (this.ctx && this.ctx.state === "suspended" && this.on) this.ctx.resume();
  },

  toggle() {
    if (!this.ctx) {
      // Safari's older name
      const Context = window.AudioContext || window.webkitAudioContext;
      if (!Context) return toast("this browser has no WebAudio");
      this.ctx = new Context();
      const compressor = this.ctx.createDynamicsCompressor();
      compressor.connect(this.ctx.destination);
      this.out = this.ctx.createGain();
      this.out.gain.value = 0.8;
      this.out.connect(compressor);
    }
    this.on = !this.on;
    if (this.on) this.ctx.resume();
    const button = $("sound");
    button.textContent = this.on ? "♪ sound on" : "♪ sound off";
    button.classList.toggle("on", this.on);
  },

  /**
   * One short note: pitch from control 1, brightness from 2, loudness from 3.
   * @param {"user" | "model"} source
   * @param {number[]} values
   */
  play(source, values) {
    if (!this.on || !this.ctx || this.ctx.state !== "running") return;
    const ctx = this.ctx;
    const now = ctx.currentTime;
    if (now - this.last[source] < 0.035 || this.voices > 24) return;
    this.last[source] = now;
    const x = values[0] ?? 0.5;
    const y = values.length > 1 ? values[1] : 0.5;
    const p = values.length > 2 ? values[2] : 0.6;
    const step = Math.min(Math.floor(x * 15), 14);
    const semitones = 12 * Math.floor(step / 5) + PENTATONIC[step % 5];
    const user = source === "user";
    const frequency = (user ? 220 : 329.63) * 2 ** (semitones / 12);
    const osc = ctx.createOscillator();
    osc.type = user ? "triangle" : "sawtooth";
    osc.frequency.value = frequency;
    const filter = ctx.createBiquadFilter();
    filter.type = "lowpass";
    filter.frequency.value = user ? 2500 + 3000 * y : 500 + 3500 * y;
    filter.Q.value = user ? 0.7 : 6;
    const gain = ctx.createGain();
    const peak = (user ? 0.16 : 0.1) * (0.3 + 0.7 * p);
    const length = user ? 0.2 : 0.35;
    gain.gain.setValueAtTime(0.0001, now);
    gain.gain.exponentialRampToValueAtTime(peak, now + 0.006);
    gain.gain.exponentialRampToValueAtTime(0.0001, now + length);
    const pan = ctx.createStereoPanner();
    pan.pan.value = user ? -0.35 : 0.35;
    osc
      .connect(filter)
      .connect(gain)
      .connect(pan)
      .connect(/** @type {GainNode} */ (this.out));
    osc.start(now);
    osc.stop(now + length + 0.02);
    this.voices += 1;
    osc.onended = () => {
      this.voices -= 1;
    };
  },
};
