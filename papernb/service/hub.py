"""Behind JupyterHub: ``papernb serve --hub`` runs as a Hub-managed service.

The Hub starts the service with ``JUPYTERHUB_API_TOKEN``, ``JUPYTERHUB_API_URL``,
``JUPYTERHUB_SERVICE_NAME`` and ``JUPYTERHUB_SERVICE_PREFIX`` in its environment.  A request's
token (the ``$JUPYTERHUB_API_TOKEN`` of a user's own server, or any token the Hub issued) is
resolved by the Hub's API (``jupyterhub.services.auth.HubAuth``); the user needs the scope
``access:services!service=<name>`` (JupyterHub does not enforce it for us: we check it).  Each
hub user is bound to an account named by :func:`hub_account_name`, created with the starting
cash on first sight.
"""

from __future__ import annotations

import os
import re
from typing import Any

from ..errors import ConfigError, InvalidInput

__all__ = ["HubAuthAdapter", "hub_account_name", "strip_prefix"]

_OUTSIDE = re.compile(r"[^a-z0-9_-]")


def hub_account_name(hub_name: str) -> str:
    """The account of a hub user: lower-cased; characters outside ``a-z 0-9 _ -`` become ``-``; cut to 32.

    ``Jane.Doe@example.com`` -> ``jane-doe-example-com``.  Two hub users whose names map to the
    same account are refused (the second is told whose account it is).
    """
    name = _OUTSIDE.sub("-", hub_name.strip().lower())[:32]
    if not name.strip("-"):
        raise InvalidInput(f"hub user {hub_name!r} gives no usable account name")
    return name


class HubAuthAdapter:
    """Resolves hub tokens to papernb users (cached by HubAuth for a few minutes)."""

    def __init__(self) -> None:
        self.check_environment()
        from jupyterhub.services.auth import HubAuth

        self.auth = HubAuth()

    @staticmethod
    def check_environment() -> None:
        missing = [v for v in ("JUPYTERHUB_API_TOKEN", "JUPYTERHUB_API_URL") if not os.environ.get(v)]
        if missing:
            raise ConfigError(f"papernb serve --hub runs as a JupyterHub-managed service, but {', '.join(missing)} "
                              f"is not set: declare it in c.JupyterHub.services (docs/service.md)")
        try:
            import jupyterhub  # noqa: F401
        except ImportError:
            raise ConfigError("papernb serve --hub needs jupyterhub: pip install jupyterhub") from None

    async def user_for_token(self, token: str, users: Any) -> Any:
        """The papernb user for a hub token, or None; InvalidInput when the hub user may not use papernb."""
        model = await self.auth.user_for_token(token, sync=False)
        if not model or model.get("kind", "user") != "user" or not model.get("name"):
            return None
        if not self.auth.check_scopes(self.auth.access_scopes, model):
            raise InvalidInput(f"hub user {model['name']!r} has no access to this service (the scope "
                               f"{max(self.auth.access_scopes, key=len)} is needed: c.Spawner.server_token_scopes / roles)")
        return users.ensure_hub_user(hub_account_name(model["name"]), model["name"])


def strip_prefix(app: Any, prefix: str) -> Any:
    """ASGI: serve ``app`` at ``/`` and under ``prefix`` (the Hub's proxy keeps /services/NAME/ in the path)."""
    prefix = "/" + prefix.strip("/")

    async def wrapped(scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] in ("http", "websocket"):
            path = scope.get("path", "")
            if path == prefix or path.startswith(prefix + "/"):
                scope = dict(scope, path=path[len(prefix):] or "/", root_path=scope.get("root_path", "") + prefix)
        await app(scope, receive, send)

    return wrapped
