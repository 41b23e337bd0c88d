#!/usr/bin/env bash
# Stops every process of the local topology, keeping its directory (logs, stores).
exec "$(dirname "$0")/topology.sh" down "$@"
