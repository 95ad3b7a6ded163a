/**
 * What an authenticated caller may do, with the kubelet's own mapping of paths to node
 * subresources (/stats → nodes/stats, /metrics → nodes/metrics, /logs → nodes/log, everything
 * else, including exec and containerLogs, → nodes/proxy) and of methods to verbs. Webhook mode
 * asks the API server (SubjectAccessReview), so RBAC decides, as for a real kubelet.
 */
import { createHash } from "node:crypto";
import { errorMessage } from "../../errors.js";
import type { SubjectAccessReview } from "../kube/types.js";
import type { UserInfo } from "./authn.js";

export interface RequestAttributes {
  verb: string;
  resource: "nodes";
  subresource: string;
  name: string;
}

export interface Decision {
  allowed: boolean;
  reason?: string;
}

export interface Authorizer {
  authorize(user: UserInfo, attributes: RequestAttributes): Promise<Decision>;
}

export interface AccessReviewer {
  reviewAccess(review: SubjectAccessReview): Promise<SubjectAccessReview>;
}

const VERBS: Record<string, string> = {
  GET: "get",
  HEAD: "get",
  POST: "create",
  PUT: "update",
  PATCH: "patch",
  DELETE: "delete",
};

function under(path: string, prefix: string): boolean {
  return path === prefix || path.startsWith(`${prefix}/`);
}

export function requestAttributes(method: string, path: string, nodeName: string): RequestAttributes {
  const subresource = under(path, "/stats")
    ? "stats"
    : under(path, "/metrics")
      ? "metrics"
      : under(path, "/logs")
        ? "log"
        : "proxy";
  return { verb: VERBS[method] ?? method.toLowerCase(), resource: "nodes", subresource, name: nodeName };
}

export class AlwaysAllow implements Authorizer {
  async authorize(): Promise<Decision> {
    return { allowed: true };
  }
}

export interface WebhookOptions {
  /** Reuse of allowed / denied answers (the kubelet's defaults: 5 minutes / 30 seconds). */
  allowedTtlMs?: number;
  deniedTtlMs?: number;
  now?: () => number;
}

export class WebhookAuthorizer implements Authorizer {
  private readonly cache = new Map<string, { decision: Decision; expires: number }>();

  constructor(
    private readonly reviewer: AccessReviewer,
    private readonly options: WebhookOptions = {},
  ) {}

  async authorize(user: UserInfo, attributes: RequestAttributes): Promise<Decision> {
    const now = (this.options.now ?? Date.now)();
    const key = createHash("sha256")
      .update(JSON.stringify([user, attributes]))
      .digest("hex");
    const hit = this.cache.get(key);
    if (hit && hit.expires > now) return hit.decision;
    let review: SubjectAccessReview;
    try {
      review = await this.reviewer.reviewAccess({
        spec: {
          user: user.username,
          ...(user.uid ? { uid: user.uid } : {}),
          groups: user.groups,
          ...(user.extra ? { extra: user.extra } : {}),
          resourceAttributes: { ...attributes, version: "v1", group: "" },
        },
      });
    } catch (err) {
      return { allowed: false, reason: `access review failed: ${errorMessage(err)}` };
    }
    const allowed = review.status?.allowed === true && review.status.denied !== true;
    const decision: Decision = {
      allowed,
      ...(review.status?.reason ? { reason: review.status.reason } : {}),
    };
    if (this.cache.size >= 1000) this.cache.delete(this.cache.keys().next().value as string);
    this.cache.set(key, {
      decision,
      expires:
        now + (allowed ? (this.options.allowedTtlMs ?? 300_000) : (this.options.deniedTtlMs ?? 30_000)),
    });
    return decision;
  }
}
