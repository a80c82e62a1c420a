import { afterEach, describe, expect, it, vi } from 'vitest';
import { runAt } from './subscriptions.ts';

describe('runAt (subscription expiry timers)', () => {
  afterEach(() => vi.useRealTimers());

  it('fires at an instant more than 2^31-1 ms (24.8 days) away, not at once', () => {
    vi.useFakeTimers();
    const fired = vi.fn();
    runAt(Date.now() + 29 * 86_400_000, fired);
    vi.advanceTimersByTime(0);
    expect(fired).not.toHaveBeenCalled();
    vi.advanceTimersByTime(28 * 86_400_000);
    expect(fired).not.toHaveBeenCalled();
    vi.advanceTimersByTime(86_400_000);
    expect(fired).toHaveBeenCalledTimes(1);
  });

  it('can be cancelled (the socket closed first)', () => {
    vi.useFakeTimers();
    const fired = vi.fn();
    const cancel = runAt(Date.now() + 40 * 86_400_000, fired);
    vi.advanceTimersByTime(30 * 86_400_000);
    cancel();
    vi.advanceTimersByTime(20 * 86_400_000);
    expect(fired).not.toHaveBeenCalled();
  });
});
