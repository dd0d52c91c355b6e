/**
 * A throw-away CA and leaf certificates made with openssl, for TLS tests: the client trusts
 * the CA (a `ca` option or NODE_EXTRA_CA_CERTS=caFile), each leaf names what it is valid for.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

export interface TestCerts {
  dir: string;
  ca: string;
  caFile: string;
  key: string;
  /** Leaf certificates by name, each for the subjectAltName it was made with. */
  leaf: Record<string, string>;
  cleanup(): Promise<void>;
}

/** `leaves`: name -> subjectAltName, e.g. { provider: 'DNS:provider.test', loopback: 'IP:127.0.0.1' }. */
export async function makeTestCerts(leaves: Record<string, string>): Promise<TestCerts> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pinauthd-certs-'));
  const sh = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  sh(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=pinauthd test CA']);
  sh(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'leaf.key', '-out', 'leaf.csr', '-subj', '/CN=pinauthd test leaf']);
  const leaf: Record<string, string> = {};
  for (const [name, san] of Object.entries(leaves)) {
    await writeFile(path.join(dir, `${name}.ext`), `subjectAltName=${san}\n`);
    sh(['x509', '-req', '-in', 'leaf.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', `${name}.ext`, '-out', `${name}.pem`]);
    leaf[name] = await readFile(path.join(dir, `${name}.pem`), 'utf8');
  }
  return {
    dir,
    ca: await readFile(path.join(dir, 'ca.pem'), 'utf8'),
    caFile: path.join(dir, 'ca.pem'),
    key: await readFile(path.join(dir, 'leaf.key'), 'utf8'),
    leaf,
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}
