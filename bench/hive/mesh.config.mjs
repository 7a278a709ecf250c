// GraphQL Mesh composition of the gateway's REST path, as a user of Hive Gateway would write it:
// the OpenAPI document as served, calls to the same gateway with an API key. bench/peer.py
// copies this file next to the installed packages and sets the three variables.
import { defineConfig } from '@graphql-mesh/compose-cli';
import { loadOpenAPISubgraph } from '@omnigraph/openapi';

export const composeConfig = defineConfig({
  subgraphs: [
    {
      sourceHandler: loadOpenAPISubgraph('Gateway', {
        source: process.env.PEER_OPENAPI_URL,
        endpoint: process.env.PEER_ENDPOINT,
        operationHeaders: { Authorization: `Bearer ${process.env.PEER_API_KEY}` },
      }),
    },
  ],
});
