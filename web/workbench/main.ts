// A unit's workbench (工作台): its inbox (to sign, in progress, overdue, to confirm, to review), a
// call's detail with its full record (全记录), and the actions its role allows — each a GraphQL
// mutation with an idempotency key made when its form opens, so a repeated click repeats nothing.
// The hub decides every action; its refusals are shown in plain Chinese. An enterprise service officer
// (首席服务官) gets the enterprise zone instead (./enterprise.ts).
import { escapeHtml, gql, HubError, idempotencyKey, liveClient, shanghai, subscribe } from '../shared/api.ts';
import { claimsOf, type SessionClaims, signOut } from '../shared/session.ts';
import { ensureSignedIn } from '../shared/sign-in.ts';
import { enterpriseZone } from './enterprise.ts';
import { $, act, field, notify, ROLE_TEXT, STATUS_TEXT, TIMELINE_TEXT } from './ui.ts';

const BOXES: Array<{ box: string; text: string; roles?: string[] }> = [
  { box: 'TO_SIGN', text: '待签收' },
  { box: 'IN_PROGRESS', text: '办理中' },
  { box: 'OVERDUE', text: '已逾期' },
  { box: 'TO_CONFIRM', text: '待评价' },
  { box: 'TO_REVIEW', text: '待审核', roles: ['street_leader'] },
];
const RAISING_ROLES = new Set(['grid_worker', 'community', 'street']);
const CALL_UP_ROLES = new Set(['grid_worker', 'community']);

interface CallDetail {
  id: string;
  title: string;
  description: string;
  category: string;
  status: string;
  tier: string;
  priority: string;
  version: number;
  address: string | null;
  originUnit: { id: string; name: string };
  handlingUnit: { id: string; name: string };
  callerUnit: { id: string; name: string } | null;
  raisedAt: string;
  deadlines: { sign: string | null; respond: string | null; complete: string | null };
  overdueSteps: string[];
  result: string | null;
  rating: { stars: number } | null;
  pendingRequest: { kind: string; reason: string; toUnit: { name: string } | null } | null;
  timeline: { edges: Array<{ node: { at: string; action: string; note: string | null; attachments: string[]; status: string; actor: { unit: { name: string } } | null } }> };
}

const LIST_FIELDS = 'id title status tier priority raisedAt overdueSteps handlingUnit { name } deadlines { complete }';
const DETAIL_FIELDS = `id title description category status tier priority version address raisedAt
  originUnit { id name } handlingUnit { id name } callerUnit { id name }
  deadlines { sign respond complete } overdueSteps result rating { stars }
  pendingRequest { kind reason toUnit { name } }
  timeline(first: 50) { edges { node { at action note attachments status actor { unit { name } } } } }`;

async function main() {
  const me = claimsOf(await ensureSignedIn('工作台'));
  $('sign-out').addEventListener('click', () => {
    signOut();
    location.reload();
  });
  const { unit } = await gql<{ unit: { name: string } | null }>('query($id: ID!) { unit(id: $id) { name } }', { id: me.unitId });
  $('who').textContent = `${unit?.name ?? me.unitId} · ${ROLE_TEXT[me.role] ?? me.role}`;
  if (me.role === 'enterprise_officer') {
    $('title').textContent = '呼应 · 企业服务专区';
    await enterpriseZone(me);
  } else {
    await unitWorkbench(me);
  }
  document.body.dataset.ready = 'true';
}

