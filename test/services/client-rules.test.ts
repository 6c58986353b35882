// Small rules of the client role: which localized fragments answer which locales, how a
// client-side-targeting agent's group names are read.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { targetGroupNames } from '../../src/domain/computer.ts';
import { pickLanguages } from '../../src/services/client/extended.ts';

test('localized fragments: the locale, else its base language, else English', () => {
  const stored = new Map([
    ['en', 'E'],
    ['de', 'D'],
    ['pt-br', 'P'],
  ]);
  assert.deepEqual(pickLanguages(['en-US', 'en'], stored), ['en'], 'the real agent asks en-US then en and gets en once');
  assert.deepEqual(pickLanguages(['de-DE', 'en'], stored), ['de', 'en']);
  assert.deepEqual(pickLanguages(['pt-BR'], stored), ['pt-br']);
  assert.deepEqual(pickLanguages(['ja-JP', 'ja'], stored), ['en']);
  assert.deepEqual(pickLanguages([], new Map()), []);
});

test('target group names: one name or a semicolon list, trimmed, without repeats', () => {
  assert.deepEqual(targetGroupNames(undefined), []);
  assert.deepEqual(targetGroupNames(' Workstations '), ['Workstations']);
  assert.deepEqual(targetGroupNames('Kiosks; Workstations;;kiosks'), ['Kiosks', 'Workstations']);
});
