/**
 * A pod's and its containers' securityContext as the engine takes it: runAsUser/runAsGroup →
 * `User`, privileged → `Privileged`, capabilities → `CapAdd`/`CapDrop`, readOnlyRootFilesystem →
 * `ReadonlyRootfs`, allowPrivilegeEscalation: false → `no-new-privileges`, seccompProfile
 * Unconfined → `seccomp=unconfined` (RuntimeDefault, and no profile, keep the engine's default
 * profile), supplementalGroups and fsGroup → `GroupAdd`, the kubelet's safe sysctls → `Sysctls`
 * (net.* on the container holding the network namespace). What cannot be honoured — a field
 * dinv does not map, a Localhost seccomp profile, an unsafe sysctl, or a setting the endpoint
 * ignores (a VCH applies none of them; docs/vic.md) — is refused, naming the field.
 */
import type { Capabilities } from "../../engine/flavor.js";
import type { Container, Pod, SeccompProfile } from "../kube/types.js";
import { PodOperationError, type PodFailureReason } from "./errors.js";
import { fileMounts } from "./volumes.js";

const POD_FIELDS = new Set([
  "runAsNonRoot",
  "runAsUser",
  "runAsGroup",
  "supplementalGroups",
  "fsGroup",
  "fsGroupChangePolicy",
  "sysctls",
  "seccompProfile",
]);
const CONTAINER_FIELDS = new Set([
  "privileged",
  "capabilities",
  "readOnlyRootFilesystem",
  "runAsNonRoot",
  "runAsUser",
  "runAsGroup",
  "allowPrivilegeEscalation",
  "seccompProfile",
  "procMount",
]);

/** The kubelet's safe sysctls (pkg/kubelet/sysctl/safe_sysctls.go); others need --allowed-unsafe-sysctls there. */
export const SAFE_SYSCTLS: ReadonlySet<string> = new Set([
  "kernel.shm_rmid_forced",
  "net.ipv4.ip_local_port_range",
  "net.ipv4.tcp_syncookies",
  "net.ipv4.ping_group_range",
  "net.ipv4.ip_unprivileged_port_start",
  "net.ipv4.ip_local_reserved_ports",
  "net.ipv4.tcp_keepalive_time",
  "net.ipv4.tcp_fin_timeout",
  "net.ipv4.tcp_keepalive_intvl",
  "net.ipv4.tcp_keepalive_probes",
  "net.ipv4.tcp_rmem",
  "net.ipv4.tcp_wmem",
]);

const NOT_HERE =
  "is not supported on this endpoint (each container is its own VM; the setting would be ignored)";

function refuse(field: string, why: string, reason: PodFailureReason = "CreateContainerConfigError") {
  return new PodOperationError(`${field} ${why}`, {
    reason,
    permanent: true,
    hint: `remove or change ${field}`,
  });
}

const present = (value: unknown) => value !== undefined && value !== null;

function checkSeccomp(field: string, profile: SeccompProfile | undefined, secure: boolean): void {
  if (!profile?.type || profile.type === "RuntimeDefault") return;
  if (profile.type === "Localhost")
    throw refuse(
      `${field}.type`,
      "Localhost is not supported (the profile would have to be a file on the endpoint, which the kubelet cannot reach)",
    );
  if (profile.type === "Unconfined" && !secure) throw refuse(`${field}.type`, `Unconfined ${NOT_HERE}`);
}

