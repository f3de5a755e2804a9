// Real local git repositories for the tests to build releases from.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const GOOD = `version: 0.5
build: echo "compiling the sync" >&2 && echo ok > built.txt
run: python3 main.py
configs:
  schema:
    properties:
      greeting: { type: string, default: Hello }
`;

// A uischema control that points at a property that does not exist.
const BROKEN = `version: 0.5
run: python3 main.py
configs:
  schema:
    properties:
      greeting: { type: string }
  uischema:
    type: VerticalLayout
    elements:
      - { type: Control, scope: '#/properties/greting' }
`;

function git(dir: string, ...args: string[]): void {
  execFileSync('git', ['-c', 'user.name=E2E', '-c', 'user.email=e2e@example.com', ...args], { cwd: dir, stdio: 'pipe' });
}

/** A repository whose `main` builds, and whose `broken` branch has a bad uischema. */
export function makeRepository(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hub-e2e-repo-'));
  // The hub's sandbox clones it as an unprivileged user, as a git server would serve it.
  fs.chmodSync(dir, 0o755);
  git(dir, 'init', '--quiet', '--initial-branch=main');
  fs.writeFileSync(path.join(dir, 'PANDIUM.yaml'), GOOD);
  fs.writeFileSync(path.join(dir, 'main.py'), 'print("{}")\n');
  git(dir, 'add', '--all');
  git(dir, 'commit', '--quiet', '-m', 'good');
  git(dir, 'checkout', '--quiet', '-b', 'broken');
  fs.writeFileSync(path.join(dir, 'PANDIUM.yaml'), BROKEN);
  git(dir, 'commit', '--quiet', '-am', 'broken');
  git(dir, 'checkout', '--quiet', 'main');
  return dir;
}

// A release whose configuration form uses every kind of element, and that needs a
// Stripe key (an `api_key` connector).
const FORM = `version: 1.0
run: python3 main.py
connectors: [stripe]
configs:
  schema:
    type: object
    required: [channel]
    properties:
      channel: { type: string, title: Post to channel, default: general }
      batch_size: { type: integer, title: Batch size, default: 50, min: 1, max: 500 }
      include_archived: { type: boolean, title: Include archived, default: false }
      since: { type: string, title: Since, format: date }
      level: { $ref: '#/definitions/levels', title: Log level }
      color: { type: string, title: Colour, oneOf: [{ const: r, title: Red }, { const: g, title: Green }] }
      tags: { type: array, title: Tags, items: { type: string, enum: [alpha, beta, gamma] } }
      slack_user: { $ref: '#/definitions/slack_users', title: Slack user }
    definitions:
      levels: { type: string, enum: [debug, info, warn], default: info }
      slack_users: { type: string, oneOf: [{ const: placeholder, title: Placeholder }] }
  uischema:
    type: VerticalLayout
    elements:
      - type: Section
        label: Where to post
        subtitle: The destination of each message
        hintText: Pick a channel and a user
        elements:
          - { type: Control, scope: '#/properties/channel' }
          - { type: Control, scope: '#/properties/slack_user' }
      - { type: Divider }
      - type: Group
        label: Filters
        elements:
          - type: HorizontalLayout
            elements:
              - { type: Control, scope: '#/properties/since' }
              - { type: Control, scope: '#/properties/level' }
          - { type: Control, scope: '#/properties/include_archived' }
          - { type: MultiSelectControl, scope: '#/properties/tags' }
          - { type: Control, scope: '#/properties/color' }
      - { type: Label, title: Tuning }
      - { type: Control, scope: '#/properties/batch_size', admin: true }
`;

/** A repository whose `main` builds a release with the full configuration form. */
export function makeFormRepository(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hub-e2e-form-'));
  // The hub's sandbox clones it as an unprivileged user, as a git server would serve it.
  fs.chmodSync(dir, 0o755);
  git(dir, 'init', '--quiet', '--initial-branch=main');
  fs.writeFileSync(path.join(dir, 'PANDIUM.yaml'), FORM);
  fs.writeFileSync(path.join(dir, 'main.py'), 'print("{}")\n');
  git(dir, 'add', '--all');
  git(dir, 'commit', '--quiet', '-m', 'form');
  return dir;
}

/**
 * A repository holding one of the hub's sample integrations, without its
 * `connectors:` line (so the test needs no credentials).
 */
export function makeSampleRepository(sample: string): string {
  const from = path.join(__dirname, '..', '..', 'samples', sample);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `hub-e2e-${sample}-`));
  // The hub's sandbox clones it as an unprivileged user, as a git server would serve it.
  fs.chmodSync(dir, 0o755);
  git(dir, 'init', '--quiet', '--initial-branch=main');
  const manifest = fs.readFileSync(path.join(from, 'PANDIUM.yaml'), 'utf8').replace(/^connectors:.*\n/m, '');
  fs.writeFileSync(path.join(dir, 'PANDIUM.yaml'), manifest);
  fs.copyFileSync(path.join(from, 'main.py'), path.join(dir, 'main.py'));
  git(dir, 'add', '--all');
  git(dir, 'commit', '--quiet', '-m', sample);
  return dir;
}
