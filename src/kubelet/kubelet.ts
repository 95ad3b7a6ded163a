/**
 * The virtual kubelet assembled: engine provider, node controller, pod controller and the
 * kubelet HTTP endpoint. Stopping marks the node NotReady and leaves every pod running: the
 * next start rebuilds its cache from the engine and carries on.
 */
import { connect, type EngineClient } from "../engine/client.js";
import type { Endpoint } from "../engine/endpoint.js";
import { errorMessage } from "../errors.js";
import type { CertificateAuthority } from "../pki/certificates.js";
import { Authenticator, type TokenReviewer } from "./api/authn.js";
import { AlwaysAllow, WebhookAuthorizer, type AccessReviewer, type Authorizer } from "./api/authz.js";
import { startKubeletServer, type KubeletServer } from "./api/server.js";
import { servingMaterial } from "./api/tls.js";
import type { KubeApi } from "./kube/api.js";
import type { Taint } from "./kube/types.js";
import { NodeController } from "./node-controller.js";
import { PodController } from "./pod-controller.js";
import { capabilitiesOf } from "../engine/flavor.js";
import { DockerPodEngine } from "./provider/docker-engine.js";
import { EngineNodeProvider } from "./provider/node-provider.js";
import { ensureInfraImage } from "./provider/pause-image.js";
import { PodRelay } from "./provider/pod-relay.js";
import { PodCache } from "./provider/pod-cache.js";
import { PodCreator } from "./provider/pod-creator.js";
import { DockerProvider } from "./provider/provider.js";
import { parseQuantity } from "./provider/resources.js";
import { DockerStreamingProvider } from "./provider/streaming-provider.js";
import { EventRecorder } from "./provider/events.js";
import { CachedTokens, type TokenRequester } from "./provider/sa-tokens.js";
import type { ClusterDns } from "./provider/dns.js";

export const DEFAULT_TAINT: Taint = {
  key: "virtual-kubelet.io/provider",
  value: "vic",
  effect: "NoSchedule",
};

/** Who may use the kubelet API, and how it proves itself to them. */
export interface KubeletSecurity {
  tlsCertFile?: string;
  tlsKeyFile?: string;
  /** CA of the client certificates accepted (the API server's kubelet-client CA). */
  clientCaFile?: string;
  /** Issues the serving certificate when no files are given (dinv's store CA). */
  issuer?: () => Promise<CertificateAuthority>;
  /** Check bearer tokens with TokenReview. */
  authnWebhook: boolean;
  /** Let requests without credentials in as system:anonymous. */
  anonymous: boolean;
  /** Webhook: every request is checked with a SubjectAccessReview. */
  authorization: "AlwaysAllow" | "Webhook";
}

export interface KubeletOptions {
  api: KubeApi & TokenReviewer & AccessReviewer & TokenRequester;
  security: KubeletSecurity;
  endpoint: Endpoint;
  nodeName: string;
  taints: Taint[];
  pods?: number;
  workers: number;
  listenHost: string;
  listenPort: number;
  nodeIP: string;
  kubeletVersion: string;
  /** Image for infra containers; default: the built-in pause image. */
  infraImage?: string;
  /**
   * How port-forward and tcp/http probes reach a pod: `direct` dials its IP (the engine's
   * container network must be routable from here), `relay` execs a forwarder in its infra
   * container (pod-relay.ts; every pod then has one). A flag, not detected: a failed dial to a
   * pod IP cannot tell an unroutable network from a filtered one or a slow pod except by
   * timing out, and a locally reachable endpoint says nothing about routes to its bridge.
   */
  podNetwork?: "direct" | "relay";
  /** --cluster-dns / --cluster-domain (without servers ClusterFirst pods fall back to Default). */
  clusterDns?: ClusterDns;
  /** How often changed configMaps/secrets/tokens reach running pods' volumes (default 10 s; 0: never). */
  volumeRefreshMs?: number;
  log: (message: string) => void;
}

export interface RunningKubelet {
  port: number;
  provider: DockerProvider;
  pods: PodController;
  node: NodeController;
  stop(): Promise<void>;
}

