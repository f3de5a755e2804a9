// Shared fixtures: every test fails on a browser console error or a page error,
// and, with JavaScript on, when the page did not hydrate. `signedIn` gives a page
// signed in as the admin through the real login form.
import { test as base, expect, Page } from '@playwright/test';
import { ADMIN_EMAIL, ADMIN_PASSWORD } from './env';

// Statuses a page may legitimately receive from a server function (a wrong password
// is a 422); Chromium logs them as console errors, but they are not faults.
const EXPECTED_STATUS = /Failed to load resource: the server responded with a status of (401|403|404|409|422)/;

export async function signIn(page: Page, email = ADMIN_EMAIL, password = ADMIN_PASSWORD): Promise<void> {
  // Stay on a login page that is already open: it may carry a `next` to follow.
  if (!new URL(page.url(), 'http://x').pathname.startsWith('/login')) await page.goto('/login');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByTestId('current-user')).toBeVisible();
}

/** Waits for the wasm to take over the page (JavaScript on only). */
export async function hydrated(page: Page, jsEnabled: boolean): Promise<void> {
  if (jsEnabled) await expect(page.locator('body[data-hydrated="true"]')).toHaveCount(1);
}

type Fixtures = { consoleGuard: void; signedIn: Page; jsEnabled: boolean };

export const test = base.extend<Fixtures>({
  jsEnabled: async ({ javaScriptEnabled }, use) => {
    await use(javaScriptEnabled !== false);
  },
  consoleGuard: [
    async ({ page, jsEnabled }, use) => {
      const problems: string[] = [];
      page.on('console', (msg) => {
        if (msg.type() === 'error' && !EXPECTED_STATUS.test(msg.text())) problems.push(`console: ${msg.text()}`);
      });
      page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
      await use();
      if (jsEnabled && page.url().startsWith('http')) {
        await expect(page.locator('body[data-hydrated="true"]'), 'the page hydrated').toHaveCount(1);
      }
      expect(problems, 'browser console errors').toEqual([]);
    },
    { auto: true },
  ],
  signedIn: async ({ page }, use) => {
    await signIn(page);
    await use(page);
  },
});

export { expect };
