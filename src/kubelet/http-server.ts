/**
 * The kubelet's own HTTP endpoint on --listen. For now only /healthz: the API server's
 * daemonEndpoints port must be real, and issue 6 (logs, exec, stats) adds TLS, authentication
 * and the rest here. Pod data is deliberately not served until that authentication exists.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface KubeletServer {
  port: number;
  close(): Promise<void>;
}

export async function startKubeletServer(
  host: string,
  port: number,
  healthy: () => boolean,
): Promise<KubeletServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method === "GET" && path === "/healthz") {
      const ok = healthy();
      res.writeHead(ok ? 200 : 503, { "Content-Type": "text/plain" }).end(ok ? "ok" : "not ready");
      return;
    }
    res.writeHead(404, { "Content-Type": "text/plain" }).end("not found");
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
