"""The annotation server's ASGI application: the page, its JSON API and the images.

Routes (all state lives in the workspace's ledger, so a restarted server continues where it stopped):

- ``GET /`` the page; ``GET /static/...`` its script and style
- ``GET /api/session`` round, classes (with their keyboard shortcuts) and progress
- ``POST /api/lease`` the queries this page shows now (leased to it), in rank order
- ``POST /api/answer`` one answer: ``{"query_id", "choice": "yes" | "can't tell" | class name,
  "class_index", "seconds", "annotator", "holder"}``; 400 bad class, 409 answered by someone else
- ``POST /api/undo`` retract the page's last answer not yet applied
- ``GET /image/{image_id}`` an image by its id (never by a path); ``GET /overlay/{query_id}`` the outline
"""

from __future__ import annotations

import functools
import hmac
import json
import mimetypes
from pathlib import Path
from typing import Any

from alc_data.answers.choice import CANT_TELL, YES, answer_from_choice
from alc_data.constants import IGNORE_INDEX
from alc_data.errors import AlcError, Conflict, InvalidInput, NotFound
from alc_data.workspace import Workspace
from alc_data.workspace.ledger import LEASE_SECONDS

STATIC_DIR = Path(__file__).resolve().parent / "static"
CLASS_KEYS = "1234567890abcdefghijklmnopqrstuvwz"
"""Keyboard shortcut of class i (``y``/Enter = yes and ``x`` = can't tell are kept free)."""
RAW_IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".webp": "image/webp"}
MAX_BODY = 16_384


def _error(status: int, message: str):
    from starlette.responses import JSONResponse

    return JSONResponse({"error": message}, status_code=status)


class RequestGuard:
    """ASGI middleware: the Host check (every request), the token (when one is set) and, for anything
    that is not GET/HEAD, the same-origin check and a JSON body, so another web page cannot post."""

    def __init__(self, app, *, allowed_hosts: set[str] | None, token: str | None) -> None:
        self.app = app
        self.allowed_hosts = allowed_hosts
        self.token = token

    def _reject(self, scope) -> str | None:
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

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            reason = self._reject(scope)
            if reason is not None:
                await _error(403, reason)(scope, receive, send)
                return
        await self.app(scope, receive, send)


class AnnotationSession:
    """What the endpoints share: the workspace, the round, its queries and the images' sizes."""

    def __init__(self, ws: Workspace, round_no: int, *, annotator: str, lease_seconds: float) -> None:
        from alc_data.queries.create import round_queries

        self.ws = ws
        self.round_no = round_no
        self.annotator = annotator
        self.lease_seconds = lease_seconds
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

    @functools.lru_cache(maxsize=256)
    def overlay(self, query_id: int) -> bytes:
        from alc_data.annotate.overlay import outline_png

        q = self.queries[query_id]
        return outline_png(self._superpixels(q.superpixel_set, q.image_id), q.superpixel_id)

    @functools.lru_cache(maxsize=8)
    def _superpixels(self, set_name: str, image_id: str):
        return self.ws.superpixels.read_superpixels(set_name, image_id)


def _quote(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="")


async def _body(request) -> dict[str, Any]:
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise InvalidInput("request body too large")
    try:
        data = json.loads(raw or b"{}")
    except json.JSONDecodeError:
        raise InvalidInput("request body is not JSON") from None
    if not isinstance(data, dict):
        raise InvalidInput("request body must be a JSON object")
    return data


def _text(data: dict[str, Any], key: str, default: str | None = None) -> str:
    value = data.get(key, default)
    if not isinstance(value, str) or not value.strip() or len(value) > 100:
        raise InvalidInput(f"{key!r} must be a non-empty text of at most 100 characters")
    return value.strip()