async function unitWorkbench(me: SessionClaims) {
  const boxes = BOXES.filter((b) => !b.roles || b.roles.includes(me.role));
  $('app').innerHTML = `<section class="panel"><div class="tabs" id="boxes">${boxes
    .map((b) => `<button type="button" data-box="${b.box}">${b.text} <span class="count"></span></button>`)
    .join('')}</div>
    ${RAISING_ROLES.has(me.role) ? '<div class="actions"><button type="button" id="raise-open">发起呼叫</button></div><div id="raise-form"></div>' : ''}
    <ul class="list" id="inbox"></ul></section>
    <section class="panel" id="detail"><p class="hint">从左侧选择一个事项</p></section>`;
  let box = boxes[0]?.box as string;
  let selected: string | undefined;

  const loadInbox = async () => {
    const data = await gql<{ inbox: { edges: Array<{ node: { id: string; title: string; status: string; overdueSteps: string[]; handlingUnit: { name: string }; deadlines: { complete: string | null } } }> } }>(
      `query($box: InboxBox!) { inbox(box: $box, first: 50) { edges { node { ${LIST_FIELDS} } } } }`,
      { box },
    );
    for (const button of document.querySelectorAll<HTMLButtonElement>('#boxes button')) button.classList.toggle('active', button.dataset.box === box);
    $('inbox').innerHTML =
      data.inbox.edges
        .map(
          ({ node }) => `<li data-call="${escapeHtml(node.id)}"><b>${escapeHtml(node.title)}</b>
            <span class="status${node.overdueSteps.length ? ' overdue' : ''}">${STATUS_TEXT[node.status] ?? node.status}${node.overdueSteps.length ? ' · 逾期' : ''}</span>
            <div class="meta">${escapeHtml(node.handlingUnit.name)} · 办结时限 ${shanghai(node.deadlines.complete)}</div></li>`,
        )
        .join('') || '<li class="hint">暂无事项</li>';
  };

  let shownVersion: number | undefined;
  /**
   * Shows a call in the detail pane. A live refresh (`live`) changes nothing when the version shown
   * is as new, and leaves a form being filled in alone, decided once the answer is here (the
   * form may have been opened meanwhile): its submission then meets the change (CONFLICT) and says so.
   */
  const showCall = async (id: string, live = false) => {
    if (!live) selected = id;
    const { call } = await gql<{ call: CallDetail | null }>(`query($id: ID!) { call(id: $id) { ${DETAIL_FIELDS} } }`, { id });
    if (selected !== id) return; // another call was opened meanwhile
    if (live) {
      if (call && shownVersion !== undefined && call.version <= shownVersion) return;
      if (document.getElementById('action-form')?.childElementCount) {
        notify('该事项刚刚有更新，请重新打开后再操作', 'error');
        return;
      }
    }
    shownVersion = call?.version;
    if (!call) {
      $('detail').innerHTML = '<p class="hint">未找到该事项</p>';
      return;
    }
    renderDetail(me, call, async () => {
      await Promise.all([loadInbox(), showCall(id)]);
    });
  };

  $('boxes').addEventListener('click', (event) => {
    const button = (event.target as HTMLElement).closest('button');
    if (!button?.dataset.box) return;
    box = button.dataset.box;
    void loadInbox();
  });
  $('inbox').addEventListener('click', (event) => {
    const item = (event.target as HTMLElement).closest('li');
    if (item?.dataset.call) void showCall(item.dataset.call);
  });
  document.getElementById('raise-open')?.addEventListener('click', () => void raiseForm(me, (id) => void Promise.all([loadInbox(), showCall(id)])));

  await loadInbox();
  // The inbox follows the hub live: any change to a call of this unit refreshes the list and the open call.
  const client = liveClient(() => undefined, () => void loadInbox());
  subscribe<{ inboxChanged: { id: string } }>(client, 'subscription { inboxChanged { id } }', {}, ({ inboxChanged }) => {
    void loadInbox();
    if (inboxChanged.id === selected) void showCall(selected, true);
  }, (err) => console.warn('inbox subscription', err));
}

async function raiseForm(me: SessionClaims, raised: (id: string) => void) {
  const { callableItemsList } = await gql<{ callableItemsList: { classes: Array<{ category: string }> } }>('{ callableItemsList { classes { category } } }');
  const key = idempotencyKey();
  const holder = $('raise-form');
  holder.innerHTML = `<form class="action" id="raise"><b>发起呼叫</b>
    <input name="title" placeholder="标题" required maxlength="100">
    <textarea name="description" placeholder="情况描述" required rows="3"></textarea>
    <select name="category">${callableItemsList.classes.map((c) => `<option>${escapeHtml(c.category)}</option>`).join('')}</select>
    <input name="address" placeholder="地址（可选）">
    <button type="submit">提交</button><div class="result"></div></form>`;
  const form = holder.querySelector('form') as HTMLFormElement;
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const values = new FormData(form);
    void act(form, '已发起呼叫', async () => {
      const address = field(values, 'address').trim();
      const data = await gql<{ raiseCall: { call: { id: string } } }>(
        'mutation($input: RaiseCallInput!, $key: String) { raiseCall(input: $input, idempotencyKey: $key) { call { id } } }',
        {
          input: { title: values.get('title'), description: values.get('description'), category: values.get('category'), unitId: me.unitId, ...(address && { address }) },
          key,
        },
      );
      holder.innerHTML = '';
      raised(data.raiseCall.call.id);
    });
  });
}

