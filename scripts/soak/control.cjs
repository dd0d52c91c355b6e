/**
 * The soak's control process: a bare Node process that does nothing but measure its own
 * event-loop delay (./loop-delay.cjs), the same way and at the same moments as the probe in
 * the daemon. Its delay is what the machine alone costs a process (scheduling on a busy
 * CPU), so the soak can tell the daemon's stalls from the machine's. A line on stdin closes
 * a window ("w": and counts the later ones towards the total); it answers one JSON line.
 */
'use strict';
const { loopDelayMonitor } = require('./loop-delay.cjs');

const monitor = loopDelayMonitor();
let buf = '';
process.stdin.setEncoding('utf8').on('data', (chunk) => {
  buf += chunk;
  let nl;
  while ((nl = buf.indexOf('\n')) >= 0) {
    const line = buf.slice(0, nl);
    buf = buf.slice(nl + 1);
    process.stdout.write(`${JSON.stringify(monitor.take(line === 'w'))}\n`);
  }
});
