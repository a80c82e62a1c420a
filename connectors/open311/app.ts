// The Open311 GeoReport v2 service (公众端): its own small HTTP service (port 4006) at /open311/v2/.
// A POSTed service request becomes a call through hub.intake (source `open311`, the reporter's contact
// sealed, the same duplicate check as any citizen-facing source); GETs read calls back from the calls
// subgraph with the service's own agency identity (a service account holding `calls:read`), and answer
// only calls that came in through Open311, without any personal data. JSON and XML by the path's
// extension; every refusal in the specification's error format.
import { randomUUID, timingSafeEqual } from 'node:crypto';
import rateLimit from '@fastify/rate-limit';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { authConfig, DEVELOPMENT_JWT_SECRET, type Identity, mintToken } from '../../platform/auth.ts';
import { baseConfig, port } from '../../platform/config.ts';
import { ensureTopics, serviceKafka, serviceProducer, topicName } from '../../platform/kafka.ts';
import { keyringFrom, personalDataConfig } from '../../platform/personal-keys.ts';
import { decide } from '../../platform/policy.ts';
import { Rejected } from '../../platform/source-record.ts';
import { Service } from '../../platform/service.ts';
import { TOPICS } from '../../platform/topics.ts';
import { followUnits } from '../../platform/unit-directory.ts';
import { sourceCallId } from '../../subgraphs/calls/intake.ts';
import { CallableItems, loadCallableItems } from '../../subgraphs/calls/items.ts';
import { clip, intakeOutput } from '../runtime/intake.ts';
import { Places } from '../runtime/places.ts';
import { childTrace } from '../runtime/trace.ts';
import { answersOf, checkedAnswers, loadServiceDefinitions, MAX_TEXT_ANSWER } from './definitions.ts';
import { type CallView, definitionOf, type Format, Open311Error, render, renderErrors, reportInput, requestOf, serviceOf } from './georeport.ts';

const apiKeys = z
  .string()
  .transform((text, ctx) => {
    try {
      return z.array(z.object({ key: z.string().min(24), account: z.string().regex(/^[a-z0-9-]{1,40}$/), scopes: z.array(z.string()) })).parse(JSON.parse(text));
    } catch {
      ctx.addIssue({ code: 'custom', message: 'expected a JSON list of {"key" (24+ characters), "account", "scopes"}' });
      return z.NEVER;
    }
  });

export const open311Config = baseConfig.extend({
  ...authConfig.shape,
  ...personalDataConfig.shape,
  PORT: port.default(4006),
  /** The calls subgraph the service reads requests back from. */
  CALLS_URL: z.url().default('http://127.0.0.1:4001/graphql'),
  /** The district's callable-items list (the services offered); the demo list when unset. */
  CALLABLE_ITEMS_PATH: z.string().optional(),
  /** API keys of the agencies' Open311 clients: `[{"key", "account", "scopes": ["intake:write"]}]`. */
  OPEN311_API_KEYS: apiKeys.default([]),
  /** The questions items ask (GeoReport v2 service definitions, connectors/open311/definitions.ts); the demo's when unset. */
  OPEN311_SERVICE_DEFINITIONS_PATH: z.string().optional(),
  /** The jurisdiction_id clients may send (one district per service). */
  OPEN311_JURISDICTION: z.string().min(1).default('huangpu'),
  /** POSTs one API key may make a minute (and GETs one address may make). */
  OPEN311_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).max(1_000_000).default(60),
});
export type Open311Config = z.infer<typeof open311Config>;

const SERVICE_ACCOUNT: Omit<Identity, 'scopes'> & { scopes: string[] } = { subject: 'open311', unitId: 'huangpu', role: 'service_account', scopes: ['calls:read'] };

/** A call id as the hub makes them (store.ts stableCallId): anything else names no request. */
const CALL_ID = /^C[0-9A-F]{20}$/;

const CALL_FIELDS = `id title description category status item { code name } handlingUnit { id } location { lng lat } address raisedAt updatedAt
  deadlines { complete } result sourceRef { system externalId }`;

