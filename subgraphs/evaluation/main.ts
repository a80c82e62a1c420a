// The evaluation subgraph (考核评价): `node --import tsx scripts/service.ts evaluation`.
import { loadConfig } from '../../platform/config.ts';
import { evaluationConfig, startEvaluation } from './app.ts';

export async function main(): Promise<void> {
  const app = await startEvaluation(loadConfig(evaluationConfig));
  app.service.handleSignals();
}
