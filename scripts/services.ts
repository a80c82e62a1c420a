// The hub's services: what `scripts/service.ts <name>` runs, what `npm start` brings up (in this order),
// and the port each listens on by default (DESIGN.md: gateway 4000, subgraphs 4001–4004).
export interface ServiceEntry {
  /** Default PORT. */
  port: number;
  /** What to tell a person to open (default `/graphql`). */
  endpoint?: string;
  /** The module whose `main()` runs the service until SIGTERM. */
  load: () => Promise<{ main: () => Promise<void> }>;
}

export const SERVICES: Record<string, ServiceEntry> = {
  'party-map': { port: 4003, load: () => import('../subgraphs/party-map/main.ts') },
  calls: { port: 4001, load: () => import('../subgraphs/calls/main.ts') },
  evaluation: { port: 4002, load: () => import('../subgraphs/evaluation/main.ts') },
  enterprise: { port: 4004, load: () => import('../subgraphs/enterprise/main.ts') },
  // After calls: it feeds the calls' intake. Health only (no GraphQL; /metrics on port 9005).
  connectors: { port: 4005, endpoint: '/readyz', load: () => import('../connectors/main.ts') },
  // Open311 GeoReport v2, the public port: reports to hub.intake, reads calls back (after calls).
  open311: { port: 4006, endpoint: '/open311/v2/services.json', load: () => import('../connectors/open311/main.ts') },
  // Last: it composes the subgraphs above.
  gateway: { port: 4000, load: () => import('../gateway/main.ts') },
};
