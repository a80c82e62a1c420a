// The pages' only way to the hub: GraphQL over HTTP and graphql-ws subscriptions on the page's own
// origin (the gateway that served it), with the tab's bearer token. Nothing else is ever fetched.
import { type Client, createClient } from 'graphql-ws';
import { currentToken } from './session.ts';

export interface GraphQLFailure {
  message: string;
  extensions?: { code?: string };
}

/** A GraphQL error shown to staff: the code in plain Chinese, then the hub's own message. */
export class HubError extends Error {
  constructor(
    readonly code: string,
    readonly hubMessage: string,
  ) {
    super(`${describeCode(code)}：${hubMessage}`);
  }
}

const CODE_TEXT: Record<string, string> = {
  UNAUTHENTICATED: '登录已失效，请重新登录',
  FORBIDDEN: '您的单位或角色无权执行此操作',
  BAD_USER_INPUT: '填写的内容有误',
  NOT_FOUND: '未找到该事项',
  CONFLICT: '事项状态已变化（可能已被他人处理），请刷新后再试',
  DEADLINE_RULE: '不符合时限规则',
  IDEMPOTENCY_KEY_REUSED: '同一操作编号已用于不同内容，未作任何修改',
  RATE_LIMITED: '操作过于频繁，请稍后再试',
  SUBGRAPH_UNAVAILABLE: '后台服务暂不可用，请稍后再试',
  TOO_MANY_SUBSCRIPTIONS: '实时订阅过多',
  GRAPHQL_VALIDATION_FAILED: '请求格式有误',
  PERSISTED_QUERY_NOT_ALLOWED: '该操作未获准在本系统运行',
  INTERNAL_SERVER_ERROR: '系统内部错误，请联系管理员',
  NETWORK: '无法连接呼应中枢，请检查网络',
};

export function describeCode(code: string): string {
  return CODE_TEXT[code] ?? `操作失败（${code}）`;
}

export const graphqlUrl = () => `${location.origin}/graphql`;

/** Runs one query or mutation; throws a HubError with the first error's code. */
export async function gql<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const token = currentToken();
  let response: Response;
  try {
    response = await fetch(graphqlUrl(), {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token && { authorization: `Bearer ${token}` }) },
      body: JSON.stringify({ query, variables }),
    });
  } catch (err) {
    throw new HubError('NETWORK', (err as Error).message);
  }
  const body = (await response.json().catch(() => ({}))) as { data?: T | null; errors?: GraphQLFailure[] };
  const first = body.errors?.[0];
  if (first) {
    console.warn('hub refused', first.extensions?.code, first.message);
    throw new HubError(first.extensions?.code ?? `HTTP_${response.status}`, first.message);
  }
  if (!body.data) throw new HubError(`HTTP_${response.status}`, '没有返回数据');
  return body.data;
}

/** A fresh idempotency key: made once per action form, so a retried click repeats, never doubles, the action. */
export const idempotencyKey = () => crypto.randomUUID();

export type LinkState = 'connecting' | 'live' | 'reconnecting' | 'signed-out';

/** graphql-ws close codes the gateway uses for a token it will not accept. */
const TOKEN_REFUSED = new Set([4401, 4403]);

/**
 * A graphql-ws client that reconnects for ever (at most RETRY_CAP_MS between tries) and resubscribes
 * every active subscription by itself; `onReconnected` lets the page fetch what it missed meanwhile.
 */
export function liveClient(onState: (state: LinkState) => void, onReconnected: () => void): Client {
  const RETRY_CAP_MS = 2_000;
  let connectedBefore = false;
  return createClient({
    url: graphqlUrl().replace(/^http/, 'ws'),
    connectionParams: () => ({ authorization: `Bearer ${currentToken() ?? ''}` }),
    lazy: false,
    retryAttempts: Number.POSITIVE_INFINITY,
    shouldRetry: (event) => !(event instanceof CloseEvent && TOKEN_REFUSED.has(event.code)),
    retryWait: async (retries) => new Promise((resolve) => setTimeout(resolve, Math.min(250 * 2 ** retries, RETRY_CAP_MS))),
    keepAlive: 10_000,
    on: {
      connecting: () => onState(connectedBefore ? 'reconnecting' : 'connecting'),
      connected: () => {
        onState('live');
        if (connectedBefore) onReconnected();
        connectedBefore = true;
      },
      closed: (event) => {
        if (event instanceof CloseEvent && TOKEN_REFUSED.has(event.code)) onState('signed-out');
        else onState('reconnecting');
      },
    },
  });
}

/** Subscribes for the client's life (resubscribed after every reconnect); returns the unsubscribe. */
export function subscribe<T>(client: Client, query: string, variables: Record<string, unknown>, next: (data: T) => void, onError: (err: unknown) => void) {
  return client.subscribe<T>(
    { query, variables },
    {
      next: (message) => {
        const first = message.errors?.[0];
        if (first) onError(new HubError(typeof first.extensions?.code === 'string' ? first.extensions.code : 'ERROR', first.message));
        else if (message.data) next(message.data);
      },
      error: onError,
      complete: () => undefined,
    },
  );
}

/** Asia/Shanghai time, as staff read it. */
export function shanghai(iso: string | null | undefined, withDate = true): string {
  if (!iso) return '—';
  return new Date(iso).toLocaleString('zh-CN', {
    timeZone: 'Asia/Shanghai',
    hour12: false,
    ...(withDate ? { month: '2-digit', day: '2-digit' } : {}),
    hour: '2-digit',
    minute: '2-digit',
  });
}

/** The current month (Asia/Shanghai) as YYYY-MM: the evaluation subgraph's period. */
export function currentPeriod(): string {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai', year: 'numeric', month: '2-digit' }).formatToParts(new Date());
  return `${parts.find((p) => p.type === 'year')?.value}-${parts.find((p) => p.type === 'month')?.value}`;
}

export const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
