// Drives /api/docs in headless Chromium (Debian's, through playwright-core; no browser is
// downloaded): logs in as the demo admin, waits for the models to be listed, then runs
// "Try it out" on GET /api/res.partner/{id} and expects a 200. Arguments: the page's URL, a
// fresh profile folder, and optionally a PNG path for screenshots (after login, and
// `<name>-try-it-out.png` after the call).
"use strict";
const { chromium } = require("playwright-core");

async function main() {
  const [url, profile, screenshot] = process.argv.slice(2);
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
  try {
    const page = context.pages()[0] || (await context.newPage());
    page.setDefaultTimeout(20000);
    const failed = [];
    page.on("requestfailed", (request) => failed.push(request.url()));
    await page.goto(url);
    await page.fill("#username", "admin");
    await page.fill("#password", "admin");
    await page.click("#login-button");
    // The models the gate serves are listed, as Swagger UI's tags.
    const tag = page.locator(".opblock-tag", { hasText: "res.partner" });
    await tag.first().waitFor();
    const tags = await page.locator(".opblock-tag").allTextContents();
    console.log("models listed:", tags.map((t) => t.trim().split(/\s/)[0]).join(", "));
    if (screenshot) {
      await page.screenshot({ path: screenshot });
    }
    // Try it out: the token must go in the access_token header for this call to answer 200.
    const operation = page.locator(".opblock-get", {
      has: page.locator('.opblock-summary-path[data-path="/api/res.partner/{id}"]'),
    });
    await operation.locator(".opblock-summary").click();
    await operation.locator("button.try-out__btn").click();
    await operation.locator('tr[data-param-name="id"] input').fill("1");
    await operation.locator("button.execute").click();
    const status = operation.locator(".live-responses-table .response .response-col_status");
    await status.first().waitFor();
    const code = (await status.first().textContent()).trim();
    console.log("try it out: GET /api/res.partner/1 answered", code);
    if (screenshot) {
      await status.first().scrollIntoViewIfNeeded();
      await page.screenshot({ path: screenshot.replace(/\.png$/, "") + "-try-it-out.png" });
    }
    if (!code.startsWith("200")) {
      throw new Error(`try it out answered ${code}`);
    }
    if (failed.length > 0) {
      throw new Error(`requests failed: ${failed.join(" ")}`);
    }
  } finally {
    await context.close();
  }
}

main().catch((error) => {
  console.error(error.message || error);
  process.exit(1);
});
