// The redactor every way out of planexec shares (src/adapters/redact.ts), and how the MCP layer
// applies it to the messages it sends (src/mcp/redact.ts).
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
import { redactSecrets, secretRedactor } from '../../src/adapters/redact.js';
import { redactMessage, redactStrings } from '../../src/mcp/redact.js';

describe('redactSecrets', () => {
  it('masks the longer of two overlapping secrets whole, whatever order they are given in', async () => {
    expect(redactSecrets('key abcd1234efgh5678 and abcd1234', ['abcd1234', 'abcd1234efgh5678'])).toBe('key [redacted] and [redacted]');
  });

  it('masks a password in a URL but keeps a bare user name', async () => {
    expect(redactSecrets('could not reach https://me:hunter2@proxy.example/v1 or ssh://git@github.com/x')).toBe(
      'could not reach https://[redacted]@proxy.example/v1 or ssh://git@github.com/x',
    );
  });

  it('keeps prose and code that builds a Bearer header intact', async () => {
    for (const text of ['Use Bearer authentication.', 'headers: { Authorization: `Bearer ${token}` }', "'Bearer ' + token"]) {
      expect(redactSecrets(text)).toBe(text);
    }
  });

  it('masks a Bearer credential of letters and digits, with its padding', async () => {
    expect(redactSecrets('Authorization: Bearer dGVzdDEyMzQ1Njc4OQ==')).toBe('Authorization: Bearer [redacted]');
  });
});

describe('secretRedactor', () => {
  it('masks a secret also in its JSON-escaped form, as it appears in a JSON log line', async () => {
    const secret = 'pa"ss\\word-123';
    const redact = secretRedactor([secret]);
    expect(redact(JSON.stringify({ msg: `refused ${secret}` }))).toBe('{"msg":"refused [redacted]"}');
    expect(redact(`refused ${secret}`)).toBe('refused [redacted]');
  });

  it('ignores values too short to mask safely', async () => {
    expect(secretRedactor(['abc'])('abc abc')).toBe('abc abc');
  });
});

describe('redactMessage', () => {
  const redact = (text: string) => text.split('azkey-0123').join('[redacted]');

  it('masks every string of a result at any depth and keeps the envelope and progress tokens', async () => {
    const message = {
      jsonrpc: '2.0',
      id: 7,
      result: { content: [{ type: 'text', text: 'key azkey-0123' }], structuredContent: { a: { b: ['azkey-0123', 3, null, true] } }, isError: true },
    } as JSONRPCMessage;
    expect(redactMessage(message, redact)).toEqual({
      jsonrpc: '2.0',
      id: 7,
      result: { content: [{ type: 'text', text: 'key [redacted]' }], structuredContent: { a: { b: ['[redacted]', 3, null, true] } }, isError: true },
    });
    const progress = { jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 'azkey-0123', progress: 1, message: 'azkey-0123' } } as JSONRPCMessage;
    expect(redactMessage(progress, redact)).toEqual({ jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 'azkey-0123', progress: 1, message: '[redacted]' } });
  });

  it('does not change the message it is given', async () => {
    const value = { text: 'azkey-0123' };
    expect(redactStrings(value, redact)).toEqual({ text: '[redacted]' });
    expect(value).toEqual({ text: 'azkey-0123' });
  });
});
