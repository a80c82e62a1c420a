// CAP 1.2 in the 三防 connector, as pure rules: parsing with XML attacks refused, the schema, what an
// alert, update, cancel, test and expiry mean, the area intersected with the grids, colour and level,
// and the hub's alerts written back as CAP 1.2 that pass the same schema.
import { describe, expect, it, vi } from 'vitest';
import { demoUnits } from '../../demo/district.ts';
import { Rejected } from '../../platform/source-record.ts';
import { UnitDirectory } from '../../platform/unit-directory.ts';
import { Places } from '../runtime/places.ts';
import { capOfAlert, capPlan, capWarningId, parseCap } from './cap.ts';
import { capSample, OBSERVATORY, XML_ATTACKS } from './cap-samples.ts';
import { EXPIRY_RETRY_MS, ExpiryClock } from './expiries.ts';
import type { WarningRecord } from './sanfang.ts';

const places = new Places(new UnitDirectory(demoUnits()));
const now = new Date();
const minutes = (m: number) => new Date(now.getTime() + m * 60_000);
/** CAP times are whole seconds. */
const second = (date: Date) => new Date(Math.floor(date.getTime() / 1000) * 1000).toISOString();
// 长洲街 and 联和街 (the southern row of the demo district), as a CAP lat,lon polygon.
const SOUTH_WEST = '<polygon>23.07,113.41 23.07,113.47 23.10,113.47 23.10,113.41 23.07,113.41</polygon>';

function refusal(xml: string): { code: string; message: string } {
  try {
    parseCap(xml);
  } catch (err) {
    if (err instanceof Rejected) return { code: err.code, message: err.message };
    throw err;
  }
  throw new Error('accepted');
}

