// usage: node dashboard-commands.mjs <dashboard url> <resource> <out.png> <command>...
// Opens the Aspire dashboard's resources page, opens the Commands submenu of <resource>'s actions menu, and saves a
// screenshot once it shows every <command>. Exits non-zero when one of them is disabled.
import { withDashboardPage } from './dashboard-page.mjs';

const [url, resource, out, ...commands] = process.argv.slice(2);
await withDashboardPage(url, out, async page => {
  const row = page.getByRole('row').filter({ has: page.getByText(resource, { exact: true }) });
  await row.getByTitle('Actions', { exact: true }).click();
  await page.getByRole('menuitem', { name: 'Commands', exact: true }).click(); // the resource's own commands are a submenu
  const items = commands.map(c => page.getByRole('menuitem', { name: c, exact: true }));
  for (const item of items) {
    await item.waitFor();
  }
  await page.screenshot({ path: out });
  for (const [i, item] of items.entries()) {
    // Fluent marks a disabled item on the element or around it, by attribute or ARIA.
    const disabled = await item.evaluate(e =>
      e.closest('[disabled], [aria-disabled="true"]') !== null || e.querySelector('[disabled], [aria-disabled="true"]') !== null);
    if (disabled) {
      console.error(`the command '${commands[i]}' is disabled`);
      process.exitCode = 1;
    }
  }
});
