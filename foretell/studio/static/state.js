// The studio page's state: what it last read from the API (one owner: every module reads and
// changes it here). `window.studio` is this state, for the curious and for tests.

export const studio = {
  online: false,
  /** @type {Record<string, any> | null} */
  status: null,
  /** @type {Record<string, any>[]} */
  takes: [],
  /** @type {Record<string, any>[]} */
  datasets: [],
  /** @type {Record<string, any>[]} */
  models: [],
  /** @type {string | null} */
  playing: null,
  /** @type {Record<string, any>[]} */
  jobs: [],
  /** @type {Record<string, any> | null} */
  job: null, // the job shown on Train
  compare: null,
  /** @type {string | null} */
  config: null, // the text last read or saved
  configReply: null,
  checklist: { done: {}, dismissed: false },
  /** @type {Record<string, any>} */
  plots: {}, // take name -> its plot
  painted: 0, // canvas paints, all together
  /** @type {string[]} */
  errors: [],
};
window.studio = studio;

// -- the status (GET /api/status): its figures, whichever shape they come in -----------------

export const num = (v) => (typeof v === "number" ? v : 0);

export function statusField(s, key) {
  // A figure of the status, at its top level or under "counts".
  if (!s) return undefined;
  if (s[key] !== undefined) return s[key];
  return s.counts ? s.counts[key] : undefined;
}

export function playingName(s) {
  const playing = s && (s.playing ?? s.model);
  return playing && typeof playing === "object" ? playing.name : playing || null;
}

export function currentTakeName(s) {
  const take = s && (s.current_take ?? s.take);
  return take && typeof take === "object" ? take.name : take || null;
}
