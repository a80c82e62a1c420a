// The signed-in identity of this browser tab. The bearer token lives in sessionStorage (this tab only,
// gone when it closes) and is sent in the Authorization header and graphql-ws connection parameters:
// never in a URL, where it would reach history, logs and referrers.
const KEY = 'huying.token';

export interface SessionClaims {
  subject: string;
  unitId: string;
  role: string;
  expiresAt: number;
}

export function currentToken(): string | undefined {
  const token = sessionStorage.getItem(KEY) ?? undefined;
  if (token && claimsOf(token).expiresAt <= Date.now()) {
    sessionStorage.removeItem(KEY);
    return undefined;
  }
  return token;
}

export function keepToken(token: string): void {
  sessionStorage.setItem(KEY, token);
}

export function signOut(): void {
  sessionStorage.removeItem(KEY);
}

/** What the token says about its holder (display only: the hub verifies the signature on every request). */
export function claimsOf(token: string): SessionClaims {
  const payload = token.split('.')[1] ?? '';
  const bytes = Uint8Array.from(atob(payload.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));
  const json = JSON.parse(new TextDecoder().decode(bytes)) as {
    sub?: string;
    unit?: string;
    role?: string;
    exp?: number;
  };
  return { subject: json.sub ?? '', unitId: json.unit ?? '', role: json.role ?? '', expiresAt: (json.exp ?? 0) * 1000 };
}
