/**
 * The real engine the e2e tests talk to: whatever DOCKER_HOST (or the docker CLI's
 * context) names. scripts/test.sh starts a private dockerd and exports DOCKER_HOST.
 * No engine is a failure, not a skip: these tests exist to run against a real one.
 */
import { randomBytes } from "node:crypto";
import { connect, type EngineClient } from "../../src/engine/client.js";
import { resolveEndpoint } from "../../src/engine/resolve.js";

export const HOST_IMAGE = process.env.DINV_TEST_IMAGE ?? "dinv/host:latest";

export async function testEngine(): Promise<EngineClient> {
  const client = connect(resolveEndpoint({}, process.env), { timeoutMs: 30_000 });
  try {
    await client.docker.ping();
  } catch (err) {
    throw new Error(
      `no Docker engine answers at ${client.endpoint.url} (${(err as Error).message}); run the tests through scripts/test.sh`,
    );
  }
  try {
    await client.docker.getImage(HOST_IMAGE).inspect();
  } catch {
    throw new Error(`image ${HOST_IMAGE} is missing; build it with images/dinv/build-offline.sh`);
  }
  return client;
}

/** A label value unique to this test run, so cleanup only touches what the run made. */
export function runId(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString("hex")}`;
}

/**
 * Remove every container and volume carrying label io.dinv.test=<id> (or another label=value);
 * with their anonymous volumes (the host image declares one), so test runs leave none behind.
 */
export async function removeLabelled(
  client: EngineClient,
  id: string,
  label = "io.dinv.test",
): Promise<void> {
  const filters = JSON.stringify({ label: [`${label}=${id}`] });
  const containers = await client.docker.listContainers({ all: true, filters });
  await Promise.all(containers.map((c) => client.docker.getContainer(c.Id).remove({ force: true, v: true })));
  const { Volumes } = await client.docker.listVolumes({ filters });
  await Promise.all((Volumes ?? []).map((v) => client.docker.getVolume(v.Name).remove()));
}