export async function startOpen311(config: Open311Config) {
  const service = new Service({ name: 'open311', config });
  const keys = keyringFrom(config);
  const items = new CallableItems(config.CALLABLE_ITEMS_PATH ? loadCallableItems(config.CALLABLE_ITEMS_PATH) : undefined);
  const definitions = loadServiceDefinitions(config.OPEN311_SERVICE_DEFINITIONS_PATH);
  const undefinedItems = Object.keys(definitions).filter((code) => !items.get(code));
  if (undefinedItems.length) throw new Error(`OPEN311_SERVICE_DEFINITIONS_PATH defines items the callable-items list does not have: ${undefinedItems.join(', ')}`);
  const { kafka, admin } = await serviceKafka(service, config, 'open311');
  const intakeTopic = topicName(config, TOPICS.intake);
  await ensureTopics(admin, [{ topic: intakeTopic, numPartitions: 6 }]);
  const producer = await serviceProducer(service, kafka);
  const places = new Places(await followUnits({ kafka, admin, config, service, logger: service.logger, name: 'open311' }));

  // The service's own agency identity for reading calls back, re-minted before it expires.
  let reader: { token: string; until: number } | undefined;
  const readerToken = async () => {
    if (!reader || reader.until < Date.now()) {
      const token = await mintToken(SERVICE_ACCOUNT, { secret: config.JWT_SECRET ?? DEVELOPMENT_JWT_SECRET, issuer: config.JWT_ISSUER, audience: config.JWT_AUDIENCE, expiresIn: '1h' });
      reader = { token, until: Date.now() + 50 * 60_000 };
    }
    return reader.token;
  };
  const callsQuery = async <T>(query: string, variables: Record<string, unknown>): Promise<T> => {
    const response = await fetch(config.CALLS_URL, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', authorization: `Bearer ${await readerToken()}` },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await response.json()) as { data?: T; errors?: Array<{ message: string }> };
    if (!body.data || body.errors?.length) throw new Open311Error(502, `呼应平台暂不可用 (the calls service did not answer: ${body.errors?.[0]?.message ?? response.status})`);
    return body.data;
  };

  // The reporter's form: GeoReport v2 POSTs are application/x-www-form-urlencoded. A field named
  // `…[]` may repeat (a multivaluelist attribute's values); any other keeps its first value.
  service.app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
    const form: Record<string, string | string[]> = {};
    for (const [name, value] of new URLSearchParams(body as string)) {
      if (name.endsWith('[]')) form[name] = [...((form[name] as string[] | undefined) ?? []), value];
      else form[name] ??= value;
    }
    done(null, form);
  });

  const accountOf = (key: string | undefined) => {
    if (!key) return undefined;
    const given = Buffer.from(key);
    return config.OPEN311_API_KEYS.find((entry) => {
      const known = Buffer.from(entry.key);
      return known.length === given.length && timingSafeEqual(known, given);
    });
  };
  const fieldsOf = (request: FastifyRequest): Record<string, string | string[] | undefined> => ({
    ...(request.query as Record<string, string>),
    ...(request.body && typeof request.body === 'object' ? (request.body as Record<string, string | string[]>) : {}),
  });
  const single = (value: string | string[] | undefined) => (typeof value === 'string' ? value : undefined);

  // Counted once the form is parsed (preHandler), so a POST counts against its own api_key.
  await service.app.register(rateLimit, { global: false, hook: 'preHandler' });
  const limited = (byKey: boolean) => ({
    rateLimit: {
      max: config.OPEN311_RATE_LIMIT_PER_MINUTE,
      timeWindow: 60_000,
      keyGenerator: (request: FastifyRequest) => {
        const key = byKey ? single(fieldsOf(request).api_key) : undefined;
        return key && accountOf(key) ? `key:${key}` : `ip:${request.ip}`;
      },
      errorResponseBuilder: (_request: FastifyRequest, context: { after: string; max: number }) => {
        const error = new Open311Error(429, `请求过于频繁，请 ${context.after} 后重试 (rate limit: ${context.max} a minute)`);
        return error;
      },
    },
  });

  /** Runs a handler for a path with a format extension; every refusal in the specification's format. */
  const answer =
    (handler: (request: FastifyRequest, format: Format) => Promise<{ status?: number; body: string }>) => async (request: FastifyRequest, reply: FastifyReply) => {
      const format = (request.params as { format?: string }).format;
      if (format !== 'json' && format !== 'xml') return send(reply, 'json', 404, renderErrors('json', 404, '格式须为 .json 或 .xml (format must be .json or .xml)'));
      try {
        const jurisdiction = single(fieldsOf(request).jurisdiction_id);
        if (jurisdiction && jurisdiction !== config.OPEN311_JURISDICTION) throw new Open311Error(404, `未知的 jurisdiction_id：${jurisdiction} (unknown jurisdiction)`);
        const { status = 200, body } = await handler(request, format);
        return send(reply, format, status, body);
      } catch (err) {
        const refusal = err instanceof Open311Error ? err : err instanceof Rejected ? new Open311Error(400, err.message) : undefined;
        if (!refusal) service.logger.error({ err: (err as Error).message }, 'open311 request failed');
        const error = refusal ?? new Open311Error(500, '内部错误 (internal error)');
        return send(reply, format, error.status, renderErrors(format, error.status, error.message));
      }
    };
  // A rate-limit refusal arrives as an Open311Error thrown by the plugin.
  service.app.setErrorHandler((err, request, reply) => {
    const format: Format = /\.xml(\?|$)/.test(request.url) ? 'xml' : 'json';
    const status = err instanceof Open311Error ? err.status : (err as { statusCode?: number }).statusCode ?? 500;
    const message = err instanceof Open311Error ? err.message : status < 500 ? (err as Error).message : '内部错误 (internal error)';
    return send(reply, format, status, renderErrors(format, status, message));
  });

  const base = '/open311/v2';
  service.app.get(`${base}/services.:format`, { config: limited(false) }, answer(async (_request, format) => ({ body: render(format, 'services', 'service', items.items.map((item) => serviceOf(item, definitions[item.code]))) })));
  service.app.get(
    `${base}/services/:code.:format`,
    { config: limited(false) },
    answer(async (request, format) => {
      const item = items.get((request.params as { code: string }).code);
      if (!item) throw new Open311Error(404, `未知的服务代码 (unknown service_code)`);
      return { body: definitionOf(item, format, definitions[item.code]) };
    }),
  );

  service.app.post(
    `${base}/requests.:format`,
    { config: limited(true) },
    answer(async (request, format) => {
      const fields = fieldsOf(request);
      const account = accountOf(single(fields.api_key));
      if (!account) throw new Open311Error(403, 'api_key 无效或缺失 (invalid or missing api_key)');
      const identity: Identity = { subject: account.account, unitId: 'huangpu', role: 'service_account', scopes: account.scopes };
      if (!decide(identity, 'call.raise', ['unrelated'])) throw new Open311Error(403, `该 api_key 无上报权限 (the account ${account.account} may not report: intake:write)`);
      const input = reportInput(fields);
      const item = items.get(input.serviceCode);
      if (!item) throw new Open311Error(400, `未知的服务代码：${input.serviceCode} (unknown service_code)`);
      const answers = checkedAnswers(definitions[item.code] ?? [], answersOf(fields));
      const description = answers.length ? clip(`${input.description} 【补充信息】${answers.join('；')}`, MAX_TEXT_ANSWER) : input.description;
      let unitId: string;
      let location: { lng: number; lat: number } | undefined;
      if (input.lat !== undefined && input.long !== undefined) {
        const found = places.locate({ lng: input.long, lat: input.lat });
        ({ location } = found);
        unitId = found.grid.id;
      } else {
        const unit = places.fromAddress(input.address ?? '');
        if (!unit) throw new Open311Error(400, `地址不在本区范围内：${clip(input.address ?? '', 40)} (the address names no place of the district)`);
        unitId = unit.id;
      }
      const externalId = `o311-${randomUUID()}`;
      const now = new Date().toISOString();
      const output = intakeOutput(
        intakeTopic,
        {
          commandId: `open311:create:${externalId}`,
          source: 'open311',
          externalId,
          kind: 'create_call',
          occurredAt: now,
          call: {
            title: clip(`${item.name}：${input.description}`, 100),
            description,
            category: item.category,
            itemCode: item.code,
            priority: 'NORMAL',
            unitId,
            ...(location && { location }),
            ...(input.address && { address: input.address }),
            ...((input.name ?? input.phone) && { citizen: { ...(input.name && { name: input.name }), ...(input.phone && { phone: input.phone }) } }),
            ...(input.mediaUrl && { attachments: [input.mediaUrl] }),
            receivedAt: now,
          },
        },
        childTrace({}),
        keys,
        [input.name, input.phone],
      );
      // Written (acknowledged by every in-sync replica) before the answer: a 201 is never half-written.
      await producer.send({ topic: output.topic, acks: -1, messages: [{ key: output.key, value: output.value, headers: { traceparent: childTrace({}).traceparent } }] });
      const serviceRequestId = sourceCallId('open311', externalId);
      return { status: 201, body: render(format, 'service_requests', 'request', [{ service_request_id: serviceRequestId, token: externalId, service_notice: '已受理，将按呼应事项清单办理', account_id: null }]) };
    }),
  );

  /** The unit handling a call, by its name in the unit directory (the agency responsible). */
  const unitName = (id: string) => places.directory.get(id)?.name ?? id;

  /** Calls that came in through Open311 only: the public port shows nothing of other sources. */
  const open311Call = (call: CallView | null) => (call?.sourceRef?.system === 'open311' ? call : undefined);

  service.app.get(
    `${base}/requests/:id.:format`,
    { config: limited(false) },
    answer(async (request, format) => {
      const { id } = request.params as { id: string };
      if (!CALL_ID.test(id)) throw new Open311Error(404, `未找到服务请求：${clip(id, 40)} (no such service request)`);
      const { call } = await callsQuery<{ call: CallView | null }>(`query($id: ID!) { call(id: $id) { ${CALL_FIELDS} } }`, { id });
      const found = open311Call(call);
      if (!found) throw new Open311Error(404, `未找到服务请求：${clip(id, 40)} (no such service request)`);
      return { body: render(format, 'service_requests', 'request', [requestOf(found, unitName)]) };
    }),
  );

  service.app.get(
    `${base}/requests.:format`,
    { config: limited(false) },
    answer(async (request, format) => {
      const fields = fieldsOf(request);
      const ids = (single(fields.service_request_id) ?? '').split(',').map((s) => s.trim()).filter((id) => CALL_ID.test(id)).slice(0, 50);
      let calls: CallView[];
      if (ids.length > 0) {
        calls = (await Promise.all(ids.map(async (id) => (await callsQuery<{ call: CallView | null }>(`query($id: ID!) { call(id: $id) { ${CALL_FIELDS} } }`, { id })).call))).flatMap(
          (c) => open311Call(c) ?? [],
        );
      } else {
        // The specification's default: the last 90 days, at most 1000; here the newest 100 of the public port.
        const data = await callsQuery<{ calls: { edges: Array<{ node: CallView }> } }>(
          `query { calls(filter: { source: [CITIZEN] }, first: 100) { edges { node { ${CALL_FIELDS} } } } }`,
          {},
        );
        calls = data.calls.edges.map((e) => e.node).flatMap((c) => open311Call(c) ?? []);
        if (fields.service_code) calls = calls.filter((c) => c.item?.code === fields.service_code);
        if (fields.status) calls = calls.filter((c) => requestOf(c, unitName).status === fields.status);
      }
      return { body: render(format, 'service_requests', 'request', calls.map((c) => requestOf(c, unitName))) };
    }),
  );

  service.app.get(
    `${base}/tokens/:token.:format`,
    { config: limited(false) },
    answer(async (request, format) => {
      const { token } = request.params as { token: string };
      if (!/^o311-[0-9a-f-]{36}$/.test(token)) throw new Open311Error(404, '未知的 token (unknown token)');
      const id = sourceCallId('open311', token);
      const { call } = await callsQuery<{ call: CallView | null }>(`query($id: ID!) { call(id: $id) { id sourceRef { system externalId } } }`, { id });
      // Until the call is stored the token is known but has no request id yet (the specification's wait).
      return { body: render(format, 'service_requests', 'request', [{ service_request_id: call ? id : null, token }]) };
    }),
  );

  const url = await service.listen();
  return { service, url, places, items };
}

function send(reply: FastifyReply, format: Format, status: number, body: string) {
  return reply
    .code(status)
    .header('content-type', format === 'xml' ? 'text/xml; charset=utf-8' : 'application/json; charset=utf-8')
    .send(body);
}

export type Open311App = Awaited<ReturnType<typeof startOpen311>>;
