#!/usr/bin/env bash
# Starts Payrail's local topology (deploy/local/topology.sh up): prints the URLs.
exec "$(dirname "$0")/topology.sh" up "$@"
