// Drives the station page in headless Chromium like an operator with a keyboard-wedge
// scanner: sign in, blind receipt, and a wrong scan that must show the error state.
// Usage: node station_page.mjs <base-url> <station>. Exits non-zero with a message on failure.
import { launch } from "./launch.mjs";

const [base, station] = process.argv.slice(2);
if (!base || !station) {
  console.error("usage: node station_page.mjs <base-url> <station>");
  process.exit(2);
}

function fail(msg) {
  throw new Error(msg);
}

const browser = await launch();
try {
  const page = await browser.newPage({ viewport: { width: 480, height: 800 } });
  page.setDefaultTimeout(10000);
  await page.goto(`${base}/`);
  await page.click(`a[href="/stations/${station}"]`);
  await page.waitForURL(`**/stations/${station}`);
  await page.waitForFunction(() => document.getElementById("prompt").textContent.includes("badge"));

  // The scan input has focus without a click, and gets it back after losing it.
  const focused = await page.evaluate(() => document.activeElement && document.activeElement.id);
  if (focused !== "scan") fail(`scan input not focused at load (active: ${focused})`);
  await page.evaluate(() => document.getElementById("scan").blur());
  await page.waitForFunction(() => document.activeElement && document.activeElement.id === "scan");

  // A wedge scanner types, then sends Enter.
  async function scan(data) {
    await page.keyboard.type(data);
    await page.keyboard.press("Enter");
  }

  await scan("U:op-7");
  await page.waitForFunction(() => document.getElementById("operator").textContent.includes("op-7"));
  await page.waitForFunction(() => document.getElementById("expect-scan")?.textContent === "task");

  // Blind receipt: a product scan starts it, Q:3, confirm.
  await scan(process.env.MUG_GTIN);
  await page.waitForFunction(() => document.getElementById("task").textContent.startsWith("receive"));
  await scan("Q:3");
  await page.waitForFunction(() => document.getElementById("last").textContent === "Q:3: OK");
  await scan("C:CONFIRM");
  await page.waitForFunction(() => document.getElementById("last").textContent === "C:CONFIRM: OK");

  // A wrong scan: an unknown location. The error state is unmistakable.
  await scan("L:NO-SUCH-PLACE");
  await page.waitForSelector("#error:not([hidden])");
  const err = await page.evaluate(() => ({
    code: document.getElementById("error-code").textContent,
    message: document.getElementById("error-message").textContent,
    bodyClass: document.body.className,
    bg: getComputedStyle(document.getElementById("error")).backgroundColor,
  }));
  if (!err.code) fail("error box has no code");
  if (!err.message) fail("error box has no message");
  if (!err.bodyClass.includes("has-error")) fail("page is not in the error state");
  if (err.bg !== "rgb(204, 0, 0)") fail(`error box is not red: ${err.bg}`);

  // Layout fits 480 px: no horizontal scrolling.
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  if (overflow > 0) fail(`page overflows 480 px by ${overflow} px`);

  // The next accepted scan clears the error.
  await scan("C:CONFIRM");
  await page.waitForFunction(() => document.getElementById("error").hidden && !document.body.classList.contains("has-error"));

  // A scan made elsewhere (the API) reaches the page through live updates.
  const r = await fetch(`${base}/api/v1/stations/${station}/scan`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ data: "C:LOGOUT" }),
  });
  if (!r.ok) fail(`logout via API: HTTP ${r.status}`);
  await page.waitForFunction(() => document.getElementById("operator").textContent === "signed out");

  console.log(JSON.stringify({ ok: true, error_code: err.code }));
} finally {
  await browser.close();
}
