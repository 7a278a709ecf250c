#!/usr/bin/env bash
# Run the gateway. With no configuration it serves the embedded sandboxes and a demo project.
source "$(dirname "${BASH_SOURCE[0]}")/venv.sh"
exec .venv/bin/gateway serve "$@"
