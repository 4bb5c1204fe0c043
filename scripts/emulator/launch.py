"""Run moto's server with Firebreak's AWS-fidelity patches (scripts/emulator/patches.py).

    python scripts/emulator/launch.py [--host 127.0.0.1] [--port 4566]

Host and port default to $FIREBREAK_EMULATOR_HOST / $FIREBREAK_EMULATOR_PORT, then
127.0.0.1:4566. Besides every AWS API moto serves, the server answers

    GET /firebreak/emulator  ->  {"firebreak": true, "patches": [...], "moto": "5.2.5"}

so scripts can tell this server from a plain moto_server (or anything else) on the port, and

    POST /firebreak/service-credentials  {"roleArn": "...", "service": "lambda.amazonaws.com",
                                          "sessionName": "<function name>"}
      ->  200 {"AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration", "AssumedRoleId", "Arn"}
      ->  403 {"error": "..."} unless the role exists and its trust policy trusts that service

which mints a role's credentials as the service would (`firebreak local drain` plays Lambda with
it: each function runs as its execution role, which no user may assume). Emulator-only.
Those routes are a WSGI middleware around moto's DomainDispatcherApplication: no moto
routing code is touched, and every other request reaches moto unchanged.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from collections.abc import Callable, Iterable
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import patches  # noqa: E402  (the directory above must be on sys.path first)
import trust  # noqa: E402

IDENTITY_PATH = "/firebreak/emulator"
SERVICE_CREDENTIALS_PATH = "/firebreak/service-credentials"

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def _json(start_response: Callable[..., Any], status: str, payload: Any) -> Iterable[bytes]:
    body = json.dumps(payload).encode("utf-8")
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def service_credentials(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """Mints a role's credentials for a service principal its trust policy trusts (403 otherwise)."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        request = json.loads(environ["wsgi.input"].read(length) or b"{}")
        role_arn, service, session_name = request["roleArn"], request["service"], request["sessionName"]
        duration = int(request.get("durationSeconds", 3600))
    except (KeyError, ValueError, TypeError) as error:
        return _json(start_response, "400 Bad Request", {"error": f"expected JSON with roleArn, service, sessionName: {error}"})
    try:
        return _json(start_response, "200 OK", trust.mint_service_session(role_arn, service, session_name, duration))
    except trust.ServiceMayNotAssume as error:
        return _json(start_response, "403 Forbidden", {"error": str(error)})


def with_identity_route(app: WsgiApp, identity: dict[str, Any]) -> WsgiApp:
    body = json.dumps(identity).encode("utf-8")

    def firebreak_emulator_app(
        environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == SERVICE_CREDENTIALS_PATH and environ.get("REQUEST_METHOD") == "POST":
            return service_credentials(environ, start_response)
        if environ.get("PATH_INFO") == IDENTITY_PATH and environ.get(
            "REQUEST_METHOD"
        ) in ("GET", "HEAD"):
            start_response(
                "200 OK",
                [
                    ("Content-Type", "application/json"),
                    ("Content-Length", str(len(body))),
                ],
            )
            return [] if environ["REQUEST_METHOD"] == "HEAD" else [body]
        return app(environ, start_response)

    return firebreak_emulator_app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--host", default=os.environ.get("FIREBREAK_EMULATOR_HOST", "127.0.0.1")
    )
    parser.add_argument(
        "--port", type=int, default=int(os.environ.get("FIREBREAK_EMULATOR_PORT", "4566"))
    )
    args = parser.parse_args(argv)

    # moto sends some requests to itself (e.g. S3 presigned flows) on MOTO_PORT.
    os.environ["MOTO_PORT"] = str(args.port)

    applied = patches.apply()

    import moto
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import run_simple

    identity = {"firebreak": True, "patches": applied, "moto": moto.__version__}
    app = with_identity_route(DomainDispatcherApplication(create_backend_app), identity)

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(
        f"Firebreak emulator: moto {moto.__version__} with patches {', '.join(applied)} "
        f"on http://{args.host}:{args.port}",
        flush=True,
    )
    run_simple(
        args.host,
        args.port,
        app,
        threaded=True,
        use_reloader=False,
        request_handler=MotoRequestHandler,
    )


if __name__ == "__main__":
    main()
