#!/usr/bin/env bash
# Run the gateway on the embedded sandboxes (fake data, the demo key): `gateway demo`.
# Arguments (--host, --port, --access-log) are passed on. Real APIs: gateway serve --config FILE.
source "$(dirname "${BASH_SOURCE[0]}")/venv.sh"
exec .venv/bin/gateway demo "$@"
