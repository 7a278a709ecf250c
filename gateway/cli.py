"""Command line: serve, sandbox, keys, export-schema."""

from __future__ import annotations

import argparse
import gc
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import uvicorn

from gateway.app import create_app
from gateway.auth import READ_SCOPE, digest_key, new_key
from gateway.config import Settings, load_settings
from gateway.errors import ConfigError
from gateway.sandbox.control import (
    DEFAULT_THROTTLE_REGAIN_MINUTES,
    check_regain_minutes,
    parse_fault_kinds,
)
from gateway.sandbox.suite import DEMO_PROJECT_ID, SandboxSuite, demo_key
from gateway.schema import export_sdl
from gateway.store import Store


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``gateway`` command."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        result: int = args.run(args)
    except ConfigError as exc:
        print(f"gateway: configuration error: {exc.message}", file=sys.stderr)
        return 2
    return result


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gateway", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the gateway (on the sandboxes when unconfigured)")
    serve.add_argument("--config", help="TOML configuration (default: $GATEWAY_CONFIG)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--access-log", action="store_true", help="log every request")
    serve.set_defaults(run=_serve)

    sandbox = sub.add_parser("sandbox", help="serve the Meta, TikTok and Apple sandboxes")
    sandbox.add_argument("--host", default="127.0.0.1")
    sandbox.add_argument("--port", type=int, default=8100)
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

    keys = sub.add_parser("keys", help="manage API keys")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    create = keys_sub.add_parser("create", help="issue a key (printed once, stored as a digest)")
    create.add_argument("--project", required=True)
    create.add_argument("--scope", action="append", default=None, help=f"default {READ_SCOPE}")
    create.add_argument("--config", help="TOML configuration (default: $GATEWAY_CONFIG)")
    create.set_defaults(run=_keys_create)

    export = sub.add_parser("export-schema", help="print the GraphQL schema (SDL)")
    export.add_argument("--output", help="write to this file instead of stdout")
    export.set_defaults(run=_export_schema)
    return parser


def _config_path(args: argparse.Namespace) -> str | None:
    path: str | None = args.config or os.environ.get("GATEWAY_CONFIG")
    return path


def _serve(args: argparse.Namespace) -> int:
    path = _config_path(args)
    if path:
        settings = load_settings(path)
        app = create_app(settings)
        print(
            f"gateway: serving {len(settings.projects)} project(s) on http://{args.host}:{args.port}"
        )
    else:
        suite = SandboxSuite.build()
        key = demo_key()
        app = create_app(suite.settings(), transport=suite.transport(), demo_key=key)
        _print_sandbox_banner(args.host, args.port, key)
    _settle_heap()
    uvicorn.run(app, host=args.host, port=args.port, log_level="info", access_log=args.access_log)
    return 0


def _settle_heap() -> None:
    """Keep the cycle collector off the request path.

    A page allocates tens of thousands of short-lived containers; at CPython's default gen-0
    threshold (700) they are traversed and promoted many times a page, ~6% of the serving CPU
    measured here. Objects alive at start-up (modules, schema, seeds) are frozen out of every
    collection, and gen 0 is collected every 10,000 allocations instead (more would hold
    garbage cycles longer: peak memory grew 10% with 50,000).
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 20, 20)


def _print_sandbox_banner(host: str, port: int, key: str) -> None:
    base = f"http://{host}:{port}"
    print(
        "gateway: no configuration, serving the embedded sandboxes (Meta, TikTok, Apple)\n"
        f"  demo project: {DEMO_PROJECT_ID}\n"
        f"  demo API key: {key}   (set GATEWAY_SANDBOX_KEY to choose another)\n"
        f"  REST:     curl '{base}/v1/projects/{DEMO_PROJECT_ID}/ads/adsets?status=active&limit=5'"
        f" -H 'Authorization: Bearer {key}'\n"
        f"  GraphiQL: {base}/graphql (open in a browser)\n"
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


def _keys_create(args: argparse.Namespace) -> int:
    path = _config_path(args)
    if not path:
        raise ConfigError("keys create needs --config FILE or GATEWAY_CONFIG")
    settings: Settings = load_settings(path)
    if settings.project(args.project) is None:
        print(f"gateway keys: no project {args.project} in {path}", file=sys.stderr)
        return 2
    key = new_key()
    store = Store(settings.database_path)
    try:
        store.add_key(digest_key(key), args.project, args.scope or [READ_SCOPE])
    finally:
        store.close()
    print(key)
    print("(shown once; only its SHA-256 digest is stored)", file=sys.stderr)
    return 0


def _export_schema(args: argparse.Namespace) -> int:
    sdl = export_sdl()
    if args.output:
        Path(args.output).write_text(sdl, encoding="utf-8")
    else:
        sys.stdout.write(sdl)
    return 0
