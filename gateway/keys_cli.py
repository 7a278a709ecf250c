"""``gateway keys create | list | revoke | rotate``: issued keys in the configured store.

Every command reads ``[gateway] database`` from the configuration, so it works on the same
SQLite file or PostgreSQL database as the servers; they honour a change within their lookup
cache's lifetime (5 s). Keys are printed once, on creation or rotation; listings show key ids.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from gateway.apikeys import issue_key, rotate_key
from gateway.auth import READ_SCOPE
from gateway.config import Settings, load_settings
from gateway.errors import ConfigError
from gateway.store import KeyRecord, Store, open_store

Command = Callable[[argparse.Namespace, Settings, Store], Awaitable[int]]


def add_keys_commands(sub: Any) -> None:
    """Add ``keys`` and its commands to the ``gateway`` parser's subparsers."""
    keys = sub.add_parser("keys", help="manage issued API keys")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)

    create = keys_sub.add_parser("create", help="issue a key (printed once, stored as a digest)")
    create.add_argument("--project", required=True)
    create.add_argument("--scope", action="append", default=None, help=f"default {READ_SCOPE}")
    create.add_argument("--expires-in", type=float, metavar="DAYS", help="default: no expiry")
    _with_config(create, _create)

    listing = keys_sub.add_parser("list", help="issued keys (ids, never secrets)")
    listing.add_argument("--project", help="only this project's keys")
    _with_config(listing, _list)

    revoke = keys_sub.add_parser("revoke", help="refuse a key from now on")
    revoke.add_argument("key_id")
    _with_config(revoke, _revoke)

    rotate = keys_sub.add_parser("rotate", help="issue a replacement and revoke the old key")
    rotate.add_argument("key_id")
    rotate.add_argument(
        "--grace", type=float, default=0.0, metavar="SECONDS", help="keep the old key this long"
    )
    _with_config(rotate, _rotate)


def _with_config(parser: argparse.ArgumentParser, command: Command) -> None:
    parser.add_argument("--config", help="TOML configuration (default: $GATEWAY_CONFIG)")

    def run(args: argparse.Namespace) -> int:
        path = args.config or os.environ.get("GATEWAY_CONFIG")
        if not path:
            raise ConfigError(f"keys {args.keys_command} needs --config FILE or GATEWAY_CONFIG")
        settings = load_settings(path)
        return asyncio.run(_in_store(command, args, settings))

    parser.set_defaults(run=run)


async def _in_store(command: Command, args: argparse.Namespace, settings: Settings) -> int:
    store = open_store(settings.database)
    try:
        return await command(args, settings, store)
    finally:
        await store.close()


async def _create(args: argparse.Namespace, settings: Settings, store: Store) -> int:
    if settings.project(args.project) is None:
        return _fail(f"no project {args.project} in the configuration")
    expires_at = None
    if args.expires_in is not None:
        if not 0 < args.expires_in <= 36_500:
            return _fail("--expires-in must be a number of days from 0 to 36500")
        expires_at = datetime.now(UTC) + timedelta(days=args.expires_in)
    key, record = await issue_key(
        store, args.project, args.scope or [READ_SCOPE], expires_at=expires_at
    )
    print(key)
    print(f"(key {record.key_id}: shown once; only its SHA-256 digest is stored)", file=sys.stderr)
    return 0


async def _list(args: argparse.Namespace, _: Settings, store: Store) -> int:
    header = ("KEY ID", "PROJECT", "SCOPES", "CREATED", "LAST USED", "EXPIRES", "REVOKED")
    rows = [header] + [_row(k) for k in await store.list_keys(args.project)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    return 0


async def _revoke(args: argparse.Namespace, _: Settings, store: Store) -> int:
    if not await store.revoke_key(args.key_id, datetime.now(UTC)):
        return _fail(f"no active key {args.key_id}")
    print(f"revoked {args.key_id}", file=sys.stderr)
    return 0


async def _rotate(args: argparse.Namespace, _: Settings, store: Store) -> int:
    if not 0 <= args.grace <= 30 * 86_400:
        return _fail("--grace must be from 0 to 2592000 seconds (30 days)")
    rotated = await rotate_key(store, args.key_id, grace=timedelta(seconds=args.grace))
    if rotated is None:
        return _fail(f"no active key {args.key_id}")
    key, record, old = rotated
    print(key)
    print(
        f"(key {record.key_id} replaces {old.key_id}, which is refused from "
        f"{_when(old.revoked_at)}; the new key is shown once)",
        file=sys.stderr,
    )
    return 0


def _row(key: KeyRecord) -> tuple[str, ...]:
    return (
        key.key_id,
        key.project_id,
        ",".join(sorted(key.scopes)),
        _when(key.created_at),
        _when(key.last_used_at),
        _when(key.expires_at),
        _when(key.revoked_at),
    )


def _when(at: datetime | None) -> str:
    return "-" if at is None else at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _fail(message: str) -> int:
    print(f"gateway keys: {message}", file=sys.stderr)
    return 2
