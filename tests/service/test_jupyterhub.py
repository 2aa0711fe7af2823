"""papernb serve --hub as a real JupyterHub-managed service: hub tokens resolved through the Hub's API,
an account per hub user on first sight, the access scope checked, names mapped by the documented rule.

A real ``jupyterhub`` (from PyPI) with its configurable-http-proxy (npm; scripts/test.sh installs it),
the DummyAuthenticator; no single-user servers are spawned: the Hub issues tokens for its users through
its REST API, exactly the tokens a user's server would hold.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from papernb.service.hub import hub_account_name

from .conftest import ROOT, free_port

CONFIG = """
import sys
c = get_config()  # noqa
c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = {proxy}
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = {hub}
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{proxy_api}"
c.JupyterHub.authenticator_class = "dummy"
c.Authenticator.allow_all = True
c.JupyterHub.db_url = "sqlite:///{tmp}/hub.sqlite"
c.JupyterHub.cookie_secret_file = "{tmp}/cookie_secret"
c.JupyterHub.pid_file = "{tmp}/hub.pid"
c.JupyterHub.services = [
    {{"name": "papernb", "url": "http://127.0.0.1:{svc}", "cwd": "{root}",
      "command": [sys.executable, "-m", "papernb.cli", "serve", "--hub", "--book", "{tmp}/book.duckdb",
                  "--port", "{svc}", "--feed", "none"]}},
    {{"name": "tester", "api_token": "{tester}"}},
]
c.JupyterHub.load_roles = [
    {{"name": "tester", "scopes": ["admin:users", "tokens"], "services": ["tester"]}},
    {{"name": "user", "scopes": ["self", "access:services!service=papernb"]}},
]
"""


class Hub:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.ports = {k: free_port() for k in ("proxy", "hub", "proxy_api", "svc")}
        self.tester = secrets.token_hex(16)
        (tmp / "jupyterhub_config.py").write_text(CONFIG.format(tmp=tmp, root=ROOT, tester=self.tester,
                                                                **self.ports))
        self.log = open(tmp / "hub.log", "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen([sys.executable, "-m", "jupyterhub", "-f", str(tmp / "jupyterhub_config.py")],
                                     cwd=tmp, stdout=self.log, stderr=subprocess.STDOUT)
        self.api = f"http://127.0.0.1:{self.ports['hub']}/hub/api"
        self.service = f"http://127.0.0.1:{self.ports['svc']}"
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"jupyterhub exited: {(tmp / 'hub.log').read_text()[-3000:]}")
            try:
                if httpx.get(self.service + "/v1/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.3)
        raise AssertionError(f"the hub or its papernb service did not start: {(tmp / 'hub.log').read_text()[-3000:]}")

    def admin(self, method: str, path: str, **kw: object) -> httpx.Response:
        return httpx.request(method, self.api + path, headers={"Authorization": f"token {self.tester}"},
                             timeout=10, **kw)  # type: ignore[arg-type]

    def token_for(self, user: str, scopes: list[str]) -> str:
        assert self.admin("POST", f"/users/{user}").status_code in (201, 409)
        r = self.admin("POST", f"/users/{user}/tokens", json={"scopes": scopes, "note": "papernb test"})
        assert r.status_code == 201, r.text
        return r.json()["token"]

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    if shutil.which("configurable-http-proxy") is None:
        raise RuntimeError("configurable-http-proxy is missing: npm install -g configurable-http-proxy "
                           "(scripts/test.sh does it)")
    h = Hub(tmp_path_factory.mktemp("hub"))
    try:
        yield h
    finally:
        h.stop()


ACCESS = ["access:services!service=papernb"]


def test_two_hub_users_each_get_their_own_account_and_cannot_reach_the_others(hub: Hub) -> None:
    alice, bob = hub.token_for("alice", ACCESS), hub.token_for("bob", ACCESS)
    a = httpx.get(hub.service + "/v1/account", headers={"Authorization": f"token {alice}"})
    b = httpx.get(hub.service + "/v1/account", headers={"Authorization": f"Bearer {bob}"})
    assert (a.status_code, a.json()["account"], a.json()["cash"]) == (200, "alice", "100000.00")
    assert (b.status_code, b.json()["account"]) == (200, "bob")
    o = httpx.post(hub.service + "/v1/orders", headers={"Authorization": f"token {alice}"},
                   json={"symbol": "ZZZ", "side": "buy", "qty": 1}).json()
    assert o["status"] == "REJECTED"  # no quotes on this feed: a business refusal, recorded for alice
    r = httpx.get(hub.service + f"/v1/orders/{o['id']}", headers={"Authorization": f"token {bob}"})
    assert r.status_code == 404
    assert httpx.get(hub.service + "/v1/orders", params={"status": "all"},
                     headers={"Authorization": f"token {bob}"}).json() == []
    # through the Hub's proxy too (the path keeps /services/papernb/)
    proxied = f"http://127.0.0.1:{hub.ports['proxy']}/services/papernb/v1/account"
    deadline = time.monotonic() + 30  # the Hub adds the service's route to its proxy once the service is up
    while True:
        r = httpx.get(proxied, headers={"Authorization": f"token {alice}"})
        if r.status_code != 404 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert r.status_code == 200 and r.json()["account"] == "alice"


def test_a_hub_user_without_the_access_scope_is_refused_and_a_bad_token_is_401(hub: Hub) -> None:
    carol = hub.token_for("carol", ["read:users:name!user"])
    r = httpx.get(hub.service + "/v1/account", headers={"Authorization": f"token {carol}"})
    assert r.status_code == 403 and "access:services!service=papernb" in r.json()["message"]
    r = httpx.get(hub.service + "/v1/account", headers={"Authorization": "token not-a-hub-token"})
    assert r.status_code == 401


def test_hub_names_map_to_accounts_by_the_rule_and_a_collision_is_refused(hub: Hub) -> None:
    jane = hub.token_for("jane.doe", ACCESS)
    r = httpx.get(hub.service + "/v1/account", headers={"Authorization": f"token {jane}"})
    assert r.status_code == 200 and r.json()["account"] == "jane-doe"
    other = hub.token_for("jane-doe", ACCESS)
    r = httpx.get(hub.service + "/v1/account", headers={"Authorization": f"token {other}"})
    assert r.status_code == 403 and "jane.doe" in r.json()["message"] and "jane-doe" in r.json()["message"]


def test_hub_account_name_rule() -> None:
    assert hub_account_name("Jane.Doe@Example.com") == "jane-doe-example-com"
    assert hub_account_name("a" * 40) == "a" * 32
    assert hub_account_name("ops_team-1") == "ops_team-1"
    with pytest.raises(Exception, match="no usable account name"):
        hub_account_name("...")


def test_hub_mode_without_a_hub_says_so_in_one_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTERHUB_")}
    r = subprocess.run([sys.executable, "-m", "papernb.cli", "serve", "--hub", "--book", str(tmp_path / "b.duckdb")],
                       capture_output=True, text=True, cwd=ROOT, env=env, timeout=60)
    assert r.returncode == 1 and "JUPYTERHUB_API_TOKEN" in r.stderr and "Traceback" not in r.stderr
