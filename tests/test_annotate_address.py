"""``alc-data annotate`` address handling (issue 21, item 9): every loopback address serves the URL it
prints, and a port outside 0..65535 is refused in one line that names --port."""

from __future__ import annotations

import pytest
from cli_helpers import run_cli


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "127.1.2.3", "::1", "localhost"])
def test_every_loopback_address_accepts_requests_to_its_own_url(host):
    from alc_data.annotate.server import allowed_hosts, url_host

    allowed = allowed_hosts(host, 8765)
    assert allowed is not None and f"{url_host(host)}:8765" in allowed
    assert "127.0.0.1:8765" in allowed and "localhost:8765" in allowed


def test_other_addresses_need_the_token():
    from alc_data.annotate.server import allowed_hosts

    assert allowed_hosts("0.0.0.0", 8765) is None and allowed_hosts("192.168.1.5", 8765) is None


@pytest.mark.parametrize("port", [70000, 65536, -1])
def test_a_port_out_of_range_is_refused_naming_the_port(tmp_path, capsys, port):
    from alc_data.testing.annotate import open_round_workspace

    ws = open_round_workspace(tmp_path / "ws", budget=2)
    code, _, err = run_cli(capsys, "annotate", "-w", ws.root, "--port", port)
    assert code == 2 and f"--port {port}" in err and "--host" not in err and len(err.strip().splitlines()) == 1
