// The HTML report opened in headless Chromium: the checks are there with
// their verdicts and hints, the timeline is drawn with one mark per HTTP
// exchange (counted independently, from the HAR export), a mark's tooltip
// names its request, and the page needs no network. Screenshots are saved
// as artefacts (WIRELAB_ARTIFACTS, default build/artifacts).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { launch, artefacts } from "./browser.mjs";

const wirelab = process.env.WIRELAB_BIN;
const source = process.env.WIRELAB_SOURCE_DIR;
assert.ok(wirelab && source, "run through ctest (WIRELAB_BIN, WIRELAB_SOURCE_DIR)");

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "wirelab-html-"));
const run = path.join(tmp, "run");
const html = path.join(tmp, "report.html");
const mistake = path.join(source, "labs/rest-cars/mistakes/no_content_type.py");
const r = spawnSync(wirelab, ["check", "rest-cars", mistake, "--ephemeral", "--run-dir", run,
                              "--format", "html", "--out", html], { encoding: "utf8", cwd: tmp });
assert.equal(r.status, 1, `the mistake must fail a check (stderr: ${r.stderr})`);
const har = JSON.parse(spawnSync(wirelab, ["journal", run, "--har", "-"], { encoding: "utf8" }).stdout);
const exchanges = har.log.entries.length;
assert.ok(exchanges >= 4, `the run made ${exchanges} HTTP exchanges`);

const { browser, page, requests } = await launch();
try {
  await page.goto("file://" + html);
  const score = await page.textContent("#score");
  assert.match(score, /^score \d+\/13 — \d+ passed, \d+ failed/);

  const failed = page.locator('.check[data-status="failed"]');
  assert.ok(await failed.count() >= 1);
  const post = page.locator("#check-post-json");
  assert.equal(await post.getAttribute("data-status"), "failed");
  assert.match(await post.textContent(), /hint: Use requests\.post\(url, json=car\)/);
  assert.equal(await page.locator('.check[data-status="passed"]').count() + await failed.count() +
               await page.locator('.check[data-status="skipped"]').count(), 13);

  const timeline = page.locator("svg#timeline-main");
  assert.ok(await timeline.isVisible(), "the timeline of case main is visible");
  const box = await timeline.boundingBox();
  assert.ok(box.width > 600 && box.height > 40, `timeline box ${JSON.stringify(box)}`);
  assert.equal(await timeline.locator("circle.m").count(), exchanges, "one mark per HTTP exchange");
  assert.ok(await timeline.locator("rect.lane").count() >= 2, "a process lane and connection lanes");
  const tips = await timeline.locator("g > title").allTextContents();
  assert.ok(tips.some((t) => t.startsWith("POST /cars → 201")), "a mark's tooltip names its request");
  assert.ok(await page.locator("table.exchanges tr").count() === exchanges + 1, "the table of exchanges");

  await page.screenshot({ path: path.join(artefacts(), "report-rest-cars.png"), fullPage: true });
  await timeline.screenshot({ path: path.join(artefacts(), "report-rest-cars-timeline.png") });
  assert.deepEqual(requests.filter((u) => !u.startsWith("file:")), [], "the page loads nothing from the network");
  console.log(`ok: ${exchanges} exchanges on the timeline; screenshots in ${artefacts()}`);
} finally {
  await browser.close();
  fs.rmSync(tmp, { recursive: true, force: true });
}
