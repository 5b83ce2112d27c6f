#!/usr/bin/env node
// The `planexec` bin. Kept apart from main.ts so importing main never starts a server. The stdout
// guard goes first, and main (with the libraries it loads) only after it, so nothing can print on
// the MCP channel. (esbuild hoists the bundle's external imports, pino and better-sqlite3, above
// this; they print nothing when loaded.)
import { guardStdout } from './stdout-guard.js';

guardStdout();
const { main } = await import('./main.js');
void main();
