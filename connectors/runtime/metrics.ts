// The connectors' Prometheus metrics, on the service's registry (/metrics).
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface ConnectorMetrics {
  records: Counter<'pipeline' | 'topic' | 'outcome'>;
  published: Counter<'pipeline' | 'topic'>;
  retries: Counter<'pipeline' | 'topic'>;
  deadLetters: Counter<'pipeline' | 'topic' | 'reason'>;
  lag: Gauge<'pipeline' | 'topic' | 'partition'>;
  batchSeconds: Histogram<'pipeline' | 'topic'>;
}

export function connectorMetrics(registry: Registry): ConnectorMetrics {
  const registers = [registry];
  return {
    records: new Counter({
      name: 'huying_connector_records_total',
      help: 'Source records handled, by outcome (processed, skipped, dead_lettered)',
      labelNames: ['pipeline', 'topic', 'outcome'],
      registers,
    }),
    published: new Counter({
      name: 'huying_connector_published_total',
      help: 'Messages published (intake commands, alerts, feedback, dead letters), by destination topic',
      labelNames: ['pipeline', 'topic'],
      registers,
    }),
    retries: new Counter({
      name: 'huying_connector_retries_total',
      help: 'Retries of a record or of a publish after an unexpected failure',
      labelNames: ['pipeline', 'topic'],
      registers,
    }),
    deadLetters: new Counter({
      name: 'huying_connector_dead_letters_total',
      help: 'Records sent to their dead-letter topic, by reason code',
      labelNames: ['pipeline', 'topic', 'reason'],
      registers,
    }),
    lag: new Gauge({
      name: 'huying_connector_lag_records',
      help: 'Records behind the end of the partition after the last committed batch',
      labelNames: ['pipeline', 'topic', 'partition'],
      registers,
    }),
    batchSeconds: new Histogram({
      name: 'huying_connector_batch_duration_seconds',
      help: 'Time to map, publish and commit one batch',
      labelNames: ['pipeline', 'topic'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
  };
}
