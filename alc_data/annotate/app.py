"""The annotation server's ASGI application: the page, its JSON API and the images.

Routes (all state lives in the workspace's ledger, so a restarted server continues where it stopped):

- ``GET /`` the page; ``GET /static/...`` its script and style
- ``GET /api/session`` round, classes (with their keyboard shortcuts) and progress
- ``POST /api/lease`` the queries this page shows now (leased to it), in rank order
- ``POST /api/answer`` one answer: ``{"query_id", "verdict": "accept" | "unanswerable"`` or
  ``"class_index", "seconds", "annotator", "holder"}`` (a structured answer, never a word that a class
  could be called); 400 bad class, 409 answered by someone else or shown on another page (leased to
  another ``holder``)
- ``POST /api/undo`` retract the page's last answer not yet applied
- ``GET /image/{image_id}`` an image by its id (never by a path); ``GET /overlay/{query_id}`` the outline
"""

from __future__ import annotations

import functools
import hmac
import mimetypes
from pathlib import Path
from typing import TYPE_CHECKING, Any, Awaitable, Callable

from alc_data.constants import IGNORE_INDEX
from alc_data.errors import AlcError, Conflict, InvalidInput, NotFound
from alc_data.annotate.page_answer import PageAnswer, text_field
from alc_data.hints import command
from alc_data.io.json_text import loads
from alc_data.workspace import Workspace
from alc_data.workspace.ledger import LEASE_SECONDS

if TYPE_CHECKING:
    import numpy as np
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.types import ASGIApp, Receive, Scope, Send

STATIC_DIR = Path(__file__).resolve().parent / "static"
CLASS_KEYS = "1234567890abcdefghijklmnopqrstuvwz"
"""Keyboard shortcut of class i (``y``/Enter = yes and ``x`` = can't tell are kept free)."""
RAW_IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".webp": "image/webp"}
MAX_BODY = 16_384
Endpoint = Callable[["Request"], Awaitable["Response"]]


def _error(status: int, message: str) -> JSONResponse:
    from starlette.responses import JSONResponse

    return JSONResponse({"error": message}, status_code=status)


class RequestGuard:
    """ASGI middleware: the Host check (every request), the token (when one is set) and, for anything
    that is not GET/HEAD, the same-origin check and a JSON body, so another web page cannot post."""

    def __init__(self, app: ASGIApp, *, allowed_hosts: set[str] | None, token: str | None) -> None:
        self.app = app
        self.allowed_hosts = allowed_hosts
        self.token = token

    def _reject(self, scope: Scope) -> str | None:
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", [])}
        host = headers.get("host", "")
        if self.allowed_hosts is not None and host not in self.allowed_hosts:
            return f"unexpected Host {host!r}"
        if self.token is not None:
            from urllib.parse import parse_qs

            given = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token", [""])[0]
            given = given or headers.get("x-alc-token", "")
            if not given:
                for part in headers.get("cookie", "").split(";"):
                    name, _, value = part.strip().partition("=")
                    if name == "alc_token":
                        given = value
            if not hmac.compare_digest(given.encode(), self.token.encode()):
                return "missing or wrong token; open the URL the server printed (with ?token=...)"
        if scope["method"] not in ("GET", "HEAD"):
            origin = headers.get("origin")
            if origin is not None and origin != f"http://{host}":
                return f"cross-origin request from {origin!r}"
            if headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
                return "cross-site request"
            if headers.get("content-type", "").split(";")[0].strip() != "application/json":
                return "state-changing requests must send application/json"
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            reason = self._reject(scope)
            if reason is not None:
                await _error(403, reason)(scope, receive, send)
                return
        await self.app(scope, receive, send)


