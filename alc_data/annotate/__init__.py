"""``alc-data annotate``: a local web page where a person answers a round's correction queries.

:func:`create_app` builds the ASGI application (Starlette); :func:`serve` runs it with uvicorn. The
page itself is static HTML, CSS and JavaScript shipped in ``static/`` (no build step, nothing fetched
from elsewhere).
"""

from alc_data.annotate.app import create_app
from alc_data.annotate.server import serve

__all__ = ["create_app", "serve"]
