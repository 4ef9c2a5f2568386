import assert from "node:assert/strict";
import { xmlDocument } from "../_testing/xml_document.ts";
import { corsConfigurationXml, MAX_CORS_RULES, parseCorsConfiguration } from "./cors_xml.ts";
import { buildXml, parseXml } from "./xml.ts";

const { parse, refused } = xmlDocument("CORSConfiguration", parseCorsConfiguration);

Deno.test("CORSConfiguration: every element of a rule is read, and written back in S3's order", () => {
  const rules = parse(
    "<CORSRule><ID>uploads</ID><AllowedOrigin>https://app.example</AllowedOrigin>" +
      "<AllowedOrigin>https://*.app.example</AllowedOrigin><AllowedMethod>PUT</AllowedMethod>" +
      "<AllowedMethod>POST</AllowedMethod><AllowedHeader>*</AllowedHeader><ExposeHeader>ETag</ExposeHeader>" +
      "<MaxAgeSeconds>3000</MaxAgeSeconds></CORSRule>" +
      "<CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule>",
  );
  assert.deepEqual(rules, [
    {
      id: "uploads",
      allowedOrigins: ["https://app.example", "https://*.app.example"],
      allowedMethods: ["PUT", "POST"],
      allowedHeaders: ["*"],
      exposeHeaders: ["ETag"],
      maxAgeSeconds: 3000,
    },
    { allowedOrigins: ["*"], allowedMethods: ["GET"], allowedHeaders: [], exposeHeaders: [] },
  ]);
  const xml = buildXml("CORSConfiguration", corsConfigurationXml(rules));
  assert.match(
    xml,
    /<CORSRule><ID>uploads<\/ID><AllowedHeader>\*<\/AllowedHeader><AllowedMethod>PUT<\/AllowedMethod><AllowedMethod>POST<\/AllowedMethod><AllowedOrigin>https:\/\/app.example<\/AllowedOrigin>/,
  );
  assert.deepEqual(parseCorsConfiguration(parseXml(xml)), rules, "what is written reads back the same");
});

Deno.test("CORSConfiguration: what S3 refuses is refused, with S3's codes", () => {
  const origin = "<AllowedOrigin>*</AllowedOrigin>";
  const get = "<AllowedMethod>GET</AllowedMethod>";
  refused("", "MalformedXML", /between 1 and 100 rules/);
  refused(`<CORSRule>${origin}${get}</CORSRule>`.repeat(MAX_CORS_RULES + 1), "MalformedXML", /between 1 and 100/);
  refused(`<CORSRule>${get}</CORSRule>`, "MalformedXML", /at least one AllowedOrigin/);
  refused(`<CORSRule>${origin}</CORSRule>`, "MalformedXML", /one AllowedMethod/);
  refused(`<CORSRule>${origin}<AllowedMethod>PATCH</AllowedMethod></CORSRule>`, "InvalidRequest", /method is PATCH/);
  refused(
    `<CORSRule><AllowedOrigin>https://*.*.example</AllowedOrigin>${get}</CORSRule>`,
    "InvalidRequest",
    /wildcard/,
  );
  refused(`<CORSRule>${origin}${get}<AllowedHeader>x-*-*</AllowedHeader></CORSRule>`, "InvalidRequest", /wildcard/);
  refused(`<CORSRule>${origin}${get}<MaxAgeSeconds>soon</MaxAgeSeconds></CORSRule>`, "MalformedXML", /whole number/);
  refused(`<CORSRule>${origin}${get}<ID>${"x".repeat(256)}</ID></CORSRule>`, "InvalidArgument", /255/);
  refused(`<CORSRule>${origin}${get}<AllowedOrigins>*</AllowedOrigins></CORSRule>`, "MalformedXML", /AllowedOrigins/);
  refused(`<Rule>${origin}${get}</Rule>`, "MalformedXML", /only CORSRule/);
  // An ExposeHeader is sent back as a header name in every answer the rule allows.
  for (const name of ["x-€", "x amz", "x-a&#10;b"]) {
    refused(
      `<CORSRule>${origin}${get}<ExposeHeader>${name}</ExposeHeader></CORSRule>`,
      "InvalidRequest",
      /header name/,
    );
  }
});
