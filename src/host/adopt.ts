/**
 * `dinv adopt`: take over a Docker-in-container host made by hand (a dch-photon container, a
 * docker:dind run with TLS, the host image run by hand) without re-provisioning it.
 *
 * What is recorded: the container (its name on the endpoint), the volume holding its
 * /var/lib/docker (or that a host folder or nothing does), the endpoint, how clients reach its
 * engine (its published 2376, its address on a container network, or --url), and the user's CA:
 * certificate and key kept in the host folder (0600 in 0700), since that CA, not the store's, is
 * what the engine trusts. dinv issues its own client pair from it (or keeps the user's). The
 * server certificate and key stay where the maker put them: dinv records neither.
 *
 * What is checked first, and nothing is saved unless all of it holds: the CA's key matches its
 * certificate, the container exists and runs and is not another dinv host, and its engine answers
 * a TLS-verified request with that CA and that client pair.
 */
import type Dockerode from "dockerode";
import { X509Certificate, createPrivateKey, type KeyObject } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { call, connect, engineStatus } from "../engine/client.js";
import { parseHostUrl } from "../engine/endpoint.js";
import { detectEngine } from "../engine/flavor.js";
import { engineHttp } from "../engine/http-client.js";
import { hostEngineEndpoint, hostUrl } from "../engine/host-endpoints.js";
import { resolveEndpoint, type EndpointFlags } from "../engine/resolve.js";
import { LABEL_HOST } from "../drivers/docker.js";
import { DinvError, errorMessage } from "../errors.js";
import type { KeyType } from "../pki/keys.js";
import { HOST_CONFIG_VERSION, type HostConfig } from "../store/host-config.js";
import type { HostStore } from "../store/host-store.js";
import { validateHostName } from "../store/names.js";
import { HOST_FILES } from "../store/paths.js";
import { privateFile, publicFile, writeFilesAtomically } from "../store/secure-fs.js";
import { registerContext } from "./context.js";
import { clientAddress, copyEndpointTls } from "./create.js";
import type { Progress } from "./progress.js";

export class AdoptError extends DinvError {}

export interface AdoptOptions {
  name: string;
  endpoint: EndpointFlags;
  /** The container's name or id on the endpoint. */
  container: string;
  /** Where clients reach its engine, when the container's port cannot say (tcp://ADDRESS:PORT). */
  url?: string;
  caCert: string;
  caKey: string;
  /** The user's own client pair, used instead of one dinv issues. */
  clientCert?: string;
  clientKey?: string;
  dockerContext: boolean;
  timeoutSeconds: number;
}

/** The TLS port of a Docker-in-container engine (docker:dind, dch-photon, dinv's image). */
const ENGINE_TLS_PORT = "2376/tcp";
const ENGINE_DATA_DIR = "/var/lib/docker";
/** The adopted host's CA key in its folder (the store's own CA key lives in certs/). */
export const ADOPTED_CA_KEY = "ca-key.pem";

