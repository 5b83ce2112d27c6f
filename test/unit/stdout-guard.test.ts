import { describe, expect, it } from 'vitest';
import { takeStdoutWrites } from '../support/setup.js';

describe('the stdout guard of the test setup', () => {
  it('records writes to stdout and console.log, which fail the test unless taken', async () => {
    process.stdout.write('{"jsonrpc":"2.0"}\n');
    console.log('hello');
    expect(takeStdoutWrites()).toEqual(['{"jsonrpc":"2.0"}\n', 'hello']);
  });
});
