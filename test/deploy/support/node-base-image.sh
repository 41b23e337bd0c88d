#!/usr/bin/env bash
# Makes a stand-in for the Dockerfile's NODE_IMAGE on a machine that reaches Debian's packages but no
# container registry: a minimal Debian bookworm (debootstrap) with this machine's Node 20 and npm.
# Prints the image name. Reuses the image when it exists. Needs root, podman and debootstrap.
set -euo pipefail

image="${1:-localhost/payrail-node-base:20}"
if podman image exists "$image"; then
  echo "$image"
  exit 0
fi

node_bin="$(command -v node)"
node_major="$("$node_bin" -p 'process.versions.node.split(".")[0]')"
if [ "$node_major" != "20" ]; then
  echo "node-base-image: this machine's node is $("$node_bin" --version), the image needs Node 20" >&2
  exit 1
fi
npm_dir="$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")"

rootfs="$(mktemp -d /tmp/payrail-node-base.XXXXXX)"
trap 'rm -rf "$rootfs"' EXIT
# libstdc++6 for node itself; ca-certificates so npm reaches the registry over TLS.
debootstrap --variant=minbase --include=libstdc++6,ca-certificates bookworm "$rootfs" http://deb.debian.org/debian >&2
install -D -m 0755 "$node_bin" "$rootfs/usr/local/bin/node"
mkdir -p "$rootfs/usr/local/lib/node_modules"
cp -a "$npm_dir" "$rootfs/usr/local/lib/node_modules/npm"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
# The certificate authorities this machine trusts: its network may reach the npm registry through a
# TLS-inspecting proxy whose CA only the local trust store holds.
cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/ca-certificates.crt"
rm -rf "$rootfs/var/cache/apt/archives"/*.deb "$rootfs/var/lib/apt/lists"/*
# Node reads its own CA list, not the system's, unless told to add the system's.
tar -C "$rootfs" -c . | podman import --change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' --change 'CMD ["node"]' - "$image" >&2
echo "$image"
