// Sign-in. Outside production the gateway offers a picker of demo units and roles and mints a
// development token (GET /web/dev/identities, POST /web/dev/token), so a newcomer needs no terminal.
// In production the picker does not exist: the token comes from the agency's own OpenID Connect
// sign-in (see README "Web pages"), and the page only keeps it for this tab.
import { escapeHtml } from './api.ts';
import { currentToken, keepToken } from './session.ts';

interface DemoIdentity {
  label: string;
  group: string;
  unitId: string;
  role: string;
  subject?: string;
}

interface SignInSettings {
  mode: 'development' | 'production';
  /** Production: where the agency's sign-in lives, shown to staff. */
  signInUrl?: string;
}

/** The tab's token, after asking the person to sign in when there is none. */
export async function ensureSignedIn(purpose: string, preferredRole?: string): Promise<string> {
  const token = currentToken();
  if (token) return token;
  const settings = (await (await fetch('/web/sign-in.json')).json()) as SignInSettings;
  if (settings.mode === 'production') return productionSignIn(settings);
  const identities = (await (await fetch('/web/dev/identities')).json()) as DemoIdentity[];
  return pickIdentity(purpose, identities, preferredRole);
}

/**
 * Production: the agency's own sign-in page (WEB_SIGN_IN_URL, an OpenID Connect relying party of the
 * agency's provider) opens in a window of its own, signs the person in there, and hands the access
 * token back to this page with postMessage from its own origin. The token never travels in a URL.
 */
function productionSignIn(settings: SignInSettings): Promise<string> {
  const overlay = document.createElement('div');
  overlay.className = 'sign-in';
  overlay.innerHTML = settings.signInUrl
    ? '<form><h2>请登录</h2><p>请通过本机构统一身份认证登录。</p><button type="button" id="sign-in-open">打开统一身份认证</button><p class="hint">访问令牌只保存在当前标签页，不会出现在网址中。</p></form>'
    : '<form><h2>无法登录</h2><p class="error">尚未配置统一身份认证地址（WEB_SIGN_IN_URL），请联系系统管理员。</p></form>';
  document.body.append(overlay);
  const signInUrl = settings.signInUrl;
  if (!signInUrl) return new Promise(() => undefined);
  overlay.querySelector('#sign-in-open')?.addEventListener('click', () => window.open(signInUrl, 'huying-sign-in', 'popup,width=520,height=680'));
  return new Promise((resolve) => {
    window.addEventListener('message', (event: MessageEvent<unknown>) => {
      if (event.origin !== new URL(signInUrl).origin) return;
      const data = event.data as { type?: string; accessToken?: unknown } | null;
      if (data?.type !== 'huying:token' || typeof data.accessToken !== 'string') return;
      keepToken(data.accessToken);
      overlay.remove();
      resolve(data.accessToken);
    });
  });
}

function pickIdentity(purpose: string, identities: DemoIdentity[], preferredRole?: string): Promise<string> {
  const overlay = document.createElement('div');
  overlay.className = 'sign-in';
  const groups = [...new Set(identities.map((i) => i.group))];
  const options = groups
    .map(
      (group) =>
        `<optgroup label="${escapeHtml(group)}">${identities
          .map((identity, index) => ({ identity, index }))
          .filter(({ identity }) => identity.group === group)
          .map(({ identity, index }) => `<option value="${index}" data-unit="${escapeHtml(identity.unitId)}" data-role="${identity.role}" data-subject="${escapeHtml(identity.subject ?? '')}">${escapeHtml(identity.label)}</option>`)
          .join('')}</optgroup>`,
    )
    .join('');
  overlay.innerHTML = `<form id="sign-in-form"><h2>${escapeHtml(purpose)} · 演示登录</h2>
    <p class="hint">开发环境：选择一个演示单位和角色，由本机呼应中枢签发开发令牌（生产环境无此选项）。</p>
    <label>单位与角色 <select id="sign-in-identity" name="identity">${options}</select></label>
    <button type="submit" id="sign-in-submit">登录</button><p class="error" id="sign-in-error"></p></form>`;
  document.body.append(overlay);
  const select = overlay.querySelector<HTMLSelectElement>('#sign-in-identity') as HTMLSelectElement;
  const preferred = identities.findIndex((i) => i.role === preferredRole);
  if (preferred >= 0) select.value = String(preferred);
  return new Promise((resolve) => {
    overlay.querySelector('form')?.addEventListener('submit', (event) => {
      event.preventDefault();
      const chosen = identities[Number(select.value)];
      if (!chosen) return;
      void (async () => {
        const response = await fetch('/web/dev/token', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ unitId: chosen.unitId, role: chosen.role, subject: chosen.subject }),
        });
        const body = (await response.json()) as { token?: string; error?: string };
        if (!body.token) {
          (overlay.querySelector('#sign-in-error') as HTMLElement).textContent = body.error ?? '登录失败';
          return;
        }
        keepToken(body.token);
        overlay.remove();
        resolve(body.token);
      })();
    });
  });
}