/** One action of the detail pane: which form fields it asks for, and the mutation it runs. */
interface Action {
  id: string;
  text: string;
  fields?: string;
  run: (values: FormData, call: CallDetail, key: string) => Promise<unknown>;
}

const mutate = (field: string, args: string, declared: string, variables: Record<string, unknown>) =>
  gql(`mutation($id: ID!, $version: Int, $key: String${declared}) { ${field}(id: $id, expectedVersion: $version, idempotencyKey: $key${args}) { id status } }`, variables);

function actionsFor(me: SessionClaims, call: CallDetail): Action[] {
  const mine = call.handlingUnit.id === me.unitId;
  const caller = call.callerUnit?.id === me.unitId;
  const base = (key: string) => ({ id: call.id, version: call.version, key });
  const actions: Action[] = [];
  if (mine && call.status === 'DISPATCHED') actions.push({ id: 'sign', text: '签收', run: (_v, _c, key) => mutate('signCall', '', '', base(key)) });
  if (mine && ['SIGNED', 'REOPENED'].includes(call.status)) {
    actions.push({ id: 'respond', text: '响应', fields: '<textarea name="note" placeholder="初步答复或处置方案" required></textarea>', run: (v, _c, key) => mutate('respondCall', ', note: $note', ', $note: String!', { ...base(key), note: v.get('note') }) });
  }
  if (mine && ['RAISED', 'SIGNED', 'RESPONDED', 'REOPENED'].includes(call.status)) {
    actions.push({
      id: 'complete',
      text: '办结',
      fields: '<textarea name="result" placeholder="办理结果" required></textarea><textarea name="attachments" placeholder="现场照片地址，每行一个（可选）" rows="2"></textarea>',
      run: (v, _c, key) => {
        const attachments = field(v, 'attachments').split('\n').map((s) => s.trim()).filter(Boolean);
        return mutate('completeCall', ', result: $result, attachments: $attachments', ', $result: String!, $attachments: [String!]', { ...base(key), result: v.get('result'), attachments });
      },
    });
    if (CALL_UP_ROLES.has(me.role)) {
      actions.push({ id: 'call-up', text: '呼叫上级', fields: '<input name="note" placeholder="说明（可选）">', run: (v, _c, key) => mutate('callUp', ', note: $note', ', $note: String', { ...base(key), note: v.get('note') || null }) });
    }
    if (me.role === 'street') {
      actions.push({
        id: 'dispatch',
        text: '呼叫部门',
        fields: '<input name="itemCode" placeholder="呼应事项编号（留空：按大类兜底部门）"><input name="note" placeholder="说明（可选）">',
        run: (v, _c, key) =>
          mutate('dispatchToDepartment', ', itemCode: $item, note: $note', ', $item: ID, $note: String', { ...base(key), item: v.get('itemCode') || null, note: v.get('note') || null }),
      });
    }
  }
  if (me.role === 'street_leader' && call.pendingRequest?.kind === 'DISPATCH') {
    actions.push({ id: 'approve', text: '审核通过', run: (_v, _c, key) => mutate('reviewDispatch', ', approve: true', '', base(key)) });
    actions.push({ id: 'reject', text: '驳回', fields: '<input name="reason" placeholder="驳回理由" required>', run: (v, _c, key) => mutate('reviewDispatch', ', approve: false, reason: $reason', ', $reason: String', { ...base(key), reason: v.get('reason') }) });
  }
  if (caller && call.status === 'COMPLETED') {
    actions.push({
      id: 'confirm',
      text: '确认评价',
      fields: '<select name="stars"><option value="5">5 星 非常满意</option><option value="4">4 星 满意</option><option value="3">3 星 基本满意</option><option value="2">2 星 不满意</option><option value="1">1 星 很不满意</option></select><input name="comment" placeholder="评价（可选）">',
      run: (v, _c, key) => mutate('confirmCall', ', stars: $stars, comment: $comment', ', $stars: Int!, $comment: String', { ...base(key), stars: Number(v.get('stars')), comment: v.get('comment') || null }),
    });
    actions.push({ id: 'reopen', text: '返工', fields: '<textarea name="reason" placeholder="不满意的理由" required></textarea>', run: (v, _c, key) => mutate('reopenCall', ', reason: $reason', ', $reason: String!', { ...base(key), reason: v.get('reason') }) });
  }
  return actions;
}

