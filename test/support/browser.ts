// Debian's Chromium (scripts/install-browser.sh) driven by playwright-core, for the browser tests and
// the big-screen bench. Every request a page makes is recorded, to prove none leaves the hub.
import { existsSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: run scripts/install-browser.sh (or set CHROMIUM_PATH)`);
  // --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
}

/** A 1920×1080 browser context that records every URL its pages ask for (HTTP and WebSocket). */
export async function recordingContext(browser: Browser): Promise<{ context: BrowserContext; requested: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1920, height: 1080 }, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
  const requested: string[] = [];
  context.on('request', (request) => requested.push(request.url()));
  context.on('page', (page) => {
    page.on('websocket', (socket) => requested.push(socket.url()));
    // A page's own errors belong in the test's output.
    page.on('pageerror', (err) => console.error(`page error at ${page.url()}: ${err.message}`));
    // (Failed reconnects while a test has the gateway down are expected; the page's link state tells.)
    page.on('console', (message) => {
      if (['error', 'warning'].includes(message.type()) && !message.text().startsWith('WebSocket connection to')) console.error(`page console at ${page.url()}: ${message.text()}`);
    });
  });
  return { context, requested };
}

/** Signs in through the development picker as the identity whose option has this unit and role (and subject). */
export async function signInAs(page: Page, unitId: string, role: string, subject?: string): Promise<void> {
  const option = page.locator(`#sign-in-identity option[data-unit="${unitId}"][data-role="${role}"]${subject ? `[data-subject="${subject}"]` : ''}`);
  const value = await option.getAttribute('value');
  if (value === null) throw new Error(`no demo identity ${role}@${unitId} in the picker`);
  await page.selectOption('#sign-in-identity', value);
  await page.click('#sign-in-submit');
}
