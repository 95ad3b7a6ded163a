/**
 * The kubelet command's body, kept out of src/cli so the CLI module stays thin: resolve the
 * endpoint and kubeconfig, start, and on SIGTERM/SIGINT stop gracefully (node NotReady, pods
 * left running for the next start to take over).
 */
import { resolveEndpoint, type EndpointFlags } from "../engine/resolve.js";
import { DEFAULT_TAINT, startKubelet, type KubeletSecurity } from "./kubelet.js";
import type { Taint } from "./kube/types.js";
import { defaultNodeIP } from "./node-ip.js";
import { DEFAULT_CLUSTER_DOMAIN } from "./provider/dns.js";
import { loadKubeConfig, RestKubeApi } from "./kube/rest-api.js";

export interface KubeletCommandOptions {
  kubeconfig?: string;
  nodeName: string;
  endpoint: EndpointFlags;
  taints?: Taint[];
  pods?: number;
  workers: number;
  listen: { host: string; port: number };
  nodeIP?: string;
  infraImage?: string;
  podNetwork?: "direct" | "relay";
  clusterDns?: string[];
  clusterDomain?: string;
  kubeletVersion: string;
  volumeRefreshSeconds?: number;
  security: Omit<KubeletSecurity, "issuer">;
}

function log(message: string): void {
  process.stderr.write(`${new Date().toISOString()} ${message}\n`);
}

export async function runKubeletCommand(options: KubeletCommandOptions): Promise<void> {
  const endpoint = resolveEndpoint(options.endpoint);
  const api = new RestKubeApi(loadKubeConfig(options.kubeconfig));
  const kubelet = await startKubelet({
    api,
    security: {
      ...options.security,
      // Without --tls-cert the serving certificate comes from dinv's CA (created on first use).
      issuer: async () => {
        const { HostStore } = await import("../store/host-store.js");
        return (await new HostStore().certificates()).ca;
      },
    },
    endpoint,
    nodeName: options.nodeName,
    taints: options.taints ?? [DEFAULT_TAINT],
    ...(options.pods ? { pods: options.pods } : {}),
    workers: options.workers,
    listenHost: options.listen.host,
    listenPort: options.listen.port,
    nodeIP: options.nodeIP ?? defaultNodeIP(endpoint),
    kubeletVersion: options.kubeletVersion,
    ...(options.infraImage ? { infraImage: options.infraImage } : {}),
    ...(options.podNetwork ? { podNetwork: options.podNetwork } : {}),
    ...(options.clusterDns?.length
      ? {
          clusterDns: {
            servers: options.clusterDns,
            domain: options.clusterDomain ?? DEFAULT_CLUSTER_DOMAIN,
          },
        }
      : {}),
    ...(options.volumeRefreshSeconds !== undefined
      ? { volumeRefreshMs: options.volumeRefreshSeconds * 1000 }
      : {}),
    log,
  });
  log(
    `node ${options.nodeName} registered; endpoint ${endpoint.url}; kubelet API on ${options.listen.host}:${kubelet.port}`,
  );
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once("SIGTERM", () => resolve("SIGTERM"));
    process.once("SIGINT", () => resolve("SIGINT"));
  });
  log(`${signal}: marking the node NotReady; pods keep running`);
  await kubelet.stop();
  log("stopped");
}
