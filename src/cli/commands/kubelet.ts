/**
 * `dinv kubelet`: run a virtual kubelet that makes a Docker API endpoint a Kubernetes node.
 * Everything heavy (@kubernetes/client-node, the kubelet) is imported inside the action so
 * the other commands never pay for it.
 */
import { isIP } from "node:net";
import { InvalidArgumentError, type Command } from "commander";
import type { Taint } from "../../kubelet/kube/types.js";
import { addEndpointOptions, endpointFlags } from "../options.js";
import { packageVersion } from "../version.js";

/** KEY=VALUE:EFFECT or KEY:EFFECT, as kubectl taint writes them. */
export function parseTaint(text: string): Taint {
  const match = /^([A-Za-z0-9][-A-Za-z0-9_./]*)(?:=([^:]*))?:(NoSchedule|PreferNoSchedule|NoExecute)$/.exec(
    text,
  );
  if (!match)
    throw new InvalidArgumentError(
      "give KEY=VALUE:EFFECT with EFFECT NoSchedule, PreferNoSchedule or NoExecute",
    );
  return {
    key: match[1] as string,
    ...(match[2] !== undefined && match[2] !== "" ? { value: match[2] } : {}),
    effect: match[3] as Taint["effect"],
  };
}

export function parseListen(text: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(text);
  const port = Number(match?.[3]);
  if (!match || port > 65535)
    throw new InvalidArgumentError("give ADDR:PORT, e.g. 0.0.0.0:10250 (port 0: any free port)");
  return { host: match[1] ?? (match[2] || "0.0.0.0"), port };
}

/** One --cluster-dns address (an IP literal, as the kubelet's flag takes). */
export function parseClusterDns(text: string, prev: string[] = []): string[] {
  if (!isIP(text)) throw new InvalidArgumentError(`--cluster-dns: "${text}" is not an IP address`);
  return [...prev, text];
}

export function parseAuthorizationMode(text: string): "AlwaysAllow" | "Webhook" {
  if (text === "AlwaysAllow" || text === "Webhook") return text;
  throw new InvalidArgumentError("give AlwaysAllow or Webhook");
}

export function parsePodNetwork(text: string): "direct" | "relay" {
  if (text === "direct" || text === "relay") return text;
  throw new InvalidArgumentError("give direct or relay");
}

function nonNegative(what: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < 0)
      throw new InvalidArgumentError(`${what} must be a number of seconds, 0 or more`);
    return n;
  };
}

function positive(what: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${what} must be a positive integer`);
    return n;
  };
}

export function defineKubelet(program: Command): void {
  addEndpointOptions(
    program
      .command("kubelet")
      .description(
        "run a virtual kubelet: the endpoint becomes a Kubernetes node and runs the pods scheduled to it",
      )
      .option("--kubeconfig <file>", "kubeconfig of the cluster (default: KUBECONFIG or ~/.kube/config)")
      .requiredOption("--node-name <name>", "name of the node to register"),
  )
    .option(
      "--taint <key=value:effect>",
      "taint of the node, repeatable (default: virtual-kubelet.io/provider=vic:NoSchedule)",
      (v: string, prev: Taint[] = []) => [...prev, parseTaint(v)],
    )
    .option("--pods <n>", "pod capacity (default: the endpoint's memory / 2 GiB)", positive("--pods"))
    .option("--pod-sync-workers <n>", "pods reconciled at once", positive("--pod-sync-workers"), 10)
    .option("--listen <addr:port>", "address of the kubelet API", parseListen, {
      host: "0.0.0.0",
      port: 10250,
    })
    .option(
      "--node-ip <ip>",
      "the node's InternalIP and pods' hostIP (default: the endpoint's or this machine's)",
    )
    .option(
      "--cluster-dns <ip>",
      "DNS server of pods with dnsPolicy ClusterFirst, repeatable (default: none; they fall back to Default)",
      parseClusterDns,
    )
    .option("--cluster-domain <domain>", "the cluster's DNS domain, for pods' search paths", "cluster.local")
    .option("--infra-image <ref>", "image of pods' infra containers (default: dinv's built-in pause image)")
    .option(
      "--pod-network <mode>",
      "how port-forward and tcp/http probes reach pods: direct (dial the pod IP) or relay (a forwarder exec'd in the pod's infra container, for a kubelet that cannot route to pod IPs)",
      parsePodNetwork,
      "direct",
    )
    .option(
      "--volume-refresh <seconds>",
      "how often changed configMaps, secrets and tokens reach running pods' volumes (0: never)",
      nonNegative("--volume-refresh"),
      10,
    )
    .option("--tls-cert <file>", "serving certificate of the kubelet API (default: issued by dinv's CA)")
    .option("--tls-key <file>", "key of --tls-cert")
    .option("--client-ca <file>", "CA whose client certificates may use the kubelet API (the API server's)")
    .option("--authn-webhook", "accept bearer tokens, checked with the API server's TokenReview")
    .option("--anonymous-auth", "let requests without credentials in as system:anonymous")
    .option(
      "--authorization-mode <mode>",
      "AlwaysAllow, or Webhook (SubjectAccessReview) (default: Webhook with --authn-webhook, else AlwaysAllow)",
      parseAuthorizationMode,
    )
    .action(async (opts: Record<string, unknown>) => {
      const { runKubeletCommand } = await import("../../kubelet/command.js");
      await runKubeletCommand({
        kubeconfig: opts.kubeconfig as string | undefined,
        nodeName: opts.nodeName as string,
        endpoint: endpointFlags(opts),
        taints: opts.taint as Taint[] | undefined,
        pods: opts.pods as number | undefined,
        workers: opts.podSyncWorkers as number,
        listen: opts.listen as { host: string; port: number },
        nodeIP: opts.nodeIp as string | undefined,
        infraImage: opts.infraImage as string | undefined,
        podNetwork: opts.podNetwork as "direct" | "relay",
        clusterDns: (opts.clusterDns as string[] | undefined) ?? [],
        clusterDomain: opts.clusterDomain as string,
        volumeRefreshSeconds: opts.volumeRefresh as number,
        kubeletVersion: `dinv-${packageVersion()}`,
        security: {
          ...(opts.tlsCert ? { tlsCertFile: opts.tlsCert as string } : {}),
          ...(opts.tlsKey ? { tlsKeyFile: opts.tlsKey as string } : {}),
          ...(opts.clientCa ? { clientCaFile: opts.clientCa as string } : {}),
          authnWebhook: opts.authnWebhook === true,
          anonymous: opts.anonymousAuth === true,
          authorization:
            (opts.authorizationMode as "AlwaysAllow" | "Webhook" | undefined) ??
            (opts.authnWebhook === true ? "Webhook" : "AlwaysAllow"),
        },
      });
    });
}
