// usage: node dashboard-screenshot.mjs <trace detail url> <tenant> <out.png>
// Opens one trace in the Aspire dashboard, selects one of its database spans, and saves a screenshot once the span's
// details show tenant.id = <tenant>. Exits non-zero when they do not.
import { withDashboardPage } from './dashboard-page.mjs';

const [url, tenant, out] = process.argv.slice(2);
await withDashboardPage(url, out, async page => {
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
});
