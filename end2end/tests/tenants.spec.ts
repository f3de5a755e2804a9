// The tenant creation flow from both entry points: release and name, credentials,
// the configuration form generated from PANDIUM.yaml, the sync schedule, paused or
// running; every bad value rejected with a message while everything else is kept.
// Then the tenants list's search and filters.
import { test, expect, hydrated } from './fixtures';
import { integrationWithRelease } from './flows';

// The two whole flows build a release and walk every step of the wizard: they take
// 25 to 35 s while the other worker builds releases too, past the default 30 s.
test.describe.configure({ timeout: 90_000 });

test('the whole flow from an integration, with every bad value caught and nothing lost', async ({ signedIn: page, jsEnabled }, info) => {
  const integration = `E2E tenants ${info.project.name}`;
  const tenant = `acme-${info.project.name}`;
  await integrationWithRelease(page, jsEnabled, integration, ['Stripe']);

  // Step 1, entered from the integration's page.
  await page.getByRole('link', { name: 'Create Tenant' }).click();
  await expect(page).toHaveURL(/\/tenants\/new\?integration=\d+$/);
  await hydrated(page, jsEnabled);
  await expect(page.getByRole('radio', { name: 'Channel' })).toBeChecked();
  await expect(page.getByRole('radio', { name: /^Default/ })).toBeChecked();
  await expect(page.getByRole('combobox', { name: 'Release' })).toContainText('v1 (main) (default)');
  await page.getByLabel('Name').fill('Acme Corp');
  if (jsEnabled) {
    // The rule and the limit show while typing.
    await expect(page.getByText('9 / 63 characters')).toBeVisible();
    await expect(page.locator('#name-error')).toContainText('lowercase letters');
  }
  await page.getByRole('radio', { name: /^Latest/ }).check();
  await page.getByRole('button', { name: 'Create', exact: true }).click();
  await expect(page.locator('#name-error')).toContainText("Use lowercase letters, digits and '-' only");
  await expect(page.getByLabel('Name')).toHaveValue('Acme Corp');
  await expect(page.getByRole('radio', { name: /^Latest/ })).toBeChecked();
  await page.getByLabel('Name').fill(tenant);
  await page.getByRole('button', { name: 'Create', exact: true }).click();

  // Step 2: the Stripe key, masked.
  await expect(page).toHaveURL(/\/tenants\/\d+\/setup\/credentials$/);
  await expect(page.getByRole('heading', { level: 1, name: 'Credentials' })).toBeVisible();
  const stripe = page.locator('section[data-connector="stripe"]');
  await expect(stripe.getByTestId('connection-status')).toHaveText('Not connected');
  await expect(stripe.getByLabel('Secret key')).toHaveAttribute('type', 'password');
  await hydrated(page, jsEnabled);
  await stripe.getByLabel('Secret key').fill('sk_test_e2e_0123456789');
  await stripe.getByRole('button', { name: 'Save credentials' }).click();
  await expect(page.getByText('Credentials for stripe saved.')).toBeVisible();
  await expect(page.locator('section[data-connector="stripe"]').getByTestId('connection-status')).toHaveText('✓ Connected');
  await expect(page.locator('body')).not.toContainText('sk_test_e2e_0123456789');
  await hydrated(page, jsEnabled);
  await page.getByRole('button', { name: 'Next' }).click();

  // Step 3: the generated form, with its layout, defaults and dynamic field.
  await expect(page).toHaveURL(/\/setup\/configuration$/);
  await expect(page.getByRole('heading', { level: 3, name: 'Where to post' })).toBeVisible();
  await expect(page.getByText('The destination of each message')).toBeVisible();
  await expect(page.getByRole('group', { name: 'Filters' })).toBeVisible();
  await expect(page.getByText('Tuning')).toBeVisible();
  await expect(page.getByLabel('Post to channel')).toHaveValue('general');
  await expect(page.getByLabel('Batch size')).toHaveValue('50');
  await expect(page.locator('[data-field="batch_size"]')).toContainText('Admin only');
  await expect(page.getByLabel('Log level')).toHaveValue('info');
  await expect(page.getByLabel('Slack user')).toBeDisabled();
  await expect(page.getByText("These options become available after the tenant's first init sync.")).toBeVisible();
  await hydrated(page, jsEnabled);
  await page.getByLabel('Post to channel').fill('');
  await page.getByLabel('Batch size').fill('900');
  await page.getByRole('checkbox', { name: 'beta' }).check();
  await page.getByLabel('Colour').selectOption({ label: 'Green' });
  await page.getByLabel('Since').fill('2026-01-15');
  if (jsEnabled) {
    // Checked while typing, by the same code the server runs.
    await expect(page.locator('[data-field="batch_size"] .field-error')).toHaveText('At most 500.');
  }
  // The same checks run in the browser, so the errors can show before the server has
  // answered (and kept the draft): wait for its answer before the reload below.
  const answered = jsEnabled ? page.waitForResponse((r) => r.url().includes('/api/save_tenant_configs')) : null;
  await page.getByRole('button', { name: 'Next' }).click();
  await answered;
  await expect(page.locator('[data-field="channel"] .field-error')).toHaveText('Post to channel is required.');
  await expect(page.locator('[data-field="batch_size"] .field-error')).toHaveText('At most 500.');
  const kept = async () => {
    await expect(page.getByLabel('Batch size')).toHaveValue('900');
    await expect(page.getByRole('checkbox', { name: 'beta' })).toBeChecked();
    await expect(page.getByLabel('Colour')).toHaveValue('g');
    await expect(page.getByLabel('Since')).toHaveValue('2026-01-15');
  };
  await kept();
  // A reload loses nothing either.
  await page.reload();
  await kept();
  await hydrated(page, jsEnabled);
  await page.getByLabel('Post to channel').fill('ops');
  await page.getByLabel('Batch size').fill('100');
  await page.getByRole('button', { name: 'Next' }).click();

  // Steps 4 and 5: an invalid cron is caught; a valid one is read back in words.
  await expect(page).toHaveURL(/\/setup\/schedule/);
  await hydrated(page, jsEnabled);
  await page.getByRole('radio', { name: 'Advanced (cron expression)' }).check();
  await page.getByLabel('Cron expression', { exact: true }).fill('61 * * * *');
  // The time zone field suggests every zone the hub knows.
  await expect(page.locator('#timezones option[value="Europe/Berlin"]')).toHaveCount(1);
  await page.getByLabel('Time zone').fill('Europe/Berlin');
  if (jsEnabled) await expect(page.getByTestId('schedule-invalid')).toContainText('minute must be from 0 to 59');
  await page.getByRole('radio', { name: /^Running/ }).check();
  await page.getByRole('button', { name: 'Save Changes' }).click();
  await expect(page.locator('#cron-error')).toContainText('minute must be from 0 to 59');
  await expect(page.getByLabel('Cron expression', { exact: true })).toHaveValue('61 * * * *');
  await expect(page.getByLabel('Time zone')).toHaveValue('Europe/Berlin');
  await expect(page.getByRole('radio', { name: /^Running/ })).toBeChecked();
  await hydrated(page, jsEnabled);
  await page.getByLabel('Cron expression', { exact: true }).fill('30 9 * * mon-fri');
  if (!jsEnabled) await page.getByRole('button', { name: 'Preview' }).click();
  await expect(page.getByTestId('schedule-reading')).toHaveText('At 09:30, on Monday through Friday (Europe/Berlin)');
  await expect(page.locator('.fire-times li')).toHaveCount(5);
  await expect(page.locator('.fire-times li').first()).toContainText('09:30 CE');
  await hydrated(page, jsEnabled);
  await page.getByRole('button', { name: 'Save Changes' }).click();

  // The saved tenant's page.
  await expect(page).toHaveURL(/\/tenants\/\d+(\?done=saved)?$/);
  await expect(page.getByText('Tenant saved.')).toBeVisible();
  await expect(page.getByRole('heading', { level: 1 })).toContainText(tenant);
  await expect(page.getByTestId('tenant-state')).toHaveText('Running');
  await expect(page.getByTestId('tenant-schedule')).toHaveText('At 09:30, on Monday through Friday (Europe/Berlin)');
  await expect(page.getByTestId('tenant-release')).toContainText('Latest channel (now v1 (main))');
  await expect(page.getByTestId('tenant-lacks')).toHaveCount(0);
});

