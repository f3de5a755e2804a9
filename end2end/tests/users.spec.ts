// Users: an admin invites people by email (through a real SMTP server), they set a
// password from the link and sign in; partner users see only their organization.
import { test, expect, hydrated, signIn } from './fixtures';
import { inviteLink, mailTo } from './mail';
import type { Browser, Page } from '@playwright/test';

async function addUser(page: Page, jsEnabled: boolean, name: string, email: string, organization?: string) {
  await page.goto('/settings/users');
  await page.getByRole('link', { name: 'Add New User' }).click();
  await hydrated(page, jsEnabled);
  await page.getByLabel('Name').fill(name);
  await page.getByLabel('Email').fill(email);
  if (organization) await page.getByLabel('Organization').selectOption({ label: `${organization} (partner)` });
  await page.getByRole('button', { name: 'Add User' }).click();
  await expect(page).toHaveURL(/\/settings\/users$/);
  await expect(page.locator(`tr[data-user="${email}"]`)).toContainText('invited');
}

/** Follows the invitation in a browser of its own (the invitee has no session). */
async function acceptInvitation(browser: Browser, jsEnabled: boolean, email: string, password: string): Promise<Page> {
  const link = inviteLink(await mailTo(email));
  const context = await browser.newContext({ javaScriptEnabled: jsEnabled });
  const page = await context.newPage();
  await page.goto(link);
  await expect(page.getByRole('heading', { name: 'Set your password' })).toBeVisible();
  await expect(page.getByText(email)).toBeVisible();
  await hydrated(page, jsEnabled);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByLabel('Password again').fill(password);
  await page.getByRole('button', { name: 'Set Password' }).click();
  await expect(page.getByText('Your password is set. Sign in to continue.')).toBeVisible();
  await expect(page.getByLabel('Email')).toHaveValue(email);
  return page;
}

test('an invited user gets the email, sets a password and signs in; the link works once', async ({
  signedIn: page,
  jsEnabled,
  browser,
}, info) => {
  const email = `ann-${info.project.name}@e2e.example.com`;
  await addUser(page, jsEnabled, 'Ann Lee', email);
  await expect(page.locator(`tr[data-user="${email}"]`).getByTestId('mail-state')).toHaveText('Invitation sent', {
    timeout: 20_000,
  });

  const invitee = await acceptInvitation(browser, jsEnabled, email, 'ann-long-password');
  await hydrated(invitee, jsEnabled);
  await signIn(invitee, email, 'ann-long-password');
  await expect(invitee.getByTestId('current-user')).toContainText('Ann Lee');

  // The same link again is refused with a clear page.
  const link = inviteLink(await mailTo(email));
  await invitee.goto(link);
  await expect(invitee.getByRole('heading', { name: 'This link cannot be used' })).toBeVisible();
  await expect(invitee.getByRole('alert')).toContainText('already been used');
  await invitee.context().close();
});

test('a resent invitation replaces the old link', async ({ signedIn: page, jsEnabled, browser }, info) => {
  const email = `bo-${info.project.name}@e2e.example.com`;
  await addUser(page, jsEnabled, 'Bo Chen', email);
  const old = inviteLink(await mailTo(email));
  await hydrated(page, jsEnabled);
  await page.locator(`tr[data-user="${email}"]`).getByRole('button', { name: 'Resend invitation' }).click();
  await expect(page.getByText('A new invitation was sent')).toBeVisible();
  await mailTo(email, 1);
  const context = await browser.newContext({ javaScriptEnabled: jsEnabled });
  const other = await context.newPage();
  await other.goto(old);
  await expect(other.getByRole('alert')).toContainText('replaced by a newer one');
  await context.close();
});

test('a duplicate or malformed email is an error by the field, with every value kept', async ({
  signedIn: page,
  jsEnabled,
}) => {
  await page.goto('/settings/users/new');
  await hydrated(page, jsEnabled);
  await page.getByLabel('Name').fill('Someone Else');
  await page.getByLabel('Email').fill('admin@e2e.example.com');
  await page.getByRole('button', { name: 'Add User' }).click();
  await expect(page.locator('#email-error')).toHaveText('A user with this email already exists.');
  await expect(page.getByLabel('Name')).toHaveValue('Someone Else');
  await expect(page.getByLabel('Email')).toHaveValue('admin@e2e.example.com');

  await page.getByLabel('Email').fill('not an email');
  await page.getByRole('button', { name: 'Add User' }).click();
  await expect(page.locator('#email-error')).toHaveText('Enter an email address like name@example.com.');
  await expect(page.getByLabel('Name')).toHaveValue('Someone Else');
});

test('a partner user sees only their organization and cannot reach company settings', async ({
  signedIn: page,
  jsEnabled,
  browser,
}, info) => {
  const partner = `Globex ${info.project.name}`;
  await page.goto('/settings/partners');
  await hydrated(page, jsEnabled);
  await page.getByLabel('New partner organization').fill(partner);
  await page.getByRole('button', { name: 'Create Partner' }).click();
  await expect(page.locator(`tr[data-partner="${partner}"]`)).toBeVisible();

  const email = `pat-${info.project.name}@globex.example.com`;
  await addUser(page, jsEnabled, 'Pat Partner', email, partner);
  const pat = await acceptInvitation(browser, jsEnabled, email, 'pat-long-password');
  await hydrated(pat, jsEnabled);
  await signIn(pat, email, 'pat-long-password');
  await expect(pat.getByRole('heading', { level: 1, name: 'Integrations' })).toBeVisible();
  await expect(pat.getByText('No integrations yet')).toBeVisible();
  await expect(pat.getByText('Counter Sync')).toHaveCount(0);
  // Company settings are not offered to a partner, and refused if reached directly.
  await expect(pat.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Users' })).toHaveCount(0);
  await pat.goto('/settings/users');
  await expect(pat.getByRole('alert')).toHaveText('You do not have access to this.');
  await pat.context().close();
});

test('a user changes their own password', async ({ signedIn: page, jsEnabled, browser }, info) => {
  const email = `cy-${info.project.name}@e2e.example.com`;
  await addUser(page, jsEnabled, 'Cy Park', email);
  const cy = await acceptInvitation(browser, jsEnabled, email, 'cy-first-password');
  await hydrated(cy, jsEnabled);
  await signIn(cy, email, 'cy-first-password');
  await cy.getByRole('link', { name: 'Cy Park' }).click();
  await expect(cy.getByRole('heading', { level: 1, name: 'Your account' })).toBeVisible();
  await hydrated(cy, jsEnabled);
  await cy.getByLabel('Current password').fill('not-my-password');
  await cy.getByLabel('New password', { exact: true }).fill('cy-second-password');
  await cy.getByLabel('New password again').fill('cy-second-password');
  await cy.getByRole('button', { name: 'Change Password' }).click();
  await expect(cy.locator('#current_password-error')).toHaveText('This is not your current password.');
  await cy.getByLabel('Current password').fill('cy-first-password');
  await cy.getByLabel('New password', { exact: true }).fill('cy-second-password');
  await cy.getByLabel('New password again').fill('cy-second-password');
  await cy.getByRole('button', { name: 'Change Password' }).click();
  await expect(cy.getByText('Your password was changed.')).toBeVisible();
  await cy.getByRole('button', { name: 'Sign out' }).click();
  await expect(cy).toHaveURL(/\/login$/);
  await signIn(cy, email, 'cy-second-password');
  await cy.context().close();
});
