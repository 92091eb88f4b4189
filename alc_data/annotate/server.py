"""Run the annotation page with uvicorn: bind the port, print the URL, serve until interrupted."""

from __future__ import annotations

import errno
import ipaddress
import secrets
import socket
from typing import Callable

from alc_data.hints import command
from alc_data.errors import Conflict, InvalidInput
from alc_data.workspace import Workspace

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket on (host, port); one-line AlcError when the port is taken."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise InvalidInput(f"--host {host!r} is not an address of this machine ({exc})") from None
    family, _, _, _, addr = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(addr)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise Conflict(f"port {port} on {host} is already in use; pass another one with --port (e.g. --port {port + 1})") from None
        raise InvalidInput(f"cannot listen on {host}:{port} ({exc.strerror}); choose another --host or --port") from None
    sock.set_inheritable(True)
    return sock


def url_host(host: str) -> str:
    """``host`` as it appears in the printed URL and in a browser's ``Host`` header."""
    if host in ("0.0.0.0", "::"):
        return socket.gethostname()
    return f"[{host}]" if ":" in host else host


def allowed_hosts(host: str, port: int) -> set[str] | None:
    """The ``Host`` headers a loopback server accepts: its own address (any of 127.0.0.0/8 or ::1) and
    the usual loopback names, on its port; None (the token is needed instead) for other addresses."""
    if not is_loopback(host):
        return None
    return {f"{name}:{port}" for name in ("127.0.0.1", "localhost", "[::1]", url_host(host))}


def check_port(port: int) -> int:
    """``port`` when it is 1..65535, or 0 (any free port, printed); a one-line error naming --port otherwise."""
    if isinstance(port, bool) or not 0 <= port <= 65535:
        raise InvalidInput(f"--port {port} is not a port; use 1..65535, or 0 for any free port")
    return port


def serve(
    ws: Workspace,
    *,
    round_no: int | None = None,
    host: str = "127.0.0.1",
    port: int = 8765,
    annotator: str,
    open_browser: bool = False,
    lease_seconds: float | None = None,
    echo: Callable[[str], None] = print,
) -> None:
    """Serve ``round_no``'s queries (default: the latest round) until Ctrl+C.

    On a loopback address only requests with this server's own ``Host`` are accepted; any other
    address needs the token generated here, which the printed URL carries.
    """
    import uvicorn

    from alc_data.annotate.app import create_app
    from alc_data.queries.create import check_round
    from alc_data.workspace.ledger import LEASE_SECONDS

    rnd = check_round(ws, round_no)
    sock = bind_socket(host, port)
    ws.ledger.release_leases(rnd)  # a restarted server continues at the first unanswered query
    port = sock.getsockname()[1]
    token = None if is_loopback(host) else secrets.token_urlsafe(24)
    allowed = allowed_hosts(host, port)
    app = create_app(ws, rnd, annotator=annotator, token=token, allowed_hosts=allowed,
                     lease_seconds=LEASE_SECONDS if lease_seconds is None else lease_seconds)
    url = f"http://{url_host(host)}:{port}/" + (f"?token={token}" if token else "")
    progress = ws.ledger.round_progress(rnd)
    echo(f"round {rnd}: {progress.answered} of {progress.total} queries answered; answer the rest at {url}")
    echo("press Ctrl+C to stop (every answer is already in the ledger); then run "
         f"`{command('correct', '-w', ws.root, '--round', rnd)}` to apply them")
    if open_browser:
        import webbrowser

        webbrowser.open(url)
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()