test('the flow from the Tenants page, leaving a tenant paused and not connected', async ({ signedIn: page, jsEnabled }, info) => {
  const integration = `E2E list ${info.project.name}`;
  const tenant = `globex-${info.project.name}`;
  await integrationWithRelease(page, jsEnabled, integration, ['Stripe']);

  await page.goto('/tenants');
  await page.getByRole('link', { name: 'Create Tenant' }).click();
  await expect(page).toHaveURL(/\/tenants\/new$/);
  await page.getByRole('link', { name: new RegExp(integration) }).click();
  await hydrated(page, jsEnabled);
  await page.getByRole('radio', { name: 'Specific Release' }).check();
  await page.getByRole('combobox', { name: 'Release' }).selectOption({ label: 'v1 (main) (default)' });
  await page.getByLabel('Name').fill(tenant);
  await page.getByRole('button', { name: 'Create', exact: true }).click();

  // Move on without connecting.
  await expect(page).toHaveURL(/\/setup\/credentials$/);
  await expect(page.getByTestId('magic-link').or(page.getByLabel('Secret key'))).toBeVisible();
  await hydrated(page, jsEnabled);
  await page.getByRole('button', { name: 'Next' }).click();
  await expect(page).toHaveURL(/\/setup\/configuration$/);
  await hydrated(page, jsEnabled);
  await page.getByRole('button', { name: 'Next' }).click();
  await expect(page).toHaveURL(/\/setup\/schedule/);
  await hydrated(page, jsEnabled);
  await page.getByLabel('How often').selectOption({ label: 'Every hour' });
  await expect(page.getByRole('radio', { name: /^Paused/ })).toBeChecked();
  await page.getByRole('button', { name: 'Save Changes' }).click();

  await expect(page.getByTestId('tenant-state')).toHaveText('Paused');
  await expect(page.getByTestId('tenant-schedule')).toHaveText('Every hour');
  await expect(page.getByTestId('tenant-release')).toHaveText('Pinned: v1 (main)');
  await expect(page.getByTestId('tenant-lacks')).toContainText('Stripe is not connected');

  // The list finds it by name, by integration and by state; the address holds it all.
  await page.goto('/tenants');
  await page.getByLabel('Search by name').fill(tenant);
  await page.getByLabel('State').selectOption({ label: 'Not connected' });
  await page.getByRole('button', { name: 'Apply' }).click();
  await expect(page).toHaveURL(new RegExp(`q=${tenant}.*state=not_connected`));
  const row = page.locator(`tr[data-tenant="${tenant}"]`);
  await expect(row).toContainText(integration);
  await expect(row).toContainText('Paused');
  await expect(row).toContainText('Not connected');
  await expect(page.getByTestId('tenant-count')).toHaveText('1–1 of 1');
  await page.getByLabel('State').selectOption({ label: 'Running' });
  await page.getByRole('button', { name: 'Apply' }).click();
  await expect(page.getByTestId('tenant-count')).toHaveText('No tenants match.');
  await page.goto(`/tenants?q=${tenant}`);
  await page.locator(`tr[data-tenant="${tenant}"]`).getByRole('link', { name: tenant }).click();
  await expect(page.getByRole('heading', { level: 1 })).toContainText(tenant);
});
