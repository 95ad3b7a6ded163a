import { call, type EngineClient } from "../engine/client.js";
import { privilegeHostConfig, ulimitsHostConfig } from "../engine/container-rights.js";
import { FrameDecoder } from "../engine/stdcopy.js";
import { LABEL_HOST, LABEL_ROLE } from "../drivers/docker.js";
import { DinvError } from "../errors.js";
import type { HostConfig } from "../store/host-config.js";
import type { Progress } from "./progress.js";

export class CacheCopyError extends DinvError {}

/**
 * Sizes in KiB on stdout ("total N", then "done N" every 2 s), so the caller can show progress;
 * cp -a keeps owners, modes, links and xattrs (overlay2's layers need them).
 */
const COPY_SCRIPT = [
  "set -e",
  'echo "total $(du -sk /from | cut -f1)"',
  "cp -a /from/. /to/ &",
  "pid=$!",
  'while kill -0 "$pid" 2>/dev/null; do echo "done $(du -sk /to | cut -f1)"; sleep 2; done',
  'wait "$pid"',
  "sync",
].join("\n");

/**
 * Copy a stopped host's cache volume into another volume through a helper container of the host's
 * image with both volumes bound (a VCH reads only Binds, and cannot grow a volume: docs/vic.md).
 * The source volume is left as it was.
 */
export async function copyCacheVolume(
  client: EngineClient,
  config: HostConfig,
  from: string,
  to: string,
  progress: Progress,
): Promise<void> {
  progress.step(`copying the image cache from ${from} to ${to}`);
  const docker = client.docker;
  const helper = await call(client, () =>
    docker.createContainer({
      name: `${config.container.name}-cache-copy-${Date.now()}`,
      Image: config.container.image,
      Entrypoint: ["sh", "-c", COPY_SCRIPT],
      Cmd: [],
      Labels: { [LABEL_HOST]: config.name, [LABEL_ROLE]: "cache-copy" },
      HostConfig: {
        Binds: [`${from}:/from`, `${to}:/to`],
        // Root in the helper must write what dockerd wrote (device nodes, trusted xattrs).
        ...privilegeHostConfig(config.container.privilege),
        ...ulimitsHostConfig(config.container.ulimits),
      },
    }),
  );
  try {
    await call(client, () => helper.start());
    const logs = await call(client, () => helper.logs({ follow: true, stdout: true, stderr: true }));
    const decoder = new FrameDecoder();
    let total = 0;
    const errors: string[] = [];
    for await (const chunk of logs as NodeJS.ReadableStream) {
      for (const frame of decoder.push(Buffer.from(chunk as Buffer))) {
        for (const line of frame.payload.toString("utf8").split("\n").filter(Boolean)) {
          if (frame.stream === 2) errors.push(line);
          const [word, kib] = line.split(" ");
          if (word === "total") total = Number(kib);
          else if (word === "done" && total > 0)
            progress.update?.(`${mib(Number(kib))} of ${mib(total)} MiB`);
        }
      }
    }
    const result = (await call(client, () => helper.wait())) as { StatusCode: number };
    if (result.StatusCode !== 0)
      throw new CacheCopyError(
        `copying the image cache failed (exit ${result.StatusCode})${errors.length ? `: ${errors.slice(-2).join(" | ")}` : ""}`,
        { hint: `the host still has its cache in volume ${from}` },
      );
    progress.done(`${mib(total)} MiB`);
  } finally {
    // v: the host image declares /var/lib/docker a volume, which the helper gets anonymous.
    await call(client, () => helper.remove({ force: true, v: true })).catch(() => undefined);
  }
}

function mib(kib: number): number {
  return Math.round(kib / 1024);
}
