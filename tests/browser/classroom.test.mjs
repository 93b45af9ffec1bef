// The classroom seen through headless Chromium: three learners on the
// roster, two submit with the real CLI (one passes, one makes a mistake),
// one never submits; the trainer's dashboard draws the grid, the failing
// learner's second try arrives live without a reload, the CSV export
// (best runs) has a row per learner and
// lab, learner tokens are refused on the trainer's endpoints and on other
// learners' runs, a schedule button opens a lab, a score opens the report,
// and the learner's own page shows the checks they failed. Screenshots are
// saved as artefacts (WIRELAB_ARTIFACTS, default build/artifacts).
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { launch, artefacts } from "./browser.mjs";

const wirelab = process.env.WIRELAB_BIN;
const source = process.env.WIRELAB_SOURCE_DIR;
const python = process.env.WIRELAB_PYTHON || "python3";
assert.ok(wirelab && source, "run through ctest (WIRELAB_BIN, WIRELAB_SOURCE_DIR)");

const started = Date.now();
const lab = path.join(source, "labs/socket-head");
const solution = path.join(lab, "solution.py");
const mistakeOf = (name) => path.join(lab, "mistakes", name);
/// The checks a mistake fails, from its "# fails: a, b" header (tests/integration/test_labs.py holds it true).
function declaredFailures(file) {
  const m = fs.readFileSync(file, "utf8").match(/^# fails: (.+)$/m);
  assert.ok(m, `${file} has a "# fails:" line`);
  return m[1].split(",").map((s) => s.trim()).sort();
}
const alanMistake = mistakeOf("get_not_head.py");
const alanRetry = mistakeOf("no_host.py");  // his second try, submitted while the dashboard is open
const alanFails = declaredFailures(alanMistake);
const alanRetryFails = declaredFailures(alanRetry);

// Names that need quoting in CSV: a comma, and double quotes.
const ADA = "Lovelace, Ada", ALAN = "Alan Turing", GRACE = 'Grace "Amazing Grace" Hopper';
const csvField = (s) => (/[",\n]/.test(s) ? '"' + s.replaceAll('"', '""') + '"' : s);
const rowOf = (name) => `#grid tr[data-learner='${name}']`;
const cellOf = (name, labId) => `${rowOf(name)} td.lab-cell[data-lab="${labId}"]`;

/// RFC 4180: fields may be quoted, with "" for a quote, and hold commas and newlines.
function parseCsv(text) {
  const rows = [];
  let row = [], field = "", quoted = false, i = 0;
  for (; i < text.length; ++i) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; ++i; }
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"' && field === "") quoted = true;
    else if (c === ",") { row.push(field); field = ""; }
    else if (c === "\n") { row.push(field); rows.push(row); row = []; field = ""; }
    else if (c !== "\r") field += c;
  }
  assert.ok(!quoted, "the CSV closes every quoted field");
  if (field !== "" || row.length) { row.push(field); rows.push(row); }
  return rows;
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "wirelab-classroom-"));
const roster = path.join(tmp, "roster.csv");
fs.writeFileSync(roster, ["name,email", `${csvField(ADA)},ada@example.org`, `${ALAN},alan@example.org`,
                          `${csvField(GRACE)},grace@example.org`, ""].join("\n"));
const cliEnv = { ...process.env, WIRELAB_PYTHON: python, WIRELAB_HOME: path.join(tmp, "home"), NO_COLOR: "1" };

