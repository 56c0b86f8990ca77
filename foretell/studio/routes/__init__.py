"""The studio API's routes, one module per part of the loop (docs/studio.md, "The JSON API")."""
