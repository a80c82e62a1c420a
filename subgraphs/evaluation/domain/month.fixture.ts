// A month worked out by hand (March 2026, 区城管局 dept-urban called by 长洲街 changzhou), shared by
// the unit test of the rules and the end-to-end test through Kafka and FerretDB. The expected figures
// are in scoring.test.ts, with the arithmetic.
import { CallScript } from '../scripted-calls.ts';

export const DEPT = 'dept-urban';
export const OTHER_DEPT = 'dept-market';
export const STREET = 'changzhou';
export const COMMUNITY = 'changzhou-c1';

const t = (day: string, time: string) => `2026-${day}T${time}:00+08:00`;
const due = (sign: string, respond: string, complete: string) => ({ sign: t(...split(sign)), respond: t(...split(respond)), complete: t(...split(complete)) });
function split(s: string): [string, string] {
  const [day, time] = s.split(' ');
  return [day as string, time as string];
}

/** Every call of the month, each as its own event history. `prefix` keeps call ids apart per run. */
export function marchCalls(prefix = 'M'): CallScript[] {
  const id = (n: number) => `${prefix}${n}`;
  return [
    // C1: everything on time, five stars.
    new CallScript(id(1), STREET, t('03-02', '08:00'))
      .assign(t('03-02', '09:00'), DEPT, 'DEPARTMENT', due('03-03 09:00', '03-04 09:00', '03-09 18:00'))
      .sign(t('03-02', '10:00'))
      .respond(t('03-02', '15:00'))
      .complete(t('03-05', '10:00'))
      .rate(t('03-06', '10:00'), 5),
    // C2: signed late (supervision urged: sign overdue), then on time; 基本满意 (3 stars).
    new CallScript(id(2), STREET, t('03-10', '08:00'))
      .assign(t('03-10', '09:00'), DEPT, 'DEPARTMENT', due('03-11 09:00', '03-12 09:00', '03-17 18:00'))
      .urge(t('03-11', '09:05'), ['SIGN'])
      .sign(t('03-11', '14:00'))
      .respond(t('03-11', '16:00'))
      .complete(t('03-13', '10:00'))
      .rate(t('03-14', '10:00'), 3),
    // C3: responded late (urged), completed, sent back (返工), completed again on time; 4 stars.
    new CallScript(id(3), STREET, t('03-16', '08:00'))
      .assign(t('03-16', '09:00'), DEPT, 'DEPARTMENT', due('03-17 09:00', '03-18 09:00', '03-23 18:00'))
      .sign(t('03-16', '10:00'))
      .urge(t('03-18', '09:05'), ['RESPOND'])
      .respond(t('03-18', '11:00'))
      .complete(t('03-19', '10:00'))
      .reopen(t('03-20', '10:00'), t('03-27', '18:00'))
      .complete(t('03-23', '10:00'))
      .rate(t('03-24', '10:00'), 4),
    // C4: the department asked the command centre to decide and lost (kept); still open at month end.
    new CallScript(id(4), STREET, t('03-25', '08:00'))
      .assign(t('03-25', '09:00'), DEPT, 'DEPARTMENT', due('03-26 09:00', '03-27 09:00', '04-01 18:00'))
      .sign(t('03-25', '10:00'))
      .adjudicationRequested(t('03-25', '11:00'))
      .adjudicateKeep(t('03-26', '10:00'))
      .respond(t('03-26', '15:00')),
    // C5: on time, but unsatisfied (2 stars).
    new CallScript(id(5), STREET, t('03-03', '08:00'))
      .assign(t('03-03', '09:00'), DEPT, 'DEPARTMENT', due('03-04 09:00', '03-05 09:00', '03-10 18:00'))
      .sign(t('03-03', '10:00'))
      .respond(t('03-03', '11:00'))
      .complete(t('03-06', '10:00'))
      .rate(t('03-07', '10:00'), 2),
    // C6: the department won its adjudication: reassigned (改派) to 市场监管; the street's call overturned.
    new CallScript(id(6), STREET, t('03-04', '08:00'))
      .assign(t('03-04', '09:00'), DEPT, 'DEPARTMENT', due('03-05 09:00', '03-06 09:00', '03-11 18:00'))
      .sign(t('03-04', '10:00'))
      .adjudicationRequested(t('03-04', '11:00'))
      .adjudicateReassign(t('03-05', '10:00'), OTHER_DEPT, due('03-06 10:00', '03-07 10:00', '03-12 18:00')),
    // C7: the street answers its community (社区呼、街道应): all on time, five stars.
    new CallScript(id(7), COMMUNITY, t('03-09', '08:00'), 'COMMUNITY')
      .assign(t('03-09', '09:00'), STREET, 'STREET', due('03-10 09:00', '03-11 09:00', '03-16 18:00'))
      .sign(t('03-09', '10:00'))
      .respond(t('03-09', '11:00'))
      .complete(t('03-10', '10:00'))
      .rate(t('03-11', '10:00'), 5),
    // C8: completed in March, rated on 20 May, after March closed: booked in May, belonging to March.
    new CallScript(id(8), STREET, t('03-27', '08:00'))
      .assign(t('03-27', '09:00'), DEPT, 'DEPARTMENT', due('03-30 09:00', '03-31 09:00', '04-03 18:00'))
      .sign(t('03-27', '10:00'))
      .respond(t('03-27', '11:00'))
      .complete(t('03-31', '10:00'))
      .rate(t('05-20', '10:00'), 5),
  ];
}

