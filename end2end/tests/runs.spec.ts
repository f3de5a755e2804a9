// The run engine from the console: an init sync of the dynamic-configuration sample,
// its log on the run page, and the options it printed, selectable in Settings.
import { test, expect, hydrated } from './fixtures';
import { integrationWithRelease, quickTenant } from './flows';
import { makeSampleRepository } from './repos';

test('an init sync fills in the dynamic options, and its log is on the run page', async ({ signedIn: page, jsEnabled }, info) => {
  test.setTimeout(90_000);
  const suffix = info.project.name;
  await integrationWithRelease(page, jsEnabled, `Pokemon ${suffix}`, [], makeSampleRepository('pokemon-of-the-day'));
  await quickTenant(page, jsEnabled, `trainer-${suffix}`);
  const id = /\/tenants\/(\d+)\//.exec(page.url())?.[1];
  expect(id, 'the tenant id is in the URL').toBeTruthy();

  await page.goto(`/tenants/${id}`);
  await expect(page.getByTestId('no-runs')).toBeVisible();
  await hydrated(page, jsEnabled);
  await page.getByRole('button', { name: 'Run Init Sync' }).click();
  await expect(page.getByText('starts as soon as the tenant is free')).toBeVisible();

  // The run appears in the tenant's history and ends; its page shows the log.
  const row = page.getByTestId('runs').locator('tbody tr').first();
  await expect(row).toContainText('init');
  await expect(row).toContainText('Manual');
  await row.getByRole('link').click();
  await expect(page.getByRole('heading', { level: 1 })).toContainText('Run #');
  await expect(page.getByTestId('run-phase')).toHaveText('Succeeded', { timeout: 30_000 });
  await expect(page.getByTestId('run-log')).toContainText('Offering 3 types and their Pokémon.');
  await expect(page.getByTestId('run-exit')).toHaveText('0');
  await expect(page.getByTestId('run-context')).toContainText('pokemon_types');
  await expect(page.getByTestId('run-env')).toContainText('PAN_CTX_RUN_MODE');
  await expect(page.getByTestId('run-env')).toContainText('PAN_CFG_ANNOUNCE');
  // It ran in the sandbox, and the page says which layers it had.
  await expect(page.getByTestId('run-sandbox')).toContainText('bubblewrap');
  await expect(page.getByTestId('run-sandbox')).toContainText('seccomp');
  await expect(page.getByTestId('sandbox-warning')).toHaveCount(0);

  // The printed options are now choices in Settings.
  await page.goto(`/tenants/${id}/settings`);
  await hydrated(page, jsEnabled);
  const type = page.getByLabel('Type');
  await expect(type.locator('option', { hasText: 'Fire' })).toHaveCount(1);
  await type.selectOption('fire');
  await page.getByRole('button', { name: /^Save/ }).click();
  await expect(page.getByText('Settings saved.')).toBeVisible();

  // A normal run now uses the chosen type, and Activity lists both runs.
  await hydrated(page, jsEnabled);
  await page.getByRole('button', { name: 'Run Normal Sync' }).click();
  // The request must reach the hub before the page is left.
  await expect(page.getByText('starts as soon as the tenant is free')).toBeVisible();
  await page.goto(`/activity?tenant=${id}`);
  const runs = page.getByTestId('runs').locator('tbody tr');
  await expect(runs).toHaveCount(2);
  await expect(runs.first()).toContainText(/Succeeded|Running|Queued/);
});

test('the Activity page filters runs by phase', async ({ signedIn: page, jsEnabled }) => {
  await page.goto('/activity?phase=failed');
  await hydrated(page, jsEnabled);
  await expect(page.getByLabel('Phase')).toHaveValue('failed');
  const rows = page.getByTestId('runs').locator('tbody tr');
  for (const phase of await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-phase')))) {
    expect(phase).toMatch(/^failed_/);
  }
  await page.getByRole('link', { name: 'Audit log' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Audit log' })).toBeVisible();
});
