/**
 * Prometheus text for the open volumes (appended to the appliance's `/metrics`).
 *
 * @module
 */
import { formatSeries, type Series } from "../prometheus.ts";
import type { VolumeStats } from "./volume.ts";

const SERIES: Series<VolumeStats>[] = [
  ["blockdev_dirty_bytes", "gauge", "Unflushed bytes held by the write-back cache", (s) => s.dirtyBytes],
  ["blockdev_dirty_chunks", "gauge", "Chunks with unflushed writes", (s) => s.dirtyChunks],
  ["blockdev_journal_bytes", "gauge", "Size of the local write-ahead journal", (s) => s.journalBytes],
  ["blockdev_journal_syncs_total", "counter", "fdatasync calls of the journal (group commits)", (s) => s.journalSyncs],
  ["blockdev_cache_hits_total", "counter", "Chunk reads served by the read cache", (s) => s.cacheHits],
  ["blockdev_cache_misses_total", "counter", "Chunk reads that missed the read cache", (s) => s.cacheMisses],
  ["blockdev_cache_bytes", "gauge", "Bytes held by the read cache", (s) => s.cacheBytes],
  ["blockdev_chunk_downloads_total", "counter", "Chunk objects fetched from the bucket", (s) => s.chunkDownloads],
  ["blockdev_chunk_uploads_total", "counter", "Chunk objects uploaded to the bucket", (s) => s.chunkUploads],
  ["blockdev_upload_bytes_total", "counter", "Bytes uploaded as chunk objects", (s) => s.uploadBytes],
  ["blockdev_chunks_freed_total", "counter", "Chunks deallocated (trimmed or all zeros)", (s) => s.chunksFreed],
  ["blockdev_flush_seconds_sum", "counter", "Time spent in flush rounds", (s) => s.flushSecondsTotal],
  ["blockdev_flush_seconds_count", "counter", "Flush rounds", (s) => s.flushRounds],
  ["blockdev_flush_errors_total", "counter", "Flush rounds that failed", (s) => s.flushErrors],
  ["blockdev_writer_stalls_total", "counter", "Writes that waited for dirty space", (s) => s.writerStalls],
  ["blockdev_allocated_chunks", "gauge", "Chunks in the chunk map", (s) => s.allocatedChunks],
];

export function formatMetrics(volumes: { name: string; stats: VolumeStats }[]): string {
  return formatSeries(SERIES, "volume", volumes.map((v) => ({ name: v.name, value: v.stats })));
}
