// AWS Signature Version 4 for S3-compatible object stores, on @noble/hashes (no node:*, no
// WebCrypto: works the same in workerd, Deno, Bun, Node and browsers). Signs a request's method,
// path, query and chosen headers with the payload's SHA-256, as S3 expects in `Authorization`.

import { sha256 } from '@noble/hashes/sha2.js';
import { hmac } from '@noble/hashes/hmac.js';

export interface SigV4Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  /** Temporary credentials' session token (sent as x-amz-security-token). */
  sessionToken?: string;
}

export interface SigV4Input {
  method: string;
  url: URL;
  /** Headers to sign besides host, x-amz-date and x-amz-content-sha256 (names any case). */
  headers?: Record<string, string>;
  /** Hex SHA-256 of the body, or "UNSIGNED-PAYLOAD". */
  payloadHash: string;
  region: string;
  service?: string;
  /** The request time, as YYYYMMDD'T'HHMMSS'Z'. */
  amzDate: string;
}

const enc = new TextEncoder();

function hex(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return s;
}

/** Hex SHA-256 of bytes or a string. */
export function sha256Hex(data: Uint8Array | string): string {
  return hex(sha256(typeof data === 'string' ? enc.encode(data) : data));
}

/** RFC 3986 encoding as SigV4 wants it: everything but A–Z a–z 0–9 - . _ ~ (and '/' when asked). */
export function uriEncode(s: string, keepSlash: boolean): string {
  let out = '';
  for (const b of enc.encode(s)) {
    const c = String.fromCharCode(b);
    if (/[A-Za-z0-9\-._~]/.test(c) || (keepSlash && c === '/')) out += c;
    else out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** The x-amz-date form of a time. */
export function amzDate(d: Date): string {
  return d.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

/** Headers to send (lower-case names): the input's plus host, x-amz-date, x-amz-content-sha256, authorization. */
export function signV4(input: SigV4Input, creds: SigV4Credentials): Record<string, string> {
  if (!/^\d{8}T\d{6}Z$/.test(input.amzDate)) throw new Error(`signV4: invalid amzDate '${input.amzDate}'`);
  if (!creds.accessKeyId || !creds.secretAccessKey) throw new Error('signV4: credentials are required');
  const service = input.service ?? 's3';
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(input.headers ?? {})) headers[k.toLowerCase()] = v;
  headers.host = input.url.host;
  headers['x-amz-date'] = input.amzDate;
  headers['x-amz-content-sha256'] = input.payloadHash;
  if (creds.sessionToken) headers['x-amz-security-token'] = creds.sessionToken;
  const names = Object.keys(headers).sort();
  const canonicalHeaders = names.map((n) => `${n}:${headers[n]!.trim().replace(/\s+/g, ' ')}\n`).join('');
  const signedHeaders = names.join(';');
  const path = decodeURIComponent(input.url.pathname);
  const query = [...input.url.searchParams]
    .map(([k, v]) => [uriEncode(k, false), uriEncode(v, false)] as const)
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const canonicalRequest = [input.method.toUpperCase(), uriEncode(path, true), query, canonicalHeaders, signedHeaders, input.payloadHash].join('\n');
  const day = input.amzDate.slice(0, 8);
  const scope = `${day}/${input.region}/${service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', input.amzDate, scope, sha256Hex(canonicalRequest)].join('\n');
  let key = hmac(sha256, enc.encode(`AWS4${creds.secretAccessKey}`), enc.encode(day));
  for (const part of [input.region, service, 'aws4_request']) key = hmac(sha256, key, enc.encode(part));
  const signature = hex(hmac(sha256, key, enc.encode(stringToSign)));
  headers.authorization = `AWS4-HMAC-SHA256 Credential=${creds.accessKeyId}/${scope},SignedHeaders=${signedHeaders},Signature=${signature}`;
  return headers;
}
