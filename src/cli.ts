#!/usr/bin/env node
// The `planexec` bin. Kept apart from main.ts so importing main never starts a server.
import { main } from './main.js';

void main();
