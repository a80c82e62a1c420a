import { describe, expect, it } from 'vitest';
import { MAX_INPUT_DEPTH, variablesProblem } from './input.ts';

// The paths named in refusals are what a client reads to find its bad value.
describe('variablesProblem', () => {
  it('passes clean variables', () => {
    expect(variablesProblem({ input: { title: '龙船饭', tags: ['a', 'b'], n: 3 } })).toBeUndefined();
  });

  it('names the list item and field holding a control character', () => {
    const problem = variablesProblem({ representations: [{ id: 'ok' }, { id: 'bad\u0000' }] });
    expect(problem?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'representations[1].id' });
  });

  it('names a number that is not finite', () => {
    expect(variablesProblem({ input: { lat: Infinity } })?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.lat' });
  });

  it('refuses a control character in a key', () => {
    expect(variablesProblem({ input: { 'a\u0001': 1 } })?.extensions).toMatchObject({ field: 'input' });
  });

  it(`refuses values nested deeper than MAX_INPUT_DEPTH (${MAX_INPUT_DEPTH})`, () => {
    let deep: unknown = 1;
    for (let i = 0; i < 50_000; i++) deep = [deep];
    expect(variablesProblem({ geometry: deep })?.message).toContain(`${MAX_INPUT_DEPTH}`);
    let fits: unknown = 1;
    for (let i = 0; i < MAX_INPUT_DEPTH - 1; i++) fits = [fits];
    expect(variablesProblem({ geometry: fits })).toBeUndefined();
  });
});