describe('CAP 1.2 input', () => {
  // The oversized one is refused by the connector runtime before parsing (connectors.test.ts).
  it.each(XML_ATTACKS.filter((attack) => attack.code !== 'too_large'))('refuses $name ($code) without expanding anything', (attack) => {
    expect(refusal(attack.xml).code).toBe(attack.code);
  });

  it('refuses the billion laughs in well under a millisecond per kilobyte: nothing was expanded', () => {
    const laughs = XML_ATTACKS.find((attack) => attack.name.startsWith('billion laughs'))?.xml as string;
    const started = performance.now();
    expect(refusal(laughs)).toEqual({ code: 'xml_entity', message: 'XML declares a DTD or entities; refused, never expanded' });
    expect(performance.now() - started).toBeLessThan(50);
  });

  it('refuses documents that fail the CAP 1.2 schema, naming what is wrong', () => {
    const good = capSample({ identifier: 'GD-1', sent: now, hazard: 'rainstorm', colour: '红色', severity: 'Extreme', area: SOUTH_WEST });
    expect(parseCap(good).identifier).toBe('GD-1');
    const cases: Array<[string, string, RegExp]> = [
      ['an unknown status', good.replace('<status>Actual</status>', '<status>Live</status>'), /status/],
      ['a time in UTC "Z" (CAP wants an offset)', good.replace(/<sent>[^<]+<\/sent>/, '<sent>2026-06-01T10:00:00Z</sent>'), /sent/],
      ['a sender with a space', good.replace(`<sender>${OBSERVATORY}</sender>`, '<sender>Huangpu Observatory</sender>'), /sender/],
      ['no event', good.replace(/<event>[^<]+<\/event>/, ''), /event/],
      ['a polygon of three pairs', good.replace(SOUTH_WEST, '<polygon>23.07,113.41 23.07,113.47 23.07,113.41</polygon>'), /polygon/],
      ['an Update without references', good.replace('<msgType>Alert</msgType>', '<msgType>Update</msgType>'), /references/],
      // What only the XSD sees: element order (xs:sequence), elements it does not declare, typed values.
      ['<sender> before <identifier>', good.replace(/(<identifier>[^<]+<\/identifier>)\s*(<sender>[^<]+<\/sender>)/, '$2$1'), /'sender': This element is not expected/],
      ['an element CAP does not declare', good.replace('<scope>Public</scope>', '<scope>Public</scope><priority>1</priority>'), /'priority': This element is not expected/],
      ['a resource size that is not an integer', good.replace('<area>', '<resource><resourceDesc>图</resourceDesc><mimeType>image/png</mimeType><size>大</size></resource><area>'), /'size'.*integer/],
      // What only the specification's text says (capProseRules).
      ['a Restricted scope without <restriction>', good.replace('<scope>Public</scope>', '<scope>Restricted</scope>'), /restriction.*§3\.2\.1/],
      ['a circle without its radius', good.replace(SOUTH_WEST, '<circle>23.07,113.41</circle>'), /circle.*§3\.2\.4/],
      ['a polygon that is not closed', good.replace(SOUTH_WEST, '<polygon>23.07,113.41 23.07,113.47 23.10,113.47 23.10,113.41</polygon>'), /first and last/],
      ['a root that is not <alert>', good.replace(/<alert /, '<warning ').replace('</alert>', '</warning>'), /'warning'.*validation root/],
    ];
    for (const [name, xml, reason] of cases) {
      const refused = refusal(xml);
      expect([name, refused.code]).toEqual([name, 'schema']);
      expect(refused.message).toMatch(reason);
    }
  });

  it('turns a typhoon alert into a warning for the streets its polygon covers, with colour and response level', () => {
    const xml = capSample({
      identifier: 'TY-1',
      sent: now,
      hazard: 'typhoon',
      colour: '橙色',
      severity: 'Severe',
      area: SOUTH_WEST,
      description: '今年第5号台风将于今晚在珠江口登陆，区三防指挥部启动防风Ⅲ级应急响应。',
    });
    const plan = capPlan(parseCap(xml), places, now);
    expect(plan).toMatchObject({
      kind: 'warnings',
      lift: [],
      issue: { warningId: capWarningId(OBSERVATORY, 'TY-1'), action: 'ISSUE', hazard: 'TYPHOON', signal: 'ORANGE', responseLevel: 'III', areas: ['changzhou', 'lianhe'] },
    });
    // The same sender and identifier are the same warning; another sender's same identifier is not.
    expect(capWarningId(OBSERVATORY, 'TY-1')).toBe(capWarningId(OBSERVATORY, 'TY-1'));
    expect(capWarningId('44010041600000', 'TY-1')).not.toBe(capWarningId(OBSERVATORY, 'TY-1'));
  });

  it('finds streets by circle and by geocode, and skips an area outside the district', () => {
    // A 3 km circle around a point of 萝岗街 (lat,lon radius) reaches 联和街 and 鱼珠街 beside it.
    const circle = capSample({ identifier: 'RS-1', sent: now, hazard: 'rainstorm', colour: '黄色', severity: 'Moderate', area: '<circle>23.10,113.50 3</circle>' });
    const byCircle = capPlan(parseCap(circle), places, now);
    expect(byCircle.kind === 'warnings' && byCircle.issue?.areas).toEqual(['lianhe', 'luogang', 'yuzhu']);
    expect(byCircle.kind === 'warnings' && byCircle.issue?.signal).toBe('YELLOW');
    const geocode = capSample({ identifier: 'RS-2', sent: now, hazard: 'rainstorm', colour: '红色', severity: 'Extreme', area: '<geocode><valueName>行政区划代码</valueName><value>440112</value></geocode>' });
    const byGeocode = capPlan(parseCap(geocode), places, now);
    expect(byGeocode.kind === 'warnings' && byGeocode.issue?.areas).toHaveLength(8);
    const elsewhere = capSample({ identifier: 'RS-3', sent: now, hazard: 'rainstorm', colour: '红色', severity: 'Extreme', area: '<circle>39.90,116.40 5</circle>' });
    expect(capPlan(parseCap(elsewhere), places, now)).toMatchObject({ kind: 'skip', reason: expect.stringMatching(/none of the district/) });
  });

  it('Update replaces what it references, Cancel lifts it, Test and Exercise stay off live orders, an expired warning orders nothing', () => {
    const alertSent = minutes(-30);
    const update = capSample({
      identifier: 'TY-2',
      msgType: 'Update',
      sent: now,
      references: [['TY-1', alertSent]],
      hazard: 'typhoon',
      colour: '红色',
      severity: 'Extreme',
      area: '<geocode><valueName>行政区划代码</valueName><value>440112</value></geocode>',
    });
    const updated = capPlan(parseCap(update), places, now);
    expect(updated).toMatchObject({
      kind: 'warnings',
      issue: { warningId: capWarningId(OBSERVATORY, 'TY-2'), signal: 'RED' },
      lift: [{ warningId: capWarningId(OBSERVATORY, 'TY-1'), action: 'LIFT', issuedAt: second(alertSent), liftedAt: second(now) }],
    });
    const cancel = capSample({ identifier: 'TY-3', msgType: 'Cancel', sent: now, references: [['TY-2', now]], hazard: 'typhoon', colour: '红色', severity: 'Extreme', area: SOUTH_WEST });
    const cancelled = capPlan(parseCap(cancel), places, now);
    expect(cancelled).toMatchObject({ kind: 'warnings', lift: [{ warningId: capWarningId(OBSERVATORY, 'TY-2') }] });
    expect(cancelled.kind === 'warnings' && cancelled.issue).toBeUndefined();
    for (const status of ['Test', 'Exercise'] as const) {
      const drill = capSample({ identifier: `DR-${status}`, status, sent: now, hazard: 'rainstorm', colour: '红色', severity: 'Extreme', area: SOUTH_WEST });
      expect(capPlan(parseCap(drill), places, now)).toMatchObject({ kind: 'skip', reason: expect.stringContaining(status) });
    }
    const expired = capSample({ identifier: 'RS-9', sent: minutes(-120), expires: minutes(-1), hazard: 'rainstorm', colour: '黄色', severity: 'Moderate', area: SOUTH_WEST });
    expect(capPlan(parseCap(expired), places, now)).toEqual({ kind: 'warnings', lift: [] });
    const expiring = capSample({ identifier: 'RS-10', sent: now, expires: minutes(90), hazard: 'rainstorm', colour: '黄色', severity: 'Moderate', area: SOUTH_WEST });
    const timed = capPlan(parseCap(expiring), places, now);
    expect(timed.kind === 'warnings' && timed.expiresAt?.toISOString()).toBe(second(minutes(90)));
  });

  it('writes the hub’s alerts as CAP 1.2 that passes the same schema: a warning as Alert, its lifting as Cancel referencing it', () => {
    const issuedAt = minutes(-10).toISOString();
    const warning = {
      eventId: 'SF-W-1:issued',
      alertId: 'SF-W-1',
      kind: 'WARNING' as const,
      hazard: 'RAINSTORM' as const,
      colour: 'RED' as const,
      title: '黄埔区暴雨红色预警 <&> "测试"',
      areaUnitIds: ['changzhou', 'lianhe'],
      inspectBy: minutes(50).toISOString(),
      occurredAt: issuedAt,
    };
    const alert = parseCap(capOfAlert(warning, 'huying-huangpu'));
    expect(alert).toMatchObject({ sender: 'huying-huangpu', msgType: 'Alert', status: 'Actual', info: [{ severity: 'Extreme', headline: '黄埔区暴雨红色预警 <&> "测试"' }] });
    const lifted = parseCap(capOfAlert({ ...warning, eventId: 'SF-W-1:lifted', kind: 'WARNING_LIFTED', occurredAt: now.toISOString() }, 'huying-huangpu', issuedAt));
    expect(lifted.msgType).toBe('Cancel');
    expect(lifted.references).toBe(`huying-huangpu,${alert.identifier},${alert.sent}`);
    const incident = parseCap(
      capOfAlert({ eventId: 'SF-I-1:reported', alertId: 'SF-I-1', kind: 'INCIDENT', title: '水浸点', areaUnitIds: ['changzhou'], location: { lng: 113.41, lat: 23.07 }, occurredAt: issuedAt }, 'huying-huangpu'),
    );
    expect(incident.info?.[0]?.area?.[0]?.circle).toEqual(['23.07,113.41 0.01']);
  });
});

