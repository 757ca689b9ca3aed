/**
 * /metrics of a group of workers: each process's series (prom-client's getMetricsAsJSON) merged by prom-client's
 * own cluster aggregation. Counters and session gauges add up; each series says how it merges where adding would
 * lie (`aggregator` on the gauge: server health, key counts).
 */
import { AggregatorRegistry, type Registry } from 'prom-client';
import type { MetricsJson } from '../supervisor/ipc-messages.js';

export async function mergeMetrics(perProcess: readonly MetricsJson[]): Promise<{ text: string; contentType: string }> {
  const merged: Registry = AggregatorRegistry.aggregate(perProcess as MetricsJson[]);
  return { text: await merged.metrics(), contentType: merged.contentType };
}
