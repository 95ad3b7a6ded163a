#!/usr/bin/env bash
# The docker-CLI floor for `dinv create`: what a person scripting it with the tools of the
# trade would run — openssl for an EC P-256 server certificate, `docker volume create`,
# `docker create` (same image, same explicit privilege flags, a published loopback port),
# `docker cp` of daemon.json and the certificates before start, `docker start`, then the docker
# CLI polled until a TLS-verified answer. BENCHMARKS.md part 1 times it from spawn to exit.
#
#   cli-floor.sh NAME IMAGE PKI_DIR HOST_DIR PORT RUN_ID [reuse-volume]
# DOCKER_HOST names the engine. PKI_DIR holds ca.pem, ca-key.pem, cert.pem, key.pem and
# server.cnf (bench/lib/pki.ts). Prints "polls N" on the last line.
set -euo pipefail
name=$1 image=$2 pki=$3 dir=$4 port=$5 run_id=$6 reuse=${7:-}
container="floor-$name" volume="floor-$name-cache"
labels=(--label "io.dinv.host=$name" --label io.dinv.personality=docker --label "io.dinv.bench=$run_id")

openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$dir/certs/server/key.pem" \
  -out "$dir/certs/server/cert.pem" -days 1080 -config "$pki/server.cnf" \
  -CA "$pki/ca.pem" -CAkey "$pki/ca-key.pem" 2>/dev/null
cp "$pki/ca.pem" "$dir/certs/server/ca.pem"

[ -n "$reuse" ] || docker volume create "${labels[@]}" --label io.dinv.role=cache "$volume" >/dev/null
# The explicit rights of src/engine/container-rights.ts (EXPLICIT_PRIVILEGE), as CLI flags.
docker create --name "$container" "${labels[@]}" --label io.dinv.role=host --hostname "$name" \
  --cap-add ALL --cap-drop SYS_RESOURCE --security-opt seccomp=unconfined \
  --security-opt systempaths=unconfined --device-cgroup-rule 'a *:* rwm' --cgroupns private \
  --restart unless-stopped -v "$volume:/var/lib/docker" -p "127.0.0.1:$port:2376" "$image" >/dev/null
tar -C "$dir" -c etc certs | docker cp - "$container:/"
docker start "$container" >/dev/null

polls=0
until
  polls=$((polls + 1))
  docker --tlsverify --tlscacert "$pki/ca.pem" --tlscert "$pki/cert.pem" --tlskey "$pki/key.pem" \
    -H "tcp://127.0.0.1:$port" version --format '{{.Server.Version}}' >/dev/null 2>&1
do
  [ "$polls" -lt 3000 ] || { echo "127.0.0.1:$port never answered over TLS" >&2; exit 1; }
  sleep 0.01
done
echo "polls $polls"