export async function adoptHost(
  store: HostStore,
  options: AdoptOptions,
  progress: Progress,
): Promise<HostConfig> {
  const name = validateHostName(options.name);
  const ca = readUserCa(options.caCert, options.caKey);
  const userClient =
    options.clientCert || options.clientKey
      ? readUserClient(options.clientCert, options.clientKey, ca)
      : undefined;
  const endpoint = resolveEndpoint(options.endpoint);
  const client = connect(endpoint, { timeoutMs: Math.max(5_000, options.timeoutSeconds * 1000) });

  progress.step(`looking at container ${options.container} on ${endpoint.url}`);
  const profile = await detectEngine(client);
  const container = await call(client, () => client.docker.getContainer(options.container).inspect()).catch(
    (err: unknown) => {
      if (engineStatus(err) === 404) return undefined;
      throw err;
    },
  );
  if (!container)
    throw new AdoptError(`there is no container "${options.container}" on ${endpoint.url}`, {
      hint: "name a container `docker ps -a` shows there (or pass that endpoint with --endpoint)",
    });
  const containerName = container.Name.replace(/^\//, "");
  const owner = container.Config.Labels?.[LABEL_HOST];
  if (owner !== undefined)
    throw new AdoptError(`${containerName} is already the dinv host "${owner}"`, {
      hint: "use it from the store that made it (`dinv export` / `dinv import` moves it to another)",
    });
  const taken = store
    .list()
    .find((h) => h.config?.endpoint.url === endpoint.url && h.config.container.name === containerName);
  if (taken)
    throw new AdoptError(`${containerName} is already adopted here as "${taken.name}"`, {
      hint: `use that host, or \`dinv rm ${taken.name}\` first`,
    });
  if (!container.State.Running)
    throw new AdoptError(`${containerName} is not running, so its engine cannot be checked`, {
      hint: `start it (docker start ${containerName}) and adopt it again`,
    });
  const network = reachOf(container, options.url, clientAddress(endpoint));
  const data = container.Mounts.find((m) => m.Destination === ENGINE_DATA_DIR);
  progress.done(containerName);

  const hostDir = store.claim(name);
  try {
    progress.step(
      userClient
        ? "keeping your CA and client certificate"
        : "issuing dinv's client certificate from your CA",
    );
    const pair = userClient ?? (await issueClient(ca));
    await writeFilesAtomically([
      publicFile(join(hostDir, HOST_FILES.ca), ca.certPem),
      privateFile(join(hostDir, ADOPTED_CA_KEY), ca.keyPem),
      publicFile(join(hostDir, HOST_FILES.clientCert), pair.certPem),
      privateFile(join(hostDir, HOST_FILES.clientKey), pair.keyPem),
    ]);
    const endpointTls = copyEndpointTls(endpoint, hostDir);
    progress.done();

    const privileged = container.HostConfig.Privileged === true;
    const explicit = container.HostConfig.CapAdd?.includes("ALL") === true;
    const config: HostConfig = {
      version: HOST_CONFIG_VERSION,
      name,
      driver: "docker",
      personality: "docker",
      protocol: "docker",
      createdAt: container.Created,
      endpoint: { url: endpoint.url, ...(endpointTls ? { tls: endpointTls } : {}) },
      engine: { flavor: profile.flavor, version: profile.version },
      container: {
        name: containerName,
        ...(data?.Type === "volume" && data.Name ? { volume: data.Name } : {}),
        image: container.Config.Image,
        privilege: privileged ? "privileged" : explicit ? "explicit" : "none",
      },
      network,
      engineOptions: { daemon: {}, flags: [], env: {} },
      resources: {},
      tls: { keyType: ca.keyType, sans: [], extraSans: [] },
      files: { ca: HOST_FILES.ca, clientCert: HOST_FILES.clientCert, clientKey: HOST_FILES.clientKey },
      adopted: {
        at: new Date().toISOString(),
        caKey: ADOPTED_CA_KEY,
        data: data?.Type === "volume" ? "volume" : data?.Type === "bind" ? "bind" : "none",
      },
    };

    progress.step(`checking that its engine answers at ${hostUrl(config)} (TLS verified with your CA)`);
    const version = await verifiedVersion(config, hostDir, options.timeoutSeconds * 1000);
    progress.done(`Docker ${version}`);

    await store.save(config);
    if (options.dockerContext) await registerContext(store, config, progress);
    return config;
  } catch (err) {
    store.remove(name);
    throw err;
  }
}

/** The engine's version through the host's own files: the proof that the CA and client pair fit. */
async function verifiedVersion(config: HostConfig, hostDir: string, timeoutMs: number): Promise<string> {
  try {
    const engine = engineHttp(hostEngineEndpoint(config, hostDir), { timeoutMs });
    const version = await engine.get<{ Version?: string }>("/version");
    return version.Version ?? "unknown";
  } catch (err) {
    throw new AdoptError(
      `the engine at ${hostUrl(config)} did not answer TLS-verified with the given CA (${errorMessage(err)})`,
      {
        cause: err,
        hint: "pass the CA that signed its server certificate and its clients' (--tls-ca-cert/--tls-ca-key), and --url if it is reached at another address",
      },
    );
  }
}

/**
 * How clients reach the engine: --url, else the port 2376 is published on (at the endpoint's
 * address unless published on one address), else the container's address on its network.
 */
function reachOf(
  container: Pick<Dockerode.ContainerInspectInfo, "NetworkSettings">,
  url: string | undefined,
  endpointAddress: string,
): HostConfig["network"] {
  if (url !== undefined) {
    const parsed = parseHostUrl(url, "--url");
    if (parsed.protocol !== "tcp") throw new AdoptError(`--url must be tcp://ADDRESS:PORT, not ${url}`);
    return { mode: "publish", address: parsed.host, publishAddress: "", port: parsed.port };
  }
  const binding = container.NetworkSettings.Ports?.[ENGINE_TLS_PORT]?.find((b) => Number(b.HostPort) > 0);
  if (binding) {
    const specific = !["", "0.0.0.0", "::"].includes(binding.HostIp);
    return {
      mode: "publish",
      address: specific ? binding.HostIp : endpointAddress,
      publishAddress: binding.HostIp,
      port: Number(binding.HostPort),
    };
  }
  const [networkName, settings] =
    Object.entries(container.NetworkSettings.Networks ?? {}).find(([, n]) => n.IPAddress) ?? [];
  if (!networkName || !settings?.IPAddress)
    throw new AdoptError(`the container publishes no port ${ENGINE_TLS_PORT} and has no network address`, {
      hint: "pass --url tcp://ADDRESS:PORT where its engine answers",
    });
  const fixed = (settings.IPAMConfig as { IPv4Address?: string } | undefined)?.IPv4Address;
  return {
    mode: "network",
    address: settings.IPAddress,
    publishAddress: "",
    port: Number.parseInt(ENGINE_TLS_PORT, 10),
    name: networkName,
    ...(fixed ? { ip: fixed } : {}),
  };
}

interface UserCa {
  certPem: string;
  /** PKCS#8, whatever form the user's file had (what the PKI imports). */
  keyPem: string;
  keyType: KeyType;
  cert: X509Certificate;
}

function readFile(path: string, flag: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    throw new AdoptError(`cannot read ${flag} ${path} (${(err as NodeJS.ErrnoException).code ?? "error"})`);
  }
}

