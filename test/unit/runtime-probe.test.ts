/**
 * The start probes (src/engine/privilege.ts) against a stand-in engine that refuses starts the
 * way runc does on these machines; the real refusals are exercised by `npm run test:podman`
 * (scripts/podman.sh's service keeps Podman's stock limits).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type Dockerode from "dockerode";
import type { EngineClient } from "../../src/engine/client.js";
import { resolveEndpoint } from "../../src/engine/resolve.js";
import { capabilitiesOf, type EngineProfile, type Flavor } from "../../src/engine/flavor.js";
import { chooseUlimits, choosePrivilegeMode, ULIMIT_LADDER } from "../../src/engine/privilege.js";

const RLIMIT =
  "runc create failed: unable to start container process: error during container init: error setting rlimits for ready process: error setting rlimit type 7: operation not permitted";
const CAPS = "unable to apply caps: operation not permitted";

/** An engine whose start answers with `refuse(hostConfig)` (an error message) or starts. */
function fakeEngine(refuse: (hostConfig: Dockerode.HostConfig) => string | undefined): {
  client: EngineClient;
  starts: Dockerode.HostConfig[];
  removed: number;
} {
  const state = { starts: [] as Dockerode.HostConfig[], removed: 0 };
  const docker = {
    createContainer: async (options: Dockerode.ContainerCreateOptions) => {
      const hostConfig = options.HostConfig ?? {};
      return {
        start: async () => {
          state.starts.push(hostConfig);
          const message = refuse(hostConfig);
          if (message) throw new Error(message);
        },
        wait: async () => ({ StatusCode: 0 }),
        remove: async () => {
          state.removed++;
        },
      };
    },
  } as unknown as Dockerode;
  const client: EngineClient = { endpoint: resolveEndpoint({ endpoint: "unix:///fake.sock" }, {}), docker };
  return {
    client,
    get starts() {
      return state.starts;
    },
    get removed() {
      return state.removed;
    },
  };
}

function profile(flavor: Flavor): EngineProfile {
  return {
    flavor,
    capabilities: capabilitiesOf(flavor),
    version: "1",
    apiVersion: "1.41",
    cpus: 2,
    memoryBytes: 1,
    os: "linux",
    arch: "amd64",
  };
}

const nofileOf = (hostConfig: Dockerode.HostConfig) =>
  hostConfig.Ulimits?.find((u) => u.Name === "nofile")?.Hard ?? 1048576;

describe("chooseUlimits", () => {
  it("keeps the engine's defaults where they start", async () => {
    const engine = fakeEngine(() => undefined);
    assert.equal(await chooseUlimits(engine.client, profile("podman"), "img"), undefined);
    assert.equal(engine.starts.length, 1);
    assert.equal(engine.starts[0]?.Ulimits, undefined, "first try: no per-container limits");
  });

  it("steps down the ladder past refused limits, always setting nofile and nproc together", async () => {
    // These machines: hard nofile 20000.
    const engine = fakeEngine((hc) => (nofileOf(hc) > 20000 ? RLIMIT : undefined));
    const chosen = await chooseUlimits(engine.client, profile("podman"), "img");
    assert.deepEqual(chosen, { nofile: 16384, nproc: 32768 });
    assert.equal(engine.starts.length, 3, "defaults, 65536, 16384");
    assert.deepEqual(
      engine.starts[2]?.Ulimits?.map((u) => u.Name),
      ["nofile", "nproc"],
    );
    assert.equal(engine.removed, 3, "every probe container removed");
  });

  it("does not probe engines whose defaults always fit (Docker Engine, VIC)", async () => {
    for (const flavor of ["docker", "vic"] as const) {
      const engine = fakeEngine(() => RLIMIT);
      assert.equal(await chooseUlimits(engine.client, profile(flavor), "img"), undefined);
      assert.equal(engine.starts.length, 0);
    }
  });

  it("says so in one line when no limit on the ladder starts", async () => {
    const engine = fakeEngine(() => RLIMIT);
    await assert.rejects(chooseUlimits(engine.client, profile("podman"), "img"), (err: Error) => {
      assert.match(err.message, /refuses to start containers with any open-file limit/);
      return true;
    });
    assert.equal(engine.starts.length, ULIMIT_LADDER.length + 1);
  });
});

describe("choosePrivilegeMode", () => {
  it("does not take a refused limit for a refused privilege (both say 'operation not permitted')", async () => {
    const engine = fakeEngine(() => RLIMIT);
    await assert.rejects(
      choosePrivilegeMode(engine.client, profile("podman"), "img"),
      /refused the container limits/,
    );
  });

  it("probes privileged with the chosen limits, and falls back to explicit capabilities when caps are refused", async () => {
    const ok = fakeEngine(() => undefined);
    assert.equal(
      await choosePrivilegeMode(ok.client, profile("podman"), "img", { nofile: 16384, nproc: 32768 }),
      "privileged",
    );
    assert.equal(ok.starts[0]?.Privileged, true);
    assert.equal(nofileOf(ok.starts[0] ?? {}), 16384);
    const noCaps = fakeEngine((hc) => (hc.Privileged ? CAPS : undefined));
    assert.equal(await choosePrivilegeMode(noCaps.client, profile("docker"), "img"), "explicit");
  });
});
