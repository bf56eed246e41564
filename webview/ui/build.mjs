// Builds the web view into ../dist, which cloonix-labd embeds: the page's own files from src/, and the browser
// builds of the npm packages it uses (package.json), copied as their authors ship them. No bundler: each
// library is one file with its licence header kept.
import { cpSync, mkdirSync, rmSync, readdirSync, existsSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, "..", "dist");
const vendor = {
  "cytoscape.min.js": "cytoscape/dist/cytoscape.min.js",
  "elk.bundled.js": "elkjs/lib/elk.bundled.js",
  "cytoscape-elk.js": "cytoscape-elk/dist/cytoscape-elk.js",
  "xterm.js": "@xterm/xterm/lib/xterm.js",
  "xterm.css": "@xterm/xterm/css/xterm.css",
  "addon-fit.js": "@xterm/addon-fit/lib/addon-fit.js",
};

for (const f of readdirSync(dist, { withFileTypes: true })) {
  if (f.name !== ".gitkeep") rmSync(join(dist, f.name), { recursive: true, force: true });
}
mkdirSync(join(dist, "vendor"), { recursive: true });
cpSync(join(here, "src"), dist, { recursive: true });
for (const [name, from] of Object.entries(vendor)) {
  const src = join(here, "node_modules", from);
  if (!existsSync(src)) {
    console.error(`web build: ${src} is missing; run npm ci in ${here}`);
    process.exit(1);
  }
  cpSync(src, join(dist, "vendor", name));
}
writeFileSync(join(dist, "vendor", "SOURCES.txt"),
  Object.entries(vendor).map(([n, f]) => `${n}\tnode_modules/${f}`).join("\n") + "\n");
console.log(`web build: ${dist}`);
