import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { logLevel } from 'kafkajs';
import { kafkaLogLevel } from './kafka.ts';
import { createLogger } from './logger.ts';
import { maskIdNumber, maskName, maskPhone, scrubText } from './personal-data.ts';

function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { logger: createLogger('test', 'info', stream), lines };
}

describe('personal data in logs', () => {
  it('redacts personal keys at any of the first three levels', () => {
    const { logger, lines } = capture();
    logger.info(
      {
        phone: '13812345678',
        call: { callerName: '陈大文', callerPhone: '13912345678', title: '施工噪音扰民' },
        order: { caller: { name: '陈大文', idNumber: '44011219900101123X' } },
      },
      'work order received',
    );
    const line = lines.join('');
    expect(line).not.toContain('13812345678');
    expect(line).not.toContain('13912345678');
    expect(line).not.toContain('陈大文');
    expect(line).not.toContain('44011219900101123X');
    expect(line).toContain('施工噪音扰民');
    expect(JSON.parse(line).call.callerName).toBe('[redacted]');
  });

  it('masks phone and ID numbers inside messages and errors', () => {
    const { logger, lines } = capture();
    logger.warn('caller 13812345678 (ID 440112199001011234) rang again');
    logger.error({ err: new Error('duplicate caller 13812345678') }, 'intake failed');
    const text = lines.join('');
    expect(text).toContain('caller 138****5678 (ID 4401**********1234) rang again');
    expect(text).not.toContain('13812345678');
  });

  it('logs only the path of a request, never its query string', () => {
    const { logger, lines } = capture();
    logger.info(
      { req: { id: 'r1', method: 'GET', url: '/graphql?variables={"phone":"13812345678"}' } },
      'request',
    );
    expect(JSON.parse(lines[0] ?? '{}').req).toEqual({ id: 'r1', method: 'GET', path: '/graphql' });
  });
});

describe('masking', () => {
  it('keeps only what identifies nobody', () => {
    expect(maskPhone('13812345678')).toBe('138****5678');
    expect(maskPhone('+86 138-1234-5678')).toBe('138****5678');
    expect(maskName('张三丰')).toBe('张**');
    expect(maskName('李')).toBe('李*');
    expect(maskIdNumber('44011219900101123X')).toBe('4401**********123X');
    expect(scrubText('联系人电话13812345678，订单号 20260619000123')).toBe(
      '联系人电话138****5678，订单号 20260619000123',
    );
  });
});

describe('kafkajs log levels', () => {
  it('logs the broker error responses kafkajs retries as warnings, and keeps its own errors', () => {
    expect(kafkaLogLevel(logLevel.ERROR, 'Response Heartbeat(key: 12, version: 3)')).toBe('warn');
    expect(kafkaLogLevel(logLevel.ERROR, 'Response GroupCoordinator(key: 10, version: 2)')).toBe('warn');
    expect(kafkaLogLevel(logLevel.ERROR, 'Crash: KafkaJSNumberOfRetriesExceeded: Connection error')).toBe('error');
    expect(kafkaLogLevel(logLevel.WARN, 'The group is rebalancing, re-joining')).toBe('warn');
    expect(kafkaLogLevel(logLevel.INFO, 'Consumer has joined the group')).toBe('info');
  });
});
