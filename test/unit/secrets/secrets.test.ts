import assert from 'node:assert/strict';
import { renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../../../src/config.js';
import { Secrets } from '../../../src/secrets/secrets.js';
import { matchesAny, splitSecretList } from '../../../src/secrets/timing-safe.js';
import { tempDir } from '../../helpers/temp-dir.js';

const quiet = { info: () => undefined, warn: () => undefined };

async function eventually(check: () => boolean, ms = 3000): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('secrets', () => {
  it('compares against every value of a rotation list', () => {
    assert.equal(matchesAny('b', ['a', 'b']), true);
    assert.equal(matchesAny('c', ['a', 'b']), false);
    assert.equal(matchesAny('', ['']), false);
    assert.equal(matchesAny(undefined, ['a']), false);
    assert.equal(matchesAny('a', []), false);
    assert.deepEqual(splitSecretList(' one , two,,'), ['one', 'two']);
  });

  it('lists prefixed settings by key', () => {
    const secrets = new Secrets(
      { PROM_GROUP_TOKEN_ACME: 'x,y', PROM_GROUP_TOKEN_: 'ignored', OTHER: 'z' },
      undefined,
    );
    assert.deepEqual([...secrets.prefixed('PROM_GROUP_TOKEN_')], [['ACME', ['x', 'y']]]);
  });

  it('picks up a rotated file without a restart, including a Kubernetes-style symlink swap', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'AUTH_TOKEN'), 'first');
    const secrets = new Secrets({}, dir);
    secrets.watch(quiet);
    try {
      assert.deepEqual(secrets.list('AUTH_TOKEN'), ['first']);
      writeFileSync(join(dir, 'AUTH_TOKEN'), 'first,second');
      await eventually(() => secrets.list('AUTH_TOKEN').length === 2);
      // Kubernetes writes a new file and renames it over the old one.
      writeFileSync(join(dir, '.tmp'), 'second');
      renameSync(join(dir, '.tmp'), join(dir, 'AUTH_TOKEN'));
      await eventually(() => secrets.list('AUTH_TOKEN').join() === 'second');
    } finally {
      secrets.close();
    }
  });
  it('keeps the previous value of a file that becomes unreadable or empty, says so once, and unsets a deleted one', () => {
    const dir = tempDir();
    const path = join(dir, 'AUTH_TOKEN');
    writeFileSync(path, 'token-a');
    const warnings: Array<{ obj: object; msg: string }> = [];
    const secrets = new Secrets({}, dir);
    secrets.watch({ info: () => undefined, warn: (obj, msg) => warnings.push({ obj, msg }) });
    try {
      // Unreadable even for root: a symbolic link to itself (ELOOP).
      rmSync(path);
      symlinkSync('AUTH_TOKEN', path);
      secrets.reload();
      secrets.reload();
      assert.deepEqual(secrets.list('AUTH_TOKEN'), ['token-a']);
      assert.deepEqual(warnings, [
        {
          obj: { unreadable: { AUTH_TOKEN: 'ELOOP' } },
          msg: 'files in SECRETS_DIR cannot be read; keeping their previous values',
        },
      ]);
      // A failed template render leaves an empty file.
      rmSync(path);
      writeFileSync(path, '\n');
      secrets.reload();
      assert.deepEqual(secrets.list('AUTH_TOKEN'), ['token-a']);
      assert.match(warnings[1]?.msg ?? '', /became empty/);
      assert.doesNotMatch(JSON.stringify(warnings), /token-a/, 'names only, never values');
      rmSync(path);
      secrets.reload();
      assert.deepEqual(secrets.list('AUTH_TOKEN'), []);
    } finally {
      secrets.close();
    }
  });

  it('takes each line of a secret file as one value, like a comma', () => {
    assert.deepEqual(splitSecretList('lineA\nlineB\n'), ['lineA', 'lineB']);
    assert.deepEqual(splitSecretList('lineA\r\nlineB\r\n'), ['lineA', 'lineB']);
    assert.deepEqual(splitSecretList('a,b\n\nc'), ['a', 'b', 'c']);
    const dir = tempDir();
    writeFileSync(join(dir, 'AUTH_TOKEN'), 'lineA\r\nlineB\r\n');
    writeFileSync(join(dir, 'PROM_GROUP_TOKEN_ACME'), 'lineA\nlineB\n');
    const secrets = new Secrets({}, dir);
    assert.deepEqual(secrets.list('AUTH_TOKEN'), ['lineA', 'lineB']);
    assert.deepEqual([...secrets.prefixed('PROM_GROUP_TOKEN_')], [['ACME', ['lineA', 'lineB']]]);
  });

  it('says a changed plain setting needs a restart instead of calling it reloaded', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'LOG_LEVEL'), 'info');
    writeFileSync(join(dir, 'AUTH_TOKEN'), 'token-a');
    const logs: Array<{ level: string; obj: object; msg: string }> = [];
    const secrets = new Secrets({}, dir);
    secrets.watch({
      info: (obj, msg) => logs.push({ level: 'info', obj, msg }),
      warn: (obj, msg) => logs.push({ level: 'warn', obj, msg }),
    });
    try {
      writeFileSync(join(dir, 'LOG_LEVEL'), 'debug');
      writeFileSync(join(dir, 'TRACKED_REFS'), '^secret-looking-ref$');
      secrets.reload();
      assert.deepEqual(logs, [
        {
          level: 'warn',
          obj: { changed: ['LOG_LEVEL', 'TRACKED_REFS'] },
          msg: 'LOG_LEVEL, TRACKED_REFS changed in SECRETS_DIR; restart to apply',
        },
      ]);
      logs.length = 0;
      writeFileSync(join(dir, 'AUTH_TOKEN'), 'token-b');
      secrets.reload();
      assert.deepEqual(logs, [{ level: 'info', obj: { changed: ['AUTH_TOKEN'] }, msg: 'secrets reloaded' }]);
      // Polls without a change say nothing.
      logs.length = 0;
      secrets.reload();
      assert.deepEqual(logs, []);
    } finally {
      secrets.close();
    }
  });

  it('does not warn again on reload about a file that was already empty at start', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'AUTH_TOKEN'), '');
    const logs: string[] = [];
    const secrets = new Secrets({ AUTH_TOKEN: 'from-env' }, dir);
    secrets.watch({ info: (_obj, msg) => logs.push(msg), warn: (_obj, msg) => logs.push(msg) });
    try {
      secrets.reload();
      assert.deepEqual(secrets.list('AUTH_TOKEN'), ['from-env']);
      assert.deepEqual(logs, []);
    } finally {
      secrets.close();
    }
  });

  it('refuses to start with a file in SECRETS_DIR that cannot be read', () => {
    const dir = tempDir();
    symlinkSync('GITLAB_WEBHOOK_TOKEN', join(dir, 'GITLAB_WEBHOOK_TOKEN'));
    assert.throws(
      () => loadConfig({ SECRETS_DIR: dir, DATA_DIR: tempDir() }),
      (err: unknown) =>
        err instanceof ConfigError &&
        /GITLAB_WEBHOOK_TOKEN: its file in SECRETS_DIR cannot be read \(ELOOP\)/.test(err.message),
    );
  });
});
