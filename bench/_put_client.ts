/**
 * The PUT load of the integrity benchmark, in its own process so that the client's CPU time stays out of the
 * server's. Reads one JSON job per stdin line, `{"endpoint", "accessKeyId", "secretAccessKey", "bucket",
 * "prefix", "puts", "concurrency", "size"}`, runs it with @aws-sdk/client-s3 and answers one line
 * `{"seconds": wall time}` per job. Usage: deno run -A bench/_put_client.ts
 *
 * @module
 */
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";

interface Job {
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  bucket: string;
  prefix: string;
  puts: number;
  concurrency: number;
  size: number;
}

const clients = new Map<string, S3Client>();

async function run(job: Job): Promise<number> {
  let client = clients.get(job.endpoint);
  if (!client) {
    client = new S3Client({
      endpoint: job.endpoint,
      region: "us-east-1",
      forcePathStyle: true,
      credentials: { accessKeyId: job.accessKeyId, secretAccessKey: job.secretAccessKey },
      maxAttempts: 1,
    });
    clients.set(job.endpoint, client);
  }
  const body = new Uint8Array(job.size);
  let next = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: job.concurrency }, async () => {
    while (next < job.puts) {
      const i = next++;
      await client.send(new PutObjectCommand({ Bucket: job.bucket, Key: `${job.prefix}${i}`, Body: body }));
    }
  }));
  return (performance.now() - t0) / 1000;
}

const decoder = new TextDecoder();
let rest = "";
for await (const chunk of Deno.stdin.readable) {
  const lines = (rest + decoder.decode(chunk, { stream: true })).split("\n");
  rest = lines.pop()!;
  for (const line of lines) {
    if (line.trim() === "") continue;
    const seconds = await run(JSON.parse(line) as Job);
    console.log(JSON.stringify({ seconds }));
  }
}
for (const c of clients.values()) c.destroy();
