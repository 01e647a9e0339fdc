// What each typed error code of the API means to a person, and what to do about it
// (codes: graph/errors.py, api/safety.py, graph/marketing.py, graph/blobs.py, jobs/, ml/).
import { GqlError } from "../gql/client";

export const ERROR_MESSAGES: Record<string, string> = {
  INVALID_ADDRESS: "That is not a wallet address: expected 0x followed by 40 hex digits (mixed case must be a valid EIP-55 checksum).",
  NOT_FOUND: "Not found: the graph has no such wallet, job, segment or campaign.",
  UNAUTHENTICATED: "This needs a valid API key. Enter one under “API key” (it stays in this tab only).",
  FORBIDDEN: "Your API key may not do this.",
  RATE_LIMITED: "Too many requests: the API asks to slow down. Try again in a moment.",
  QUERY_TOO_COMPLEX: "The request is over the API's limits (page size, depth or number of addresses). Ask for less.",
  REQUEST_TOO_LARGE: "The request is too large for the API. Send fewer addresses at once.",
  BAD_USER_INPUT: "The API refused an input value.",
  GRAPHQL_PARSE_FAILED: "The app sent a request the API could not parse (a bug in the app).",
  GRAPHQL_VALIDATION_FAILED: "The app asked for something this API version does not have (app and API out of step).",
  ANALYSIS_UNAVAILABLE: "The server has no analyzer to run analyses with (ml/ is not installed or failed to load).",
  GRAPH_UNAVAILABLE: "The graph database is unreachable. Check that it is running (aidrop status).",
  EMBEDDED_SERVER: "The embedded graph server failed. See the server log.",
  MARKETING: "The segment or campaign request cannot be done as asked.",
  CONFLICT: "Someone else is doing this right now (a snapshot being taken). Try again shortly.",
  BLOB_STORE: "The blob store refused the file.",
  BLOB_STORE_UNAVAILABLE: "The blob store (profile images, reports) is unreachable.",
  IMAGE_API_UNAVAILABLE: "The image API is unreachable; the analysis will retry.",
  IMAGE_API_REFUSED: "The image API refused the prompt; a local avatar is used instead.",
  NO_RPC_NODE: "No RPC node is configured (AIDROP_RPC_URL), so the chain cannot be read.",
  INTERNAL: "The server failed unexpectedly. Its log has the details.",
  INTERNAL_SERVER_ERROR: "The server failed unexpectedly. Its log has the details.",
  NETWORK: "The API did not answer. Is `aidrop serve` running?",
};

/** Headline and detail for an error: the code's meaning and the API's own message. */
export function describeError(error: unknown): { code: string; title: string; detail: string } {
  if (error instanceof GqlError) {
    const title = ERROR_MESSAGES[error.code] ?? `The API answered with an error (${error.code}).`;
    let detail = error.message;
    if (error.code === "RATE_LIMITED" && error.retryAfter) detail += ` (retry after ${error.retryAfter} s)`;
    return { code: error.code, title, detail };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { code: "CLIENT", title: "Something went wrong in the app.", detail: message };
}
