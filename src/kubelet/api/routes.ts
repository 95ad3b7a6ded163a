/** The kubelet API's paths, parsed. Pure: the server dispatches on the result. */
import type { ContainerRef, PodRef } from "../provider-api.js";

export type Route =
  | { kind: "healthz" }
  | { kind: "pods" }
  | { kind: "containerLogs"; ref: ContainerRef }
  | { kind: "exec"; ref: ContainerRef }
  | { kind: "attach"; ref: ContainerRef }
  | { kind: "run"; ref: ContainerRef }
  | { kind: "portForward"; ref: PodRef }
  | { kind: "statsSummary" }
  | { kind: "metricsResource" };

export type RouteMatch = { route: Route; methods: readonly string[] } | undefined;

function segments(path: string): string[] | undefined {
  try {
    return path
      .split("/")
      .filter((s) => s !== "")
      .map(decodeURIComponent);
  } catch {
    return undefined;
  }
}

function unsafe(rest: string[]): boolean {
  return rest.some((s) => s === "" || s === "." || s === ".." || s.includes("/"));
}

/** {ns}/{pod} or {ns}/{pod}/{uid}. */
function podRef(rest: string[]): PodRef | undefined {
  if (unsafe(rest) || rest.length < 2 || rest.length > 3) return undefined;
  const [namespace, pod, uid] = rest as [string, string, string | undefined];
  return uid === undefined ? { namespace, pod } : { namespace, pod, uid };
}

function containerRef(rest: string[], allowUid: boolean): ContainerRef | undefined {
  if (unsafe(rest)) return undefined;
  if (rest.length === 3)
    return { namespace: rest[0] as string, pod: rest[1] as string, container: rest[2] as string };
  if (allowUid && rest.length === 4)
    return {
      namespace: rest[0] as string,
      pod: rest[1] as string,
      uid: rest[2] as string,
      container: rest[3] as string,
    };
  return undefined;
}

/** The route of a path, with the methods it answers; undefined for an unknown path. */
export function matchRoute(path: string): RouteMatch {
  const parts = segments(path);
  if (!parts) return undefined;
  const [head, ...rest] = parts;
  const get = ["GET", "HEAD"] as const;
  switch (head) {
    case "healthz":
      return rest.length === 0 ? { route: { kind: "healthz" }, methods: get } : undefined;
    case "pods":
      return rest.length === 0 ? { route: { kind: "pods" }, methods: get } : undefined;
    case "containerLogs": {
      const ref = containerRef(rest, false);
      return ref ? { route: { kind: "containerLogs", ref }, methods: get } : undefined;
    }
    case "exec":
    case "attach": {
      const ref = containerRef(rest, true);
      return ref ? { route: { kind: head, ref }, methods: ["GET", "POST"] } : undefined;
    }
    case "portForward": {
      const ref = podRef(rest);
      return ref ? { route: { kind: "portForward", ref }, methods: ["GET", "POST"] } : undefined;
    }
    case "run": {
      const ref = containerRef(rest, true);
      return ref ? { route: { kind: "run", ref }, methods: ["POST"] } : undefined;
    }
    case "stats":
      return rest.length === 1 && rest[0] === "summary"
        ? { route: { kind: "statsSummary" }, methods: get }
        : undefined;
    case "metrics":
      return rest.length === 1 && rest[0] === "resource"
        ? { route: { kind: "metricsResource" }, methods: get }
        : undefined;
  }
  return undefined;
}
