/**
 * The Daemon class (src/lifecycle/daemon.ts) with fakes for the device, the store and the
 * OAuth client: what the lifecycle does around the pure machine (reload, races).
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import type { Config } from '../../src/config/types.js';
import { Daemon, type DeviceLike, type StoreLike } from '../../src/lifecycle/daemon.js';
import type { State } from '../../src/lifecycle/machine.js';
import type { KeypadContext, KeypadEvent, View } from '../../src/device/types.js';
import { PinauthError } from '../../src/errors.js';
import { createLogger } from '../../src/log.js';
import type { OAuthClientApi, RequestToken } from '../../src/oauth/types.js';
import type { Account, PendingAuthorization } from '../../src/store/types.js';

const logger = createLogger({ level: 'silent', destination: new Writable({ write: (_c, _e, cb) => cb() }) });

const config = {
  provider: { name: 'local', requestTokenUrl: 'http://127.0.0.1:8723/oauth/request_token', pin: { digits: 7 }, requestTokenTtlSec: 900, minVerifyIntervalSec: 60 },
  credentials: { consumerKey: 'ck', consumerSecret: 'cs' },
  daemon: { verifyIntervalSec: 86_400, verifyOnStart: true, pinTries: 3, backoff: { initialMs: 1000, maxMs: 300_000 } },
} as unknown as Config;

class FakeDevice extends EventEmitter implements DeviceLike {
  connected = true;
  views: View[] = [];
  context: KeypadContext = { kind: 'idle' };
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  async show(view: View): Promise<void> {
    this.views.push(view);
  }
  async page(): Promise<void> {}
  setKeypadContext(ctx: KeypadContext): void {
    this.context = ctx;
  }
  key(ev: KeypadEvent): void {
    this.emit('key', ev);
  }
}

class FakeStore implements StoreLike {
  accounts: Account[] = [];
  pendingAuth: PendingAuthorization | null = null;
  account(): Account | null {
    return this.accounts[0] ?? null;
  }
  pending(): PendingAuthorization | null {
    return this.pendingAuth;
  }
  async saveAccount(a: Account): Promise<void> {
    this.accounts = [a];
    this.pendingAuth = null;
  }
  async markVerified(): Promise<void> {}
  async removeAccount(): Promise<void> {
    this.accounts = [];
  }
  async savePending(p: PendingAuthorization): Promise<void> {
    this.pendingAuth = p;
  }
  async clearPending(): Promise<void> {
    this.pendingAuth = null;
  }
}

function fakeOAuth(over: Partial<OAuthClientApi> = {}): OAuthClientApi & { requests: number } {
  const o: OAuthClientApi & { requests: number } = {
    requests: 0,
    clockOffsetMs: 0,
    async requestToken(): Promise<RequestToken> {
      o.requests++;
      return { token: `rt${o.requests}`, secret: 'rts', authorizeUrl: `http://127.0.0.1/oauth/authorize?oauth_token=rt${o.requests}`, issuedAt: Date.now() };
    },
    authorizeUrl: (t: string) => `http://127.0.0.1/oauth/authorize?oauth_token=${t}`,
    async exchange(): Promise<never> {
      throw new PinauthError('INTERNAL', 'not set');
    },
    async verify() {
      return null;
    },
    async invalidate() {
      return false;
    },
    ...over,
  };
  return o;
}

function waitForState(d: Daemon, name: State['name']): Promise<State> {
  if (d.state.name === name) return Promise.resolve(d.state);
  return new Promise((resolve) => {
    const on = (s: State) => {
      if (s.name !== name) return;
      d.off('state', on);
      resolve(s);
    };
    d.on('state', on);
  });
}

const storedPending = (): PendingAuthorization => ({
  provider: 'local',
  consumerKey: 'ck',
  token: 'rt0',
  tokenSecret: 'rts',
  authorizeUrl: 'http://127.0.0.1/oauth/authorize?oauth_token=rt0',
  issuedAt: new Date().toISOString(),
});

describe('daemon: config reload', () => {
  it('a reload while rate-limited after a PIN keeps the request token that is still valid', async () => {
    const store = new FakeStore();
    store.pendingAuth = storedPending();
    const oauth = fakeOAuth({
      async exchange() {
        throw new PinauthError('OAUTH_RATE_LIMITED', 'rate limited', { retryAfterMs: 600_000 });
      },
    });
    const device = new FakeDevice();
    const daemon = new Daemon({ config, logger, openStore: async () => store, oauth, device });
    try {
      await daemon.start();
      assert.equal(daemon.state.name, 'awaiting_pin');
      const waiting = waitForState(daemon, 'waiting');
      device.key({ type: 'pin', pin: '1234567' });
      await waiting;
      daemon.reload(config, oauth);
      const s = daemon.state;
      assert.equal(s.name, 'awaiting_pin');
      assert.equal(s.name === 'awaiting_pin' && s.pending.token, 'rt0');
      assert.equal(oauth.requests, 0);
    } finally {
      await daemon.stop();
    }
  });
});

describe('daemon: the store follows the machine', () => {
  it('after pinTries wrong PINs the request token is cleared from the store, so a restart does not resume it', async () => {
    const store = new FakeStore();
    store.pendingAuth = storedPending();
    let exchanges = 0;
    const oauth = fakeOAuth({
      async exchange() {
        exchanges++;
        throw new PinauthError('OAUTH_WRONG_PIN', 'wrong PIN');
      },
      async requestToken(): Promise<RequestToken> {
        throw new PinauthError('OAUTH_PROVIDER_DOWN', 'down');
      },
    });
    const device = new FakeDevice();
    const daemon = new Daemon({ config, logger, openStore: async () => store, oauth, device });
    try {
      await daemon.start();
      for (let i = 1; i <= 3; i++) {
        device.key({ type: 'pin', pin: '1234567' });
        assert.equal(daemon.state.name, 'exchanging');
        await waitForState(daemon, i < 3 ? 'awaiting_pin' : 'waiting');
      }
      assert.equal(exchanges, 3);
      assert.equal(store.pendingAuth, null, 'the abandoned request token is not left in the store');
    } finally {
      await daemon.stop();
    }
  });

  for (const [errno, title] of [['ENOSPC', 'Storage full'], ['EIO', 'Disk error'], ['EROFS', 'Disk read-only']] as const) {
    it(`an access token the store refuses (${errno}) is kept in memory, said in status and on the display, and stored once the store takes it`, async () => {
      const store = new FakeStore();
      store.pendingAuth = storedPending();
      const full = new PinauthError('STORE_IO', `cannot write tokens.json (${errno})`, { cause: Object.assign(new Error(errno), { code: errno }) });
      let refuse = true;
      const save = store.saveAccount.bind(store);
      store.saveAccount = async (a: Account) => {
        if (refuse) throw full;
        return save(a);
      };
      const oauth = fakeOAuth({
        async exchange() {
          return { token: 'at', secret: 'ats', userId: '1', screenName: 'someone', extra: {} };
        },
      });
      const device = new FakeDevice();
      const daemon = new Daemon({ config: { ...config, daemon: { ...config.daemon, backoff: { initialMs: 20, maxMs: 40 } } }, logger, openStore: async () => store, oauth, device });
      try {
        await daemon.start();
        const saving = new Promise<void>((resolve) => {
          const on = (s: State) => {
            if (s.name === 'saving' && s.failure && s.failure.attempt >= 2) {
              daemon.off('state', on);
              resolve();
            }
          };
          daemon.on('state', on);
        });
        device.key({ type: 'pin', pin: '1234567' });
        await saving;
        const st = daemon.status();
        assert.deepEqual([st.state, st.storage.ok, st.storage.unsaved, st.storage.error?.code], ['saving', false, 'access token', 'STORE_IO']);
        assert.equal(st.account?.screenName, 'someone');
        assert.ok(st.storage.retryAt);
        assert.equal(device.views.at(-1)?.title, title);
        assert.equal(store.accounts.length, 0);
        refuse = false;
        await waitForState(daemon, 'authorized');
        assert.equal(store.accounts[0]?.token, 'at');
        assert.equal(daemon.status().storage.ok, true);
      } finally {
        await daemon.stop();
      }
    });
  }

  it('a store that cannot be opened: the daemon stays up, shows why, and carries on once it opens', async () => {
    const store = new FakeStore();
    let opens = 0;
    const ro = new PinauthError('STORE_PERMISSIONS', 'cannot create the lock file (EROFS)', { cause: Object.assign(new Error('EROFS'), { code: 'EROFS' }) });
    const device = new FakeDevice();
    const daemon = new Daemon({
      config: { ...config, daemon: { ...config.daemon, backoff: { initialMs: 20, maxMs: 40 } } },
      logger,
      openStore: async () => {
        if (++opens < 3) throw ro;
        return store;
      },
      oauth: fakeOAuth(),
      device,
    });
    try {
      await daemon.start();
      assert.equal(daemon.state.name, 'no_store');
      assert.equal(device.views.at(-1)?.title, 'Disk read-only');
      const st = daemon.status();
      assert.deepEqual([st.storage.ok, st.storage.error?.code, st.account], [false, 'STORE_PERMISSIONS', null]);
      await waitForState(daemon, 'awaiting_pin');
      assert.equal(opens, 3);
      assert.equal(daemon.status().storage.ok, true);
    } finally {
      await daemon.stop();
    }
  });
});