const children = new Set();  // every process this test started, killed however it ends
process.on("exit", () => { for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL"); });

/// `wirelab ARGS…` run to its end, without blocking the event loop (the browser keeps running).
function run(args, timeoutMs = 30000) {
  return new Promise((resolve, reject) => {
    const c = spawn(wirelab, args, { cwd: tmp, env: cliEnv, stdio: ["ignore", "pipe", "pipe"] });
    children.add(c);
    let stdout = "", stderr = "";
    c.stdout.on("data", (d) => (stdout += d));
    c.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => c.kill("SIGKILL"), timeoutMs);
    c.on("error", reject);
    c.on("close", (status, signal) => { clearTimeout(timer); children.delete(c); resolve({ status, signal, stdout, stderr }); });
  });
}
const submit = (token, file) => run(["check", "socket-head", file, "--ephemeral", "--classroom", room.url, "--token", token]);
/// Checks what the CLI says about a submission; returns the classroom's run id.
function submitted(r, score, max, what) {
  const m = r.stderr.match(/classroom: submitted; the classroom graded it (\d+(?:\.\d+)?)\/(\d+(?:\.\d+)?) \(run #(\d+)\)/);
  assert.ok(m, `${what}: the CLI says it submitted (exit ${r.status}, stderr: ${r.stderr.slice(-600)})`);
  if (score !== undefined) assert.equal(Number(m[1]), score, `${what}: score`);
  if (max !== undefined) assert.equal(Number(m[2]), max, `${what}: max score`);
  return Number(m[3]);
}

let server = null, browser = null, room = null;
let serverErr = "";
try {
  // --- the classroom, with its first stdout line: JSON with the URL and tokens
  server = spawn(wirelab, ["classroom", "pcpp1-networking-day", "--roster", roster, "--state", path.join(tmp, "state"),
                           "--port", "0", "--format", "json"], { cwd: tmp, env: cliEnv, stdio: ["ignore", "pipe", "pipe"] });
  children.add(server);
  server.stderr.on("data", (d) => (serverErr += d));
  room = await new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`no JSON line from wirelab classroom in 15 s (stderr: ${serverErr})`)), 15000);
    server.on("error", reject);
    server.on("exit", (code, sig) => reject(new Error(`wirelab classroom exited (${code ?? sig}) before serving: ${serverErr}`)));
    server.stdout.on("data", (d) => {
      out += d;
      const nl = out.indexOf("\n");
      if (nl >= 0) { clearTimeout(timer); resolve(JSON.parse(out.slice(0, nl))); }
    });
  });
  server.stdout.resume();
  assert.match(room.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.equal(room.dashboard, `${room.url}/?token=${room.trainer_token}`);
  assert.deepEqual(room.learners.map((l) => [l.name, l.email, l.source]),
                   [[ADA, "ada@example.org", "roster"], [ALAN, "alan@example.org", "roster"], [GRACE, "grace@example.org", "roster"]],
                   "the roster's three learners, names unquoted");
  const [ada, alan, grace] = room.learners;
  const api = async (p, token, opts = {}) => {
    const r = await fetch(room.url + p, { ...opts, headers: { Authorization: "Bearer " + token, ...(opts.headers || {}) } });
    const text = await r.text();
    let body = null;
    try { body = JSON.parse(text); } catch { /* not JSON */ }
    return { status: r.status, body, text };
  };

  // the grid's own view of the labs and checks: the expected maxima and CSV columns come from here
  const grid0 = await api("/api/grid", room.trainer_token);
  assert.equal(grid0.status, 200);
  const labs = grid0.body.labs;
  // the scenario's labs in its order, each open as the scenario says
  const scenarioFile = JSON.parse(fs.readFileSync(path.join(source, "scenarios/pcpp1-networking-day.json"), "utf8"));
  assert.deepEqual(labs.map((l) => [l.id, l.open]), scenarioFile.labs.map((l) => [l.lab, l.open === true]));
  assert.equal(labs[0].id, "socket-head");
  assert.ok(labs.some((l) => l.id === "rest-cars" && !l.open), "rest-cars starts closed");
  const maxOf = Object.fromEntries(labs.map((l) => [l.id, l.checks.reduce((s, c) => s + c.points, 0)]));
  const head = labs.find((l) => l.id === "socket-head");
  const headChecks = head.checks.map((c) => c.id);
  const headMax = maxOf["socket-head"];
  assert.equal(headMax, 11, "socket-head is worth 11 points");
  for (const id of [...alanFails, ...alanRetryFails]) assert.ok(headChecks.includes(id), `${id} is a check of socket-head`);
  const titleOf = Object.fromEntries(head.checks.map((c) => [c.id, c.title]));

  // --- 1. Ada passes, Alan makes a mistake, Grace waits
  const adaRun = await submit(ada.token, solution);
  assert.equal(adaRun.status, 0, `the solution passes (stderr: ${adaRun.stderr.slice(-600)})`);
  const adaId = submitted(adaRun, headMax, headMax, "Ada");
  const alanRun = await submit(alan.token, alanMistake);
  assert.equal(alanRun.status, 1, `the mistake fails a check (stderr: ${alanRun.stderr.slice(-600)})`);
  const alanId = submitted(alanRun, undefined, headMax, "Alan");
  assert.notEqual(alanId, adaId);

  // --- 2. the dashboard
  const launched = await launch();
  browser = launched.browser;
  const { page, requests } = launched;
  const context = page.context();
  await page.goto(room.dashboard);
  await page.waitForSelector("#grid tbody tr");
  assert.ok(!page.url().includes("token="), `the page takes the token out of its address (${page.url()})`);
  assert.equal(await page.textContent("#join-code"), room.join_code);
  assert.equal(await page.textContent("#title"), grid0.body.scenario.title);
  assert.deepEqual(await page.locator("#grid tbody tr").evaluateAll((trs) => trs.map((tr) => tr.dataset.learner)),
                   [ADA, ALAN, GRACE], "one row per learner, in roster order");
  assert.deepEqual(await page.locator("#grid thead th.lab").evaluateAll((ths) => ths.map((th) => th.textContent)),
                   labs.map((l) => l.id + (l.open ? "" : " (closed)")), "a column per lab, closed ones marked");
  assert.equal(await page.textContent("#counts"), "3 learners, 2 submitted");

  const squares = (name, labId = "socket-head") =>
    page.locator(`${cellOf(name, labId)} span.sq`).evaluateAll((s) => s.map((e) => [e.dataset.check, e.dataset.status]));
  const failedOf = async (name) => (await squares(name)).filter(([, st]) => st === "failed").map(([c]) => c).sort();

  assert.equal(await page.getAttribute(cellOf(ADA, "socket-head"), "data-status"), "passed");
  const adaSquares = await squares(ADA);
  assert.deepEqual(adaSquares.map(([c]) => c), headChecks, "Ada's cell has a square per check");
  assert.ok(adaSquares.every(([, st]) => st === "passed"), `every square of Ada's is passed: ${JSON.stringify(adaSquares)}`);
  assert.equal(await page.textContent(`${cellOf(ADA, "socket-head")} a.report-link`), `${headMax}/${headMax}`);
  assert.match(await page.textContent(`${cellOf(ADA, "socket-head")} .score`), /×1$/, "one submission");
  assert.equal(await page.locator(`${cellOf(ADA, "socket-head")} .sq.passed`).count(), headChecks.length, "coloured green");

  assert.equal(await page.getAttribute(cellOf(ALAN, "socket-head"), "data-status"), "failed");
  assert.deepEqual(await failedOf(ALAN), alanFails, "Alan's failed squares are the checks his mistake fails");
  let alanScore = await page.textContent(`${cellOf(ALAN, "socket-head")} a.report-link`);
  assert.match(alanScore, new RegExp(`^\\d+/${headMax}$`));
  assert.ok(Number(alanScore.split("/")[0]) < headMax, `Alan's score ${alanScore} is short of the maximum`);

  assert.equal(await page.getAttribute(cellOf(GRACE, "socket-head"), "data-status"), "none");
  assert.equal(await page.textContent(`${cellOf(GRACE, "socket-head")} .score`), "—");
  assert.equal(await page.locator(`${cellOf(GRACE, "socket-head")} a.report-link`).count(), 0);
  assert.ok((await squares(GRACE)).every(([, st]) => st === "none"));
  for (const l of labs.slice(1))
    for (const name of [ADA, ALAN, GRACE])
      assert.equal(await page.getAttribute(cellOf(name, l.id), "data-status"), "none", `${name} / ${l.id}`);

  const mostFailed = page.locator("#most-failed");
  const mfTitle = await mostFailed.locator(".title").textContent();
  assert.ok(alanFails.map((c) => titleOf[c]).includes(mfTitle), `#most-failed names a check Alan failed: "${mfTitle}"`);
  const mfCheck = alanFails.find((c) => titleOf[c] === mfTitle);
  assert.equal(await mostFailed.locator(".muted").textContent(), `socket-head / ${mfCheck} — failing for 1 learner`);
  assert.ok((await mostFailed.locator("pre").textContent()).trim().length > 0, "#most-failed shows the evidence");

  // --- 3. live update: Alan submits his second try while the page is open; Grace never submits
  await page.waitForFunction(() => {
    const l = document.getElementById("live");
    return l.classList.contains("on") && l.textContent === "live";
  }, null, { timeout: 10000 });
  await page.waitForTimeout(300);  // the render that follows the stream's opening
  await page.evaluate(() => { window.__notReloaded = true; });
  const rendersBefore = Number(await page.evaluate(() => document.body.dataset.renders));
  assert.ok(rendersBefore >= 1);
  await page.screenshot({ path: path.join(artefacts(), "classroom-dashboard-before.png"), fullPage: true });

  const alanRetryRun = await submit(alan.token, alanRetry);
  assert.equal(alanRetryRun.status, 1, `Alan's second try fails a check (stderr: ${alanRetryRun.stderr.slice(-600)})`);
  const alanRetryId = submitted(alanRetryRun, undefined, headMax, "Alan's second try");
  const retryDone = Date.now();
  await page.waitForFunction((sel) => document.querySelector(sel)?.textContent === " ×2",
                             `${cellOf(ALAN, "socket-head")} .score .muted`, { timeout: 20000 });
  const liveMs = Date.now() - retryDone;
  assert.equal(await page.evaluate(() => window.__notReloaded), true, "the page was not reloaded");
  assert.ok(Number(await page.evaluate(() => document.body.dataset.renders)) > rendersBefore, "the grid was drawn again");
  assert.equal(await page.getAttribute(cellOf(ALAN, "socket-head"), "data-status"), "failed");
  assert.deepEqual(await failedOf(ALAN), alanRetryFails, "Alan's squares now show what his second try fails");
  assert.match(await page.getAttribute(`${cellOf(ALAN, "socket-head")} a.report-link`, "href"),
               new RegExp(`^/api/submissions/${alanRetryId}/report\\.html`), "his score opens his latest run");
  alanScore = await page.textContent(`${cellOf(ALAN, "socket-head")} a.report-link`);
  assert.match(alanScore, new RegExp(`^\\d+/${headMax}$`));
  assert.equal(await page.textContent("#counts"), "3 learners, 2 submitted");
  assert.equal(await page.getAttribute(cellOf(ADA, "socket-head"), "data-status"), "passed", "Ada's cell is unchanged");
  assert.equal(await page.getAttribute(cellOf(GRACE, "socket-head"), "data-status"), "none", "Grace never submitted");
  await page.screenshot({ path: path.join(artefacts(), "classroom-dashboard-after.png"), fullPage: true });

  // --- 4. the CSV export, fetched as the page's link fetches it
  const csv = await page.evaluate(async () => {
    const href = document.getElementById("export-csv").href;
    const r = await fetch(href);
    return { href, status: r.status, type: r.headers.get("content-type"), text: await r.text() };
  });
  assert.equal(csv.status, 200, csv.text);
  assert.match(csv.href, /\/api\/export\.csv\?token=wlt-/);
  assert.match(csv.type, /^text\/csv/);
  const table = parseCsv(csv.text);
  const fixed = ["name", "email", "lab", "score", "max_score", "passed", "submissions", "submitted_at"];
  const checkCols = labs.flatMap((l) => l.checks.map((c) => `${l.id}/${c.id}`));
  assert.deepEqual(table[0], [...fixed, ...checkCols], "the header: fixed columns, then one per lab/check");
  const data = table.slice(1);
  assert.equal(data.length, 3 * labs.length, `3 learners × ${labs.length} labs`);
  for (const r of data) assert.equal(r.length, table[0].length, `every row has every column: ${JSON.stringify(r)}`);
  const csvRow = (name, labId) => {
    const found = data.filter((r) => r[0] === name && r[2] === labId);
    assert.equal(found.length, 1, `one row for ${name} / ${labId}`);
    return Object.fromEntries(table[0].map((h, i) => [h, found[0][i]]));
  };
  assert.deepEqual([...new Set(data.map((r) => r[0]))], [ADA, ALAN, GRACE], "names survive quoting");
  const adaHead = csvRow(ADA, "socket-head");
  assert.equal(adaHead.email, "ada@example.org");
  assert.equal(Number(adaHead.score), headMax);
  assert.equal(Number(adaHead.max_score), headMax);
  assert.equal(adaHead.passed, "true");
  assert.equal(adaHead.submissions, "1");
  assert.match(adaHead.submitted_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  for (const c of headChecks) assert.equal(adaHead[`socket-head/${c}`], "passed", `Ada / ${c}`);
  for (const col of checkCols.filter((c) => !c.startsWith("socket-head/"))) assert.equal(adaHead[col], "", `${col} is not Ada's socket-head row`);
  const alanHead = csvRow(ALAN, "socket-head");
  assert.equal(alanHead.passed, "false");
  // his two tries score the same: the best run is the latest of equals
  assert.equal(`${alanHead.score}/${alanHead.max_score}`, alanScore, "the export agrees with the dashboard");
  assert.equal(alanHead.submissions, "2");
  assert.deepEqual(headChecks.filter((c) => alanHead[`socket-head/${c}`] === "failed").sort(), alanRetryFails);
  const graceHead = csvRow(GRACE, "socket-head");
  assert.deepEqual([graceHead.score, Number(graceHead.max_score), graceHead.passed, graceHead.submissions], ["0", headMax, "false", "0"]);
  for (const c of headChecks) assert.equal(graceHead[`socket-head/${c}`], "not submitted", `Grace / ${c}`);
  for (const l of labs.slice(1)) {
    const r = csvRow(ADA, l.id);
    assert.deepEqual([r.score, Number(r.max_score), r.passed, r.submissions, r.submitted_at], ["0", maxOf[l.id], "false", "0", ""],
                     `Ada never submitted ${l.id}`);
    for (const c of l.checks) assert.equal(r[`${l.id}/${c.id}`], "not submitted");
  }

  // --- 5. learner tokens on the trainer's endpoints and on other learners' runs
  for (const who of [ada, alan]) {
    const g = await api("/api/grid", who.token);
    assert.equal(g.status, 403, `GET /api/grid with ${who.name}'s token: ${g.text}`);
    assert.equal(g.body?.error, "this needs the trainer's token");
  }
  const act = await api("/api/actions", alan.token, { method: "POST", headers: { "Content-Type": "application/json" },
                                                      body: JSON.stringify({ event: "open-rest" }) });
  assert.equal(act.status, 403, `POST /api/actions with a learner's token: ${act.text}`);
  assert.equal(act.body?.error, "this needs the trainer's token");
  const exp = await api("/api/export.csv", alan.token);
  assert.equal(exp.status, 403, "the export needs the trainer's token");
  const still = await api("/api/grid", room.trainer_token);
  assert.equal(still.body.labs.find((l) => l.id === "rest-cars").open, false, "the refused action changed nothing");
  const own = await api(`/api/submissions/${adaId}`, ada.token);
  assert.equal(own.status, 200, `Ada reads her own run: ${own.text.slice(0, 300)}`);
  assert.equal(own.body.submission.id, adaId);
  const other = await api(`/api/submissions/${adaId}`, alan.token);
  assert.equal(other.status, 404, `Alan cannot read Ada's run: ${other.text}`);
  assert.match(other.body?.error ?? "", new RegExp(`no run ${adaId} of yours`));
  assert.ok(!other.text.includes("socket-head"), "the refusal gives nothing of the run away");
  const otherHtml = await api(`/api/submissions/${adaId}/report.html`, alan.token);
  assert.equal(otherHtml.status, 404, "nor its HTML report");
  const noToken = await api("/api/grid", "");
  assert.equal(noToken.status, 401);

  // --- 6. a schedule button opens rest-cars; the header follows live
  const restHead = page.locator('#grid th.lab[data-lab="rest-cars"]');
  assert.equal(await restHead.textContent(), "rest-cars (closed)");
  const fire = page.locator('#schedule li[data-event="open-rest"] button');
  assert.equal(await fire.textContent(), "fire");
  await fire.click();
  await page.waitForFunction(() => document.querySelector('#grid th.lab[data-lab="rest-cars"]')?.textContent === "rest-cars",
                             null, { timeout: 10000 });
  assert.equal(await page.textContent('#schedule li[data-event="open-rest"] button'), "fire again");
  assert.equal(await page.textContent("#error"), "", "no error shown");
  assert.equal(await page.textContent('#grid th.lab[data-lab="framing"]'), "framing (closed)", "only rest-cars opened");
  assert.equal((await api("/api/grid", room.trainer_token)).body.labs.find((l) => l.id === "rest-cars").open, true);

  // --- 7. Ada's score opens her report
  const link = page.locator(`${cellOf(ADA, "socket-head")} a.report-link`);
  assert.match(await link.getAttribute("href"), new RegExp(`^/api/submissions/${adaId}/report\\.html\\?token=wlt-`));
  assert.equal(await link.getAttribute("target"), "_blank", "the report opens in a tab of its own");
  // 30 s: a new tab's renderer can be slow to start on a loaded machine (the suite runs two tests at once)
  const [report] = await Promise.all([page.waitForEvent("popup", { timeout: 30000 }), link.click()]);
  await report.waitForLoadState("load");
  assert.match(report.url(), new RegExp(`/api/submissions/${adaId}/report\\.html`));
  const reportScore = await report.textContent("#score", { timeout: 10000 });
  assert.match(reportScore, new RegExp(`^score ${headMax}/${headMax} — ${headChecks.length} passed`));
  assert.equal(await report.locator('.check[data-status="passed"]').count(), headChecks.length);
  await report.screenshot({ path: path.join(artefacts(), "classroom-report.png"), fullPage: true });
  await report.close();

  // --- 8. Alan's own page
  const learner = await browser.newPage({ viewport: { width: 1280, height: 900 } });  // a context of its own: another person
  await learner.goto(`${room.url}/learner?token=${encodeURIComponent(alan.token)}`);
  const box = learner.locator('.lab[data-lab="socket-head"]');
  await box.locator("li[data-check]").first().waitFor({ timeout: 10000 });
  assert.ok(!learner.url().includes("token="), "the learner page takes the token out of its address");
  assert.equal(await learner.textContent("#who"), "signed in as Alan Turing <alan@example.org>");
  assert.deepEqual(await box.locator("li[data-check]").evaluateAll((ls) => ls.map((l) => l.dataset.check)), headChecks);
  const failedLis = box.locator('li[data-status="failed"]');
  assert.deepEqual((await failedLis.evaluateAll((ls) => ls.map((l) => l.dataset.check))).sort(), alanRetryFails,
                   "Alan sees the checks he failed");
  for (const id of alanRetryFails) {
    const li = box.locator(`li[data-check="${id}"]`);
    assert.ok(await li.isVisible());
    assert.equal(await li.locator(".st").textContent(), "✗");
    assert.ok((await li.textContent()).includes(titleOf[id]), `the failed check's title: ${titleOf[id]}`);
    assert.ok(await li.locator(".hint").count() >= 1, `a hint for ${id}`);
  }
  assert.equal(await box.locator("h2 .badge").textContent(), alanScore);
  assert.equal(await box.locator("a").count(), 2, "both of his runs are listed, each opening its report");
  assert.match(await box.locator("h2 .badge").getAttribute("class"), /\bfail\b/);
  assert.equal(await learner.locator('.lab[data-lab="rest-cars"] h2').getAttribute("class"), "", "rest-cars is open for him");
  assert.equal(await learner.locator('.lab[data-lab="framing"] h2 .badge').textContent(), "closed");
  assert.equal(await learner.textContent("#error"), "");
  await learner.screenshot({ path: path.join(artefacts(), "classroom-learner.png"), fullPage: true });
  await learner.close();

  assert.deepEqual(requests.filter((u) => !u.startsWith(room.url + "/")), [], "the dashboard loads nothing from elsewhere");
  console.log(`ok: 3 learners on the grid, live update in ${liveMs} ms, ${data.length} CSV rows, ` +
              `${((Date.now() - started) / 1000).toFixed(1)} s; screenshots in ${artefacts()}`);
} finally {
  if (browser) await browser.close().catch(() => {});
  if (server && server.exitCode === null && server.signalCode === null) {
    const gone = new Promise((resolve) => server.once("exit", resolve));
    server.kill("SIGTERM");
    const timer = setTimeout(() => server.kill("SIGKILL"), 6000);
    await gone;
    clearTimeout(timer);
  }
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  fs.rmSync(tmp, { recursive: true, force: true });
}
