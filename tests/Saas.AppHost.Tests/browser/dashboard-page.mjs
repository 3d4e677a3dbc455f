// Opens <url> in Debian's chromium (or CHROMIUM_PATH's browser) and hands the page to <work>; when <work> fails, saves
// what the browser saw to <out> (the quickest way to tell why) before rethrowing.
import { chromium } from 'playwright-core';

export async function withDashboardPage(url, out, work) {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    // The machine's network is closed: without these, chromium keeps trying to reach Google's hosts.
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
    page.setDefaultTimeout(120000); // each step waits for what it needs; only a hang takes this long
    try {
      await page.goto(url, { waitUntil: 'networkidle' });
      await work(page);
    } catch (error) {
      await page.screenshot({ path: out }).catch(() => {});
      throw error;
    }
  } finally {
    await browser.close();
  }
}
