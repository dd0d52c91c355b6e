/**
 * The validated configuration, after presets are merged and secrets resolved.
 * The JSON schema in ./schema.ts describes the file form; this is what the rest of the
 * daemon sees. Only src/config/ builds it.
 */

export type SignatureMethod = 'HMAC-SHA1' | 'HMAC-SHA256' | 'PLAINTEXT';

export interface PinFormat {
  /** How many digits the person types. Twitter/X: 7, SmugMug: 6, Flickr: 9. */
  digits: number;
  /**
   * How the typed digits become the oauth_verifier: '#' is one digit, anything else is
   * literal. Flickr: '###-###-###'. Default: the digits as typed.
   */
  template?: string;
}

export interface ProviderConfig {
  /** Preset name or 'generic'; stored with each account. */
  name: string;
  requestTokenUrl: string;
  /** The authorize (or authenticate) page; the URL shown is `${authorizeUrl}?oauth_token=...`. */
  authorizeUrl: string;
  accessTokenUrl: string;
  /** Verify-credentials endpoint (GET, signed with the access token); null when the provider has none. */
  verifyUrl: string | null;
  /** Token invalidation endpoint (POST); null when the provider has none. */
  invalidateUrl: string | null;
  signatureMethod: SignatureMethod;
  pin: PinFormat;
  /** `x_auth_access_type` sent with request_token (Twitter: 'read' | 'write'); omitted when unset. */
  accessType?: string;
  /** Add force_login=true / screen_name=... to the authorize URL (longer URL). */
  forceLogin?: boolean;
  screenName?: string;
  /** Plain http is allowed only to loopback hosts and only when this is true. */
  allowHttpLoopback: boolean;
  /** Per-attempt request timeout. */
  timeoutMs: number;
  /** Replies larger than this are refused as malformed. */
  maxReplyBytes: number;
  /** How long a request token stays usable (the provider does not say; Twitter: about 15 min). */
  requestTokenTtlSec: number;
  /** Shortest time between two scheduled token verifications. */
  minVerifyIntervalSec: number;
  /** Origins (`https://api.x.com`) the signing proxy may forward to; the first is the default. */
  apiOrigins: string[];
  /**
   * The HTTP proxy to the provider: null reads HTTPS_PROXY/ALL_PROXY/NO_PROXY, '' never uses
   * one, else a proxy URL (may hold user:pass: never log it). src/oauth/proxy-policy.ts decides.
   */
  proxy: string | null;
}

export interface Credentials {
  consumerKey: string;
  consumerSecret: string;
  /** Where each came from, for `doctor` and the log (never the values). */
  source: { consumerKey: string; consumerSecret: string };
}

export type Parity = 'none' | 'even' | 'odd' | 'mark' | 'space';
export type FlowControl = 'none' | 'rtscts' | 'xonxoff';

export interface SerialSettings {
  baudRate: number;
  dataBits: 5 | 6 | 7 | 8;
  parity: Parity;
  stopBits: 1 | 1.5 | 2;
  flowControl: FlowControl;
}

export type DisplayDriverName = 'pinpad' | 'text' | 'console' | 'matrix-orbital' | 'serlcd';
/**
 * Where key presses come from: `lines` on a serial port (a pinpad, a serial keypad, a
 * terminal), `matrix-orbital` the key bytes of an LK module on the display's line, `evdev`
 * a USB keypad's Linux input events.
 */
export type KeypadDriverName = 'lines' | 'matrix-orbital' | 'evdev';
export type KeypadMode = 'line' | 'keys';
export type Delimiter = 'LF' | 'CR' | 'CRLF';

export interface DisplayConfig {
  driver: DisplayDriverName;
  /** A device path (/dev/serial/by-id/...), `tcp://host:port`, or `stdio` for the console. */
  port: string;
  /** Text grid used by the `text` driver, and by `pinpad` until the device's HELLO says otherwise. */
  cols: number;
  rows: number;
  serial: SerialSettings;
  /** matrix-orbital: send the Adafruit backpack's "set LCD size" (FE D1) at each open. */
  setSize: boolean;
}

export interface KeypadConfig {
  driver: KeypadDriverName;
  /**
   * null: the keypad is on the display's port (one microcontroller drives both, or an LK
   * module's keypad). evdev: the event device, /dev/input/by-id/...-event-kbd.
   */
  port: string | null;
  mode: KeypadMode;
  delimiter: Delimiter;
  /** Submit as soon as the PIN has all its digits (keys mode). */
  autoSubmit: boolean;
  /** Lines longer than this are dropped as noise. */
  maxLineBytes: number;
  serial: SerialSettings;
  /** matrix-orbital: the module's key code (one character) -> keypad key ('0'-'9', '*', '#', 'A'-'D'). */
  keymap: Readonly<Record<string, string>>;
  /** evdev: take the device exclusively (EVIOCGRAB), so its keys reach nothing else. */
  grab: boolean;
}

export interface DaemonConfig {
  /** Verify the stored token at start and then every this many seconds (default one day). */
  verifyIntervalSec: number;
  verifyOnStart: boolean;
  /** Wrong PINs accepted before a fresh request token is fetched. */
  pinTries: number;
  /** Codes in a row that expire unused before the daemon stops fetching until a key is pressed; 0: never. */
  quietAfterUnusedCodes: number;
  /** Backoff for provider and network failures. */
  backoff: { initialMs: number; maxMs: number };
  /** Reopen backoff for a vanished serial port. */
  reconnect: { initialMs: number; maxMs: number };
}

/** The signing proxy on a Unix socket (src/proxy) and the policy of that socket. */
export interface ProxyConfig {
  enabled: boolean;
  /** Where the daemon binds the socket when systemd does not hand it one. */
  socket: string;
  /** Methods a client may use (upper case). */
  methods: string[];
  /** Path prefixes a client may reach ('/' for all). */
  paths: string[];
  /** Request bodies larger than this are refused (413); streamed, never held whole. */
  maxBodyBytes: number;
  /** Form bodies are signed, so they are read whole first: their own, smaller cap. */
  maxFormBytes: number;
  /** Reply bodies larger than this are cut off (the client sees a truncated reply). */
  maxReplyBytes: number;
  /** Per upstream call: connect, reply headers, and any pause in the data, each at most this. */
  timeoutMs: number;
  /** Client connections served at once; more wait in the socket's backlog. */
  maxConnections: number;
  /** Token bucket: `requests` at once, refilled at `requests` per `perSeconds`; null: none. */
  rateLimit: { requests: number; perSeconds: number } | null;
}

export interface Config {
  /** Absolute path of the file this came from (null: built-in default). */
  file: string | null;
  provider: ProviderConfig;
  credentials: Credentials;
  store: { path: string };
  display: DisplayConfig;
  keypad: KeypadConfig;
  daemon: DaemonConfig;
  proxy: ProxyConfig;
  log: { level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent' };
}
