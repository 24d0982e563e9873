/**
 * The console's cluster view against a real three-member cluster: opened on a follower, it shows
 * the leader, and after the leader is killed it shows the new one (it re-reads GET /v1/cluster
 * every 2 s). A screenshot of the view is kept after its elements were asserted in the DOM.
 *
 * Needs Chromium at /usr/bin/chromium (`bash .ci/install-chromium.sh`); fails, never skips, without it.
 */
import { existsSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CorralCluster } from '../support/corral-cluster.ts';
import { CHROMIUM, launchChromium, openPage, screenshot } from './browser.ts';
import { ensureConsoleBuilt } from './console-bundle.ts';

const ELECTION_MS = 45_000;

describe('the console\'s cluster view, three members', () => {
  let cluster: CorralCluster;
  let browser: Browser;

  beforeAll(async () => {
    expect(existsSync(CHROMIUM), `Chromium is needed at ${CHROMIUM}: bash .ci/install-chromium.sh`).toBe(true);
    await ensureConsoleBuilt();
    cluster = await CorralCluster.start({ size: 3 });
    browser = await launchChromium();
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await cluster?.close();
  });

  it('shows the members and the leader, then the new leader after the leader is killed', async () => {
    const leader = await cluster.leader({ timeoutMs: ELECTION_MS });
    const follower = cluster.ids.find((id) => id !== leader)!;
    const { page, problems } = await openPage(browser);
    await page.goto(`${cluster.url(follower)}/ui#/`);
    await page.getByRole('tab', { name: 'Cluster' }).click();
    const shownLeader = () => page.getByTestId('cluster-leader').textContent();
    await expect.poll(shownLeader, { timeout: ELECTION_MS }).toBe(String(leader));
    expect(await page.locator('[data-member]').count()).toBe(3);
    expect(await page.getByTestId('cluster-self').textContent()).toContain(`${follower} (follower)`);
    await screenshot(page, 'cluster');

    await cluster.kill(leader);
    await expect.poll(async () => {
      const shown = await shownLeader();
      return shown !== String(leader) && shown !== 'none' ? shown : undefined;
    }, { timeout: ELECTION_MS, interval: 500 }).toBeDefined();
    const newLeader = await cluster.leader({ among: cluster.liveIds, timeoutMs: ELECTION_MS });
    await expect.poll(shownLeader, { timeout: ELECTION_MS }).toBe(String(newLeader));
    await expect.poll(() => page.locator(`[data-member="${leader}"] td`).last().textContent(), { timeout: ELECTION_MS }).toBe('down');
    expect(problems).toEqual([]);
    await page.close();
  }, 180_000);
});