class AnnotationSession:
    """What the endpoints share: the workspace, the round, its queries and the images' sizes, and the
    server's settings (kept on the application as ``app.state.session``)."""

    def __init__(self, ws: Workspace, round_no: int, *, annotator: str, lease_seconds: float,
                 token: str | None = None, correct_command: str | None = None) -> None:
        from alc_data.queries.create import round_queries

        self.ws = ws
        self.round_no = round_no
        self.annotator = annotator
        self.lease_seconds = lease_seconds
        self.token = token
        from alc_data.hints import command

        self.command = correct_command or command("correct", "-w", ws.root, "--round", round_no)
        self.queries = {q.query_id: q for q in round_queries(ws, round_no)}
        self.sizes = {i: (r.height, r.width) for i, r in ws.catalogue.image_records().items()}

    def classes(self) -> list[dict[str, Any]]:
        return [
            {"index": c.index, "name": c.name, "color": list(c.color),
             "key": CLASS_KEYS[c.index] if c.index < len(CLASS_KEYS) else None}
            for c in self.ws.catalogue.classes
        ]

    def query_json(self, query_id: int) -> dict[str, Any]:
        q = self.queries[query_id]
        h, w = self.sizes[q.image_id]
        return {
            "query_id": q.query_id, "rank": q.rank, "image_id": q.image_id, "superpixel_id": q.superpixel_id,
            "width": w, "height": h, "rep_row": q.rep_row, "rep_col": q.rep_col, "bbox": list(q.bbox),
            "shown_label": None if q.shown_label == IGNORE_INDEX else q.shown_label,
            "image_url": f"image/{_quote(q.image_id)}", "overlay_url": f"overlay/{q.query_id}",
        }

    def progress(self) -> dict[str, Any]:
        return self.ws.ledger.round_progress(self.round_no).to_dict()

    def query_id(self, value: Any) -> int:
        """``value`` when it is a query of this round; NotFound otherwise."""
        if not isinstance(value, int) or value not in self.queries:
            raise NotFound(f"query {value!r} is not a query of round {self.round_no}")
        return value

    @functools.lru_cache(maxsize=256)
    def overlay(self, query_id: int) -> bytes:
        from alc_data.annotate.overlay import outline_png

        q = self.queries[query_id]
        return outline_png(self._superpixels(q.superpixel_set, q.image_id), q.superpixel_id)

    @functools.lru_cache(maxsize=8)
    def _superpixels(self, set_name: str, image_id: str) -> np.ndarray:
        return self.ws.superpixels.read_superpixels(set_name, image_id, shape=self.sizes[image_id])


def _quote(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="")


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise InvalidInput("request body too large")
    data = loads(raw or b"{}", "request body")
    if not isinstance(data, dict):
        raise InvalidInput("request body must be a JSON object")
    return data


def guarded(fn: Endpoint) -> Endpoint:
    """Library errors become JSON errors: 400 bad input, 404 unknown, 409 conflict."""

    @functools.wraps(fn)
    async def endpoint(request: Request) -> Response:
        try:
            return await fn(request)
        except InvalidInput as exc:
            return _error(400, str(exc))
        except NotFound as exc:
            return _error(404, str(exc))
        except Conflict as exc:
            return _error(409, str(exc))
        except AlcError as exc:
            return _error(400, str(exc))

    return endpoint


def _session(request: Request) -> AnnotationSession:
    return request.app.state.session


async def index(request: Request) -> Response:
    """``GET /``: the page (and the token's cookie)."""
    from starlette.responses import FileResponse

    token = _session(request).token
    response = FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-store"})
    if token is not None:
        response.set_cookie("alc_token", token, httponly=True, samesite="strict")
    return response


@guarded
async def api_session(request: Request) -> Response:
    """``GET /api/session``: round, classes, progress and the page's settings."""
    from starlette.concurrency import run_in_threadpool
    from starlette.responses import JSONResponse

    s = _session(request)
    progress = await run_in_threadpool(s.progress)
    return JSONResponse({
        "round": s.round_no, "workspace": s.ws.root.name, "annotator": s.annotator, "classes": s.classes(),
        "lease_seconds": s.lease_seconds, "correct_command": s.command, "progress": progress,
    })


def _lease(s: AnnotationSession, holder: str, name: str) -> dict[str, Any]:
    ids = s.ws.ledger.lease_queries(s.round_no, holder=holder, annotator=name, lease_seconds=s.lease_seconds)
    return {"queries": [s.query_json(i) for i in ids], "progress": s.progress()}


@guarded
async def api_lease(request: Request) -> Response:
    """``POST /api/lease``: the queries this page shows now."""
    from starlette.concurrency import run_in_threadpool
    from starlette.responses import JSONResponse

    s = _session(request)
    data = await _body(request)
    return JSONResponse(await run_in_threadpool(_lease, s, text_field(data, "holder"), text_field(data, "annotator", s.annotator)))


