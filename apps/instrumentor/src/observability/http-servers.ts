/** The health-probe and metrics listeners. */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { BindAddress } from "../config.js";

export type Route = () => Promise<{ status: number; contentType: string; body: string }>;

/** Starts a listener serving fixed routes; resolves with the bound port. */
export const serve = async (
  address: BindAddress,
  routes: Readonly<Record<string, Route>>,
): Promise<{ server: Server; port: number } | undefined> => {
  if (address._tag === "Disabled") return undefined;
  const server = createServer((req, res) => {
    const route = routes[(req.url ?? "/").split("?")[0] ?? "/"];
    if (route === undefined) {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
      return;
    }
    route().then(
      ({ status, contentType, body }) =>
        res.writeHead(status, { "content-type": contentType }).end(body),
      (error: unknown) =>
        res.writeHead(500, { "content-type": "text/plain" }).end(`${String(error)}\n`),
    );
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(address.port, address.host, () => resolve());
  });
  return { server, port: (server.address() as AddressInfo).port };
};

export const close = (server: Server | undefined): Promise<void> =>
  new Promise((resolve) => {
    if (server === undefined) return resolve();
    server.close(() => resolve());
    server.closeAllConnections();
  });
