// Starts the local Kafka and FerretDB for the test run (or reuses ones already running, or the ones
// KAFKA_BROKERS / MONGODB_URI name) and stops again only what it started itself.
import type { TestProject } from 'vitest/node';
import { down, up } from '../../infra/local.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    kafkaBrokers: string;
    mongodbUri: string;
  }
}

export default async function setup(project: TestProject) {
  const say = (line: string) => console.log(`[infra] ${line}`);
  const endpoints = await up(say);
  project.provide('kafkaBrokers', endpoints.kafkaBrokers);
  project.provide('mongodbUri', endpoints.mongodbUri);
  return async () => {
    if (endpoints.started.length > 0) await down(say, endpoints.started);
  };
}