function renderDetail(me: SessionClaims, call: CallDetail, changed: () => Promise<void>) {
  const actions = actionsFor(me, call);
  $('detail').innerHTML = `<h2 id="call-title">${escapeHtml(call.title)} <span class="status${call.overdueSteps.length ? ' overdue' : ''}" id="call-status" data-status="${call.status}">${STATUS_TEXT[call.status] ?? call.status}</span></h2>
    <dl class="fields">
      <dt>情况</dt><dd>${escapeHtml(call.description)}</dd>
      <dt>类别</dt><dd>${escapeHtml(call.category)}${call.priority === 'URGENT' ? ' · 紧急' : ''}</dd>
      ${call.address ? `<dt>地址</dt><dd>${escapeHtml(call.address)}</dd>` : ''}
      <dt>发起单位</dt><dd>${escapeHtml(call.originUnit.name)} · ${shanghai(call.raisedAt)}</dd>
      <dt>办理单位</dt><dd>${escapeHtml(call.handlingUnit.name)}</dd>
      ${call.callerUnit ? `<dt>呼叫单位</dt><dd>${escapeHtml(call.callerUnit.name)}（负责评价）</dd>` : ''}
      <dt>时限</dt><dd>签收 ${shanghai(call.deadlines.sign)} · 响应 ${shanghai(call.deadlines.respond)} · 办结 ${shanghai(call.deadlines.complete)}</dd>
      ${call.pendingRequest ? `<dt>待审核</dt><dd>${escapeHtml(call.pendingRequest.reason)}${call.pendingRequest.toUnit ? ` → ${escapeHtml(call.pendingRequest.toUnit.name)}` : ''}</dd>` : ''}
      ${call.result ? `<dt>办理结果</dt><dd>${escapeHtml(call.result)}</dd>` : ''}
      ${call.rating ? `<dt>评价</dt><dd>${'★'.repeat(call.rating.stars)}</dd>` : ''}
    </dl>
    <div class="actions">${actions.map((a) => `<button type="button" data-action="${a.id}">${a.text}</button>`).join('')}</div>
    <div id="action-form"></div>
    <h3>全记录</h3>
    <ul class="timeline">${call.timeline.edges
      .map(
        ({ node }) =>
          `<li><b>${TIMELINE_TEXT[node.action] ?? escapeHtml(node.action)}</b> ${shanghai(node.at)} · ${escapeHtml(node.actor?.unit.name ?? '系统')}${node.note ? `：${escapeHtml(node.note)}` : ''}${node.attachments.map((a) => ` <code>${escapeHtml(a)}</code>`).join('')}</li>`,
      )
      .join('')}</ul>`;
  $('detail').querySelector('.actions')?.addEventListener('click', (event) => {
    const action = actions.find((a) => a.id === (event.target as HTMLElement).dataset.action);
    if (!action) return;
    // The key is made once per opened form: submitting it again repeats the same action, never a second one.
    const key = idempotencyKey();
    $('action-form').innerHTML = `<form class="action" data-form="${action.id}"><b>${action.text}</b>${action.fields ?? ''}<button type="submit">确定${action.text}</button><div class="result"></div></form>`;
    const form = $('action-form').querySelector('form') as HTMLFormElement;
    form.addEventListener('submit', (submitted) => {
      submitted.preventDefault();
      void act(form, `已${action.text}`, async () => {
        await action.run(new FormData(form), call, key);
        await changed();
      });
    });
  });
}

void main().catch((err: unknown) => {
  document.body.dataset.error = String(err);
  notify(err instanceof HubError ? err.message : `加载失败：${(err as Error).message}`, 'error');
});
