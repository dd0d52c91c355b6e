/**
 * The validators in src/generated/ are Ajv's standalone code for the schemas as they are now:
 * a schema edited without `npm run build` (or `npm run validators`) fails here, instead of
 * the daemon validating configs and stores against the old schema.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { VALIDATORS, validatorSource } from '../../scripts/generate-validators.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

for (const spec of VALIDATORS) {
  test(`${spec.file} is generated from ${spec.schemaExport} as it is now`, async () => {
    const onDisk = await readFile(path.join(ROOT, spec.file), 'utf8').catch(() => '(missing)');
    assert.ok(onDisk === (await validatorSource(spec)), `${spec.file} does not match ${spec.schemaModule}: run npm run build`);
  });
}
