/**
 * The one way provider code reads configMaps, secrets and service-account tokens: bound to the
 * pod's own namespace, with names checked before any request. A pod can therefore never name
 * another namespace's object — not with a path in the name ("../kube-system/secrets/x"), not
 * through imagePullSecrets, env, volumes or projected sources.
 */
import type { ConfigMap, Secret, Service } from "../kube/types.js";
import { PodOperationError } from "./errors.js";

/** Where configMaps and secrets come from (the API server, or a test double). */
export interface ConfigSource {
  getConfigMap(namespace: string, name: string): Promise<ConfigMap | undefined>;
  getSecret(namespace: string, name: string): Promise<Secret | undefined>;
}

/** Services, for the environment variables the kubelet derives from them. */
export interface ServiceSource {
  listServices(namespace: string): Promise<Service[]>;
  getService(namespace: string, name: string): Promise<Service | undefined>;
}

/** What container environments are built from. */
export type EnvSource = ConfigSource & ServiceSource;

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export function validObjectName(name: string): boolean {
  return name.length > 0 && name.length <= 253 && DNS_SUBDOMAIN.test(name);
}

/** A service-account token from the TokenRequest API. */
export interface ServiceAccountToken {
  token: string;
  expiresAt: Date;
}

export interface TokenSource {
  serviceAccountToken(
    namespace: string,
    serviceAccount: string,
    request: { audiences?: string[]; expirationSeconds: number; boundPod: { name: string; uid: string } },
  ): Promise<ServiceAccountToken>;
}

export class NamespaceScope {
  constructor(
    private readonly source: ConfigSource,
    readonly namespace: string,
  ) {}

  private check(kind: string, name: string): void {
    if (!validObjectName(name)) {
      throw new PodOperationError(`invalid ${kind} name "${name}": not a DNS subdomain`, {
        reason: "CreateContainerConfigError",
        permanent: true,
      });
    }
  }

  configMap(name: string): Promise<ConfigMap | undefined> {
    this.check("configmap", name);
    return this.source.getConfigMap(this.namespace, name);
  }

  secret(name: string): Promise<Secret | undefined> {
    this.check("secret", name);
    return this.source.getSecret(this.namespace, name);
  }
}
