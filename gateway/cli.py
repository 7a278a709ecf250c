"""Command line: serve, demo, sandbox, keys, export-schema."""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import sys
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import uvicorn
from prometheus_client import start_http_server
from starlette.applications import Starlette

from gateway.app import create_app
from gateway.config import load_settings
from gateway.errors import ConfigError, StoreUnavailableError
from gateway.keys_cli import add_keys_commands
from gateway.observability.logs import configure_logging, configured_secrets

# Only the sandboxes' flags: the sandboxes themselves (seeds, three platform apps, PyJWT to
# check Apple's client secrets; 10 MiB resident) are imported by the commands that serve them.
from gateway.sandbox.control import (
    DEFAULT_THROTTLE_REGAIN_MINUTES,
    check_regain_minutes,
    parse_fault_kinds,
)
from gateway.schema import export_sdl
from gateway.serving import server_options
from gateway.store import open_store

if TYPE_CHECKING:
    from opentelemetry.trace import TracerProvider


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``gateway`` command."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        result: int = args.run(args)
    except ConfigError as exc:
        print(f"gateway: configuration error: {exc.message}", file=sys.stderr)
        return 2
    except StoreUnavailableError as exc:
        print(f"gateway: database unavailable: {exc.detail}", file=sys.stderr)
        return 2
    return result


NO_CONFIGURATION = (
    "no configuration: pass --config FILE or set GATEWAY_CONFIG; to run on the embedded "
    "sandboxes (fake data, demo key) say so: gateway serve --sandbox, or gateway demo"
)


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows defaults, except the empty ones ("default: None" on a flag says nothing)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None or action.default is False:
            return action.help
        return super()._get_help_string(action)


def _parser() -> argparse.ArgumentParser:
    formatter = _HelpFormatter
    parser = argparse.ArgumentParser(prog="gateway", description=__doc__, formatter_class=formatter)
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", required=True)

    def command(name: str, help: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help, description=help, formatter_class=formatter)

    serve = command("serve", "run the gateway on its configuration (or --sandbox)")
    serve.add_argument(
        "--config", metavar="FILE", help="TOML configuration (default: $GATEWAY_CONFIG)"
    )
    serve.add_argument(
        "--sandbox",
        action="store_true",
        help="no configuration: serve the embedded sandboxes and the demo project",
    )
    _add_listen_arguments(serve)
    serve.set_defaults(run=_serve)

    demo = command("demo", "run the gateway on the embedded sandboxes (same as serve --sandbox)")
    _add_listen_arguments(demo)
    demo.set_defaults(run=_serve, sandbox=True, config=None)

    sandbox = command("sandbox", "serve the Meta, TikTok and Apple sandboxes")
    sandbox.add_argument("--host", default="127.0.0.1", help="interface to listen on")
    sandbox.add_argument("--port", type=int, default=8100, help="port to listen on")
    sandbox.add_argument("--write-config", metavar="FILE", help="write a gateway config for them")
    sandbox.add_argument("--latency-ms", type=float, default=0.0, help="added to every request")
    sandbox.add_argument("--fault-rate", type=float, default=0.0, help="fraction of requests")
    sandbox.add_argument(
        "--faults",
        default="500,throttle,malformed,slow,drop",
        help="fault kinds to inject (500, throttle, malformed, slow, drop, auth)",
    )
    sandbox.add_argument("--large-adsets", type=int, default=1200, help="size of large accounts")
    sandbox.add_argument(
        "--throttle-regain-minutes",
        type=int,
        default=DEFAULT_THROTTLE_REGAIN_MINUTES,
        help="how long an injected throttle tells the caller to wait (Meta, 0-1440)",
    )
    sandbox.set_defaults(run=_sandbox)

    add_keys_commands(sub)

    export = command("export-schema", "print the GraphQL schema (SDL)")
    export.add_argument("--output", help="write to this file instead of stdout")
    export.set_defaults(run=_export_schema)
    return parser


def _add_listen_arguments(parser: argparse.ArgumentParser) -> None:
    # Loopback unless told: a sandbox (or a half-configured gateway) is never exposed by
    # accident; containers pass --host 0.0.0.0.
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on")
    parser.add_argument("--port", type=int, default=8000, help="port to listen on")
    parser.add_argument(
        "--access-log",
        action="store_true",
        help="also write uvicorn's access log (the gateway logs every request as JSON anyway)",
    )
    parser.add_argument(
        "--log-level", default="info", choices=["debug", "info", "warning", "error"]
    )
    parser.add_argument(
        "--log-format",
        default="json",
        choices=["json", "text"],
        help="one JSON object per line, or plain text for a terminal",
    )
    parser.add_argument(
        "--metrics-port",
        type=int,
        metavar="N",
        help="serve /metrics on this port (same --host) instead of the main port",
    )
    parser.add_argument(
        "--tracing",
        action="store_true",
        help="OpenTelemetry spans (needs the otel extra): to OTLP when its exporter is "
        "installed, else to stderr",
    )


def _version() -> str:
    try:
        return metadata.version("adset-gateway")
    except metadata.PackageNotFoundError:  # running from a source tree that is not installed
        return "unknown"


def _config_path(args: argparse.Namespace) -> str | None:
    path: str | None = args.config or os.environ.get("GATEWAY_CONFIG")
    return path


def build_demo_app(**options: Any) -> tuple[Starlette, str]:
    """The gateway over the embedded sandboxes, and the demo key it accepts (``options``:
    more of ``create_app``'s)."""
    from gateway.sandbox.suite import SandboxSuite, demo_key

    suite = SandboxSuite.build()
    key = demo_key()
    app = create_app(suite.settings(), transport=suite.transport(), demo_key=key, **options)
    return app, key


