#!/usr/bin/env bash
# Rebuild the relay binary and print it as base64 (paste into src/kubelet/provider/relay-binary.ts).
set -euo pipefail
cd "$(dirname "$0")"
gcc -Os -static -nostdlib -fno-stack-protector -fno-asynchronous-unwind-tables -fno-pie -no-pie \
  -Wl,--build-id=none,-n -s -o dinv-relay relay.c
strip -R .comment dinv-relay
base64 -w0 dinv-relay
echo
