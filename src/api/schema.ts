/**
 * The JSON Schema subset the route table uses: one definition serves request validation and the OpenAPI
 * document, so the two cannot drift.
 *
 * @module
 */
import { AppError } from "../errors.ts";

export type JsonSchema =
  | {
    type: "string";
    description?: string;
    enum?: readonly string[];
    pattern?: string;
    minLength?: number;
    maxLength?: number;
    format?: string;
  }
  | { type: "integer" | "number"; description?: string; minimum?: number; maximum?: number }
  | { type: "boolean"; description?: string }
  | { type: "array"; description?: string; items: JsonSchema; maxItems?: number }
  | {
    type: "object";
    description?: string;
    properties: Record<string, JsonSchema>;
    required?: readonly string[];
    additionalProperties?: boolean | JsonSchema;
  };

function fail(path: string, message: string): never {
  throw new AppError("InvalidArgument", `Invalid request body: ${path || "body"} ${message}`, {
    details: { field: path || "body" },
  });
}

/** Throws InvalidArgument naming the first offending field; returns the value typed as `T`. */
export function validate<T>(schema: JsonSchema, value: unknown, path = ""): T {
  switch (schema.type) {
    case "string":
      if (typeof value !== "string") fail(path, "must be a string");
      if (schema.enum && !schema.enum.includes(value)) fail(path, `must be one of ${schema.enum.join(", ")}`);
      if (schema.minLength !== undefined && value.length < schema.minLength) {
        fail(path, `must be at least ${schema.minLength} characters`);
      }
      if (schema.maxLength !== undefined && value.length > schema.maxLength) {
        fail(path, `must be at most ${schema.maxLength} characters`);
      }
      if (schema.pattern && !new RegExp(schema.pattern).test(value)) fail(path, `must match ${schema.pattern}`);
      break;
    case "integer":
    case "number":
      if (typeof value !== "number" || !Number.isFinite(value)) fail(path, "must be a number");
      if (schema.type === "integer" && !Number.isInteger(value)) fail(path, "must be an integer");
      if (schema.minimum !== undefined && value < schema.minimum) fail(path, `must be >= ${schema.minimum}`);
      if (schema.maximum !== undefined && value > schema.maximum) fail(path, `must be <= ${schema.maximum}`);
      break;
    case "boolean":
      if (typeof value !== "boolean") fail(path, "must be a boolean");
      break;
    case "array":
      if (!Array.isArray(value)) fail(path, "must be an array");
      if (schema.maxItems !== undefined && value.length > schema.maxItems) {
        fail(path, `must have at most ${schema.maxItems} items`);
      }
      value.forEach((item, i) => validate(schema.items, item, `${path}[${i}]`));
      break;
    case "object": {
      if (typeof value !== "object" || value === null || Array.isArray(value)) fail(path, "must be an object");
      const record = value as Record<string, unknown>;
      for (const name of schema.required ?? []) {
        if (record[name] === undefined) fail(path ? `${path}.${name}` : name, "is required");
      }
      for (const [name, v] of Object.entries(record)) {
        const field = path ? `${path}.${name}` : name;
        const prop = schema.properties[name];
        if (prop) validate(prop, v, field);
        else if (schema.additionalProperties === false || schema.additionalProperties === undefined) {
          fail(field, "is not a known field");
        } else if (typeof schema.additionalProperties === "object") validate(schema.additionalProperties, v, field);
      }
      break;
    }
  }
  return value as T;
}
