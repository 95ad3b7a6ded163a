/**
 * The virtual kubelet assembled: engine provider, node controller, pod controller and the
 * kubelet HTTP endpoint. Stopping marks the node NotReady and leaves every pod running: the
 * next start rebuilds its cache from the engine and carries on.
 */
import { connect, type EngineClient } from "../engine/client.js";
import type { Endpoint } from "../engine/endpoint.js";
import { errorMessage } from "../errors.js";
import { startKubeletServer, type KubeletServer } from "./http-server.js";
import type { KubeApi } from "./kube/api.js";
import type { Taint } from "./kube/types.js";
import { NodeController } from "./node-controller.js";
import { PodController } from "./pod-controller.js";
import { capabilitiesOf } from "../engine/flavor.js";
import { DockerPodEngine } from "./provider/docker-engine.js";
import { EngineNodeProvider } from "./provider/node-provider.js";
import { ensureInfraImage } from "./provider/pause-image.js";
import { PodCreator } from "./provider/pod-creator.js";
import { DockerProvider } from "./provider/provider.js";
import { parseQuantity } from "./provider/resources.js";

export const DEFAULT_TAINT: Taint = {
  key: "virtual-kubelet.io/provider",
  value: "vic",
  effect: "NoSchedule",
};

export interface KubeletOptions {
  api: KubeApi;
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
  const creator = new PodCreator(engine, options.api, {
    node: options.nodeName,
    flavor: description.flavor,
    capabilities: capabilitiesOf(description.flavor),
    infraImage,
  });
  const provider = new DockerProvider(engine, creator, {
    node: options.nodeName,
    flavor: description.flavor,
    hostIP: options.nodeIP,
    nodeAllocatable: {
      cpu: parseQuantity(description.allocatable.cpu ?? "1"),
      memory: parseQuantity(description.allocatable.memory ?? "0"),
    },
    log: options.log,
  });
  await provider.start();

  // The server first: the node must advertise its real port (--listen may say port 0).
  const ready = { node: undefined as NodeController | undefined };
  let server: KubeletServer;
  try {
    server = await startKubeletServer(
      options.listenHost,
      options.listenPort,
      () => ready.node?.isReady ?? false,
    );
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
