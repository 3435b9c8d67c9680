// Pairs a station device with its token in headless Chromium: the page asks for the token,
// refuses another station's, keeps the right one across a reload, and scans with it.
// Usage: node station_pairing.mjs <base-url> <station> <right-token> <wrong-token>.
import { launch } from "./launch.mjs";

const [base, station, right, wrong] = process.argv.slice(2);
if (!base || !station || !right || !wrong) {
  console.error("usage: node station_pairing.mjs <base-url> <station> <right-token> <wrong-token>");
  process.exit(2);
}

function fail(msg) {
  throw new Error(msg);
}

const browser = await launch();
try {
  const page = await browser.newPage({ viewport: { width: 480, height: 800 } });
  page.setDefaultTimeout(10000);
  await page.goto(`${base}/stations/${station}`);

  // Not paired: the pairing form, not the scan input.
  await page.waitForSelector("#pair-form:not([hidden])");
  if (!(await page.evaluate(() => document.getElementById("scan-form").hidden))) {
    fail("the scan form shows before pairing");
  }
  const asked = await page.evaluate(() => document.activeElement && document.activeElement.id);
  if (asked !== "pair-token") fail(`the token input is not focused (active: ${asked})`);

  // Another station's token is refused: the form comes back.
  await page.fill("#pair-token", wrong);
  await page.click("#pair-save");
  await page.waitForSelector("#pair-form:not([hidden])");
  await page.waitForFunction(() => document.getElementById("prompt").textContent.includes("not this station"));

  // The right token: the station's state and the scan input.
  await page.fill("#pair-token", right);
  await page.click("#pair-save");
  await page.waitForFunction(() => document.getElementById("prompt").textContent.includes("badge"));
  await page.waitForSelector("#scan-form:not([hidden])");

  // Kept across a reload: no pairing again; a scan goes through with the token.
  await page.reload();
  await page.waitForFunction(() => document.getElementById("prompt").textContent.includes("badge"));
  if (!(await page.evaluate(() => document.getElementById("pair-form").hidden))) {
    fail("the page asked for the token again after a reload");
  }
  await page.keyboard.type("U:op-9");
  await page.keyboard.press("Enter");
  await page.waitForFunction(() => document.getElementById("operator").textContent.includes("op-9"));
  // Live updates come through the token-carrying event stream.
  await page.waitForFunction(() => document.getElementById("live").className === "on");

  console.log(JSON.stringify({ ok: true }));
} finally {
  await browser.close();
}
