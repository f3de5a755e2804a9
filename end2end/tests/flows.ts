// Steps several specs share: an integration with a built default release, and a
// tenant created through the flow.
import { expect, hydrated } from './fixtures';
import { makeFormRepository } from './repos';
import type { Page } from '@playwright/test';

const BUILD_TIMEOUT = 30_000;

/** An integration with the given connectors and no release yet; its page is left open. */
export async function createIntegration(
  page: Page,
  jsEnabled: boolean,
  name: string,
  connectors: string[],
  repository: string = makeFormRepository(),
): Promise<void> {
  await page.goto('/integrations/new');
  await hydrated(page, jsEnabled);
  await page.getByLabel('Name').fill(name);
  await page.getByLabel('Repository').fill(repository);
  for (const c of connectors) await page.getByRole('checkbox', { name: new RegExp(c) }).check();
  await page.getByRole('button', { name: 'Create Integration' }).click();
  await expect(page.getByRole('heading', { level: 1, name })).toBeVisible();
}

/** An integration with the given connectors and one successful default release. */
export async function integrationWithRelease(
  page: Page,
  jsEnabled: boolean,
  name: string,
  connectors: string[],
  repository: string = makeFormRepository(),
): Promise<void> {
  await createIntegration(page, jsEnabled, name, connectors, repository);
  await buildRelease(page, jsEnabled, 'v1 (main)');
  const row = page.locator('tr[data-release="v1 (main)"]');
  await hydrated(page, jsEnabled);
  await row.getByRole('button', { name: 'Set as default' }).click();
  await expect(page.locator('tr[data-release="v1 (main)"]').getByText('Default', { exact: true })).toBeVisible();
}

/** Builds the tracking branch on the integration's page and waits for `release` to succeed. */
export async function buildRelease(page: Page, jsEnabled: boolean, release: string): Promise<void> {
  await hydrated(page, jsEnabled);
  await page.getByRole('button', { name: 'Build Release' }).click();
  const row = page.locator(`tr[data-release="${release}"]`);
  await expect(row.getByTestId('release-status')).toHaveText('Succeeded', { timeout: BUILD_TIMEOUT });
}

/** Creates a tenant on the Latest channel from the integration's page and skips to its page. */
export async function quickTenant(page: Page, jsEnabled: boolean, name: string): Promise<void> {
  await page.getByRole('link', { name: 'Create Tenant' }).click();
  await hydrated(page, jsEnabled);
  await page.getByRole('radio', { name: /^Latest/ }).check();
  await page.getByLabel('Name').fill(name);
  await page.getByRole('button', { name: 'Create', exact: true }).click();
  await expect(page).toHaveURL(/\/setup\/(credentials|configuration)$/);
}
