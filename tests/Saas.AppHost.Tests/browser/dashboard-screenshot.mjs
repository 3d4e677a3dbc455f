// usage: node dashboard-screenshot.mjs <trace detail url> <tenant> <out.png>
// Opens one trace in the Aspire dashboard, selects one of its database spans, and saves a screenshot once the span's
// details show tenant.id = <tenant>. Exits non-zero when they do not.
import { chromium } from 'playwright-core';

const [url, tenant, out] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  // The machine's network is closed: without these, chromium keeps trying to reach Google's hosts.
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
  page.setDefaultTimeout(120000); // each step waits for what it needs; only a hang takes this long
  await page.goto(url, { waitUntil: 'networkidle' });
  const spans = page.locator('.main-grid').getByText('postgresql').filter({ visible: true }); // rows, not hover labels
  await spans.first().waitFor();
  await spans.last().click(); // the last query of the request runs inside the tenant's scope
  await page.getByText('tenant.id').first().waitFor();
  await page.screenshot({ path: out });
  const text = await page.innerText('body');
  if (!new RegExp(`tenant\\.id\\s+${tenant}\\b`).test(text)) {
    console.error(`the span's details do not show tenant.id = ${tenant}`);
    process.exitCode = 1;
  }
} catch (error) {
  // Keep what the browser saw: it is the quickest way to tell why.
  await (await browser.contexts()[0]?.pages()[0])?.screenshot({ path: out }).catch(() => {});
  throw error;
} finally {
  await browser.close();
}
