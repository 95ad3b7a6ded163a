/**
 * Pure translations: Kubernetes container specs to engine create requests (command/args
 * semantics, ports, restart policy, resources with VIC's sizing rules), quantities, env
 * resolution and $(VAR) expansion, node capacity, the built-in pause binary, and the command's
 * flag parsers.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseClusterDns, parseListen, parseTaint } from "../../src/cli/commands/kubelet.js";
import { capabilitiesOf } from "../../src/engine/flavor.js";
import type { Container, Pod } from "../../src/kubelet/kube/types.js";
import { kubeMicroTime, kubeTime } from "../../src/kubelet/kube/types.js";
import {
  appContainerSpec,
  infraContainerSpec,
  pullPolicy,
  restartPolicy,
  needsInfraContainer,
} from "../../src/kubelet/provider/container-spec.js";
import type { EnvSource } from "../../src/kubelet/provider/config-scope.js";
import { extraHosts, podDns } from "../../src/kubelet/provider/dns.js";
import { fromServices, serviceEnv } from "../../src/kubelet/provider/service-env.js";
import type { Service } from "../../src/kubelet/kube/types.js";
import { ContainerConfigError, expand, resolveEnv } from "../../src/kubelet/provider/env.js";
import { capacityOf, describeFrom } from "../../src/kubelet/provider/node-provider.js";
import { pauseElfAmd64 } from "../../src/kubelet/provider/pause-image.js";
import {
  containerResources,
  parseQuantity,
  QuantityError,
  vicMemory,
} from "../../src/kubelet/provider/resources.js";

const MiB = 2 ** 20;
const docker = { node: "n1", flavor: "docker" as const, capabilities: capabilitiesOf("docker") };

function pod(containers: Container[], extra: Partial<Pod["spec"]> = {}): Pod {
  return {
    metadata: {
      name: "web",
      namespace: "ns",
      uid: "u-1",
      labels: { app: "web" },
      annotations: { note: "hi" },
    },
    spec: { nodeName: "n1", containers, ...extra },
  };
}

describe("command and args", () => {
  const spec = (c: Partial<Container>) =>
    appContainerSpec(pod([]), { name: "c", image: "img:1", ...c }, 0, [], docker);

  it("neither: the image's ENTRYPOINT and CMD", () => {
    const s = spec({});
    assert.equal(s.Entrypoint, undefined);
    assert.equal(s.Cmd, undefined);
  });
  it("command only: replaces ENTRYPOINT and drops CMD (no Cmd sent, so the engine does not merge the image's)", () => {
    const s = spec({ command: ["/bin/app"] });
    assert.deepEqual(s.Entrypoint, ["/bin/app"]);
    assert.equal(s.Cmd, undefined);
  });
  it("args only: the image's ENTRYPOINT with these arguments", () => {
    const s = spec({ args: ["--flag"] });
    assert.equal(s.Entrypoint, undefined);
    assert.deepEqual(s.Cmd, ["--flag"]);
  });
  it("both", () => {
    const s = spec({ command: ["/bin/app"], args: ["a", "b"] });
    assert.deepEqual([s.Entrypoint, s.Cmd], [["/bin/app"], ["a", "b"]]);
  });
  it("expands $(VAR) from the container's env in command and args", () => {
    const s = appContainerSpec(
      pod([]),
      { name: "c", image: "i:1", command: ["echo", "$(A)", "$$(A)", "$(MISSING)"] },
      0,
      ["A=1"],
      docker,
    );
    assert.deepEqual(s.Entrypoint, ["echo", "1", "$(A)", "$(MISSING)"]);
  });
});

describe("container create requests", () => {
  it("labels every container with the pod's identity", () => {
    const s = appContainerSpec(pod([]), { name: "c", image: "i:1" }, 2, [], docker);
    assert.equal(s.name, "k8s_c_web_ns_u-1");
    assert.deepEqual(s.Labels, {
      "io.dinv.pod.node": "n1",
      "io.dinv.pod.namespace": "ns",
      "io.dinv.pod.name": "web",
      "io.dinv.pod.uid": "u-1",
      "io.dinv.pod.role": "app",
      "io.dinv.pod.container": "c",
      "io.dinv.pod.index": "2",
    });
  });

  it("without an infra container (VIC): own hostname, own ports", () => {
    const s = appContainerSpec(
      pod([]),
      { name: "c", image: "i:1", ports: [{ containerPort: 53, protocol: "UDP", hostPort: 5353 }] },
      0,
      [],
      { ...docker, flavor: "vic", capabilities: capabilitiesOf("vic") },
    );
    assert.equal(s.Hostname, "web");
    assert.equal(s.HostConfig?.NetworkMode, "bridge");
    assert.deepEqual(s.ExposedPorts, { "53/udp": {} });
    assert.deepEqual(s.HostConfig?.PortBindings, { "53/udp": [{ HostIp: "", HostPort: "5353" }] });
  });

  it("the infra container publishes every container's ports", () => {
    const p = pod([
      { name: "a", image: "i:1", ports: [{ containerPort: 80 }] },
      { name: "b", image: "i:1", ports: [{ containerPort: 443, hostPort: 8443, hostIP: "127.0.0.1" }] },
    ]);
    const s = infraContainerSpec(p, { ref: "pause:1" }, docker);
    assert.deepEqual(s.ExposedPorts, { "80/tcp": {}, "443/tcp": {} });
    assert.deepEqual(s.HostConfig?.PortBindings, { "443/tcp": [{ HostIp: "127.0.0.1", HostPort: "8443" }] });
    assert.equal(s.Entrypoint, undefined, "an image given by --infra-image keeps its own entrypoint");
  });

  it("gives an infra container to pods whose network namespace more than one container shares, or whose IP is in their environment", () => {
    const one: Container = { name: "a", image: "x:1" };
    assert.equal(needsInfraContainer(pod([one])), false);
    assert.equal(needsInfraContainer(pod([one, { name: "b", image: "x:1" }])), true);
    assert.equal(needsInfraContainer(pod([one], { initContainers: [{ name: "i", image: "x:1" }] })), true);
    const ownIp: Container = {
      ...one,
      env: [{ name: "IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } }],
    };
    assert.equal(needsInfraContainer(pod([ownIp])), true);
    // The relay runs in the infra container: with it on, every pod has one.
    assert.equal(needsInfraContainer(pod([one]), true), true);
  });

  it("maps restartPolicy to the engine's", () => {
    assert.deepEqual(restartPolicy(pod([])), { Name: "always" });
    assert.deepEqual(restartPolicy(pod([], { restartPolicy: "OnFailure" })), { Name: "on-failure" });
    assert.deepEqual(restartPolicy(pod([], { restartPolicy: "Never" })), { Name: "no" });
  });

  it("defaults imagePullPolicy as Kubernetes does", () => {
    assert.equal(pullPolicy({ name: "c", image: "busybox" }), "Always");
    assert.equal(pullPolicy({ name: "c", image: "busybox:latest" }), "Always");
    assert.equal(pullPolicy({ name: "c", image: "busybox:1.36" }), "IfNotPresent");
    assert.equal(pullPolicy({ name: "c", image: "registry:5000/busybox" }), "Always");
    assert.equal(pullPolicy({ name: "c", image: "busybox@sha256:abc" }), "IfNotPresent");
    assert.equal(pullPolicy({ name: "c", image: "busybox", imagePullPolicy: "Never" }), "Never");
  });

  it("runs as runAsUser:runAsGroup", () => {
    assert.equal(
      appContainerSpec(
        pod([]),
        { name: "c", image: "i:1", securityContext: { runAsUser: 1000, runAsGroup: 10 } },
        0,
        [],
        docker,
      ).User,
      "1000:10",
    );
  });
});

describe("pod DNS and hostAliases (the kubelet's dns.go)", () => {
  const cluster = { servers: ["10.96.0.10"], domain: "cluster.local" };
  const withDns = { ...docker, clusterDns: cluster };

  it("ClusterFirst (the default): cluster DNS, the namespace's search path, ndots:5", () => {
    assert.deepEqual(podDns(pod([]), cluster), {
      hostConfig: {
        Dns: ["10.96.0.10"],
        DnsSearch: ["ns.svc.cluster.local", "svc.cluster.local", "cluster.local"],
        DnsOptions: ["ndots:5"],
      },
      warnings: [],
    });
  });

  it("ClusterFirst without --cluster-dns falls back to Default, with a MissingClusterDNS warning", () => {
    const dns = podDns(pod([]), undefined);
    assert.deepEqual(dns.hostConfig, {});
    assert.equal(dns.warnings[0]?.reason, "MissingClusterDNS");
    assert.equal(
      dns.warnings[0]?.message,
      'pod: "web_ns(u-1)". kubelet does not have ClusterDNS IP configured and cannot create Pod using "ClusterFirst" policy. Falling back to "Default" policy.',
    );
  });

  it("hostNetwork: ClusterFirst means the node's resolver, ClusterFirstWithHostNet the cluster's", () => {
    assert.deepEqual(podDns(pod([], { hostNetwork: true }), cluster), { hostConfig: {}, warnings: [] });
    const dns = podDns(pod([], { hostNetwork: true, dnsPolicy: "ClusterFirstWithHostNet" }), cluster);
    assert.deepEqual(dns.hostConfig.Dns, ["10.96.0.10"]);
  });

  it("Default keeps the engine's resolver; dnsConfig is still applied", () => {
    assert.deepEqual(podDns(pod([], { dnsPolicy: "Default" }), cluster), { hostConfig: {}, warnings: [] });
    const dns = podDns(pod([], { dnsPolicy: "Default", dnsConfig: { nameservers: ["1.1.1.1"] } }), cluster);
    assert.deepEqual(dns.hostConfig, { Dns: ["1.1.1.1"] });
  });

  it("None: only dnsConfig, and no inherited search path", () => {
    const dns = podDns(
      pod([], { dnsPolicy: "None", dnsConfig: { nameservers: ["1.1.1.1"], options: [{ name: "edns0" }] } }),
      cluster,
    );
    assert.deepEqual(dns.hostConfig, { Dns: ["1.1.1.1"], DnsSearch: ["."], DnsOptions: ["edns0"] });
  });

  it("dnsConfig is appended without duplicates, and its options override same-named ones", () => {
    const dns = podDns(
      pod([], {
        dnsConfig: {
          nameservers: ["10.96.0.10", "8.8.8.8"],
          searches: ["svc.cluster.local", "example.com"],
          options: [{ name: "ndots", value: "2" }, { name: "single-request-reopen" }],
        },
      }),
      cluster,
    );
    assert.deepEqual(dns.hostConfig, {
      Dns: ["10.96.0.10", "8.8.8.8"],
      DnsSearch: ["ns.svc.cluster.local", "svc.cluster.local", "cluster.local", "example.com"],
      DnsOptions: ["ndots:2", "single-request-reopen"],
    });
  });

  it("more than 3 nameservers are cut to 3, with a DNSConfigForming warning", () => {
    const dns = podDns(pod([], { dnsConfig: { nameservers: ["1.1.1.1", "8.8.8.8", "9.9.9.9"] } }), cluster);
    assert.deepEqual(dns.hostConfig.Dns, ["10.96.0.10", "1.1.1.1", "8.8.8.8"]);
    assert.equal(dns.warnings[0]?.reason, "DNSConfigForming");
  });

  it("a search path longer than 253 characters is dropped (some resolvers abort on it), with a DNSConfigForming warning", () => {
    const long = `${Array.from("abcde", (c) => c.repeat(50)).join(".")}.example`; // 262 characters
    const dns = podDns(pod([], { dnsConfig: { searches: [long, "example.com"] } }), cluster);
    assert.deepEqual(dns.hostConfig.DnsSearch, [
      "ns.svc.cluster.local",
      "svc.cluster.local",
      "cluster.local",
      "example.com",
    ]);
    assert.deepEqual(dns.warnings, [
      {
        reason: "DNSConfigForming",
        message:
          "Search Line limits were exceeded, some search paths have been omitted, the applied search line is: ns.svc.cluster.local svc.cluster.local cluster.local example.com",
      },
    ]);
  });

  it("more than 32 search paths are cut to 32, with a DNSConfigForming warning", () => {
    const searches = Array.from({ length: 40 }, (_, i) => `s${i}.example`);
    const dns = podDns(pod([], { dnsConfig: { searches } }), cluster);
    assert.equal(dns.hostConfig.DnsSearch?.length, 32);
    assert.equal(dns.hostConfig.DnsSearch?.[31], "s28.example");
    assert.equal(dns.warnings[0]?.reason, "DNSConfigForming");
  });

  it("hostAliases become ExtraHosts name:ip, in order", () => {
    const p = pod([], {
      hostAliases: [
        { ip: "10.1.2.3", hostnames: ["foo.local", "bar.local"] },
        { ip: "::1", hostnames: ["six"] },
      ],
    });
    assert.deepEqual(extraHosts(p), ["foo.local:10.1.2.3", "bar.local:10.1.2.3", "six:::1"]);
  });

  it("DNS and hosts go on the infra container, never on a container joining it", () => {
    const p = pod([{ name: "c", image: "i:1" }], { hostAliases: [{ ip: "10.1.2.3", hostnames: ["foo"] }] });
    const infra = infraContainerSpec(p, { ref: "pause:1" }, withDns);
    assert.deepEqual(infra.HostConfig?.Dns, ["10.96.0.10"]);
    assert.deepEqual(infra.HostConfig?.DnsOptions, ["ndots:5"]);
    assert.deepEqual(infra.HostConfig?.ExtraHosts, ["foo:10.1.2.3"]);
    const joined = appContainerSpec(p, { name: "c", image: "i:1" }, 0, [], { ...withDns, infraId: "abc" });
    for (const key of ["Dns", "DnsSearch", "DnsOptions", "ExtraHosts"] as const) {
      assert.equal(joined.HostConfig?.[key], undefined, key);
    }
  });

  it("without an infra container (VIC) every container carries them", () => {
    const p = pod([{ name: "c", image: "i:1" }], { hostAliases: [{ ip: "10.1.2.3", hostnames: ["foo"] }] });
    const s = appContainerSpec(p, { name: "c", image: "i:1" }, 0, [], {
      ...withDns,
      flavor: "vic",
      capabilities: capabilitiesOf("vic"),
    });
    assert.deepEqual(s.HostConfig?.DnsSearch, ["ns.svc.cluster.local", "svc.cluster.local", "cluster.local"]);
    assert.deepEqual(s.HostConfig?.ExtraHosts, ["foo:10.1.2.3"]);
  });
});

describe("service environment variables (the kubelet's envvars.go)", () => {
  const svc = (namespace: string, name: string, spec: Service["spec"]): Service => ({
    metadata: { namespace, name },
    spec,
  });
  const services: Service[] = [
    svc("default", "kubernetes", { clusterIP: "10.96.0.1", ports: [{ name: "https", port: 443 }] }),
    svc("default", "other", { clusterIP: "10.96.0.2", ports: [{ port: 80 }] }),
    svc("ns", "redis-primary", {
      clusterIP: "10.96.0.30",
      ports: [{ port: 6379 }, { name: "metrics", port: 9121, protocol: "UDP" }],
    }),
    svc("ns", "headless", { clusterIP: "None", ports: [{ port: 80 }] }),
  ];
  const source: EnvSource = {
    getConfigMap: async () => undefined,
    getSecret: async () => undefined,
    listServices: async (ns) => services.filter((s) => s.metadata?.namespace === ns),
    getService: async (ns, name) =>
      services.find((s) => s.metadata?.namespace === ns && s.metadata?.name === name),
  };

  it("derives HOST, PORT, named ports and Docker link variables", () => {
    assert.deepEqual(fromServices([services[2]!]), [
      ["REDIS_PRIMARY_SERVICE_HOST", "10.96.0.30"],
      ["REDIS_PRIMARY_SERVICE_PORT", "6379"],
      ["REDIS_PRIMARY_SERVICE_PORT_METRICS", "9121"],
      ["REDIS_PRIMARY_PORT", "tcp://10.96.0.30:6379"],
      ["REDIS_PRIMARY_PORT_6379_TCP", "tcp://10.96.0.30:6379"],
      ["REDIS_PRIMARY_PORT_6379_TCP_PROTO", "tcp"],
      ["REDIS_PRIMARY_PORT_6379_TCP_PORT", "6379"],
      ["REDIS_PRIMARY_PORT_6379_TCP_ADDR", "10.96.0.30"],
      ["REDIS_PRIMARY_PORT_9121_UDP", "udp://10.96.0.30:9121"],
      ["REDIS_PRIMARY_PORT_9121_UDP_PROTO", "udp"],
      ["REDIS_PRIMARY_PORT_9121_UDP_PORT", "9121"],
      ["REDIS_PRIMARY_PORT_9121_UDP_ADDR", "10.96.0.30"],
    ]);
    assert.deepEqual(fromServices([svc("ns", "v6", { clusterIP: "fd00::1", ports: [{ port: 80 }] })])[2], [
      "V6_PORT",
      "tcp://[fd00::1]:80",
    ]);
  });

  it("the pod's namespace's services and default/kubernetes; headless and other namespaces' never", async () => {
    const env = await serviceEnv(pod([]), source);
    assert.equal(env.get("KUBERNETES_SERVICE_HOST"), "10.96.0.1");
    assert.equal(env.get("KUBERNETES_SERVICE_PORT"), "443");
    assert.equal(env.get("KUBERNETES_SERVICE_PORT_HTTPS"), "443");
    assert.equal(env.get("KUBERNETES_PORT_443_TCP"), "tcp://10.96.0.1:443");
    assert.equal(env.get("REDIS_PRIMARY_SERVICE_HOST"), "10.96.0.30");
    assert.equal(env.get("OTHER_SERVICE_HOST"), undefined);
    assert.equal(env.get("HEADLESS_SERVICE_HOST"), undefined);
  });

  it("enableServiceLinks: false keeps only KUBERNETES_*", async () => {
    const env = await serviceEnv(pod([], { enableServiceLinks: false }), source);
    assert.deepEqual(
      [...env.keys()].filter((k) => !k.startsWith("KUBERNETES_")),
      [],
    );
    assert.equal(env.get("KUBERNETES_SERVICE_HOST"), "10.96.0.1");
  });

  it("container env overrides them, may reference them, and the rest follow it", async () => {
    const env = await resolveEnv(
      pod([]),
      {
        name: "c",
        env: [
          { name: "KUBERNETES_SERVICE_HOST", value: "override" },
          { name: "REDIS", value: "$(REDIS_PRIMARY_SERVICE_HOST):$(REDIS_PRIMARY_SERVICE_PORT)" },
        ],
      },
      source,
      { hostIP: "10.0.0.5", nodeAllocatable: { cpu: 4, memory: 2 ** 30 } },
    );
    assert.deepEqual(env.slice(0, 2), ["KUBERNETES_SERVICE_HOST=override", "REDIS=10.96.0.30:6379"]);
    assert.equal(env.filter((e) => e.startsWith("KUBERNETES_SERVICE_HOST=")).length, 1);
    assert.ok(env.includes("REDIS_PRIMARY_PORT=tcp://10.96.0.30:6379"));
  });
});

describe("quantities and resources", () => {
  it("parses Kubernetes quantities", () => {
    assert.equal(parseQuantity("500m"), 0.5);
    assert.equal(parseQuantity("2"), 2);
    assert.equal(parseQuantity("128Mi"), 128 * MiB);
    assert.equal(parseQuantity("1G"), 1e9);
    assert.equal(parseQuantity("129e6"), 129e6);
    assert.equal(parseQuantity("1.5Gi"), 1.5 * 2 ** 30);
    assert.equal(parseQuantity(3), 3);
    assert.throws(() => parseQuantity("12 apples"), QuantityError);
  });

  it("Docker: limits → Memory/NanoCpus, requests → MemoryReservation/CpuShares", () => {
    const r = containerResources(
      {
        name: "c",
        resources: { limits: { memory: "256Mi", cpu: "1500m" }, requests: { memory: "128Mi", cpu: "250m" } },
      },
      "docker",
    );
    assert.deepEqual(r, { Memory: 256 * MiB, MemoryReservation: 128 * MiB, NanoCpus: 1.5e9, CpuShares: 256 });
    assert.deepEqual(containerResources({ name: "c" }, "docker"), {});
  });

  it("VIC: one containerVM size — memory in 128 MiB steps, at least 512 MiB; vCPUs rounded up", () => {
    assert.deepEqual(
      containerResources({ name: "c", resources: { limits: { memory: "100Mi", cpu: "500m" } } }, "vic"),
      { Memory: 512 * MiB, CpusetCpus: "1" },
    );
    assert.deepEqual(
      containerResources({ name: "c", resources: { requests: { memory: "700Mi", cpu: "2.2" } } }, "vic"),
      { Memory: 768 * MiB, CpusetCpus: "3" },
    );
    assert.equal(vicMemory(1024 * MiB), 1024 * MiB);
    assert.equal(vicMemory(1024 * MiB + 1), 1152 * MiB);
    assert.deepEqual(containerResources({ name: "c" }, "vic"), {}, "no request: VIC's default size");
  });
});

describe("env", () => {
  const source = (
    maps: Record<string, Record<string, string>>,
    secrets: Record<string, Record<string, string>> = {},
  ): EnvSource => ({
    listServices: async () => [],
    getService: async () => undefined,
    getConfigMap: async (_ns, name) => (maps[name] ? { data: maps[name] } : undefined),
    getSecret: async (_ns, name) =>
      secrets[name]
        ? {
            data: Object.fromEntries(
              Object.entries(secrets[name] ?? {}).map(([k, v]) => [k, Buffer.from(v).toString("base64")]),
            ),
          }
        : undefined,
  });
  const ctx = { hostIP: "10.0.0.5", podIP: "172.17.0.3", nodeAllocatable: { cpu: 4, memory: 8 * 2 ** 30 } };

  it("envFrom, then env in order; later entries override and may refer to earlier ones", async () => {
    const env = await resolveEnv(
      pod([]),
      {
        name: "c",
        envFrom: [{ configMapRef: { name: "cm" } }, { secretRef: { name: "s" }, prefix: "S_" }],
        env: [
          { name: "A", value: "override" },
          { name: "B", value: "$(A)-$(S_TOKEN)" },
        ],
      },
      source({ cm: { A: "from-cm", C: "c", "bad key": "x" } }, { s: { TOKEN: "t0k" } }),
      ctx,
    );
    assert.deepEqual(env, ["A=override", "C=c", "S_TOKEN=t0k", "B=override-t0k"]);
  });

  it("valueFrom: configMapKeyRef, secretKeyRef, fieldRef, resourceFieldRef", async () => {
    const env = await resolveEnv(
      pod([{ name: "c", resources: { limits: { memory: "64Mi" } } }]),
      {
        name: "c",
        resources: { limits: { memory: "64Mi" } },
        env: [
          { name: "CM", valueFrom: { configMapKeyRef: { name: "cm", key: "k" } } },
          { name: "SEC", valueFrom: { secretKeyRef: { name: "s", key: "k" } } },
          { name: "NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
          { name: "NS", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
          { name: "APP", valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } },
          { name: "NOTE", valueFrom: { fieldRef: { fieldPath: "metadata.annotations['note']" } } },
          { name: "NODE", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } },
          { name: "HOST", valueFrom: { fieldRef: { fieldPath: "status.hostIP" } } },
          { name: "IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
          { name: "MEM", valueFrom: { resourceFieldRef: { resource: "limits.memory", divisor: "1Mi" } } },
          { name: "CPU", valueFrom: { resourceFieldRef: { resource: "limits.cpu" } } },
        ],
      },
      source({ cm: { k: "v1" } }, { s: { k: "v2" } }),
      ctx,
    );
    assert.deepEqual(env, [
      "CM=v1",
      "SEC=v2",
      "NAME=web",
      "NS=ns",
      "APP=web",
      "NOTE=hi",
      "NODE=n1",
      "HOST=10.0.0.5",
      "IP=172.17.0.3",
      "MEM=64",
      "CPU=4",
    ]);
  });

  it("missing references fail unless optional", async () => {
    const c = (optional: boolean): Container => ({
      name: "c",
      env: [{ name: "X", valueFrom: { secretKeyRef: { name: "s", key: "absent", optional } } }],
    });
    await assert.rejects(
      resolveEnv(pod([]), c(false), source({}, { s: { k: "v" } }), ctx),
      (e: unknown) =>
        e instanceof ContainerConfigError && /key "absent" not found in secret "s"/.test(e.message),
    );
    assert.deepEqual(await resolveEnv(pod([]), c(true), source({}), ctx), []);
    await assert.rejects(
      resolveEnv(pod([]), { name: "c", envFrom: [{ configMapRef: { name: "gone" } }] }, source({}), ctx),
      /configmap "gone" not found/,
    );
    await assert.rejects(
      resolveEnv(
        pod([]),
        { name: "c", env: [{ name: "X", valueFrom: { fieldRef: { fieldPath: "spec.weird" } } }] },
        source({}),
        ctx,
      ),
      /unsupported fieldRef/,
    );
  });

  it("expand: $$ escapes, unknown and unterminated references stay", () => {
    const vars = new Map([["A", "1"]]);
    assert.equal(expand("$(A)$$(A)$(B)$(A", vars), "1$(A)$(B)$(A");
    assert.equal(expand("cost: $5", vars), "cost: $5");
  });
});

describe("node capacity", () => {
  it("pods = memory / 2 GiB unless given; memory in Ki", () => {
    assert.deepEqual(capacityOf({ cpus: 4, memoryBytes: 16 * 2 ** 30 }), {
      cpu: "4",
      memory: `${16 * 2 ** 20}Ki`,
      pods: "8",
    });
    assert.equal(capacityOf({ cpus: 4, memoryBytes: 2 ** 30 }).pods, "1");
    assert.equal(capacityOf({ cpus: 4, memoryBytes: 16 * 2 ** 30, pods: 50 }).pods, "50");
  });

  it("a VCH: MHz as cores at 1 per GHz, runtime vic://<VIC version>", () => {
    const d = describeFrom(
      {
        ID: "vSphere Integrated Containers",
        Driver: "vSphere Integrated Containers v1.5.4-0 Backend Engine",
        NCPU: 5600,
        MemTotal: 8 * 2 ** 30,
        OperatingSystem: "VMware Photon OS/Linux",
      },
      { Version: "17.06.2-vic", Os: "linux", Arch: "amd64" },
    );
    assert.equal(d.capacity.cpu, "5");
    assert.equal(d.capacity.pods, "4");
    assert.equal(d.containerRuntimeVersion, "vic://v1.5.4-0");
    assert.equal(d.flavor, "vic");
  });
});

describe("pieces", () => {
  it("the built-in pause binary is a 129-byte x86-64 ELF entering at its code", () => {
    const elf = pauseElfAmd64();
    assert.equal(elf.length, 129);
    assert.deepEqual([...elf.subarray(0, 4)], [0x7f, 0x45, 0x4c, 0x46]);
    assert.equal(elf.readUInt16LE(18), 0x3e);
    assert.equal(Number(elf.readBigUInt64LE(24)) - 0x400000, 120);
  });

  it("writes metav1.Time and MicroTime", () => {
    const d = new Date("2026-01-02T03:04:05.678Z");
    assert.equal(kubeTime(d), "2026-01-02T03:04:05Z");
    assert.equal(kubeMicroTime(d), "2026-01-02T03:04:05.678000Z");
  });

  it("parses --taint and --listen", () => {
    assert.deepEqual(parseTaint("virtual-kubelet.io/provider=vic:NoSchedule"), {
      key: "virtual-kubelet.io/provider",
      value: "vic",
      effect: "NoSchedule",
    });
    assert.deepEqual(parseTaint("dedicated:NoExecute"), { key: "dedicated", effect: "NoExecute" });
    assert.throws(() => parseTaint("k=v"), /KEY=VALUE:EFFECT/);
    assert.throws(() => parseTaint("k=v:Sometimes"));
    assert.deepEqual(parseListen("127.0.0.1:0"), { host: "127.0.0.1", port: 0 });
    assert.deepEqual(parseListen(":10250"), { host: "0.0.0.0", port: 10250 });
    assert.deepEqual(parseListen("[::1]:10250"), { host: "::1", port: 10250 });
    assert.throws(() => parseListen("10250"));
  });

  it("parses a repeated --cluster-dns, IP literals only", () => {
    assert.deepEqual(parseClusterDns("fd00::a", parseClusterDns("10.96.0.10")), ["10.96.0.10", "fd00::a"]);
    assert.throws(() => parseClusterDns("kube-dns"), /not an IP address/);
  });
});