def create_app(
    ws: Workspace,
    round_no: int,
    *,
    annotator: str,
    token: str | None = None,
    allowed_hosts: set[str] | None = None,
    lease_seconds: float = LEASE_SECONDS,
    correct_command: str | None = None,
):
    """The Starlette application serving ``round_no``'s queries of ``ws``.

    ``allowed_hosts``: the accepted ``Host`` headers (None: any, for a server bound to a public
    address, where ``token`` must then be set); ``token``: required on every request when given.
    """
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.middleware import Middleware
    from starlette.responses import FileResponse, JSONResponse, Response
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles

    session = AnnotationSession(ws, round_no, annotator=annotator, lease_seconds=lease_seconds)
    command = correct_command or f"alc-data correct -w {ws.root} --round {round_no}"

    def guarded(fn):
        """Library errors become JSON errors: 400 bad input, 404 unknown, 409 conflict."""

        @functools.wraps(fn)
        async def endpoint(request):
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

    async def index(request):
        response = FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-store"})
        if token is not None:
            response.set_cookie("alc_token", token, httponly=True, samesite="strict")
        return response

    @guarded
    async def api_session(request):
        progress = await run_in_threadpool(session.progress)
        return JSONResponse({
            "round": round_no, "workspace": ws.root.name, "annotator": annotator, "classes": session.classes(),
            "lease_seconds": lease_seconds, "correct_command": command, "progress": progress,
            "yes": YES, "cant_tell": CANT_TELL,
        })

    def _lease(holder: str, name: str) -> dict[str, Any]:
        ids = ws.ledger.lease_queries(round_no, holder=holder, annotator=name, lease_seconds=lease_seconds)
        return {"queries": [session.query_json(i) for i in ids], "progress": session.progress()}

    @guarded
    async def api_lease(request):
        data = await _body(request)
        return JSONResponse(await run_in_threadpool(_lease, _text(data, "holder"), _text(data, "annotator", annotator)))

    def _answer(data: dict[str, Any]) -> dict[str, Any]:
        qid = data.get("query_id")
        if not isinstance(qid, int) or qid not in session.queries:
            raise NotFound(f"query {qid!r} is not a query of round {round_no}")
        q = session.queries[qid]
        seconds = data.get("seconds")
        if seconds is not None and not isinstance(seconds, (int, float)):
            raise InvalidInput(f"seconds {seconds!r} is not a number")
        cls = data.get("class_index")
        if cls is not None:
            if not isinstance(cls, int) or not 0 <= cls < ws.catalogue.num_classes:
                raise InvalidInput(f"unknown class index {cls!r}; this workspace has classes 0..{ws.catalogue.num_classes - 1}")
            choice: str | int = cls
        else:
            choice = _text(data, "choice")
        answer = answer_from_choice(ws, qid, q.shown_label, choice)
        recorded = ws.ledger.record_timed_answer(
            round_no, answer, annotator=_text(data, "annotator", annotator),
            seconds=None if seconds is None else float(seconds),
        )
        return {"recorded": recorded, "status": answer.status, "progress": session.progress()}

    @guarded
    async def api_answer(request):
        return JSONResponse(await run_in_threadpool(_answer, await _body(request)))

    def _undo(data: dict[str, Any]) -> dict[str, Any]:
        qid = data.get("query_id")
        if qid is not None and (not isinstance(qid, int) or qid not in session.queries):
            raise NotFound(f"query {qid!r} is not a query of round {round_no}")
        undone = ws.ledger.retract_answer(round_no, annotator=_text(data, "annotator", annotator),
                                       holder=_text(data, "holder"), query_id=qid, lease_seconds=lease_seconds)
        return {"query": session.query_json(undone), "progress": session.progress()}

    @guarded
    async def api_undo(request):
        return JSONResponse(await run_in_threadpool(_undo, await _body(request)))

    async def image(request):
        image_id = request.path_params["image_id"]
        if image_id not in session.sizes:
            return _error(404, f"unknown image id {image_id!r}")
        path = ws.catalogue.image_path(image_id)
        media = RAW_IMAGE_TYPES.get(path.suffix.lower())
        headers = {"Cache-Control": "private, max-age=3600"}
        if media is not None and path.is_file():
            return FileResponse(path, media_type=media, headers=headers)
        try:
            png = await run_in_threadpool(_png_of, ws, image_id)
        except AlcError as exc:
            return _error(404, str(exc))
        return Response(png, media_type="image/png", headers=headers)

    async def overlay(request):
        try:
            qid = int(request.path_params["query_id"])
        except ValueError:
            qid = -1
        if qid not in session.queries:
            return _error(404, f"unknown query {request.path_params['query_id']!r}")
        png = await run_in_threadpool(session.overlay, qid)
        return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=3600"})

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
    return Starlette(routes=routes, middleware=[Middleware(RequestGuard, allowed_hosts=allowed_hosts, token=token)])


def _png_of(ws: Workspace, image_id: str) -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(ws.catalogue.load_image(image_id)).save(buf, format="PNG", compress_level=1)
    return buf.getvalue()
