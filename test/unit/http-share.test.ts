// requesterShare (src/mcp/http.ts): how many of the HTTP server's sessions one requester may hold.
import { describe, expect, it } from 'vitest';
import { DEFAULT_MAX_SESSIONS, MIN_REQUESTER_SHARE, requesterShare } from '../../src/mcp/http.js';

describe('requesterShare', () => {
  it('gives every session to a lone requester, or when no token names one', () => {
    expect(requesterShare(DEFAULT_MAX_SESSIONS, 0)).toBe(64);
    expect(requesterShare(DEFAULT_MAX_SESSIONS, 1)).toBe(64);
  });

  it('splits the sessions evenly, rounding down so that the shares fit in the cap', () => {
    expect(requesterShare(64, 2)).toBe(32);
    expect(requesterShare(64, 3)).toBe(21);
    expect(requesterShare(64, 16)).toBe(4);
    for (let n = 2; n <= 64 / MIN_REQUESTER_SHARE; n++) expect(n * requesterShare(64, n)).toBeLessThanOrEqual(64);
  });

  it('never gives less than MIN_REQUESTER_SHARE, nor more than the cap', () => {
    expect(requesterShare(64, 17)).toBe(MIN_REQUESTER_SHARE);
    expect(requesterShare(64, 500)).toBe(MIN_REQUESTER_SHARE);
    expect(requesterShare(2, 3)).toBe(2);
  });
});
