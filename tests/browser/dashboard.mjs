// Drives the dashboard in a real headless Chromium (Debian's, through playwright-core): loads
// the page, sends requests to the API, watches them arrive live, filters them, opens one and
// checks its stage timeline, and keeps a screenshot. Run by tests/tests/suite/dashboard.rs.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { chromium } = require(process.env.TOLLGATE_PLAYWRIGHT);
const dashboard = process.env.DASHBOARD_URL;
const api = process.env.API_URL;

const browser = await chromium.launch({
  executablePath: process.env.TOLLGATE_CHROMIUM,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  // Requests that finish while the page loads all show, each once: some before it reads the
  // recent ones, some while its live stream opens.
  const during = (async () => {
    for (let i = 0; i < 20; i++) {
      await fetch(`${api}/orders`);
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  await page.goto(dashboard);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 10000 });
  await during;
  const routes = await page.locator('#routes tbody tr').count();
  if (routes < 5) throw new Error(`the route table shows ${routes} routes`);

  // API keys against their plans.
  await page.waitForSelector('#usage tr[data-key="dash-key"]', { timeout: 10000 });
  const usage = await page.locator('#usage tr[data-key="dash-key"]').textContent();
  if (!usage.includes('dashplan') || !usage.includes('of 100 per')) throw new Error(`usage row: ${usage}`);

  // Traffic after the page is open arrives over server-sent events.
  for (let i = 0; i < 3; i++) await fetch(`${api}/orders`);
  await fetch(`${api}/orders/ord-7`);
  await fetch(`${api}/nope`);
  await page.waitForFunction(() => document.querySelectorAll('#requests tr.request').length >= 25,
    null, { timeout: 10000 });
  const shown = await page.locator('#requests tr.request').count();
  if (shown !== 25) throw new Error(`${shown} rows for 25 requests`);

  await page.fill('#filter-status', '4');
  const statuses = await page.locator('#requests tr.request td:nth-child(2)').allTextContents();
  if (statuses.length !== 1 || statuses[0] !== '403') throw new Error(`filtered rows: ${statuses}`);
  await page.fill('#filter-status', '');

  await page.locator('#requests tr.request', { hasText: 'GET /orders' }).first().click();
  await page.waitForSelector('#timeline tr.stage[data-stage="integration"]', { timeout: 10000 });
  const stages = await page.locator('#timeline tr.stage').evaluateAll(
    (rows) => rows.map((r) => r.dataset.stage));
  for (const s of ['authorizer', 'usage_plan', 'method_request', 'integration_request', 'integration', 'integration_response']) {
    if (!stages.includes(s)) throw new Error(`the timeline lacks ${s}: ${stages}`);
  }
  // An upstream call shows the request the gateway sent and the answer's head.
  await page.locator('#requests tr.request', { hasText: '/orders/{orderId}' }).first().click();
  await page.waitForSelector('#calls .call[data-kind="http"]', { timeout: 10000 });
  const sent = await page.locator('#calls .call pre.sent').first().textContent();
  if (!/^GET http:\/\/127\.0\.0\.1:\d+\/orders\/ord-7/.test(sent) || !sent.includes('x-amzn-trace-id')) {
    throw new Error(`the upstream request shown: ${sent}`);
  }
  const received = await page.locator('#calls .call pre.received').first().textContent();
  if (!received.includes('200 OK') || !received.includes('"target":"/orders/ord-7"')) throw new Error(`the upstream response shown: ${received}`);
  // A request answered early shows where.
  await page.locator('#requests tr.request', { hasText: '403' }).first().click();
  await page.waitForFunction(() => document.querySelector('#selected').textContent.includes('403'));
  await page.screenshot({ path: process.env.SCREENSHOT, fullPage: true });
  console.log(JSON.stringify({ routes, stages }));
} finally {
  await browser.close();
}