/** Every securityContext field of the pod, checked before anything is made; throws naming the field. */
export function checkSecurity(pod: Pod, caps: Pick<Capabilities, "privileged" | "containerSecurity">): void {
  const podCtx = pod.spec.securityContext ?? {};
  const secure = caps.containerSecurity;
  for (const [key, value] of Object.entries(podCtx)) {
    if (present(value) && !POD_FIELDS.has(key))
      throw refuse(`spec.securityContext.${key}`, "is not supported by dinv's kubelet");
  }
  checkSeccomp("spec.securityContext.seccompProfile", podCtx.seccompProfile, secure);
  for (const key of ["supplementalGroups", "fsGroup", "sysctls"] as const) {
    const value = podCtx[key];
    if (!secure && present(value) && !(Array.isArray(value) && value.length === 0))
      throw refuse(`spec.securityContext.${key}`, NOT_HERE);
  }
  for (const [i, sysctl] of (podCtx.sysctls ?? []).entries()) {
    if (!SAFE_SYSCTLS.has(sysctl.name))
      throw refuse(
        `spec.securityContext.sysctls[${i}]`,
        `names forbidden sysctl "${sysctl.name}" (not allowlisted)`,
        "SysctlForbidden",
      );
  }
  const groups = [
    ["initContainers", pod.spec.initContainers ?? []],
    ["containers", pod.spec.containers],
  ] as const;
  for (const [list, containers] of groups) {
    for (const [i, c] of containers.entries())
      checkContainer(pod, c, `spec.${list}[${i}].securityContext`, caps);
  }
}

function checkContainer(
  pod: Pod,
  c: Container,
  field: string,
  caps: Pick<Capabilities, "privileged" | "containerSecurity">,
): void {
  const ctx = c.securityContext ?? {};
  const secure = caps.containerSecurity;
  for (const [key, value] of Object.entries(ctx)) {
    if (present(value) && !CONTAINER_FIELDS.has(key))
      throw refuse(`${field}.${key}`, "is not supported by dinv's kubelet");
  }
  if (ctx.procMount !== undefined && ctx.procMount !== "Default")
    throw refuse(`${field}.procMount`, `${String(ctx.procMount)} is not supported (only Default)`);
  if (ctx.privileged === true && !caps.privileged) throw refuse(`${field}.privileged`, NOT_HERE);
  if (!secure) {
    if (ctx.capabilities?.add?.length || ctx.capabilities?.drop?.length)
      throw refuse(`${field}.capabilities`, NOT_HERE);
    if (ctx.readOnlyRootFilesystem === true) throw refuse(`${field}.readOnlyRootFilesystem`, NOT_HERE);
    if (ctx.allowPrivilegeEscalation === false) throw refuse(`${field}.allowPrivilegeEscalation`, NOT_HERE);
  }
  checkSeccomp(`${field}.seccompProfile`, ctx.seccompProfile, secure);
  const runAsUser = ctx.runAsUser ?? pod.spec.securityContext?.runAsUser;
  const runAsGroup = ctx.runAsGroup ?? pod.spec.securityContext?.runAsGroup;
  if (runAsGroup !== undefined && runAsUser === undefined)
    throw refuse(`${field}.runAsGroup`, "needs runAsUser here (the engine takes user and group together)");
  if (ctx.readOnlyRootFilesystem === true) {
    // Volume files go into the container's root filesystem through the archive API, which the
    // engine refuses on a read-only one: refused rather than started without its files.
    const mounted = fileMounts(pod, c).map((m) => m.mount.name);
    if (mounted.length)
      throw refuse(
        `${field}.readOnlyRootFilesystem`,
        `cannot be combined with the file volumes ${mounted.map((n) => `"${n}"`).join(", ")} (dinv delivers their files into the root filesystem; set automountServiceAccountToken: false for the token volume)`,
      );
  }
}

/** What the engine's create request carries for a container's securityContext. */
export interface SecuritySettings {
  user?: string;
  hostConfig: {
    Privileged?: boolean;
    CapAdd?: string[];
    CapDrop?: string[];
    ReadonlyRootfs?: boolean;
    SecurityOpt?: string[];
    GroupAdd?: string[];
    Sysctls?: Record<string, string>;
  };
}

