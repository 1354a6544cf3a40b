// `qr`: QR codes drawn by the core, for registration links and activation URLs.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { bindingDir } from './helpers.mjs';

const { qr } = createRequire(import.meta.url)(bindingDir);
const URL = 'http://127.0.0.1:8790/_emulator/phone/8f6fa1ce3ef54f2f7f45f5ad553f8155';

describe('qr', () => {
  it('svg gives a standalone scalable element', () => {
    const svg = qr.svg(URL);
    assert.match(svg, /<svg[^>]*viewBox/);
    assert.match(svg.trimEnd(), /<\/svg>$/);
    assert.notEqual(qr.svg(URL + '/other'), svg, 'different text, different code');
  });

  it('terminal gives block rows of equal width with a quiet zone', () => {
    const rows = qr.terminal(URL).trimEnd().split('\n');
    assert.ok(rows.length > 10);
    assert.ok(rows.every((row) => [...row].length === [...rows[0]].length));
    assert.match(rows[0], /^█+$/, 'the quiet zone is drawn light');
  });

  it('bad text is INVALID_ARGUMENT', () => {
    for (const bad of ['', 'x'.repeat(2000), 42]) {
      assert.throws(() => qr.svg(bad), (error) => error instanceof Error && error.code === 'INVALID_ARGUMENT');
    }
  });
});
