/**
 * KubeApi over @kubernetes/client-node: its KubeConfig (kubeconfig loading, every auth method,
 * TLS) and its Watch; plain JSON requests for the rest, so objects keep their wire shape
 * (see types.ts). Loaded only by the kubelet command: client-node alone costs ~670 ms to import.
 */
import { request as httpRequest } from "node:http";
import { request as httpsRequest, type RequestOptions } from "node:https";
import { KubeConfig, Watch } from "@kubernetes/client-node";
import { isStatus, KubeApiError, type KubeApi, type WatchEventType, type WatchHandle } from "./api.js";
import type {
  ConfigMap,
  KubeEvent,
  KubeList,
  Service,
  KubeStatus,
  Lease,
  Node,
  NodeStatus,
  Pod,
  PodStatus,
  Secret,
  SubjectAccessReview,
  TokenRequest,
  TokenReview,
} from "./types.js";

const MERGE = "application/merge-patch+json";
/** Lists merged by their keys (conditions and addresses by type), as the kubelet patches its node. */
const STRATEGIC = "application/strategic-merge-patch+json";
const TIMEOUT_MS = 30_000;

export function loadKubeConfig(file: string | undefined): KubeConfig {
  const kc = new KubeConfig();
  if (file) kc.loadFromFile(file);
  else kc.loadFromDefault();
  return kc;
}

export class RestKubeApi implements KubeApi {
  private readonly server: URL;

  constructor(private readonly kc: KubeConfig) {
    const cluster = kc.getCurrentCluster();
    if (!cluster)
      throw new KubeApiError("the kubeconfig names no current cluster", 0, undefined, {
        hint: "check current-context",
      });
    this.server = new URL(cluster.server);
  }

  /** One JSON request; the API server's Status becomes a KubeApiError. */
  async request<T>(
    method: string,
    path: string,
    body?: unknown,
    contentType = "application/json",
  ): Promise<T> {
    const options: RequestOptions = { headers: {} };
    await this.kc.applyToHTTPSOptions(options);
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const base = this.server.pathname.replace(/\/$/, "");
    const https = this.server.protocol === "https:";
    const send = https ? httpsRequest : httpRequest;
    return new Promise<T>((resolve, reject) => {
      const req = send(
        {
          ...options,
          protocol: this.server.protocol,
          hostname: this.server.hostname.replace(/^\[(.*)\]$/, "$1"),
          port: this.server.port || (https ? 443 : 80),
          method,
          path: base + path,
          timeout: TIMEOUT_MS,
          headers: {
            ...(options.headers as Record<string, string>),
            Accept: "application/json",
            ...(payload ? { "Content-Type": contentType, "Content-Length": String(payload.length) } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("error", reject);
          res.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8");
            const status = res.statusCode ?? 0;
            let parsed: unknown;
            try {
              parsed = text === "" ? {} : JSON.parse(text);
            } catch {
              parsed = { message: text.slice(0, 200) };
            }
            if (status >= 200 && status < 300) resolve(parsed as T);
            else {
              const s = parsed as Partial<KubeStatus>;
              reject(
                new KubeApiError(`${method} ${path}: ${s.message ?? `HTTP ${status}`}`, status, s.reason),
              );
            }
          });
        },
      );
      req.on("timeout", () => req.destroy(new Error(`no answer within ${TIMEOUT_MS / 1000}s`)));
      req.on("error", (err) =>
        reject(
          new KubeApiError(`${method} ${path}: ${this.server.origin}: ${err.message}`, 0, undefined, {
            cause: err,
          }),
        ),
      );
      req.end(payload);
    });
  }

  private async getOrUndefined<T>(path: string): Promise<T | undefined> {
    try {
      return await this.request<T>("GET", path);
    } catch (err) {
      if (isStatus(err, 404)) return undefined;
      throw err;
    }
  }

  getNode(name: string): Promise<Node | undefined> {
    return this.getOrUndefined<Node>(`/api/v1/nodes/${enc(name)}`);
  }
  createNode(node: Node): Promise<Node> {
    return this.request<Node>("POST", "/api/v1/nodes", { apiVersion: "v1", kind: "Node", ...node });
  }
  updateNode(node: Node): Promise<Node> {
    return this.request<Node>("PUT", `/api/v1/nodes/${enc(node.metadata?.name ?? "")}`, node);
  }
  patchNodeStatus(name: string, status: NodeStatus): Promise<Node> {
    // A merge patch would replace status.conditions whole, dropping conditions other writers own.
    return this.request<Node>("PATCH", `/api/v1/nodes/${enc(name)}/status`, { status }, STRATEGIC);
  }

