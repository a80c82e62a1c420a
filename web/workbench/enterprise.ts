// The enterprise zone (企业服务专区) for a service officer (首席服务官): the enterprises they serve,
// raising a demand (诉求) and following it through its call, policy search and talent-apartment search.
import { escapeHtml, gql, idempotencyKey, liveClient, shanghai, subscribe } from '../shared/api.ts';
import type { SessionClaims } from '../shared/session.ts';
import { $, act, field, STATUS_TEXT, TIMELINE_TEXT } from './ui.ts';

const DEMAND_KINDS: Record<string, string> = {
  HOUSING: '人才住房', POWER: '用电报装', PERMIT: '审批证照', FINANCING: '融资', LAND: '用地', HIRING: '招工用工', DISPUTE: '纠纷', OTHER: '其他',
};
const DEMAND_STATUS: Record<string, string> = {
  SUBMITTED: '已提交', IN_PROGRESS: '办理中', RESOLVED: '已办结待评价', CLOSED: '已办结', WITHDRAWN: '已撤回', REJECTED: '未受理',
};

interface Demand {
  id: string;
  title: string;
  kind: string;
  status: string;
  callStatus: string | null;
  handlingUnit: { name: string } | null;
  completeBy: string | null;
  result: string | null;
  overdue: boolean;
  rejection: string | null;
  enterprise: { name: string };
  call?: { id: string; timeline: { edges: Array<{ node: { at: string; action: string; note: string | null; actor: { unit: { name: string } } | null } }> } } | null;
}

const DEMAND_FIELDS = 'id title kind status callStatus handlingUnit { name } completeBy result overdue rejection enterprise { name } call { id }';
/** The opened demand's call record: asked for one demand at a time (a whole list of timelines costs too much). */
const DEMAND_DETAIL_FIELDS = `${DEMAND_FIELDS} call { id timeline(first: 30) { edges { node { at action note actor { unit { name } } } } } }`;

