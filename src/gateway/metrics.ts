/**
 * Gateway metrics in Prometheus text format: requests by op and status, bytes in/out, latency histograms by
 * op, and requests in flight.
 *
 * @module
 */
import { promLabel } from "../prometheus.ts";

const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

interface Histogram {
  counts: number[];
  sum: number;
  count: number;
}

export interface GatewayMetrics {
  started(): void;
  finished(sample: { op: string; status: number; seconds: number; bytesIn: number; bytesOut: number }): void;
  render(): string;
}

export function createGatewayMetrics(): GatewayMetrics {
  const requests = new Map<string, number>();
  const keys = new Map<string, string>();
  const durations = new Map<string, Histogram>();
  let bytesIn = 0;
  let bytesOut = 0;
  let inFlight = 0;
  return {
    started() {
      inFlight++;
    },
    finished(s) {
      inFlight--;
      // Labels are escaped once per op and status, not per request.
      const id = `${s.op} ${s.status}`;
      let key = keys.get(id);
      if (key === undefined) keys.set(id, key = `op="${promLabel(s.op)}",status="${s.status}"`);
      requests.set(key, (requests.get(key) ?? 0) + 1);
      bytesIn += s.bytesIn;
      bytesOut += s.bytesOut;
      let h = durations.get(s.op);
      if (!h) durations.set(s.op, h = { counts: BUCKETS.map(() => 0), sum: 0, count: 0 });
      for (let i = 0; i < BUCKETS.length; i++) if (s.seconds <= BUCKETS[i]!) h.counts[i]!++;
      h.sum += s.seconds;
      h.count++;
    },
    render() {
      const out = [
        "# HELP s3_requests_total S3 requests by operation and HTTP status.",
        "# TYPE s3_requests_total counter",
        ...[...requests].map(([k, v]) => `s3_requests_total{${k}} ${v}`),
        "# HELP s3_bytes_in_total Request body bytes received by the S3 gateway.",
        "# TYPE s3_bytes_in_total counter",
        `s3_bytes_in_total ${bytesIn}`,
        "# HELP s3_bytes_out_total Response body bytes sent by the S3 gateway.",
        "# TYPE s3_bytes_out_total counter",
        `s3_bytes_out_total ${bytesOut}`,
        "# HELP s3_request_duration_seconds S3 request duration by operation.",
        "# TYPE s3_request_duration_seconds histogram",
      ];
      for (const [op, h] of durations) {
        const l = promLabel(op);
        BUCKETS.forEach((b, i) => out.push(`s3_request_duration_seconds_bucket{op="${l}",le="${b}"} ${h.counts[i]}`));
        out.push(`s3_request_duration_seconds_bucket{op="${l}",le="+Inf"} ${h.count}`);
        out.push(`s3_request_duration_seconds_sum{op="${l}"} ${h.sum}`);
        out.push(`s3_request_duration_seconds_count{op="${l}"} ${h.count}`);
      }
      out.push(
        "# HELP s3_requests_in_flight S3 requests being served.",
        "# TYPE s3_requests_in_flight gauge",
        `s3_requests_in_flight ${inFlight}`,
      );
      return out.join("\n") + "\n";
    },
  };
}
