/**
 * A simulated Docker Engine for the kubelet's memory measurement with many pods: it answers the
 * Docker API calls `dinv kubelet` makes (ping, info, version, image inspect, container create /
 * start / stop / inspect / list / remove, events, volumes, archive) from memory, on a unix
 * socket. No container runs; everything else the kubelet does (API watch, cache, status writes,
 * event stream) is real. Used for the memory part only, and said so in the table.
 */
import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";

interface SimContainer {
  id: string;
  name: string;
  image: string;
  labels: Record<string, string>;
  created: string;
  status: "created" | "running" | "exited";
  startedAt: string;
  finishedAt: string;
  ip: string;
}

export interface SimEngine {
  socketPath: string;
  containers: () => number;
  close(): void;
}

const ZERO_TIME = "0001-01-01T00:00:00Z";

export async function startSimEngine(socketPath: string): Promise<SimEngine> {
  const containers = new Map<string, SimContainer>();
  const byName = new Map<string, string>();
  const watchers = new Set<{ res: ServerResponse; labels: string[] }>();
  let ipCounter = 2;

  const find = (ref: string): SimContainer | undefined => {
    const id = byName.get(ref.replace(/^\//, "")) ?? ref;
    return containers.get(id) ?? [...containers.values()].find((c) => c.id.startsWith(ref));
  };
  const emit = (c: SimContainer, action: string) => {
    const attributes: Record<string, string> = { ...c.labels, name: c.name, image: c.image };
    if (action === "die") attributes.exitCode = "0";
    const line = `${JSON.stringify({
      Type: "container",
      Action: action,
      status: action,
      id: c.id,
      Actor: { ID: c.id, Attributes: attributes },
      time: Math.floor(Date.now() / 1000),
    })}\n`;
    for (const w of watchers) if (w.labels.every((l) => matchLabel(c.labels, l))) w.res.write(line);
  };
  const inspect = (c: SimContainer) => ({
    Id: c.id,
    Name: `/${c.name}`,
    Created: c.created,
    Image: `sha256:${"0".repeat(64)}`,
    Config: { Image: c.image, Labels: c.labels, Tty: false, OpenStdin: false },
    State: {
      Status: c.status,
      Running: c.status === "running",
      Restarting: false,
      ExitCode: 0,
      Error: "",
      OOMKilled: false,
      StartedAt: c.startedAt,
      FinishedAt: c.finishedAt,
    },
    RestartCount: 0,
    HostConfig: {},
    NetworkSettings: { Networks: { bridge: { IPAddress: c.ip } }, Ports: {} },
  });

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? "/", "http://engine");
    const path = url.pathname.replace(/^\/v\d+\.\d+/, "");
    const method = req.method ?? "GET";
    const body = await readBody(req);
    const json = (status: number, value: unknown) => {
      res.writeHead(status, { "Content-Type": "application/json" });
      res.end(JSON.stringify(value));
    };
    const empty = (status: number) => {
      res.writeHead(status);
      res.end();
    };
    let m: RegExpExecArray | null;
    if (path === "/_ping") return void res.end("OK");
    if (path === "/version")
      return json(200, {
        Version: "20.10.24",
        ApiVersion: "1.41",
        Os: "linux",
        Arch: "amd64",
        KernelVersion: "6.0.0-sim",
        Components: [{ Name: "Engine", Version: "20.10.24" }],
      });
    if (path === "/info")
      return json(200, {
        ID: "SIMULATED-ENGINE",
        Name: "sim-engine",
        NCPU: 64,
        MemTotal: 512 * 2 ** 30,
        OperatingSystem: "dinv bench simulated engine",
        OSType: "linux",
        Architecture: "x86_64",
        ServerVersion: "20.10.24",
        Driver: "overlay2",
        KernelVersion: "6.0.0-sim",
      });
    if ((m = /^\/images\/(.+)\/json$/.exec(path)))
      return json(200, { Id: `sha256:${"0".repeat(64)}`, RepoTags: [decodeURIComponent(m[1] as string)] });
    if (path === "/images/create" || path === "/images/load") return json(200, {});
    if (path === "/containers/create" && method === "POST") {
      const spec = JSON.parse(body || "{}") as { Image?: string; Labels?: Record<string, string> };
      const id = randomBytes(32).toString("hex");
      const name = url.searchParams.get("name") ?? id.slice(0, 12);
      if (byName.has(name))
        return json(409, { message: `Conflict. The container name "/${name}" is already in use` });
      const n = ipCounter++;
      containers.set(id, {
        id,
        name,
        image: spec.Image ?? "",
        labels: spec.Labels ?? {},
        created: new Date().toISOString(),
        status: "created",
        startedAt: ZERO_TIME,
        finishedAt: ZERO_TIME,
        ip: `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`,
      });
      byName.set(name, id);
      emit(containers.get(id) as SimContainer, "create");
      return json(201, { Id: id, Warnings: [] });
    }
    if (path === "/containers/json") {
      const filters = JSON.parse(url.searchParams.get("filters") ?? "{}") as { label?: string[] };
      const labels = filters.label ?? [];
      const list = [...containers.values()].filter((c) => labels.every((l) => matchLabel(c.labels, l)));
      return json(
        200,
        list.map((c) => ({
          Id: c.id,
          Names: [`/${c.name}`],
          Labels: c.labels,
          State: c.status,
          Image: c.image,
        })),
      );
    }
    if (path === "/events") {
      const filters = JSON.parse(url.searchParams.get("filters") ?? "{}") as { label?: string[] };
      res.writeHead(200, { "Content-Type": "application/json" });
      res.flushHeaders();
      const watcher = { res, labels: filters.label ?? [] };
      watchers.add(watcher);
      req.on("close", () => watchers.delete(watcher));
      return;
    }
    if (path === "/volumes" && method === "GET") return json(200, { Volumes: [], Warnings: [] });
    if (path === "/volumes/create") return json(201, { Name: JSON.parse(body || "{}").Name ?? "" });
    if (path.startsWith("/volumes/") && method === "DELETE") return empty(204);
    if ((m = /^\/containers\/([^/]+)(?:\/(\w+))?$/.exec(path))) {
      const c = find(decodeURIComponent(m[1] as string));
      if (!c) return json(404, { message: `No such container: ${m[1]}` });
      const action = m[2];
      if (action === undefined && method === "DELETE") {
        containers.delete(c.id);
        byName.delete(c.name);
        emit(c, "destroy");
        return empty(204);
      }
      if (action === "json") return json(200, inspect(c));
      if (action === "start") {
        if (c.status === "running") return empty(304);
        c.status = "running";
        c.startedAt = new Date().toISOString();
        emit(c, "start");
        return empty(204);
      }
      if (action === "stop" || action === "kill") {
        if (c.status !== "running") return empty(action === "stop" ? 304 : 409);
        c.status = "exited";
        c.finishedAt = new Date().toISOString();
        emit(c, "die");
        emit(c, "stop");
        return empty(204);
      }
      if (action === "archive") return empty(200);
    }
    return json(404, { message: `simulated engine: ${method} ${path} is not simulated` });
  };

  rmSync(socketPath, { force: true });
  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      res.writeHead(500, { "Content-Type": "application/json" });
      res.end(JSON.stringify({ message: String(err) }));
    });
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  return {
    socketPath,
    containers: () => containers.size,
    close: () => {
      for (const w of watchers) w.res.end();
      server.closeAllConnections();
      server.close();
    },
  };
}

function matchLabel(labels: Record<string, string>, filter: string): boolean {
  const eq = filter.indexOf("=");
  return eq < 0 ? filter in labels : labels[filter.slice(0, eq)] === filter.slice(eq + 1);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}
