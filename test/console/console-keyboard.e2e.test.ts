/**
 * The console with the keyboard alone, in Chromium (page.keyboard only, no clicks): the tree is a
 * WAI-ARIA tree (role tree/treeitem/group, aria-expanded, aria-selected, one tab stop that moves
 * with the arrows); Tab reaches it, the arrows move, expand and collapse, Enter opens; from there
 * Tab reaches the node's actions (the view tabs, moved with the arrows; the data, Save; the create
 * form), each with an accessible name and a visible focus ring. Roles and names are checked with
 * page.getByRole, as assistive technology would find them.
 *
 * Needs Chromium at /usr/bin/chromium (`bash .ci/install-chromium.sh`); fails, never skips, without it.
 */
import { existsSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../src/server.ts';
import { http, makeTempDir, removeDir } from '../support/corral-process.ts';
import { CHROMIUM, launchChromium, openPage, screenshot } from './browser.ts';
import { ensureConsoleBuilt } from './console-bundle.ts';

const WAIT_MS = 10_000;
/** Tab presses allowed to reach an element: more than the page has controls before any of them. */
const TABS_MAX = 40;

interface Focused {
  readonly role: string | null;
  readonly name: string;
  readonly tag: string;
  /** The focus ring's style: the element's outline, or for a treeitem its row's. */
  readonly outline: string;
}

async function focused(page: Page): Promise<Focused> {
  return page.evaluate(() => {
    const el = document.activeElement as HTMLElement;
    const ringed = el.getAttribute('role') === 'treeitem' ? (el.querySelector(':scope > .row') as HTMLElement) : el;
    const style = getComputedStyle(ringed);
    return {
      role: el.getAttribute('role'),
      name: el.getAttribute('aria-label') ?? el.textContent?.trim() ?? '',
      tag: el.tagName.toLowerCase(),
      outline: `${style.outlineStyle} ${style.outlineWidth}`,
    };
  });
}

/** Presses Tab until `matches` holds for the focused element; fails after TABS_MAX presses. */
async function tabTo(page: Page, what: string, matches: (f: Focused) => boolean): Promise<Focused> {
  for (let i = 0; i < TABS_MAX; i++) {
    await page.keyboard.press('Tab');
    const now = await focused(page);
    if (matches(now)) return now;
  }
  throw new Error(`${what} not reached within ${TABS_MAX} Tab presses`);
}

describe('the console with the keyboard only', () => {
  let dir: string;
  let server: RunningServer;
  let browser: Browser;

  beforeAll(async () => {
    expect(existsSync(CHROMIUM), `Chromium is needed at ${CHROMIUM}: bash .ci/install-chromium.sh`).toBe(true);
    await ensureConsoleBuilt();
    dir = makeTempDir('corral-console-keyboard-');
    server = await startServer({ dataDir: dir, host: '127.0.0.1', port: 0, logLevel: 'silent' });
    for (const [path, data] of [['/app', ''], ['/app/config', '{"a":1}'], ['/app/jobs', ''], ['/app/jobs/j1', 'one']] as const) {
      expect((await http('POST', `${server.url}/v1/znodes${path}`, data)).status).toBe(201);
    }
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    removeDir(dir);
  });

  it('walks the tree as a WAI-ARIA tree: Tab in, arrows to move, expand and collapse, Enter to open', async () => {
    const { page, problems } = await openPage(browser);
    await page.goto(`${server.url}/ui#/`);
    await expect.poll(() => page.getByTestId('live-status').textContent(), { timeout: WAIT_MS }).toBe('live');
    const tree = page.getByRole('tree', { name: 'Znodes' });
    const item = (name: string) => tree.getByRole('treeitem', { name, exact: true });
    await item('app').waitFor();

    const entry = await tabTo(page, 'the tree', (f) => f.role === 'treeitem');
    expect(entry.name).toBe('/'); // the open node is the tree's tab stop
    expect(entry.outline).toBe('solid 2px');
    expect(await tree.getByRole('treeitem').evaluateAll((items) => items.filter((i) => i.tabIndex === 0).length)).toBe(1);

    await page.keyboard.press('ArrowDown');
    expect((await focused(page)).name).toBe('app');
    expect(await item('app').getAttribute('aria-expanded')).toBe('false');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.getByTestId('node-path').textContent(), { timeout: WAIT_MS }).toBe('/app');
    await expect.poll(() => item('app').getAttribute('aria-selected')).toBe('true');

    await page.keyboard.press('ArrowRight'); // expands
    await expect.poll(() => item('app').getAttribute('aria-expanded')).toBe('true');
    await item('config').waitFor({ timeout: WAIT_MS });
    await item('jobs').waitFor({ timeout: WAIT_MS });
    await expect.poll(() => item('jobs').getAttribute('aria-expanded'), { timeout: WAIT_MS }).toBe('false'); // its Stat read: it has children
    await page.keyboard.press('ArrowRight'); // into the first child
    expect((await focused(page)).name).toBe('config');
    await page.keyboard.press('ArrowDown');
    expect((await focused(page)).name).toBe('jobs');
    await page.keyboard.press('ArrowRight');
    await item('j1').waitFor({ timeout: WAIT_MS });
    await page.keyboard.press('ArrowRight');
    expect((await focused(page)).name).toBe('j1');
    expect(await item('j1').getAttribute('aria-level')).toBe('4');
    await page.keyboard.press('ArrowLeft'); // a leaf: to its parent
    expect((await focused(page)).name).toBe('jobs');
    await page.keyboard.press('ArrowLeft'); // expanded: collapses
    await expect.poll(() => item('jobs').getAttribute('aria-expanded')).toBe('false');
    expect(await item('j1').count()).toBe(0);
    await page.keyboard.press('ArrowUp');
    expect((await focused(page)).name).toBe('config');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.getByTestId('node-path').textContent(), { timeout: WAIT_MS }).toBe('/app/config');
    await expect.poll(() => item('config').getAttribute('aria-selected')).toBe('true');
    expect(await item('app').getAttribute('aria-selected')).toBe('false');
    await page.keyboard.press('Home');
    expect((await focused(page)).name).toBe('/');
    await page.keyboard.press('End');
    expect((await focused(page)).name).toBe('zookeeper');
    await page.keyboard.press('ArrowUp');
    await page.keyboard.press('ArrowUp');
    expect((await focused(page)).name).toBe('config');

    expect((await page.getByRole('group').count()) >= 2).toBe(true); // children lists are groups
    await screenshot(page, 'keyboard-tree');
    expect(problems).toEqual([]);
    await page.close();
  }, 90_000);

  it('reaches the node\'s actions with Tab, each named and ringed: view tabs by arrows, data and Save, the create form', async () => {
    const { page, problems } = await openPage(browser);
    await page.goto(`${server.url}/ui#/app/config`);
    await expect.poll(() => page.getByTestId('data-text').inputValue(), { timeout: WAIT_MS }).toBe('{\n  "a": 1\n}');
    // What assistive technology finds, by role and name.
    for (const [role, name] of [['navigation', 'Znode tree'], ['region', 'Open znode'], ['complementary', 'Node status'], ['search', undefined],
      ['tree', 'Znodes'], ['tablist', 'Node views'], ['tablist', 'Panels'], ['textbox', 'Data'], ['button', 'Reload'], ['searchbox', 'Go to path']] as const) {
      expect(await page.getByRole(role, name === undefined ? {} : { name, exact: true }).count(), `${role} ${name ?? ''}`).toBe(1);
    }
    expect(await page.getByRole('form', { name: 'Data of /app/config' }).count()).toBe(1);

    const reload = await tabTo(page, 'Reload', (f) => f.tag === 'button' && f.name === 'Reload');
    expect(reload.outline).toBe('solid 2px');
    const dataTab = await tabTo(page, 'the node\'s view tabs', (f) => f.role === 'tab');
    expect(dataTab.name).toBe('Data'); // the selected tab is the list's one tab stop
    await page.keyboard.press('ArrowRight');
    expect((await focused(page)).name).toBe('Stat');
    await expect.poll(() => page.getByRole('tab', { name: 'Stat' }).getAttribute('aria-selected')).toBe('true');
    await page.getByTestId('stat-table').waitFor({ timeout: WAIT_MS });
    await page.keyboard.press('ArrowLeft');
    await expect.poll(() => page.getByRole('tab', { name: 'Data' }).getAttribute('aria-selected')).toBe('true');

    const text = await tabTo(page, 'the data', (f) => f.tag === 'textarea');
    expect(text.outline).toBe('solid 2px');
    await page.keyboard.press('Control+A');
    await page.keyboard.type('{"a":2}');
    const save = await tabTo(page, 'Save', (f) => f.tag === 'button' && f.name.startsWith('Save'));
    expect(save.name).toBe('Save (version 0)');
    await page.keyboard.press('Enter');
    await expect.poll(async () => (await http('GET', `${server.url}/v1/znodes/app/config`)).body.data, { timeout: WAIT_MS }).toBe('{"a":2}');
    await screenshot(page, 'keyboard-actions');

    // Back to the view tabs (Shift+Tab), to "Create child" with the arrows, then the form.
    for (let i = 0; i < TABS_MAX && (await focused(page)).role !== 'tab'; i++) await page.keyboard.press('Shift+Tab');
    expect((await focused(page)).role).toBe('tab');
    await page.keyboard.press('End');
    expect((await focused(page)).name).toBe('Create child');
    const name = await tabTo(page, 'the Name field', (f) => f.tag === 'input');
    expect(name.outline).toBe('solid 2px');
    expect(await page.getByRole('textbox', { name: /^Name/ }).evaluate((el) => el === document.activeElement)).toBe(true);
    await page.keyboard.type('by-keyboard');
    await page.keyboard.press('Enter'); // submits the form
    await expect.poll(() => page.getByTestId('node-path').textContent(), { timeout: WAIT_MS }).toBe('/app/config/by-keyboard');
    expect((await http('GET', `${server.url}/v1/znodes/app/config/by-keyboard`)).status).toBe(200);
    expect(problems).toEqual([]);
    await page.close();
  }, 90_000);
});
