/**
 * Chromium for the console tests: launched as the other browser tests launch it (playwright-core,
 * /usr/bin/chromium, headless, no network services of its own), and a page that records every
 * uncaught error and Content-Security-Policy refusal so a test can assert there were none.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { CHROMIUM, launchChromium } from '../support/chromium.ts';
import { REPO_ROOT } from '../support/corral-process.ts';

export { CHROMIUM, launchChromium };

export const SCREENSHOTS_DIR = join(REPO_ROOT, 'test-results', 'console');

export interface WatchedPage {
  readonly page: Page;
  /** Uncaught page errors and CSP refusals seen so far. */
  readonly problems: string[];
}

export async function openPage(browser: Browser, width = 1400, height = 900): Promise<WatchedPage> {
  const page = await browser.newPage({ viewport: { width, height } });
  page.setDefaultTimeout(15_000);
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`));
  page.on('console', (message) => {
    if (/Content Security Policy|Refused to/i.test(message.text())) problems.push(`csp: ${message.text()}`);
  });
  return { page, problems };
}

/** Saves a screenshot of the page as a test artefact (test-results/console/<name>.png). */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOTS_DIR, { recursive: true });
  const path = join(SCREENSHOTS_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: false });
  return path;
}
