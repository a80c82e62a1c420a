// Small pieces the workbench and the enterprise zone share.
import { escapeHtml, HubError } from '../shared/api.ts';

export const $ = (id: string) => document.getElementById(id) as HTMLElement;

export const ROLE_TEXT: Record<string, string> = {
  grid_worker: '网格员', community: '社区', street: '街道', street_leader: '街道领导', street_command: '街镇指挥中心',
  department: '职能部门', district_command: '区指挥中心', leader: '区领导', enterprise_officer: '首席服务官', service_account: '系统账号',
};

export const STATUS_TEXT: Record<string, string> = {
  RAISED: '自办中', DISPATCHED: '待签收', SIGNED: '已签收', RESPONDED: '已响应', COMPLETED: '已办结待评价',
  REOPENED: '返工', CLOSED: '已办结归档', WITHDRAWN: '已撤回', MERGED: '已并单',
};

/** The record's actions (全记录), as staff call them. */
export const TIMELINE_TEXT: Record<string, string> = {
  raise: '呼叫', call_up: '呼叫上级', dispatch: '派单', request_dispatch: '申请呼叫部门', reject_dispatch: '审核驳回', sign: '签收',
  respond: '响应', complete: '办结', confirm: '评价', reopen: '返工', merge: '并单', withdraw: '撤回', urge: '催办', supervise: '督办',
  escalate: '提级', due_soon: '即将到期', request_extension: '申请延期', grant_extension: '同意延期', deny_extension: '不同意延期',
  request_adjudication: '申请协调', reassign: '改派', adjudicate_keep: '维持', accept: '受理', note: '备注',
};

/** A form field's text ('' when absent). */
export function field(values: FormData, name: string): string {
  const value = values.get(name);
  return typeof value === 'string' ? value : '';
}

/** A short message at the top of the page (the latest replaces the one before). */
export function notify(text: string, kind: 'ok' | 'error') {
  let box = document.getElementById('notice');
  if (!box) {
    box = document.createElement('div');
    box.id = 'notice';
    document.body.insertBefore(box, document.querySelector('main'));
  }
  box.className = `notice ${kind}`;
  box.dataset.kind = kind;
  box.textContent = text;
}

/** Runs an action from a form, showing the hub's refusal in plain Chinese where the person acted. */
export async function act(form: HTMLFormElement, done: string, run: () => Promise<void>) {
  const button = form.querySelector('button[type="submit"]') as HTMLButtonElement;
  button.disabled = true;
  try {
    await run();
    notify(done, 'ok');
  } catch (err) {
    const message = err instanceof HubError ? err.message : `操作失败：${(err as Error).message}`;
    const result = form.querySelector('.result');
    if (result) result.innerHTML = `<div class="notice error" data-code="${err instanceof HubError ? err.code : ''}">${escapeHtml(message)}</div>`;
    else notify(message, 'error');
    button.disabled = false;
  }
}