export async function enterpriseZone(me: SessionClaims) {
  $('app').innerHTML = `<section class="panel"><h2>我服务的企业</h2><ul class="list" id="enterprises"></ul>
      <h2>政策查询</h2><form class="action" id="policy-search"><input name="text" placeholder="关键词，如 人才 补贴" required><button type="submit">查询政策</button></form><ul class="list" id="policies"></ul>
      <h2>人才公寓</h2><form class="action" id="apartment-search"><select name="enterprise" id="apartment-enterprise"></select><input name="maxRent" type="number" placeholder="月租上限（元）"><button type="submit">查找附近公寓</button></form><ul class="list" id="apartments"></ul>
    </section>
    <section class="panel"><h2>企业诉求</h2><div class="actions"><button type="button" id="demand-open">提出诉求</button></div><div id="demand-form"></div>
      <ul class="list" id="demands"></ul><div id="demand-detail"></div></section>`;

  const { enterprises } = await gql<{ enterprises: { edges: Array<{ node: { id: string; name: string; address: string; street: { name: string } } }> } }>(
    'query($officer: ID) { enterprises(filter: { serviceOfficerId: $officer }, first: 50) { edges { node { id name address street { name } } } } }',
    { officer: me.subject },
  );
  const mine = enterprises.edges.map((e) => e.node);
  $('enterprises').innerHTML = mine.map((e) => `<li data-enterprise="${escapeHtml(e.id)}"><b>${escapeHtml(e.name)}</b><div class="meta">${escapeHtml(e.street.name)} · ${escapeHtml(e.address)}</div></li>`).join('') || '<li class="hint">暂无服务企业</li>';
  const enterpriseOptions = mine.map((e) => `<option value="${escapeHtml(e.id)}">${escapeHtml(e.name)}</option>`).join('');
  $('apartment-enterprise').innerHTML = enterpriseOptions;

  let openDemand: string | undefined;
  let listed: Demand[] = [];
  const loadDemands = async () => {
    const { demands } = await gql<{ demands: { edges: Array<{ node: Demand }> } }>(
      `query($officer: ID) { demands(filter: { serviceOfficerId: $officer }, first: 20) { edges { node { ${DEMAND_FIELDS} } } } }`,
      { officer: me.subject },
    );
    const list = demands.edges.map((e) => e.node);
    listed = list;
    $('demands').innerHTML = list
      .map(
        (d) => `<li data-demand="${escapeHtml(d.id)}"><b>${escapeHtml(d.title)}</b> <span class="status${d.overdue ? ' overdue' : ''}" data-status="${d.status}">${DEMAND_STATUS[d.status] ?? d.status}</span>
          <div class="meta">${escapeHtml(d.enterprise.name)} · ${DEMAND_KINDS[d.kind] ?? d.kind}${d.handlingUnit ? ` · ${escapeHtml(d.handlingUnit.name)}办理` : ''}</div></li>`,
      )
      .join('') || '<li class="hint">暂无诉求</li>';
    if (!openDemand) return;
    const { demand } = await gql<{ demand: Demand | null }>(`query($id: ID!) { demand(id: $id) { ${DEMAND_DETAIL_FIELDS} } }`, { id: openDemand });
    if (demand) showDemand(demand);
  };
  const showDemand = (d: Demand) => {
    openDemand = d.id;
    $('demand-detail').innerHTML = `<h3 id="demand-title">${escapeHtml(d.title)} <span class="status" id="demand-status" data-status="${d.status}">${DEMAND_STATUS[d.status] ?? d.status}</span></h3>
      <dl class="fields"><dt>企业</dt><dd>${escapeHtml(d.enterprise.name)}</dd>
      <dt>呼应事项</dt><dd>${d.callStatus ? STATUS_TEXT[d.callStatus] ?? d.callStatus : '等待转入呼应事项'}${d.handlingUnit ? ` · ${escapeHtml(d.handlingUnit.name)}` : ''}</dd>
      <dt>办结时限</dt><dd>${shanghai(d.completeBy)}${d.overdue ? ' · 已逾期' : ''}</dd>
      ${d.result ? `<dt>办理结果</dt><dd>${escapeHtml(d.result)}</dd>` : ''}${d.rejection ? `<dt>未受理原因</dt><dd>${escapeHtml(d.rejection)}</dd>` : ''}</dl>
      <ul class="timeline">${(d.call?.timeline.edges ?? []).map(({ node }) => `<li>${shanghai(node.at)} · ${escapeHtml(node.actor?.unit.name ?? '系统')} ${TIMELINE_TEXT[node.action] ?? escapeHtml(node.action)}${node.note ? `：${escapeHtml(node.note)}` : ''}</li>`).join('')}</ul>`;
  };

  $('demands').addEventListener('click', (event) => {
    const id = (event.target as HTMLElement).closest('li')?.dataset.demand;
    if (!id) return;
    openDemand = id;
    void loadDemands();
  });
  $('demand-open').addEventListener('click', () => {
    const key = idempotencyKey();
    $('demand-form').innerHTML = `<form class="action" id="demand"><select name="enterpriseId">${enterpriseOptions}</select>
      <select name="kind">${Object.entries(DEMAND_KINDS).map(([k, t]) => `<option value="${k}">${t}</option>`).join('')}</select>
      <input name="title" placeholder="诉求标题" required><textarea name="description" placeholder="诉求内容" required></textarea>
      <button type="submit">提交诉求</button><div class="result"></div></form>`;
    const form = $('demand-form').querySelector('form') as HTMLFormElement;
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const v = new FormData(form);
      void act(form, '诉求已提交', async () => {
        const { raiseDemand } = await gql<{ raiseDemand: { id: string } }>(
          'mutation($input: RaiseDemandInput!, $key: String) { raiseDemand(input: $input, idempotencyKey: $key) { id } }',
          { input: { enterpriseId: v.get('enterpriseId'), kind: v.get('kind'), title: v.get('title'), description: v.get('description') }, key },
        );
        $('demand-form').innerHTML = '';
        openDemand = raiseDemand.id;
        await loadDemands();
      });
    });
  });

  $('policy-search').addEventListener('submit', (event) => {
    event.preventDefault();
    const text = field(new FormData(event.target as HTMLFormElement), 'text');
    void gql<{ policies: { edges: Array<{ node: { id: string; title: string; issuer: string; summary: string; inForce: boolean } }> } }>(
      'query($text: String) { policies(text: $text, first: 10) { edges { node { id title issuer summary inForce } } } }',
      { text },
    ).then(({ policies }) => {
      $('policies').innerHTML = policies.edges.map(({ node }) => `<li><b>${escapeHtml(node.title)}</b>${node.inForce ? '' : ' （已失效）'}<div class="meta">${escapeHtml(node.issuer)} · ${escapeHtml(node.summary)}</div></li>`).join('') || '<li class="hint">没有找到相关政策</li>';
    });
  });
  $('apartment-search').addEventListener('submit', (event) => {
    event.preventDefault();
    const v = new FormData(event.target as HTMLFormElement);
    const maxRent = Number(v.get('maxRent')) || undefined;
    void gql<{ apartments: { edges: Array<{ distanceMeters: number | null; node: { id: string; project: string; unitNo: string; rooms: number; areaSqm: number; monthlyRent: number; street: { name: string } } }> } }>(
      'query($near: NearInput, $filter: ApartmentFilter) { apartments(near: $near, filter: $filter, first: 10) { edges { distanceMeters node { id project unitNo rooms areaSqm monthlyRent street { name } } } } }',
      { near: { enterpriseId: v.get('enterprise') }, filter: { availableOnly: true, ...(maxRent && { maxRent }) } },
    ).then(({ apartments }) => {
      $('apartments').innerHTML = apartments.edges
        .map(({ node, distanceMeters }) => `<li><b>${escapeHtml(node.project)} ${escapeHtml(node.unitNo)}</b><div class="meta">${escapeHtml(node.street.name)} · ${node.rooms}室 ${node.areaSqm}㎡ · ${node.monthlyRent}元/月${distanceMeters === null ? '' : ` · 距企业 ${(distanceMeters / 1000).toFixed(1)} 公里`}</div></li>`)
        .join('') || '<li class="hint">没有符合条件的公寓</li>';
    });
  });

  await loadDemands();
  // A demand moves with its call, as the enterprise zone reads the call's events: after a change to a
  // call the officer follows, the list is read again until its demand shows the call's new status.
  const CATCH_UP_MS = 1_000;
  const CATCH_UP_TRIES = 15;
  const catchUp = async (callId: string, status: string) => {
    for (let tries = 0; tries < CATCH_UP_TRIES; tries++) {
      await loadDemands();
      if (listed.some((d) => d.call?.id === callId && d.callStatus === status)) return;
      await new Promise((resolve) => setTimeout(resolve, CATCH_UP_MS));
    }
  };
  const client = liveClient(() => undefined, () => void loadDemands());
  subscribe<{ callUpdated: { id: string; status: string } }>(client, 'subscription { callUpdated { id status } }', {}, ({ callUpdated }) => {
    void catchUp(callUpdated.id, callUpdated.status);
  }, (err) => console.warn('call subscription', err));
  // A demand just raised waits for its call (SUBMITTED): looked at again until it has one.
  const SUBMITTED_POLL_MS = 2_000;
  setInterval(() => {
    if (listed.some((d) => d.status === 'SUBMITTED')) void loadDemands();
  }, SUBMITTED_POLL_MS);
}
