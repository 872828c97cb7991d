/**
 * What each inference bench script measured, as data: every measurement with the configuration it ran
 * under, so the README's tables are rendered from a results file (readme-tables.ts) instead of copied.
 * Each script writes bench/results/inference-<part>-<time>.json when it ends.
 */
import * as os from 'node:os';
import * as ort from 'onnxruntime-node';
import { writeResults } from '../measure';
import type { Measure } from './load';

export type Part = 'bench' | 'peers' | 'listeners' | 'grpc';

/** One measurement: who answered, under which load, and what the load generator and /proc saw. */
export interface Sample extends Measure {
  /** The server and its configuration, e.g. `mlops serve`, `MLServer`, `on (max 32)`. */
  server: string;
  model: string;
  /** The request shape, e.g. `v2`, `v2 tensor`, `invocations`, `gRPC`. */
  target: string;
  rows: number;
  clients: number;
  round: number;
  /** `mlops serve --listeners` and `--workers` where the part varies them. */
  listeners?: number;
  workers?: number;
  /** Closed loop (clients wait for their answer) or open loop at `rate` req/s. */
  loop: 'closed' | 'open';
  rate?: number;
}

export interface PartResults {
  part: Part;
  date: string;
  cpus: number;
  cpuModel: string;
  node: string;
  onnxruntime: string;
  loadavgAtStart: number[];
  loadavgAtEnd: number[];
  seconds: number;
  /** Named single figures: in-process rates. */
  figures: Record<string, number>;
  /** What was not measured, and why (a peer that did not install or start). */
  skipped: Record<string, string>;
  samples: Sample[];
}

export class Recorder {
  private readonly samples: Sample[] = [];
  private readonly figures: Record<string, number> = {};
  private readonly skipped: Record<string, string> = {};
  private readonly loadavgAtStart = os.loadavg();

  constructor(
    private readonly part: Part,
    private readonly seconds: number,
  ) {}

  sample(context: Omit<Sample, keyof Measure>, m: Measure): Measure {
    this.samples.push({ ...context, ...m });
    return m;
  }

  figure(name: string, value: number): number {
    this.figures[name] = value;
    return value;
  }

  skip(what: string, reason: string): void {
    this.skipped[what] = reason;
  }

  /** Writes bench/results/inference-<part>-<time>.json and returns its path. */
  write(): string {
    const doc: Omit<PartResults, 'date' | 'cpus' | 'loadavgAtEnd'> = {
      part: this.part,
      cpuModel: os.cpus()[0]?.model ?? '?',
      node: process.version,
      onnxruntime: ort.env.versions.node ?? '?',
      loadavgAtStart: this.loadavgAtStart,
      seconds: this.seconds,
      figures: this.figures,
      skipped: this.skipped,
      samples: this.samples,
    };
    return writeResults(`inference-${this.part}`, { ...doc });
  }
}
