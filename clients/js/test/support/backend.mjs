// Starts the real backend, the embedded default (src/Api with its in-process silo and local API Gateway), as a
// child process on free loopback ports, configured through environment variables as an operator would.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { createServer, connect } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const ADMIN_KEY = "tether-client-tests-admin-key";
const repositoryRoot = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "..");

/** A free TCP port on loopback (closed again at once; the backend binds it a moment later). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** The built API: TETHER_API_DLL, else the newest of src/Api/bin/{Debug,Release}, else a build now. */
function apiDll() {
  if (process.env.TETHER_API_DLL) return process.env.TETHER_API_DLL;
  const candidates = ["Debug", "Release"]
    .map((configuration) => join(repositoryRoot, "src", "Api", "bin", configuration, "net10.0", "Tether.Api.dll"))
    .filter((path) => existsSync(path))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  if (candidates.length > 0) return candidates[0];
  const build = spawnSync("dotnet", ["build", join(repositoryRoot, "src", "Api"), "-v", "quiet", "--nologo"], { stdio: "inherit" });
  if (build.status !== 0) throw new Error("dotnet build src/Api failed");
  return join(repositoryRoot, "src", "Api", "bin", "Debug", "net10.0", "Tether.Api.dll");
}

function tcpOpen(port) {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/**
 * Starts the API; `settings` are extra environment variables (e.g. LocalGateway__MaxLifetime). Resolves once
 * /health/live answers and the gateway accepts connections.
 */
export async function startBackend(settings = {}) {
  const apiPort = await freePort();
  let gatewayPort = await freePort();
  while (gatewayPort === apiPort) gatewayPort = await freePort();
  const dll = apiDll();
  const output = [];
  const child = spawn("dotnet", [dll], {
    cwd: dirname(dll),
    env: {
      ...process.env,
      ASPNETCORE_ENVIRONMENT: "Development",
      DOTNET_ENVIRONMENT: "Development",
      ASPNETCORE_URLS: `http://127.0.0.1:${apiPort}`,
      LocalGateway__Port: String(gatewayPort),
      Admin__ApiKeys__0: ADMIN_KEY,
      Logging__LogLevel__Default: "Warning",
      ...settings,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const keep = (chunk) => {
    output.push(chunk.toString());
    if (output.length > 200) output.shift();
  };
  child.stdout.on("data", keep);
  child.stderr.on("data", keep);
  const exited = new Promise((resolve) => child.once("exit", resolve));

  const apiUrl = `http://127.0.0.1:${apiPort}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`The backend exited with ${child.exitCode}:\n${output.join("")}`);
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`The backend was not ready after 60 s:\n${output.join("")}`);
    }
    const live = await fetch(`${apiUrl}/health/live`).then((r) => r.ok, () => false);
    if (live && (await tcpOpen(gatewayPort))) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }

  const admin = async (method, path, body) => {
    const response = await fetch(`${apiUrl}${path}`, {
      method,
      headers: { "X-Api-Key": ADMIN_KEY, "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${path} answered ${response.status}: ${text}`);
    return text.length > 0 ? JSON.parse(text) : undefined;
  };

  return {
    apiUrl,
    wsUrl: `ws://127.0.0.1:${gatewayPort}/local`,
    admin,
    output: () => output.join(""),
    /** Connection ids of a room's members (first page). */
    async members(room) {
      const page = await admin("GET", `/api/rooms/${encodeURIComponent(room)}/members?limit=1000`);
      return page.items.map((item) => (typeof item === "string" ? item : item.connectionId));
    },
    publish(room, message) {
      return admin("POST", `/api/rooms/${encodeURIComponent(room)}/messages`, { message });
    },
    async stop() {
      if (child.exitCode === null) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}
