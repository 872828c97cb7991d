/**
 * What the scale benchmark measures, as tracking.ts and inference.ts write it to bench/results/ and
 * readme-tables.ts renders it from bench/recorded/scale.json.
 */
import type { Result } from '../tracking/load';

export interface RelationSize {
  table: string;
  totalMiB: number;
  indexesMiB: number;
}

export interface WritePoint {
  /** Points the fill put in, and all points in `metrics` (the fill's plus those earlier measurements logged). */
  filled: number;
  points: number;
  fillSeconds: number;
  results: Result[];
  sizes: RelationSize[];
}

export interface SearchPoint {
  runs: number;
  results: Result[];
}

export interface MemoryPoint {
  weights: number;
  fileBytes: number;
  rssStart: number;
  rssLoaded: number;
  rssIdle: number;
  p50: number;
}
