"""The dashboard: a page in the browser to see and steer a performance, and to play on.

- ``foretell.dashboard.frames``: pure functions that turn engine snapshots and events into the JSON
  messages the page reads (state, what the model expects next, events), and the sliding windows
  behind the rates and latency figures.
- ``foretell.dashboard.server``: the Starlette app (static page + one WebSocket) and
  ``serve_dashboard(engine, host, port, models_dir)``, which starts its publisher on the engine's
  loop and its server on a thread of its own (``serving``: uvicorn on that thread and loop).
  It serves every instrument of the engine: an ensemble gets one strip per instrument.
- ``foretell.dashboard.publisher``: streams every instrument's events and throttled frames to
  each page without ever making the engine wait, and applies what pages send; ``feeds``: what
  it hands from the show's loop to the server's, and each page's outbox.
- ``foretell.dashboard.doors`` and ``guard``: who may open the page, and strangers' connections
  capped and timed.
- ``static/``: the page itself (plain HTML, CSS and native ES modules; no bundler, no build
  step): ``app.js`` is the entry module, ``strips.js`` draws and steers an ensemble's strips.
  ``static/shared/`` (served at ``/shared/``) holds what the dashboard and the studio's page
  share: the theme, canvas sizing and labels, DOM helpers, and the WebSocket messages' shapes
  (``messages.js``). ``biome.json`` at the repository's root lints and formats them.

Importing this package imports neither Starlette nor uvicorn; ``server`` and ``serving`` do.
"""
