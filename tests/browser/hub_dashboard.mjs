// Drives the hub dashboard in headless Chromium: enter a token, see nodes, stock, orders and
// the quarantine and the exceptions queue, resolve an exception, see the KPI chart and the
// charts over time.
// Usage: node hub_dashboard.mjs <hub base url> <token>. Prints one JSON line; exit 0 on success.
import { launch } from "./launch.mjs";

const [base, token] = process.argv.slice(2);
const browser = await launch();
const result = { ok: false, steps: [] };
try {
  const page = await browser.newPage();
  page.setDefaultTimeout(15000);
  await page.goto(base + "/");
  await page.fill("#token", token);
  await page.click("#save-token");
  await page.waitForSelector("body[data-loaded=true]");
  result.steps.push("loaded");

  await page.waitForSelector('#nodes tr[data-node="DC-EAST"]');
  result.online = await page.textContent('#nodes tr[data-node="DC-EAST"] td:nth-child(2)');
  result.steps.push("nodes");

  await page.fill('#stock-form input[name=sku]', "MUG");
  await page.click("#stock-form button");
  await page.waitForSelector("#stock tbody tr");
  result.stock_rows = await page.locator("#stock tbody tr").count();
  result.steps.push("stock");

  await page.waitForSelector('#orders tr[data-ref="SO-1"]');
  result.order_status = await page.textContent('#orders tr[data-ref="SO-1"] .status');
  result.steps.push("orders");

  await page.waitForSelector("#quarantine tbody tr");
  result.quarantine_node = await page.textContent("#quarantine tbody tr td:nth-child(2)");
  result.steps.push("quarantine");

  await page.waitForSelector("#kpi-svg");
  result.steps.push("kpis");

  // The charts over time, drawn by the page from its own samples of /nodes and /kpis.
  // A flat line at zero has no height, so it counts as hidden: wait for it to be there.
  await page.waitForSelector("#live-backlog polyline", { state: "attached" });
  result.live_charts = await page.locator("#live-charts svg").count();
  result.steps.push("live");

  const before = await page.locator("#exceptions tbody tr").count();
  result.exceptions_before = before;
  const id = await page.getAttribute("#exceptions button.resolve", "data-id");
  await page.click(`#exceptions button.resolve[data-id="${id}"]`);
  await page.waitForFunction(
    (id) => !document.querySelector(`#exceptions tr[data-id="${id}"]`),
    id
  );
  result.exceptions_after = await page.locator("#exceptions tbody tr").count();
  result.resolved = id;
  result.steps.push("resolved");

  await page.waitForSelector("#adjustments button.approve");
  await page.click("#adjustments button.approve");
  await page.waitForFunction(() => !document.querySelector("#adjustments button.approve"));
  result.approved = true;
  result.steps.push("approved");
  result.ok = true;
} catch (e) {
  result.error = String(e && e.message ? e.message : e);
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));
process.exit(result.ok ? 0 : 1);
