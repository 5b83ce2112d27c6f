// Who asks for a workflow: the name planexec records on a workflow it creates (Workflow.requester),
// and the name workflow_status {requester} lists and totals by. The rule, first that applies:
// 1. over HTTP with a token, the token's name (the HTTP server puts it in the request's
//    authInfo.clientId): who holds which token is the one thing the server can tell apart;
// 2. PLANEXEC_REQUESTER, when set: a name for the user of this server (a stdio server has one);
// 3. the name the MCP client declared when it connected (initialize's clientInfo.name, e.g.
//    "claude-code"); null when it declared none.
// Names 2 and 3 are what the user or the client say of themselves, not an identity check: they
// group the ledger, they guard nothing. A name is trimmed and cut to REQUESTER_CHARS characters.
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';

/** The longest requester name kept, in characters (the list shows it whole: bound.ts never cuts 64 bytes). */
export const REQUESTER_CHARS = 64;

/** The part of a request's `extra` the rule reads: the SDK's AuthInfo, set by the HTTP transport. */
export interface RequesterExtra {
  authInfo?: { clientId?: string | undefined } | undefined;
}

/**
 * The requester of one request by the rule above: `extra`'s token name, else `configured`
 * (PLANEXEC_REQUESTER), else the client name `server` was told at initialize. Null when none is known.
 */
export function requesterOf(server: Server, extra: RequesterExtra, configured: string | null): string | null {
  return name(extra.authInfo?.clientId) ?? name(configured) ?? name(server.getClientVersion()?.name);
}

function name(value: string | null | undefined): string | null {
  const text = value?.trim();
  return text ? [...text].slice(0, REQUESTER_CHARS).join('') : null;
}
