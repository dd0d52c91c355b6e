/** The HTML a person sees in a real browser: the authorize page, the PIN page, the denied page. */

function esc(s: string): string {
  return s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(title: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>
body{font-family:system-ui,sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem;color:#0f1419}
.box{border:1px solid #cfd9de;border-radius:1rem;padding:1.5rem}
button{font-size:1rem;padding:.6rem 1.2rem;border-radius:2rem;border:1px solid #0f1419;margin-right:.5rem;cursor:pointer}
button.primary{background:#0f1419;color:#fff}
#oauth_pin code{display:block;font-size:3rem;letter-spacing:.3rem;text-align:center;margin:1rem 0;font-weight:bold}
.note{color:#536471;font-size:.9rem}
</style></head>
<body><div class="box">${body}</div>
<p class="note">pinauthd local provider: a stand-in for Twitter/X, for demos and tests only.</p>
</body></html>`;
}

export interface AuthorizePageInput {
  path: string;
  appName: string;
  requestToken: string;
  formKey: string;
  accounts: { screenName: string }[];
}

export function authorizePage(p: AuthorizePageInput): string {
  const account =
    p.accounts.length === 1
      ? `<p>Signed in as <strong>@${esc(p.accounts[0]!.screenName)}</strong></p><input type="hidden" name="user" value="0">`
      : `<p><label>Account: <select name="user">${p.accounts
          .map((a, i) => `<option value="${i}">@${esc(a.screenName)}</option>`)
          .join('')}</select></label></p>`;
  return page(
    `Authorize ${p.appName}`,
    `<h1>Authorize <em>${esc(p.appName)}</em> to access your account?</h1>
<form method="post" action="${esc(p.path)}">
<input type="hidden" name="oauth_token" value="${esc(p.requestToken)}">
<input type="hidden" name="form_key" value="${esc(p.formKey)}">
${account}
<p>This application will be able to read your account information.</p>
<button class="primary" type="submit" name="action" value="allow" id="allow">Authorize app</button>
<button type="submit" name="action" value="cancel" id="cancel">Cancel</button>
</form>`,
  );
}

export function pinPage(appName: string, pin: string): string {
  return page(
    'Authorized',
    `<h1>You've granted access to <em>${esc(appName)}</em>!</h1>
<p>Next, return to your device and enter this PIN to complete the authorization process:</p>
<div id="oauth_pin"><p><code>${esc(pin)}</code></p></div>`,
  );
}

export function deniedPage(appName: string): string {
  return page('Denied', `<h1>Not authorized</h1><p>You have not granted <em>${esc(appName)}</em> access to your account.</p>`);
}

export function invalidTokenPage(): string {
  return page(
    'Invalid request',
    `<h1>Whoa there!</h1><p>The request token for this page is invalid. It may have already been used, or expired because it is too old. Please go back to the device and get a new code.</p>`,
  );
}