  getLease(namespace: string, name: string): Promise<Lease | undefined> {
    return this.getOrUndefined<Lease>(leasePath(namespace, name));
  }
  createLease(lease: Lease): Promise<Lease> {
    const ns = lease.metadata?.namespace ?? "kube-node-lease";
    return this.request<Lease>("POST", `/apis/coordination.k8s.io/v1/namespaces/${enc(ns)}/leases`, {
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      ...lease,
    });
  }
  updateLease(lease: Lease): Promise<Lease> {
    return this.request<Lease>(
      "PUT",
      leasePath(lease.metadata?.namespace ?? "", lease.metadata?.name ?? ""),
      lease,
    );
  }

  listPods(fieldSelector: string): Promise<KubeList<Pod>> {
    return this.request<KubeList<Pod>>(
      "GET",
      `/api/v1/pods?fieldSelector=${encodeURIComponent(fieldSelector)}`,
    );
  }

  async watchPods(
    fieldSelector: string,
    resourceVersion: string,
    onEvent: (type: WatchEventType, object: Pod) => void,
    onDone: (err?: unknown) => void,
  ): Promise<WatchHandle> {
    const controller = await new Watch(this.kc).watch(
      "/api/v1/pods",
      { fieldSelector, resourceVersion, allowWatchBookmarks: true },
      (type: string, object: Pod) => onEvent(type as WatchEventType, object),
      (err: unknown) => onDone(err ?? undefined),
    );
    return { abort: () => controller.abort() };
  }

  patchPodStatus(namespace: string, name: string, uid: string, status: PodStatus): Promise<Pod> {
    // metadata.uid in a merge patch guards the write: a recreated pod of the same name answers 422
    // (uid is immutable), which is final for this write.
    return this.request<Pod>(
      "PATCH",
      `${podPath(namespace, name)}/status`,
      { metadata: { uid }, status },
      MERGE,
    );
  }

  async deletePod(
    namespace: string,
    name: string,
    options: { gracePeriodSeconds: number; uid?: string },
  ): Promise<void> {
    await this.request("DELETE", podPath(namespace, name), {
      apiVersion: "v1",
      kind: "DeleteOptions",
      gracePeriodSeconds: options.gracePeriodSeconds,
      ...(options.uid ? { preconditions: { uid: options.uid } } : {}),
    }).catch((err: unknown) => {
      if (!isStatus(err, 404)) throw err;
    });
  }

  async createEvent(event: KubeEvent): Promise<void> {
    const ns = event.metadata?.namespace ?? event.involvedObject.namespace ?? "default";
    await this.request("POST", `/api/v1/namespaces/${enc(ns)}/events`, {
      apiVersion: "v1",
      kind: "Event",
      ...event,
    });
  }

  getConfigMap(namespace: string, name: string): Promise<ConfigMap | undefined> {
    return this.getOrUndefined<ConfigMap>(`/api/v1/namespaces/${enc(namespace)}/configmaps/${enc(name)}`);
  }
  getSecret(namespace: string, name: string): Promise<Secret | undefined> {
    return this.getOrUndefined<Secret>(`/api/v1/namespaces/${enc(namespace)}/secrets/${enc(name)}`);
  }

  async listServices(namespace: string): Promise<Service[]> {
    return (await this.request<KubeList<Service>>("GET", `/api/v1/namespaces/${enc(namespace)}/services`))
      .items;
  }
  getService(namespace: string, name: string): Promise<Service | undefined> {
    return this.getOrUndefined<Service>(`/api/v1/namespaces/${enc(namespace)}/services/${enc(name)}`);
  }

  requestToken(namespace: string, serviceAccount: string, request: TokenRequest): Promise<TokenRequest> {
    return this.request<TokenRequest>(
      "POST",
      `/api/v1/namespaces/${enc(namespace)}/serviceaccounts/${enc(serviceAccount)}/token`,
      { apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest", ...request },
    );
  }

  reviewToken(review: TokenReview): Promise<TokenReview> {
    return this.request<TokenReview>("POST", "/apis/authentication.k8s.io/v1/tokenreviews", {
      apiVersion: "authentication.k8s.io/v1",
      kind: "TokenReview",
      ...review,
    });
  }

  reviewAccess(review: SubjectAccessReview): Promise<SubjectAccessReview> {
    return this.request<SubjectAccessReview>("POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", {
      apiVersion: "authorization.k8s.io/v1",
      kind: "SubjectAccessReview",
      ...review,
    });
  }
}

function enc(part: string): string {
  return encodeURIComponent(part);
}
function podPath(namespace: string, name: string): string {
  return `/api/v1/namespaces/${enc(namespace)}/pods/${enc(name)}`;
}
function leasePath(namespace: string, name: string): string {
  return `/apis/coordination.k8s.io/v1/namespaces/${enc(namespace)}/leases/${enc(name)}`;
}