describe('CAP expiry clock', () => {
  const warning = (warningId: string): WarningRecord => ({ warningId, action: 'ISSUE', hazard: 'RAINSTORM', signal: 'YELLOW', areas: ['changzhou'], issuedAt: now.toISOString() });

  it('lifts at the expiry, not before; a cancelled one never; a lifting that fails is tried again until it goes out; nothing after stop', async () => {
    vi.useFakeTimers({ now });
    try {
      const lifted: Array<[string, number]> = [];
      let failures = 1;
      const failed: string[] = [];
      const clock = new ExpiryClock(
        async (w, expiredAt) => {
          if (w.warningId === 'W-FLAKY' && failures-- > 0) throw new Error('kafka away');
          lifted.push([w.warningId, expiredAt.getTime() - now.getTime()]);
        },
        (id) => failed.push(id),
      );
      clock.at(warning('W-1'), minutes(30));
      clock.at(warning('W-2'), minutes(10));
      clock.at(warning('W-FLAKY'), minutes(20));
      clock.cancel('W-2');
      await vi.advanceTimersByTimeAsync(20 * 60_000 - 1);
      expect([lifted, failed]).toEqual([[], []]);
      await vi.advanceTimersByTimeAsync(1);
      expect([lifted, failed]).toEqual([[], ['W-FLAKY']]);
      // Tried again: it goes out with its own expiry.
      await vi.advanceTimersByTimeAsync(EXPIRY_RETRY_MS);
      expect(lifted).toEqual([['W-FLAKY', 20 * 60_000]]);
      await vi.advanceTimersByTimeAsync(10 * 60_000);
      // W-1 at its expiry; the cancelled W-2 never.
      expect(lifted).toEqual([
        ['W-FLAKY', 20 * 60_000],
        ['W-1', 30 * 60_000],
      ]);
      expect(clock.waiting).toEqual([]);
      clock.at(warning('W-3'), minutes(60));
      clock.stop();
      await vi.advanceTimersByTimeAsync(120 * 60_000);
      expect(lifted.map(([id]) => id)).toEqual(['W-FLAKY', 'W-1']);
    } finally {
      vi.useRealTimers();
    }
  });
});
