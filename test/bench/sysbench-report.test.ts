import { describe, expect, it } from 'vitest';
import { parseHistogram, parseSysbenchReport, percentile, sysbenchArgs } from '../../bench/src/sysbench.js';

/** What Debian's sysbench 1.0.20 prints for `--histogram=on --percentile=99 run` (buckets trimmed). */
const REPORT = `sysbench 1.0.20 (using system LuaJIT 2.1.0-beta3)

Running the test with following options:
Number of threads: 2
Initializing random number generator from current time


Initializing worker threads...

Threads started!

Latency histogram (values are in milliseconds)
       value  ------------- distribution ------------- count
       0.068 |                                         3
       0.070 |****                                     47
       0.073 |****************************************  400
       0.081 |****                                     40
       0.180 |*                                        9
       6.460 |                                         1
 
SQL statistics:
    queries performed:
        read:                            500
        write:                           0
        other:                           0
        total:                           500
    transactions:                        500  (249.75 per sec.)
    queries:                             502  (250.75 per sec.)
    ignored errors:                      0      (0.00 per sec.)
    reconnects:                          0      (0.00 per sec.)

General statistics:
    total time:                          2.0020s
    total number of events:              500

Latency (ms):
         min:                                    0.06
         avg:                                    0.08
         max:                                    6.46
         99th percentile:                        0.18
         sum:                                  3977.68

Threads fairness:
    events (avg/stddev):           250.0000/1.00
    execution time (avg/stddev):   1.9888/0.00
`;

describe('sysbench report', () => {
  it('reads events, queries and rates over the total time', () => {
    const report = parseSysbenchReport(REPORT);
    expect(report).toMatchObject({ events: 500, queries: 502, errors: 0, seconds: 2.002 });
    expect(report.eventsPerSecond).toBeCloseTo(500 / 2.002, 6);
    expect(report.queriesPerSecond).toBeCloseTo(502 / 2.002, 6);
  });

  it('takes p50, p95 and p99 from the histogram, and the maximum from the summary', () => {
    expect(parseSysbenchReport(REPORT).latencyMs).toEqual({ p50: 0.073, p95: 0.081, p99: 0.18, max: 6.46 });
  });

  it('reads every histogram bucket and nothing after it', () => {
    const buckets = parseHistogram(REPORT);
    expect(buckets).toHaveLength(6);
    expect(buckets[0]).toEqual({ valueMs: 0.068, count: 3 });
    expect(buckets.reduce((sum, bucket) => sum + bucket.count, 0)).toBe(500);
  });

  it('refuses a report without a histogram, naming the option that prints it', () => {
    expect(() => parseSysbenchReport(REPORT.replace(/Latency histogram[\s\S]*?\n \n/, ''))).toThrow(/--histogram=on/);
  });

  it('refuses a run with no events', () => {
    expect(() => parseSysbenchReport(REPORT.replace('total number of events:              500', 'total number of events:              0'))).toThrow(
      /no events/,
    );
  });
});

describe('percentile', () => {
  const buckets = [
    { valueMs: 1, count: 50 },
    { valueMs: 2, count: 45 },
    { valueMs: 3, count: 4 },
    { valueMs: 9, count: 1 },
  ];

  it('is the first bucket whose cumulative count reaches the share', () => {
    expect(percentile(buckets, 50)).toBe(1);
    expect(percentile(buckets, 51)).toBe(2);
    expect(percentile(buckets, 95)).toBe(2);
    expect(percentile(buckets, 99)).toBe(3);
    expect(percentile(buckets, 100)).toBe(9);
  });
});

describe('sysbench command line', () => {
  const base = {
    sysbench: '/usr/bin/sysbench',
    workload: 'point_ps' as const,
    port: 3307,
    user: 'calvin',
    password: 'calvin',
    database: 'calvindb',
    threads: 32,
    libraryKey: 'bench',
    tableSize: 10_000,
  };

  it('limits a run by time, or by events when a number of events is given', () => {
    expect(sysbenchArgs({ ...base, seconds: 4 })).toEqual(expect.arrayContaining(['--time=4', '--events=0']));
    expect(sysbenchArgs({ ...base, events: 400 })).toEqual(expect.arrayContaining(['--events=400', '--time=0']));
  });

  it('passes the workload, the routing key prefix and the histogram switch to the Lua script', () => {
    const args = sysbenchArgs({ ...base, seconds: 1 });
    expect(args[0]).toMatch(/bench\/lua\/mysqlda\.lua$/);
    expect(args).toEqual(expect.arrayContaining(['--workload=point_ps', '--library-key=bench', '--threads=32', '--histogram=on', 'run']));
  });
});