def _serve(args: argparse.Namespace) -> int:
    path = _config_path(args)
    if args.sandbox and path:
        # Fail closed: a configured gateway never serves fakes, not even when asked twice.
        raise ConfigError("--sandbox serves fake data; it cannot be combined with a configuration")
    options: dict[str, Any] = {
        "metrics_route": args.metrics_port is None,
        "tracer_provider": _tracer_provider() if args.tracing else None,
    }
    if path:
        settings = load_settings(path)
        configure_logging(args.log_level, args.log_format, configured_secrets(settings))
        # Connect and migrate before serving: an unreachable database is exit 2, not a
        # server that answers 503 to everything.
        asyncio.run(_prepare_store(settings.database))
        app = create_app(settings, **options)
        print(
            f"gateway: serving {len(settings.projects)} project(s) on http://{args.host}:{args.port}"
        )
    elif args.sandbox:
        app, key = build_demo_app(**options)
        settings = app.state.runtime.settings
        configure_logging(args.log_level, args.log_format, configured_secrets(settings))
        _print_sandbox_banner(args.host, args.port, key)
    else:
        raise ConfigError(NO_CONFIGURATION)
    if args.metrics_port is not None:
        # A thread of prometheus-client's own: scrapes never queue behind API requests, and
        # the port can stay private while the main one is exposed.
        server, _ = start_http_server(
            args.metrics_port, addr=args.host, registry=app.state.metrics.registry
        )
        app.state.metrics_server = server
        print(f"gateway: metrics on http://{args.host}:{server.server_port}/metrics", flush=True)
    settle_heap()
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        access_log=args.access_log,
        log_config=None,  # uvicorn's records go through the gateway's JSON, redacting handler
        **server_options(),
    )
    return 0


def _tracer_provider() -> TracerProvider:
    try:
        from gateway.observability.tracing import sdk_provider

        return sdk_provider()
    except ImportError as exc:
        raise ConfigError(
            "--tracing needs the otel extra: pip install 'adset-gateway[otel]'"
        ) from exc


async def _prepare_store(database: str) -> None:
    store = open_store(database)
    try:
        await store.open()
    finally:
        await store.close()


#: Net container allocations between two gen-0 collections. A collection traverses what is
#: alive at that moment, which mid-request includes the whole page in the making (its
#: upstream JSON, its GraphQL result); at 10,000 a cold nested GraphQL walk spent 0.55-0.7 ms
#: a page collecting, at 50,000 about 0.3. RSS after the bench's 180,000-row walk stayed
#: within a megabyte (121-122 MiB): what survives a page is cached rows, not garbage cycles.
GEN0_THRESHOLD = 50_000


def settle_heap() -> None:
    """Keep the cycle collector off the request path.

    A page allocates tens of thousands of short-lived containers; at CPython's default gen-0
    threshold (700) they are traversed and promoted many times a page, ~6% of the serving CPU
    measured here. Objects alive at start-up (modules, schema, seeds) are frozen out of every
    collection, and gen 0 is collected every ``GEN0_THRESHOLD`` allocations instead.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(GEN0_THRESHOLD, 20, 20)


def _print_sandbox_banner(host: str, port: int, key: str) -> None:
    from gateway.sandbox.suite import DEMO_PROJECT_ID

    base = f"http://{host}:{port}"
    print(
        "gateway: SANDBOX MODE: serving the embedded sandboxes (Meta, TikTok, Apple) with fake\n"
        "  data; every response carries X-Gateway-Mode: sandbox. Not for production.\n"
        f"  demo project: {DEMO_PROJECT_ID}\n"
        f"  demo API key: {key}   (set GATEWAY_SANDBOX_KEY to choose another)\n"
        f"  REST:     curl '{base}/v1/projects/{DEMO_PROJECT_ID}/ads/adsets?status=active&limit=5'"
        f" -H 'Authorization: Bearer {key}'\n"
        f"  GraphiQL: {base}/graphql (open in a browser)\n"
        f"  Docs:     {base}/docs (REST, try it out)\n"
        f"  OpenAPI:  {base}/openapi.json",
        flush=True,
    )


def _sandbox(args: argparse.Namespace) -> int:
    try:
        faults = parse_fault_kinds(args.faults)
        check_regain_minutes(args.throttle_regain_minutes)
    except ValueError as exc:
        print(f"gateway sandbox: {exc}", file=sys.stderr)
        return 2
    if not 0.0 <= args.fault_rate <= 1.0:
        print("gateway sandbox: --fault-rate must be between 0 and 1", file=sys.stderr)
        return 2
    from gateway.sandbox.suite import SandboxSuite

    suite = SandboxSuite.build(
        large_adsets=args.large_adsets,
        latency_ms=args.latency_ms,
        fault_rate=args.fault_rate,
        faults=faults,
        throttle_regain_minutes=args.throttle_regain_minutes,
    )
    if args.write_config:
        Path(args.write_config).write_text(
            suite.config_toml(f"http://{args.host}:{args.port}"), encoding="utf-8"
        )
        print(f"gateway sandbox: wrote {args.write_config}", flush=True)
    uvicorn.run(suite.app, host=args.host, port=args.port, log_level="warning")
    return 0


def _export_schema(args: argparse.Namespace) -> int:
    sdl = export_sdl()
    if args.output:
        Path(args.output).write_text(sdl, encoding="utf-8")
    else:
        sys.stdout.write(sdl)
    return 0
