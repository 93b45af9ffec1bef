// Debian's Chromium driven by playwright-core, started as this machine
// needs it (no sandbox as root, no background network: the network here
// reaches only package registries).
import fs from "node:fs";
import path from "node:path";
import { chromium } from "playwright-core";

const executable = process.env.WIRELAB_CHROMIUM || "/usr/bin/chromium";

export function artefacts() {
  const dir = process.env.WIRELAB_ARTIFACTS || path.join(process.env.WIRELAB_BUILD_DIR || "build", "artifacts");
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

/// A browser, a page, and the list of URLs the page requested.
export async function launch() {
  if (!fs.existsSync(executable))
    throw new Error(`no Chromium at ${executable}: run scripts/setup (it installs Debian's chromium)`);
  // playwright gives Chromium a fresh, empty profile of its own.
  const browser = await chromium.launch({
    executablePath: executable,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--disable-quic"],
  });
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const requests = [];
  page.on("request", (req) => requests.push(req.url()));
  return { browser, page, requests };
}