function parseCertificate(path: string, flag: string): X509Certificate {
  try {
    return new X509Certificate(readFile(path, flag));
  } catch (err) {
    if (err instanceof AdoptError) throw err;
    throw new AdoptError(`${flag} ${path} is not a PEM certificate`);
  }
}

function parseKey(path: string, flag: string): KeyObject {
  try {
    return createPrivateKey(readFile(path, flag));
  } catch (err) {
    if (err instanceof AdoptError) throw err;
    throw new AdoptError(`${flag} ${path} is not a PEM private key (unencrypted)`);
  }
}

/** The user's CA: a CA certificate whose key is the one given, of a type dinv signs with. */
export function readUserCa(
  certPath: string,
  keyPath: string,
  flags = { cert: "--tls-ca-cert", key: "--tls-ca-key" },
): UserCa {
  const cert = parseCertificate(certPath, flags.cert);
  if (!cert.ca) throw new AdoptError(`${flags.cert} ${certPath} is not a CA certificate`);
  const key = parseKey(keyPath, flags.key);
  if (!cert.checkPrivateKey(key))
    throw new AdoptError(`${flags.key} ${keyPath} is not the key of ${flags.cert} ${certPath}`);
  const curve = key.asymmetricKeyDetails?.namedCurve;
  let keyType: KeyType;
  if (key.asymmetricKeyType === "rsa") keyType = "rsa-2048";
  else if (key.asymmetricKeyType === "ec" && curve === "prime256v1") keyType = "ecdsa-p256";
  else
    throw new AdoptError(
      `the CA's key is ${key.asymmetricKeyType}${curve ? ` ${curve}` : ""}; dinv signs with RSA or EC P-256 keys`,
    );
  return {
    certPem: cert.toString(),
    keyPem: key.export({ type: "pkcs8", format: "pem" }).toString(),
    keyType,
    cert,
  };
}

/** The user's own client pair: signed by the CA, with its key. */
export function readUserClient(certPath: string | undefined, keyPath: string | undefined, ca: UserCa) {
  if (!certPath || !keyPath) throw new AdoptError("--tls-cert and --tls-key go together");
  const cert = parseCertificate(certPath, "--tls-cert");
  if (!cert.checkIssued(ca.cert) || !cert.verify(ca.cert.publicKey))
    throw new AdoptError(`--tls-cert ${certPath} was not issued by --tls-ca-cert`);
  const key = parseKey(keyPath, "--tls-key");
  if (!cert.checkPrivateKey(key)) throw new AdoptError(`--tls-key ${keyPath} is not the key of --tls-cert`);
  return { certPem: cert.toString(), keyPem: key.export({ type: "pkcs8", format: "pem" }).toString() };
}

async function issueClient(ca: UserCa) {
  const { issueClientCertificate } = await import("../pki/certificates.js");
  return issueClientCertificate({ certPem: ca.certPem, keyPem: ca.keyPem, keyType: ca.keyType });
}

/**
 * An adopted host's client pair, issued again from its own CA (`regenerate-certs --client-certs`
 * renews the store's CA, which an adopted host's engine does not trust).
 */
export async function reissueAdoptedClient(config: HostConfig, hostDir: string): Promise<void> {
  if (!config.adopted) return;
  const ca = readUserCa(join(hostDir, config.files.ca), join(hostDir, config.adopted.caKey), {
    cert: "the host's CA",
    key: "the host's CA key",
  });
  const pair = await issueClient(ca);
  await writeFilesAtomically([
    publicFile(join(hostDir, config.files.clientCert), pair.certPem),
    privateFile(join(hostDir, config.files.clientKey), pair.keyPem),
  ]);
}
