// Every Kafka topic the hub uses, in one place. Services prefix them with TOPIC_PREFIX (topicName).
export const TOPICS = {
  /** Normalized intake commands from every connector to the calls subgraph. */
  intake: 'hub.intake',
  /** Every call state change, keyed by call id. */
  callEvents: 'hub.call-events',
  /** Every change of a top-down order (令), keyed by order id. */
  orderEvents: 'hub.order-events',
  /** The unit directory (party-map), compacted, keyed by unit id. */
  units: 'hub.units',
  /** Compact dashboard counter updates from the evaluation subgraph. */
  counters: 'hub.counters',
  /** 三防 alerts for dashboards (warnings raised and lifted, incidents), keyed by alert id. */
  alerts: 'hub.alerts',
  /** The same alerts as OASIS CAP 1.2 XML documents, for broadcasters downstream, keyed by alert id. */
  alertsCap: 'hub.alerts.cap',
  /** Every CAP document the 三防 connector took (scrubbed), with what it made of it; compacted, keyed by sender and identifier. */
  capReceived: 'hub.cap-received',
  /** CAP warnings waiting for their `expires`, and those no longer waiting (connectors/sanfang/expiries.ts); compacted, keyed by warning id. */
  capExpiries: 'hub.cap-expiries',
  /** 12345 hotline work orders and their updates, in the hotline's own layout. */
  hotlineOrders: 'src.12345.orders',
  /** Handling results written back to the 12345 hotline (办理结果). */
  hotlineFeedback: 'src.12345.feedback',
  /** 三防 flood-prevention warnings and incidents. */
  floodWarnings: 'src.sanfang.warnings',
  floodIncidents: 'src.sanfang.incidents',
  /** 信访 petitions and their progress. */
  petitions: 'src.xinfang.petitions',
  /** Replies written back to the petition platform. */
  petitionFeedback: 'src.xinfang.feedback',
  /** Audit (#18): signed Merkle roots over the audited topics' partitions (platform/audit/checkpoints.ts), compacted. */
  checkpoints: 'hub.checkpoints',
} as const;

export type TopicKey = keyof typeof TOPICS;
