import assert from "node:assert/strict";
import { defaultParams, negotiate } from "./negotiate.ts";

Deno.test("negotiate() answers each key by its RFC 7143 result function", async (t) => {
  const cases: { offer: [string, string]; answer: string }[] = [
    { offer: ["HeaderDigest", "CRC32C,None"], answer: "CRC32C" },
    { offer: ["DataDigest", "None,CRC32C"], answer: "None" },
    { offer: ["MaxBurstLength", "1048576"], answer: "1048576" },
    { offer: ["MaxBurstLength", "16777215"], answer: "16777215" },
    { offer: ["MaxBurstLength", "262144"], answer: "262144" },
    { offer: ["FirstBurstLength", "65536"], answer: "65536" },
    { offer: ["InitialR2T", "No"], answer: "No" },
    { offer: ["InitialR2T", "Yes"], answer: "Yes" },
    { offer: ["ImmediateData", "Yes"], answer: "Yes" },
    { offer: ["MaxOutstandingR2T", "64"], answer: "16" },
    { offer: ["DataPDUInOrder", "No"], answer: "Yes" },
    { offer: ["DataSequenceInOrder", "Yes"], answer: "Yes" },
    { offer: ["DefaultTime2Wait", "0"], answer: "2" },
    { offer: ["DefaultTime2Retain", "20"], answer: "0" },
    { offer: ["ErrorRecoveryLevel", "2"], answer: "0" },
    { offer: ["MaxConnections", "8"], answer: "1" },
    { offer: ["MaxRecvDataSegmentLength", "65536"], answer: "262144" },
    { offer: ["IFMarker", "Yes"], answer: "No" },
    { offer: ["X-com.example.Foo", "1"], answer: "NotUnderstood" },
  ];
  for (const c of cases) {
    await t.step(`${c.offer[0]}=${c.offer[1]}`, () => {
      const r = negotiate([c.offer], defaultParams(262144));
      assert.equal(r.error, undefined);
      assert.deepEqual(r.answers, [[c.offer[0], c.answer]]);
    });
  }
});

Deno.test("negotiate() records the results in the session parameters", () => {
  const r = negotiate(
    [["HeaderDigest", "CRC32C"], ["MaxRecvDataSegmentLength", "4096"], ["InitialR2T", "No"]],
    defaultParams(262144),
  );
  assert.equal(r.params.headerDigest, true);
  assert.equal(r.params.initiatorMaxRecvDataSegmentLength, 4096);
  assert.equal(r.params.initialR2T, false);
});

Deno.test("negotiate() fails on out-of-range or unparsable values", () => {
  for (
    const offer of [["MaxBurstLength", "12"], ["HeaderDigest", "MD5"], ["ImmediateData", "maybe"], [
      "MaxRecvDataSegmentLength",
      "x",
    ]] as [string, string][]
  ) {
    assert.ok(negotiate([offer], defaultParams(262144)).error, offer.join("="));
  }
});

Deno.test("declarative login keys need no answer", () => {
  const r = negotiate(
    [["InitiatorName", "iqn.x"], ["SessionType", "Normal"], ["InitiatorAlias", "h"]],
    defaultParams(8192),
  );
  assert.deepEqual(r.answers, []);
});
