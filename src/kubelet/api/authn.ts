/**
 * Who is calling the kubelet API. As a kubelet does: a client certificate verified by the TLS
 * layer against --client-ca (user = CN, groups = O), else a bearer token checked with the API
 * server's TokenReview (--authn-webhook; results cached), else anonymous — refused unless
 * --anonymous-auth. A token that the API server rejects is refused, never downgraded to anonymous.
 */
import { createHash } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { TLSSocket } from "node:tls";
import { errorMessage } from "../../errors.js";
import type { TokenReview } from "../kube/types.js";

export interface UserInfo {
  username: string;
  uid?: string;
  groups: string[];
  extra?: Record<string, string[]>;
}

export const ANONYMOUS: UserInfo = { username: "system:anonymous", groups: ["system:unauthenticated"] };

export interface TokenReviewer {
  reviewToken(review: TokenReview): Promise<TokenReview>;
}

export type AuthnResult = { user: UserInfo; reason?: undefined } | { user?: undefined; reason: string };

export interface AuthenticatorOptions {
  /** Trust client certificates the TLS layer verified (only true when a client CA is configured). */
  x509: boolean;
  /** Check bearer tokens with TokenReview. */
  tokens?: TokenReviewer;
  /** Let requests without credentials in as system:anonymous. */
  anonymous: boolean;
  /** How long a review's answer is reused (the kubelet's default: 2 minutes). */
  cacheTtlMs?: number;
  now?: () => number;
}

/** The bearer token in WebSocket subprotocols, for clients (browsers) that cannot set headers. */
export const WS_TOKEN_PREFIX = "base64url.bearer.authorization.k8s.io.";
const CACHE_LIMIT = 1000;

export function bearerToken(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  if (match) return match[1];
  const protocols = String(req.headers["sec-websocket-protocol"] ?? "")
    .split(",")
    .map((p) => p.trim());
  const encoded = protocols.find((p) => p.startsWith(WS_TOKEN_PREFIX))?.slice(WS_TOKEN_PREFIX.length);
  if (!encoded) return undefined;
  const token = Buffer.from(encoded, "base64url").toString("utf8");
  return token === "" ? undefined : token;
}

/** The verified client certificate's identity, if the TLS layer verified one. */
export function certificateUser(req: IncomingMessage): UserInfo | undefined {
  const socket = req.socket as Partial<TLSSocket>;
  if (socket.authorized !== true || typeof socket.getPeerCertificate !== "function") return undefined;
  const cert = socket.getPeerCertificate();
  const cn = cert?.subject?.CN;
  if (!cn) return undefined;
  const names = (value: string | string[] | undefined) =>
    value === undefined ? [] : Array.isArray(value) ? value : [value];
  return { username: names(cn)[0] ?? "", groups: [...names(cert.subject.O), "system:authenticated"] };
}

export class Authenticator {
  private readonly cache = new Map<string, { result: AuthnResult; expires: number }>();

  constructor(private readonly options: AuthenticatorOptions) {}

  async authenticate(req: IncomingMessage): Promise<AuthnResult> {
    if (this.options.x509) {
      const user = certificateUser(req);
      if (user) return { user };
    }
    const token = bearerToken(req);
    if (token !== undefined) {
      if (!this.options.tokens)
        return { reason: "bearer tokens are not accepted (the kubelet runs without --authn-webhook)" };
      return this.reviewToken(token);
    }
    if (this.options.anonymous) return { user: ANONYMOUS };
    return { reason: "no client certificate or bearer token" };
  }

  private async reviewToken(token: string): Promise<AuthnResult> {
    const now = (this.options.now ?? Date.now)();
    // The token itself is never kept: only its hash keys the cache.
    const key = createHash("sha256").update(token).digest("hex");
    const hit = this.cache.get(key);
    if (hit && hit.expires > now) return hit.result;
    let review: TokenReview;
    try {
      review = await (this.options.tokens as TokenReviewer).reviewToken({ spec: { token } });
    } catch (err) {
      // Not cached: the API server may answer the next time.
      return { reason: `token review failed: ${errorMessage(err)}` };
    }
    const status = review.status ?? {};
    const result: AuthnResult =
      status.authenticated === true && status.user?.username
        ? {
            user: {
              username: status.user.username,
              ...(status.user.uid ? { uid: status.user.uid } : {}),
              groups: status.user.groups ?? [],
              ...(status.user.extra ? { extra: status.user.extra } : {}),
            },
          }
        : { reason: status.error ? `invalid bearer token: ${status.error}` : "invalid bearer token" };
    if (this.cache.size >= CACHE_LIMIT) this.cache.delete(this.cache.keys().next().value as string);
    this.cache.set(key, { result, expires: now + (this.options.cacheTtlMs ?? 120_000) });
    return result;
  }
}
