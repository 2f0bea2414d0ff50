"""``cin-style app``: a local page to try, blend and paint styles, and the same work over HTTP (the ``[app]`` extra:
Starlette and uvicorn). :mod:`.server` holds the routes; the page is ``static/``."""
