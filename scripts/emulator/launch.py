"""Run moto's server with Firebreak's AWS-fidelity patches (scripts/emulator/patches.py).

    python scripts/emulator/launch.py [--host 127.0.0.1] [--port 4566]

Host and port default to $FIREBREAK_EMULATOR_HOST / $FIREBREAK_EMULATOR_PORT, then
127.0.0.1:4566. Besides every AWS API moto serves, the server answers

    GET /firebreak/emulator  ->  {"firebreak": true, "patches": [...], "moto": "5.2.5"}

so scripts can tell this server from a plain moto_server (or anything else) on the port.
That route is a WSGI middleware around moto's DomainDispatcherApplication: no moto
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

IDENTITY_PATH = "/firebreak/emulator"

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def with_identity_route(app: WsgiApp, identity: dict[str, Any]) -> WsgiApp:
    body = json.dumps(identity).encode("utf-8")

    def firebreak_emulator_app(
        environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
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