export const GRID = 'changzhou-c1-g1';
export const OTHER_GRID = 'changzhou-c2-g1';

/**
 * September 2026 (closes at the end of 13 October: 1–7 October off, 10 October worked), worked out
 * by hand in scoring.test.ts under both schemes: an ignored call, a late sign-off, a grid-resolved
 * call, a late rating and a 不满意 12345 call-back. `prefix` keeps call ids apart per run.
 */
export function septemberCalls(prefix = 'S'): CallScript[] {
  const id = (n: number) => `${prefix}${n}`;
  const at = (day: string, time: string) => `2026-${day}T${time}:00+08:00`;
  const due9 = (sign: string, respond: string, complete: string) => ({
    sign: at(...split(sign)),
    respond: at(...split(respond)),
    complete: at(...split(complete)),
  });
  return [
    // S1: ignored — never signed; supervision finds each step past its deadline.
    new CallScript(id(1), STREET, at('09-01', '08:00'))
      .assign(at('09-01', '09:00'), DEPT, 'DEPARTMENT', due9('09-02 09:00', '09-03 09:00', '09-08 18:00'))
      .urge(at('09-02', '09:00'), ['SIGN'])
      .urge(at('09-03', '09:00'), ['RESPOND'])
      .urge(at('09-08', '18:00'), ['COMPLETE']),
    // S2: signed a minute late, then everything on time; five stars.
    new CallScript(id(2), STREET, at('09-07', '08:00'))
      .assign(at('09-07', '09:00'), DEPT, 'DEPARTMENT', due9('09-08 09:00', '09-09 09:00', '09-14 18:00'))
      .urge(at('09-08', '09:00'), ['SIGN'])
      .sign(at('09-08', '09:01'))
      .respond(at('09-08', '10:00'))
      .complete(at('09-10', '10:00'))
      .rate(at('09-11', '10:00'), 5),
    // S3: on time, rated four stars on 20 October, after September closed (13 October).
    new CallScript(id(3), STREET, at('09-21', '08:00'))
      .assign(at('09-21', '09:00'), DEPT, 'DEPARTMENT', due9('09-22 09:00', '09-23 09:00', '09-28 18:00'))
      .sign(at('09-21', '10:00'))
      .respond(at('09-21', '15:00'))
      .complete(at('09-25', '10:00'))
      .rate(at('10-20', '10:00'), 4),
    // S4: a 12345 order the street called up; call-back 不满意 (not resolved) → rework (重办); done
    // again on time; second call-back 基本满意, resolved → closed, rated 3 stars by the call-back.
    new CallScript(id(4), STREET, at('09-14', '08:00'), 'STREET', { source: 'HOTLINE' })
      .assign(at('09-14', '09:00'), DEPT, 'DEPARTMENT', due9('09-15 09:00', '09-16 09:00', '09-21 18:00'))
      .sign(at('09-14', '10:00'))
      .respond(at('09-14', '11:00'))
      .complete(at('09-16', '10:00'))
      .callback(at('09-17', '10:00'), { contacted: true, resolved: false, satisfaction: 'UNSATISFIED' }, { rework: at('09-23', '18:00') })
      .complete(at('09-22', '10:00'))
      .callback(at('09-23', '10:00'), { contacted: true, resolved: true, satisfaction: 'BASIC' }, 'closed'),
    // S5: resolved at grid level (琐事不出网格), on time: booked for the street.
    new CallScript(id(5), GRID, at('09-09', '08:00'), 'GRID', { due: { sign: null, respond: null, complete: at('09-16', '18:00') } })
      .closeSelf(at('09-10', '10:00')),
    // S6: another grid of the street, completed three days after its deadline (supervision urged).
    new CallScript(id(6), OTHER_GRID, at('09-18', '08:00'), 'GRID', { due: { sign: null, respond: null, complete: at('09-25', '18:00') } })
      .urge(at('09-25', '18:00'), ['COMPLETE'])
      .closeSelf(at('09-28', '10:00')),
  ];
}

/**
 * The two departments (DOMAIN.md "A step not taken is missed"): one ignores its call, one
 * signs a minute late and then does everything right (five stars). September 2026.
 */
export function ignoredAndLate(): { ignored: CallScript; late: CallScript } {
  const [ignored, late] = septemberCalls('IL');
  return { ignored: ignored as CallScript, late: late as CallScript };
}
