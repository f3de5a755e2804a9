// The console shell: the sidebar reaches every page, each page says what it will
// show, and the layout holds at desktop and phone widths.
import { test, expect, hydrated } from './fixtures';

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
