// Which base URLs count as local (the cost rule of local chat models) and which are OpenAI's own.
import { describe, expect, it } from 'vitest';
import { isOpenAIEndpoint, isPrivateEndpoint } from '../../src/adapters/openai/sdk-client.js';

describe('isPrivateEndpoint', () => {
  it('takes localhost, loopback, private, link-local and CGNAT addresses as local', async () => {
    for (const url of [
      'http://localhost:11434/v1',
      'http://LOCALHOST:1234/v1',
      'http://ollama.localhost/v1',
      'http://127.0.0.1:11434/v1',
      'http://127.8.9.10/v1',
      'http://[::1]:8000/v1',
      'http://10.1.2.3:8000/v1',
      'http://172.16.0.5/v1',
      'http://172.31.255.255/v1',
      'http://192.168.1.20:1234/v1',
      'http://169.254.1.1/v1',
      'http://100.64.0.1/v1',
      'http://[fd12:3456::1]/v1',
      'http://[fe80::1]/v1',
      'http://0.0.0.0:11434/v1',
    ]) {
      expect(isPrivateEndpoint(url), url).toBe(true);
    }
  });

  it('takes public addresses, host names it would have to resolve, OpenAI and no URL as not local', async () => {
    for (const url of [undefined, 'https://api.openai.com/v1', 'https://openrouter.ai/api/v1', 'http://ollama:11434/v1', 'http://gpu-box.lan/v1', 'http://8.8.8.8/v1', 'http://172.32.0.1/v1', 'http://[2001:db8::1]/v1', 'not a url']) {
      expect(isPrivateEndpoint(url), String(url)).toBe(false);
    }
  });
});

describe('isOpenAIEndpoint', () => {
  it('is true for no base URL and api.openai.com only', async () => {
    expect(isOpenAIEndpoint(undefined)).toBe(true);
    expect(isOpenAIEndpoint('https://api.openai.com/v1')).toBe(true);
    expect(isOpenAIEndpoint('http://localhost:11434/v1')).toBe(false);
  });
});
