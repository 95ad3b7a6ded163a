/**
 * Service-account tokens for projected volumes, from the TokenRequest API, bound to the pod and
 * reused until 80% of their lifetime has passed (then fetched again, so the volume refresh
 * delivers a fresh one before the old one expires), as the kubelet's token manager does.
 */
import type { TokenRequest } from "../kube/types.js";
import type { ServiceAccountToken, TokenSource } from "./config-scope.js";
import { validObjectName } from "./config-scope.js";
import { PodOperationError } from "./errors.js";

export interface TokenRequester {
  requestToken(namespace: string, serviceAccount: string, request: TokenRequest): Promise<TokenRequest>;
}

export class CachedTokens implements TokenSource {
  private readonly cache = new Map<string, { token: ServiceAccountToken; renewAt: number }>();

  constructor(
    private readonly api: TokenRequester,
    private readonly now: () => number = Date.now,
  ) {}

  async serviceAccountToken(
    namespace: string,
    serviceAccount: string,
    request: { audiences?: string[]; expirationSeconds: number; boundPod: { name: string; uid: string } },
  ): Promise<ServiceAccountToken> {
    if (!validObjectName(serviceAccount))
      throw new PodOperationError(`invalid service account name "${serviceAccount}"`, {
        reason: "CreateContainerConfigError",
        permanent: true,
      });
    const key = JSON.stringify([namespace, serviceAccount, request]);
    // Expired tokens (of pods long gone, too) are dropped as we go.
    for (const [k, v] of this.cache) if (v.token.expiresAt.getTime() <= this.now()) this.cache.delete(k);
    const hit = this.cache.get(key);
    if (hit && hit.renewAt > this.now()) return hit.token;
    const answer = await this.api.requestToken(namespace, serviceAccount, {
      spec: {
        ...(request.audiences ? { audiences: request.audiences } : {}),
        expirationSeconds: request.expirationSeconds,
        boundObjectRef: {
          kind: "Pod",
          apiVersion: "v1",
          name: request.boundPod.name,
          uid: request.boundPod.uid,
        },
      },
    });
    if (!answer.status?.token) throw new Error(`no token for service account ${namespace}/${serviceAccount}`);
    const issued = this.now();
    const expiresAt = new Date(answer.status.expirationTimestamp);
    const lifetime = Math.max(0, expiresAt.getTime() - issued);
    const token = { token: answer.status.token, expiresAt };
    this.cache.set(key, { token, renewAt: issued + lifetime * 0.8 });
    return token;
  }
}
