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
