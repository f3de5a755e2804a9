// Integrations: create one pointing at a local repository, build releases from it,
// watch them succeed or fail, and choose the default release.
import { test, expect, hydrated } from './fixtures';
import { makeRepository } from './repos';
import type { Page } from '@playwright/test';

const BUILD_TIMEOUT = 30_000;

async function createIntegration(page: Page, jsEnabled: boolean, name: string, repository: string): Promise<void> {
  await page.goto('/integrations');
  await page.getByRole('link', { name: 'New Integration' }).click();
  await expect(page).toHaveURL(/\/integrations\/new$/);
  await hydrated(page, jsEnabled);
  await page.getByLabel('Name').fill(name);
  await page.getByLabel('Description').fill('Built by the end-to-end tests');
  await page.getByLabel('Repository').fill(repository);
  await page.getByRole('button', { name: 'Create Integration' }).click();
  await expect(page.getByRole('heading', { level: 1, name })).toBeVisible();
  await expect(page).toHaveURL(/\/integrations\/\d+$/);
}

async function buildRelease(page: Page, jsEnabled: boolean, gitRef: string): Promise<void> {
  await hydrated(page, jsEnabled);
  await page.getByLabel('Branch, tag or commit').fill(gitRef);
  await page.getByRole('button', { name: 'Build Release' }).click();
}

test('build a release from a local repository and make it the default', async ({ signedIn: page, jsEnabled }, info) => {
  const name = `E2E sync ${info.project.name}`;
  await createIntegration(page, jsEnabled, name, makeRepository());
  await expect(page.getByRole('link', { name: 'Create Tenant' })).toBeVisible();

  await buildRelease(page, jsEnabled, '');
  const row = page.locator('tr[data-release="v1 (main)"]');
  await expect(row.getByTestId('release-status')).toHaveText('Succeeded', { timeout: BUILD_TIMEOUT });
  await expect(row.getByText('Latest')).toBeVisible();

  await hydrated(page, jsEnabled);
  await row.getByRole('button', { name: 'Set as default' }).click();
  await expect(page.locator('tr[data-release="v1 (main)"]').getByText('Default', { exact: true })).toBeVisible();

  // The release's own page shows its log and what it read from PANDIUM.yaml.
  await page.getByRole('link', { name: 'v1 (main)' }).click();
  await expect(page.getByTestId('build-log')).toContainText('compiling the sync');
  await expect(page.getByTestId('release-sandbox')).toContainText('bubblewrap');
  await expect(page.getByText('python3 main.py')).toBeVisible();
  await expect(page.getByText('Default release')).toBeVisible();

  // Editing keeps the releases and changes what was edited.
  await page.getByRole('link', { name: name }).click();
  await page.getByRole('link', { name: 'Edit' }).click();
  await hydrated(page, jsEnabled);
  await expect(page.getByLabel('Name')).toHaveValue(name);
  await page.getByLabel('Description').fill('Edited by the end-to-end tests');
  await page.getByRole('button', { name: 'Save Changes' }).click();
  await expect(page.getByText('Edited by the end-to-end tests')).toBeVisible();
  await expect(page.locator('tr[data-release="v1 (main)"]')).toBeVisible();

  // The list counts the release.
  await page.goto('/integrations');
  const listed = page.getByRole('row').filter({ hasText: name });
  await expect(listed).toContainText('v1 (main)');
});

test('a broken PANDIUM.yaml fails its release with a message to act on', async ({ signedIn: page, jsEnabled }, info) => {
  await createIntegration(page, jsEnabled, `E2E broken ${info.project.name}`, makeRepository());
  await buildRelease(page, jsEnabled, 'broken');
  const row = page.locator('tr[data-release="v1 (broken)"]');
  await expect(row.getByTestId('release-status')).toHaveText('Failed', { timeout: BUILD_TIMEOUT });
  await expect(row.getByTestId('release-error')).toHaveText(
    'PANDIUM.yaml: configs.uischema.elements[0].scope: #/properties/greting points at no property (properties: greeting)',
  );
  await page.getByRole('link', { name: 'v1 (broken)' }).click();
  await expect(page.getByTestId('release-error')).toContainText('points at no property');
  // A failed build cannot become the default.
  await expect(page.getByRole('button', { name: 'Set as default' })).toHaveCount(0);
});

test('a duplicate name is an error by the field, and nothing typed is lost', async ({ signedIn: page, jsEnabled }) => {
  await page.goto('/integrations/new');
  await hydrated(page, jsEnabled);
  await page.getByLabel('Name').fill('Counter Sync');
  await page.getByLabel('Repository').fill('/srv/git/somewhere');
  await page.getByLabel('Tracking branch').fill('develop');
  await page.getByRole('button', { name: 'Create Integration' }).click();
  await expect(page.locator('#name-error')).toHaveText('An integration with this name already exists.');
  await expect(page.getByLabel('Name')).toHaveAttribute('aria-invalid', 'true');
  await expect(page.getByLabel('Repository')).toHaveValue('/srv/git/somewhere');
  await expect(page.getByLabel('Tracking branch')).toHaveValue('develop');
});

test('the sample integrations of a new hub are built and listed', async ({ signedIn: page }) => {
  await page.goto('/integrations');
  for (const name of ['Counter Sync', 'Pokémon of the Day', 'Slack Notifier']) {
    await expect(page.getByRole('link', { name })).toBeVisible();
  }
  await page.getByRole('link', { name: 'Pokémon of the Day' }).click();
  await expect(page.locator('tr[data-release="v1 (main)"]').getByTestId('release-status')).toHaveText('Succeeded', {
    timeout: BUILD_TIMEOUT,
  });
});

test('the connectors page lists every connector with its kind and info', async ({ signedIn: page }) => {
  await page.goto('/connectors');
  for (const [name, kind] of [
    ['Slack', 'OAuth 2.0'],
    ['Stripe', 'API key'],
    ['SFTP server', 'Username and password'],
    ['PokéAPI', 'No credentials'],
  ]) {
    const card = page.getByRole('article', { name });
    await expect(card).toContainText(kind);
  }
  await expect(page.getByRole('article', { name: 'Slack' })).toContainText('Not configured: set SLACK_CLIENT_ID');
});
