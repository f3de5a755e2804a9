// Sign-in, sign-out, and the guard on every console page.
import { test, expect, hydrated, signIn } from './fixtures';
import { ADMIN_EMAIL } from './env';

const CONSOLE_PAGES = [
  '/',
  '/integrations',
  '/tenants',
  '/activity',
  '/settings/company',
  '/settings/users',
  '/settings/marketplace',
];

test('a wrong password shows an error by the form and keeps the email', async ({ page, jsEnabled }) => {
  await page.goto('/login');
  await hydrated(page, jsEnabled);
  await page.getByLabel('Email').fill(ADMIN_EMAIL);
  await page.getByLabel('Password').fill('not-the-password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('alert')).toHaveText('The email or password is not correct.');
  await expect(page.getByLabel('Email')).toHaveValue(ADMIN_EMAIL);
  await expect(page).toHaveURL(/\/login/);
});

test('the right password lands on the console, and sign-out returns to login', async ({ page, jsEnabled }) => {
  await page.goto('/login');
  await hydrated(page, jsEnabled);
  await signIn(page);
  await expect(page).toHaveURL(/\/integrations$/);
  await expect(page.getByRole('heading', { level: 1, name: 'Integrations' })).toBeVisible();
  await expect(page.getByTestId('current-user')).toContainText(ADMIN_EMAIL);

  await hydrated(page, jsEnabled);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/login$/);
  await expect(page.getByLabel('Email')).toBeVisible();
  // The old session is gone: the console sends us back to sign in.
  await page.goto('/integrations');
  await expect(page).toHaveURL(/\/login\?next=\/integrations$/);
});

test('every console page without a session redirects to login', async ({ page }) => {
  for (const path of CONSOLE_PAGES) {
    await page.goto(path);
    await expect(page, path).toHaveURL(/\/login(\?next=.*)?$/);
    await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible();
  }
});

test('after sign-in the user lands on the page they asked for', async ({ page, jsEnabled }) => {
  await page.goto('/settings/users');
  await expect(page).toHaveURL(/\/login\?next=\/settings\/users$/);
  await hydrated(page, jsEnabled);
  await signIn(page);
  await expect(page).toHaveURL(/\/settings\/users$/);
  await expect(page.getByRole('cell', { name: ADMIN_EMAIL })).toBeVisible();
});

test('a server function called over HTTP without a session answers 401', async ({ request }) => {
  for (const endpoint of ['current_user', 'activity', 'users', 'company', 'logout']) {
    const res = await request.post(`/api/${endpoint}`, {
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      data: '',
    });
    expect(res.status(), endpoint).toBe(401);
    expect(await res.text(), endpoint).not.toContain(ADMIN_EMAIL);
  }
});
