/** An LK module's key bytes through keypad.keymap, against the LK204-25 model's keypad. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MatrixOrbitalSim } from '../../firmware-sim/matrix-orbital.js';
import { DEFAULT_LK_KEYMAP } from '../../src/config/index.js';
import { LkKeys } from '../../src/device/keypad/matrix-orbital.js';

test('every key of the LK204-25 model\'s 4x4 keypad comes out as its legend with the default keymap', () => {
  const lk = new MatrixOrbitalSim({ profile: 'lk204' });
  const keys: string[] = [];
  const noise: string[] = [];
  const dec = new LkKeys({ keymap: DEFAULT_LK_KEYMAP, onKey: (k) => keys.push(k), onNoise: (r) => noise.push(r) });
  lk.on('output', (b) => dec.push(b));
  const legend = '123A456B789C*0#D';
  for (const k of legend) lk.pressKey(k);
  assert.equal(keys.join(''), legend);
  assert.deepEqual(noise, []);
});

test('a code not in the keymap is noise; a remapped keymap is followed', () => {
  const keys: string[] = [];
  const noise: string[] = [];
  const dec = new LkKeys({ keymap: { '1': '1', '#': '#' }, onKey: (k) => keys.push(k), onNoise: (r) => noise.push(r) });
  dec.push(Buffer.from('1#Az', 'latin1'));
  assert.deepEqual(keys, ['1', '#']);
  assert.equal(noise.length, 2);
});
