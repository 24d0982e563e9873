/**
 * The real browser of the browser tests: Debian's Chromium, headless, driven by playwright-core.
 * One way to launch it, so every such test runs the same browser with the same switches (no
 * sandbox in a container, no GPU, QUIC or background traffic: only the test's loopback requests).
 */
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    timeout: 20_000,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
}
