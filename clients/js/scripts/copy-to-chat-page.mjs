// The chat page (src/Api/ChatPage) serves the built SDK; its copy is committed so that `dotnet run` and
// `dotnet test` never need npm. CI rebuilds and fails when the committed copy differs from this build.
import { cpSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, "..", "dist");
const target = join(here, "..", "..", "..", "src", "Api", "ChatPage", "wwwroot", "sdk");
rmSync(target, { recursive: true, force: true });
mkdirSync(target, { recursive: true });
for (const file of readdirSync(dist)) {
  if (file.endsWith(".js")) cpSync(join(dist, file), join(target, file));
}
