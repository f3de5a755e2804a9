// The console shell: the sidebar reaches every page, each page says what it will
// show, and the layout holds at desktop and phone widths.
import { test, expect, hydrated } from './fixtures';
import { withLock } from './lock';

const PAGES: Array<[string, string, string]> = [
  ['Integrations', '/integrations', 'Counter Sync'],
  ['Tenants', '/tenants', "one customer's installed instance of an integration"],
  ['Connectors', '/connectors', 'OAuth 2.0'],
  ['Activity', '/activity', 'Audit log'],
  ['Company', '/settings/company', 'Acme Test Co'],
  ['Users', '/settings/users', 'Primary admin'],
  ['Marketplace', '/settings/marketplace', 'Signing secret'],
];

test('the sidebar reaches every page, and each says what it shows', async ({ signedIn: page, jsEnabled }) => {
  await hydrated(page, jsEnabled);
  const nav = page.getByRole('navigation', { name: 'Main' });
  for (const [link, url, text] of PAGES) {
    await nav.getByRole('link', { name: link, exact: true }).click();
    await expect(page).toHaveURL(new RegExp(`${url}$`));
    await expect(page.getByRole('heading', { level: 1, name: link })).toBeVisible();
    await expect(page.getByText(text).first()).toBeVisible();
    await expect(nav.getByRole('link', { name: link, exact: true })).toHaveAttribute('aria-current', 'page');
  }
});

test('the console can be used from the keyboard', async ({ signedIn: page, jsEnabled }) => {
  await hydrated(page, jsEnabled);
  await page.keyboard.press('Tab');
  await expect(page.getByRole('link', { name: 'Skip to content' })).toBeFocused();
  // Tab on to the Tenants link and follow it with Enter.
  const tenants = page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Tenants' });
  for (let i = 0; i < 10 && !(await tenants.evaluate((el) => el === document.activeElement)); i++) {
    await page.keyboard.press('Tab');
  }
  await expect(tenants).toBeFocused();
  await page.keyboard.press('Enter');
  await expect(page).toHaveURL(/\/tenants$/);
});

for (const width of [1280, 390]) {
  test(`the console fits a ${width} px wide screen`, async ({ signedIn: page }) => {
    await page.setViewportSize({ width, height: 800 });
    await page.goto('/settings/users');
    await expect(page.getByRole('heading', { level: 1, name: 'Users' })).toBeVisible();
    await expect(page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Tenants' })).toBeInViewport();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
  });
}

test('the Company page shows disk use by kind and keeps the retention settings', async ({ signedIn: page, jsEnabled }) => {
  await page.goto('/settings/company');
  await hydrated(page, jsEnabled);
  const disk = page.getByTestId('disk-use');
  for (const kind of ['Database file', 'Run logs', 'Release checkouts', 'Webhook bodies', 'Audit entries']) {
    await expect(disk.getByRole('rowheader', { name: kind, exact: true })).toBeVisible();
  }
  // The demo's releases are built, so their checkouts take room.
  await expect(disk.locator('tr[data-kind="release checkouts"] td').first()).toHaveText(/^[\d.]+ (B|KB|MB|GB)$/);
  await expect(page.getByTestId('retention-fixed')).toContainText('Audit entries: Kept for ever.');

  // The settings are hub-wide: the two projects take turns.
  await withLock('retention', async () => {
    const days = page.getByLabel('Days to keep run logs');
    const runs = page.getByLabel('Runs kept per tenant');
    // A refusal changes nothing, so the page does not read its data again: that read
    // would build the form anew over what is typed after the refusal.
    const reads: string[] = [];
    page.on('request', (r) => {
      if (new URL(r.url()).pathname === '/api/retention') reads.push(r.method());
    });
    // A bad value is named next to its field, and what was typed stays.
    await days.fill('0');
    await runs.fill('many');
    await page.getByRole('button', { name: 'Save retention' }).click();
    await expect(page.locator('#log-days-error')).toHaveText('Days to keep run logs must be a whole number from 1 to 3650.');
    await expect(page.locator('#runs-per-tenant-error')).toHaveText('Runs kept per tenant must be a whole number from 10 to 1000000.');
    await expect(page.getByLabel('Runs kept per tenant')).toHaveValue('many');

    const wanted = jsEnabled ? '45' : '46';
    await page.getByLabel('Days to keep run logs').fill(wanted);
    await page.getByLabel('Runs kept per tenant').fill('2000');
    expect(reads, 'reads of the page data after the refusal').toEqual([]);
    await page.getByRole('button', { name: 'Save retention' }).click();
    await expect(page.getByText('Retention settings saved.')).toBeVisible();
    await expect(page.getByLabel('Days to keep run logs')).toHaveValue(wanted);
    await expect(disk.locator('tr[data-kind="run logs"]')).toContainText(`logs for ${wanted} days`);
    await page.reload();
    await expect(page.getByLabel('Days to keep run logs')).toHaveValue(wanted);

    // Back to the defaults for the other tests.
    await page.getByLabel('Days to keep run logs').fill('30');
    await page.getByLabel('Runs kept per tenant').fill('1000');
    await page.getByRole('button', { name: 'Save retention' }).click();
    await expect(page.getByLabel('Days to keep run logs')).toHaveValue('30');
  });
});

test('the Company page keeps how long magic links work', async ({ signedIn: page, jsEnabled }) => {
  await page.goto('/settings/company');
  await hydrated(page, jsEnabled);
  await withLock('magic-links', async () => {
    const days = page.getByLabel('Days a magic link works');
    await days.fill('0');
    await page.getByRole('button', { name: 'Save magic links' }).click();
    await expect(page.locator('#magic-link-days-error')).toHaveText('Enter a whole number of days from 1 to 3650, or leave it empty.');
    await expect(page.getByLabel('Days a magic link works')).toHaveValue('0');
    await hydrated(page, jsEnabled);
    await page.getByLabel('Days a magic link works').fill('400');
    await page.getByRole('button', { name: 'Save magic links' }).click();
    await expect(page.getByText('Magic link settings saved.')).toBeVisible();
    await page.reload();
    await expect(page.getByLabel('Days a magic link works')).toHaveValue('400');
    // Back to links that do not expire, for the other tests.
    await page.getByLabel('Days a magic link works').fill('');
    await page.getByRole('button', { name: 'Save magic links' }).click();
    await expect(page.getByText('Magic link settings saved.')).toBeVisible();
    await page.reload();
    await expect(page.getByLabel('Days a magic link works')).toHaveValue('');
  });
});
