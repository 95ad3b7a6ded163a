import type { Duplex } from "node:stream";
import { call } from "../engine/client.js";
import type { OpenHost } from "./open.js";

/**
 * Run a command inside the host container through the exec API, wired to this process's
 * stdio; with a TTY (raw mode, resize) when both stdin and stdout are terminals.
 * Returns the command's exit code.
 */
export async function execInHost(host: OpenHost, command: string[]): Promise<number> {
  const tty = process.stdin.isTTY === true && process.stdout.isTTY === true;
  const container = host.client.docker.getContainer(host.config.container.name);
  const exec = await call(host.client, () =>
    container.exec({
      Cmd: command,
      AttachStdin: true,
      AttachStdout: true,
      AttachStderr: true,
      Tty: tty,
      Env: tty ? [`TERM=${process.env.TERM ?? "xterm"}`] : [],
    }),
  );
  const stream = (await call(host.client, () =>
    exec.start({ hijack: true, stdin: true, Tty: tty }),
  )) as Duplex;
  const resize = () =>
    exec.resize({ h: process.stdout.rows, w: process.stdout.columns }).catch(() => undefined);
  if (tty) {
    process.stdin.setRawMode(true);
    stream.pipe(process.stdout);
    process.stdout.on("resize", resize);
    await resize();
  } else {
    host.client.docker.modem.demuxStream(stream, process.stdout, process.stderr);
  }
  process.stdin.pipe(stream);
  try {
    await new Promise<void>((resolve, reject) => {
      stream.on("end", resolve);
      stream.on("close", resolve);
      stream.on("error", reject);
    });
  } finally {
    process.stdin.unpipe(stream);
    if (tty) {
      process.stdin.setRawMode(false);
      process.stdout.off("resize", resize);
    }
    process.stdin.pause();
  }
  const info = await call(host.client, () => exec.inspect());
  return info.ExitCode ?? 1;
}
