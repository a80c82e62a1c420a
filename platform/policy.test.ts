// The policy's own rules, as pure decisions over the demo district's unit directory.
import { describe, expect, it } from 'vitest';
import { demoUnits } from '../demo/district.ts';
import type { Identity, Role } from './auth.ts';
import { ACTIONS, allowed, decide, FIELD_ACTIONS, mayEver, type PolicyObject, RELATIONS, relationOf, ROLE_RULES, SCOPE_RULES, SCOPES } from './policy.ts';
import { UnitDirectory } from './unit-directory.ts';

const directory = new UnitDirectory(demoUnits());
const who = (role: Role, unitId: string, scopes: string[] = [], subject = `${role}@${unitId}`): Identity => ({ role, unitId, subject, scopes });

/** A call raised at 深井社区, called up to 长洲街 (handling), followed by an officer, raised by the 12345 connector. */
const call: PolicyObject = {
  unitId: 'changzhou-c1',
  visibleTo: ['huangpu', 'changzhou', 'changzhou-c1'],
  handlingUnitIds: ['changzhou'],
  coHandlingUnitIds: [],
  callerUnitId: 'changzhou-c1',
  followers: ['cso-01'],
  raisedBy: 'hotline-connector',
};

describe('the authorization policy', () => {
  it('denies by default: an identity no row names (an agency account without scopes) may do nothing', () => {
    const nobody = who('service_account', 'huangpu');
    expect(ACTIONS.filter((action) => mayEver(nobody, action))).toEqual([]);
    expect(decide(undefined, 'call.read', ['unrelated'])).toBe(false);
  });

  it('names only known actions and scopes in its rows, and an action for every field it lists', () => {
    for (const row of [...ROLE_RULES, ...SCOPE_RULES]) {
      for (const action of row.actions) expect(ACTIONS).toContain(action);
      if (row.relations !== '*') for (const relation of row.relations) expect(RELATIONS).toContain(relation);
    }
    for (const action of Object.values(FIELD_ACTIONS)) expect(ACTIONS).toContain(action);
    expect(SCOPES).toEqual(expect.arrayContaining(['calls:read', 'calls:write', 'orders:issue', 'intake:write', 'evaluation:read', 'alerts:read', 'party-map:personal', 'party-map:write', 'enterprise:apartments']));
  });

  it('computes relations from the unit directory: own, below, above, sibling, handling, calling, following, raised by, unrelated', () => {
    expect(relationOf(who('community', 'changzhou-c1'), call, directory).sort()).toEqual(['calling', 'own']);
    expect(relationOf(who('street', 'changzhou'), call, directory).sort()).toEqual(['below', 'handling']);
    expect(relationOf(who('street_command', 'changzhou-command'), call, directory).sort()).toEqual(['below', 'handling']);
    expect(relationOf(who('grid_worker', 'changzhou-c1-g1'), call, directory)).toEqual(['above']);
    expect(relationOf(who('community', 'changzhou-c2'), call, directory)).toEqual(['sibling']);
    expect(relationOf(who('community', 'lianhe-c1'), call, directory)).toEqual(['unrelated']);
    expect(relationOf(who('enterprise_officer', 'dept-business', [], 'cso-01'), call, directory)).toEqual(['following']);
    expect(relationOf(who('service_account', 'huangpu', ['calls:write'], 'hotline-connector'), call, directory)).toContain('raised_by');
    expect(relationOf(who('department', 'dept-urban'), { ...call, coHandlingUnitIds: ['dept-urban'] }, directory)).toContain('co_handling');
  });

  it('gives a token naming a unit its role cannot hold no relation at all, so nothing is allowed (an officer’s role is not a street’s)', () => {
    expect(relationOf(who('grid_worker', 'changzhou'), call, directory)).toEqual([]);
    expect(relationOf(who('district_command', 'changzhou-c1'), call, directory)).toEqual([]);
    expect(allowed(who('district_command', 'changzhou-c1'), 'call.read', call, directory)).toBe(false);
    const officerAsStreet = who('enterprise_officer', 'changzhou');
    for (const action of ['call.read', 'call.read_citizen', 'call.handle', 'call.sign', 'order.issue', 'call.counters'] as const) {
      expect(allowed(officerAsStreet, action, call, directory)).toBe(false);
    }
  });

  it('lets roles act only per their role: the handling unit answers, the caller rates, the command centres decide and supervise', () => {
    expect(allowed(who('street', 'changzhou'), 'call.handle', call, directory)).toBe(true);
    expect(allowed(who('community', 'changzhou-c1'), 'call.handle', call, directory)).toBe(false);
    expect(allowed(who('community', 'changzhou-c1'), 'call.confirm', call, directory)).toBe(true);
    expect(allowed(who('street_command', 'changzhou-command'), 'call.sign', call, directory)).toBe(true);
    expect(allowed(who('street_command', 'changzhou-command'), 'call.handle', call, directory)).toBe(false);
    expect(allowed(who('street_command', 'changzhou-command'), 'call.supervise', call, directory)).toBe(true);
    expect(allowed(who('street_command', 'lianhe-command'), 'call.supervise', call, directory)).toBe(false);
    expect(allowed(who('district_command', 'huangpu-command'), 'call.decide', call, directory)).toBe(true);
    expect(allowed(who('district_command', 'huangpu-command'), 'call.handle', call, directory)).toBe(false);
    expect(allowed(who('leader', 'huangpu-leaders'), 'call.read', call, directory)).toBe(true);
    expect(allowed(who('leader', 'huangpu-leaders'), 'call.handle', { ...call, handlingUnitIds: ['huangpu-leaders'] }, directory)).toBe(true);
    expect(allowed(who('department', 'dept-urban'), 'call.read', call, directory)).toBe(false);
    expect(allowed(who('department', 'dept-urban'), 'call.sign', { ...call, handlingUnitIds: ['dept-urban'], visibleTo: ['huangpu', 'dept-urban'] }, directory)).toBe(true);
  });

  it('lets a street’s leadership read what its street reads and approve its call to a department, and nothing else', () => {
    const leader = who('street_leader', 'changzhou');
    expect(allowed(leader, 'call.read', call, directory)).toBe(true);
    expect(allowed(leader, 'call.approve_dispatch', call, directory)).toBe(true);
    expect(allowed(who('street_leader', 'lianhe'), 'call.approve_dispatch', call, directory)).toBe(false);
    for (const action of ['call.sign', 'call.handle', 'call.dispatch', 'call.confirm', 'order.issue'] as const) expect(allowed(leader, action, call, directory)).toBe(false);
  });

  it('lets an enterprise officer read the calls they raised or follow, and no street’s inbox, counters or orders', () => {
    const officer = who('enterprise_officer', 'dept-business', [], 'cso-01');
    expect(allowed(officer, 'call.read', call, directory)).toBe(true);
    expect(allowed(officer, 'call.read_citizen', call, directory)).toBe(false);
    expect(allowed(officer, 'call.handle', call, directory)).toBe(false);
    expect(mayEver(officer, 'call.sign')).toBe(false);
    expect(mayEver(officer, 'call.counters')).toBe(false);
    expect(mayEver(officer, 'order.issue')).toBe(false);
  });

  it('gives agency accounts exactly their scopes: enterprise:apartments lists no call, withdraws none, issues no order', () => {
    const housing = who('service_account', 'huangpu', ['enterprise:apartments'], 'housing-system');
    for (const action of ['call.read', 'call.withdraw', 'order.issue', 'call.counters', 'counters.read'] as const) expect(mayEver(housing, action)).toBe(false);
    expect(mayEver(housing, 'apartment.write')).toBe(true);
    // A source system withdraws only what it raised itself.
    expect(allowed(who('service_account', 'huangpu', ['calls:write'], 'hotline-connector'), 'call.withdraw', call, directory)).toBe(true);
    expect(allowed(who('service_account', 'huangpu', ['calls:write'], 'petition-connector'), 'call.withdraw', call, directory)).toBe(false);
    expect(allowed(who('service_account', 'huangpu', ['calls:read']), 'call.read', call, directory)).toBe(true);
  });
});