export async function startKubelet(options: KubeletOptions): Promise<RunningKubelet> {
  // No idle timeout for pod work: event streams stay open and a stop waits out the grace period.
  const client: EngineClient = connect(options.endpoint, { timeoutMs: 0 });
  const engine = new DockerPodEngine(client);
  // The health check must fail, not hang, when the endpoint stops answering.
  const nodeProvider = new EngineNodeProvider(connect(options.endpoint, { timeoutMs: 10_000 }), options.pods);
  const description = await nodeProvider.describe();

  const infraImage =
    description.flavor === "vic"
      ? undefined
      : await ensureInfraImage(engine, description.arch, options.infraImage);
  if (description.flavor !== "vic" && !infraImage) {
    options.log(
      `no built-in pause image for ${description.arch}: containers of a pod will not share localhost (give --infra-image)`,
    );
  }
  const capabilities = capabilitiesOf(description.flavor);
  const events = new EventRecorder((e) => options.api.createEvent(e), options.nodeName, options.log).sink;
  const creator = new PodCreator(engine, options.api, {
    node: options.nodeName,
    flavor: description.flavor,
    capabilities,
    infraImage,
    ...(options.podNetwork === "relay" ? { infraForEveryPod: true } : {}),
    events,
    ...(options.clusterDns ? { clusterDns: options.clusterDns } : {}),
  });
  const podCache = new PodCache();
  const relay = options.podNetwork === "relay" ? new PodRelay(engine, engine) : undefined;
  const provider = new DockerProvider(engine, creator, {
    cache: podCache,
    node: options.nodeName,
    flavor: description.flavor,
    capabilities,
    hostIP: options.nodeIP,
    nodeAllocatable: {
      cpu: parseQuantity(description.allocatable.cpu ?? "1"),
      memory: parseQuantity(description.allocatable.memory ?? "0"),
    },
    log: options.log,
    events,
    tokens: new CachedTokens(options.api),
    volumeRefreshMs: options.volumeRefreshMs ?? 10_000,
    probeExec: engine,
    ...(relay ? { relay } : {}),
  });
  await provider.start();

  const streaming = new DockerStreamingProvider(
    engine,
    podCache,
    provider,
    {
      nodeName: options.nodeName,
      startTime: new Date().toISOString().replace(/\.\d{3}Z$/, "Z"),
      allocatableMemoryBytes: parseQuantity(description.allocatable.memory ?? "0"),
    },
    capabilities.statsCpuUnit,
    relay,
  );

  // The server first: the node must advertise its real port (--listen may say port 0).
  const ready = { node: undefined as NodeController | undefined };
  let server: KubeletServer;
  try {
    server = await startApiServer(options, streaming, () => ready.node?.isReady ?? false);
  } catch (err) {
    provider.close();
    throw err;
  }
  const node = new NodeController(options.api, nodeProvider, {
    nodeName: options.nodeName,
    taints: options.taints,
    port: server.port,
    nodeIP: options.nodeIP,
    kubeletVersion: options.kubeletVersion,
    log: options.log,
  });
  ready.node = node;
  const pods = new PodController(options.api, provider, {
    nodeName: options.nodeName,
    workers: options.workers,
    log: options.log,
  });
  try {
    await node.start();
    await pods.start();
  } catch (err) {
    pods.stop();
    provider.close();
    await server.close();
    throw err;
  }
  const running = server;
  const nodeController = node;
  return {
    port: running.port,
    provider,
    pods,
    node: nodeController,
    async stop() {
      pods.stop();
      provider.close();
      await nodeController
        .stop()
        .catch((err: unknown) => options.log(`marking the node NotReady: ${errorMessage(err)}`));
      await running.close();
    },
  };
}

async function startApiServer(
  options: KubeletOptions,
  provider: DockerStreamingProvider,
  healthy: () => boolean,
): Promise<KubeletServer> {
  const security = options.security;
  const tls = await servingMaterial({
    ...(security.tlsCertFile ? { certFile: security.tlsCertFile } : {}),
    ...(security.tlsKeyFile ? { keyFile: security.tlsKeyFile } : {}),
    ...(security.clientCaFile ? { clientCaFile: security.clientCaFile } : {}),
    ...(security.issuer ? { issuer: security.issuer } : {}),
    nodeName: options.nodeName,
    sans: [options.nodeIP, options.listenHost],
  });
  const authenticator = new Authenticator({
    x509: tls.clientCa !== undefined,
    ...(security.authnWebhook ? { tokens: options.api } : {}),
    anonymous: security.anonymous,
  });
  const authorizer: Authorizer =
    security.authorization === "Webhook" ? new WebhookAuthorizer(options.api) : new AlwaysAllow();
  if (!tls.clientCa && !security.authnWebhook && !security.anonymous) {
    options.log("the kubelet API admits nobody: give --client-ca and/or --authn-webhook");
  }
  if (security.authnWebhook && security.authorization === "AlwaysAllow") {
    options.log(
      "--authn-webhook with --authorization-mode AlwaysAllow: any token the API server accepts may exec into every pod",
    );
  }
  options.log(`kubelet API serving certificate: ${tls.source}`);
  return startKubeletServer({
    host: options.listenHost,
    port: options.listenPort,
    tls,
    authenticator,
    authorizer,
    nodeName: options.nodeName,
    healthy,
    provider,
    log: options.log,
  });
}