/** The pod's sysctls of one kind: net.* (the network namespace's) or the others (each container's own). */
export function podSysctls(pod: Pod, network: boolean): Record<string, string> | undefined {
  const chosen = (pod.spec.securityContext?.sysctls ?? []).filter(
    (s) => s.name.startsWith("net.") === network,
  );
  return chosen.length ? Object.fromEntries(chosen.map((s) => [s.name, s.value])) : undefined;
}

/** A checked container's settings; `ownsNetwork` when it holds the pod's network namespace itself. */
export function containerSecurity(pod: Pod, container: Container, ownsNetwork: boolean): SecuritySettings {
  const podCtx = pod.spec.securityContext ?? {};
  const ctx = container.securityContext ?? {};
  const uid = ctx.runAsUser ?? podCtx.runAsUser;
  const gid = ctx.runAsGroup ?? podCtx.runAsGroup;
  const seccomp = ctx.seccompProfile ?? podCtx.seccompProfile;
  const securityOpt = [
    ...(ctx.allowPrivilegeEscalation === false ? ["no-new-privileges"] : []),
    ...(seccomp?.type === "Unconfined" ? ["seccomp=unconfined"] : []),
  ];
  const groups = [
    ...new Set([
      ...(podCtx.supplementalGroups ?? []),
      ...(podCtx.fsGroup !== undefined ? [podCtx.fsGroup] : []),
    ]),
  ].map(String);
  const sysctls = { ...podSysctls(pod, false), ...(ownsNetwork ? podSysctls(pod, true) : {}) };
  return {
    ...(uid !== undefined ? { user: gid !== undefined ? `${uid}:${gid}` : String(uid) } : {}),
    hostConfig: {
      ...(ctx.privileged === true ? { Privileged: true } : {}),
      ...(ctx.capabilities?.add?.length ? { CapAdd: [...ctx.capabilities.add] } : {}),
      ...(ctx.capabilities?.drop?.length ? { CapDrop: [...ctx.capabilities.drop] } : {}),
      ...(ctx.readOnlyRootFilesystem === true ? { ReadonlyRootfs: true } : {}),
      ...(securityOpt.length ? { SecurityOpt: securityOpt } : {}),
      ...(groups.length ? { GroupAdd: groups } : {}),
      ...(Object.keys(sysctls).length ? { Sysctls: sysctls } : {}),
    },
  };
}

/**
 * runAsNonRoot, checked as the kubelet checks it when it creates the container: the user it
 * will run as — runAsUser, else the image's — must be a non-zero uid. `imageUser` is the image's
 * `Config.User` ("" = root). Throws CreateContainerConfigError with the kubelet's message.
 */
export function verifyNonRoot(
  pod: Pod,
  container: Container,
  imageUser: () => Promise<string>,
): Promise<void> {
  const podCtx = pod.spec.securityContext ?? {};
  const ctx = container.securityContext ?? {};
  if ((ctx.runAsNonRoot ?? podCtx.runAsNonRoot) !== true) return Promise.resolve();
  const where = `(pod: "${pod.metadata?.name ?? ""}_${pod.metadata?.namespace ?? "default"}", container: ${container.name})`;
  const fail = (message: string) =>
    new PodOperationError(`${message} ${where}`, {
      reason: "CreateContainerConfigError",
      permanent: true,
      hint: "set securityContext.runAsUser to a non-zero uid, or use an image with a numeric non-root USER",
    });
  const uid = ctx.runAsUser ?? podCtx.runAsUser;
  if (uid !== undefined)
    return uid === 0
      ? Promise.reject(fail("container's runAsUser breaks non-root policy"))
      : Promise.resolve();
  return imageUser().then((user) => {
    const name = user.split(":")[0] ?? "";
    if (name === "" || name === "0") throw fail("container has runAsNonRoot and image will run as root");
    if (!/^\d+$/.test(name))
      throw fail(
        `container has runAsNonRoot and image has non-numeric user (${name}), cannot verify user is non-root`,
      );
  });
}
