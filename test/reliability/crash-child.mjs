// Child of crash.test.ts: loops TokenStore mutations on argv[2] until SIGKILLed, and prints
// "acked <gen>" once each generation is durable. Plain JS against dist/ so that it starts in
// ~100 ms (the suite builds first). The state of each generation is stateFor(gen) in
// crash-states.mjs, shared with the test.
import { TokenStore } from '../../dist/src/store/index.js';
import { createLogger } from '../../dist/src/log.js';
import { generationOf, mutationFor } from './crash-states.mjs';

const file = process.argv[2];
const store = await TokenStore.open(file, createLogger({ level: 'silent' }));
let gen = generationOf(store.data, Number(process.argv[3] ?? 0));
process.stdout.write(`ready ${gen}\n`);
for (;;) {
  await mutationFor(gen + 1)(store);
  gen += 1;
  process.stdout.write(`acked ${gen}\n`);
}