def _answer(s: AnnotationSession, data: dict[str, Any]) -> dict[str, Any]:
    page = PageAnswer.from_body(data, s)
    answer = page.answer(s)
    recorded = s.ws.ledger.record_timed_answer(s.round_no, answer, annotator=page.annotator, seconds=page.seconds,
                                               holder=page.holder)
    return {"recorded": recorded, "status": answer.status, "progress": s.progress()}


@guarded
async def api_answer(request: Request) -> Response:
    """``POST /api/answer``: one answer into the ledger."""
    from starlette.concurrency import run_in_threadpool
    from starlette.responses import JSONResponse

    return JSONResponse(await run_in_threadpool(_answer, _session(request), await _body(request)))


def _undo(s: AnnotationSession, data: dict[str, Any]) -> dict[str, Any]:
    qid = data.get("query_id")
    if qid is not None:
        s.query_id(qid)
    undone = s.ws.ledger.retract_answer(s.round_no, annotator=text_field(data, "annotator", s.annotator),
                                   holder=text_field(data, "holder"), query_id=qid, lease_seconds=s.lease_seconds)
    return {"query": s.query_json(undone), "progress": s.progress()}


@guarded
async def api_undo(request: Request) -> Response:
    """``POST /api/undo``: retract the page's last answer not yet applied."""
    from starlette.concurrency import run_in_threadpool
    from starlette.responses import JSONResponse

    return JSONResponse(await run_in_threadpool(_undo, _session(request), await _body(request)))


async def image(request: Request) -> Response:
    """``GET /image/{image_id}``: an image by its id (its file, or a PNG of it)."""
    from starlette.concurrency import run_in_threadpool
    from starlette.responses import FileResponse, Response

    s = _session(request)
    image_id = request.path_params["image_id"]
    if image_id not in s.sizes:
        return _error(404, f"unknown image id {image_id!r}")
    path = s.ws.catalogue.image_path(image_id)
    media = RAW_IMAGE_TYPES.get(path.suffix.lower())
    headers = {"Cache-Control": "private, max-age=3600"}
    if media is not None and path.is_file():
        return FileResponse(path, media_type=media, headers=headers)
    try:
        png = await run_in_threadpool(_png_of, s.ws, image_id)
    except AlcError as exc:
        return _error(404, str(exc))
    return Response(png, media_type="image/png", headers=headers)


async def overlay(request: Request) -> Response:
    """``GET /overlay/{query_id}``: the outline of the query's superpixel."""
    from starlette.concurrency import run_in_threadpool
    from starlette.responses import Response

    s = _session(request)
    try:
        qid = int(request.path_params["query_id"])
    except ValueError:
        qid = -1
    if qid not in s.queries:
        return _error(404, f"unknown query {request.path_params['query_id']!r}")
    try:
        png = await run_in_threadpool(s.overlay, qid)
    except AlcError as exc:  # a damaged superpixel map: the page shows the line, the server prints no traceback
        return _error(500, f"{exc}; run `{command('check', '-w', s.ws.root)}`")
    return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=3600"})


def create_app(
    ws: Workspace,
    round_no: int,
    *,
    annotator: str,
    token: str | None = None,
    allowed_hosts: set[str] | None = None,
    lease_seconds: float = LEASE_SECONDS,
    correct_command: str | None = None,
) -> Starlette:
    """The Starlette application serving ``round_no``'s queries of ``ws``.

    ``allowed_hosts``: the accepted ``Host`` headers (None: any, for a server bound to a public
    address, where ``token`` must then be set); ``token``: required on every request when given.
    """
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles

    mimetypes.add_type("text/javascript", ".js")
    routes = [
        Route("/", index),
        Route("/api/session", api_session),
        Route("/api/lease", api_lease, methods=["POST"]),
        Route("/api/answer", api_answer, methods=["POST"]),
        Route("/api/undo", api_undo, methods=["POST"]),
        Route("/image/{image_id:str}", image),
        Route("/overlay/{query_id:str}", overlay),
        Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
    ]
    app = Starlette(routes=routes, middleware=[Middleware(RequestGuard, allowed_hosts=allowed_hosts, token=token)])
    app.state.session = AnnotationSession(ws, round_no, annotator=annotator, lease_seconds=lease_seconds,
                                          token=token, correct_command=correct_command)
    return app


def _png_of(ws: Workspace, image_id: str) -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(ws.catalogue.load_image(image_id)).save(buf, format="PNG", compress_level=1)
    return buf.getvalue()
