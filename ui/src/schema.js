// The resource kinds as GET /admin/v1/schema describes them (JSON Schema per kind, shared
// objects under `components`), and the two conversions every form needs: a resource into form
// values, and form values into the body the API takes. Numbers stay strings while typed; a
// value that is not a number is sent as typed so the API's message names the field.
import { api } from './api.js';

let loading = null;
/** The schema document, fetched once per sign-in. */
export function loadSchema() {
  loading ??= api.get('/admin/v1/schema').catch((err) => {
    loading = null;
    throw err;
  });
  return loading;
}
export function forgetSchema() {
  loading = null;
}

export const kindOf = (doc, name) => doc?.kinds?.find((k) => k.name === name) ?? null;

/** The property schema with any $ref followed (refs point into doc.components). */
export function resolve(s, doc) {
  let out = s ?? {};
  for (let i = 0; out.$ref && i < 8; i++) out = doc?.components?.[out.$ref.split('/').pop()] ?? {};
  return out;
}

/** The JSON type, without null. */
export const typeOf = (s) => (Array.isArray(s.type) ? s.type.find((t) => t !== 'null') : s.type);
export const nullable = (s) => Array.isArray(s.type) && s.type.includes('null');
export const isNumeric = (s) => ['integer', 'number'].includes(typeOf(s));
export const isScalar = (s) => ['string', 'integer', 'number', 'boolean'].includes(typeOf(s));

/** "usd_per_day" -> "usd per day". */
export const label = (name) => name.replace(/_/g, ' ');
/** "cache_policies" -> "Cache policies". */
export const title = (name) => label(name).replace(/^./, (c) => c.toUpperCase());

/** Whether a field's x-only-if condition holds among its siblings. */
export function applies(s, siblings) {
  const cond = s['x-only-if'];
  return !cond || Object.entries(cond).every(([f, v]) => siblings?.[f] === v);
}

/** Form values from a resource: only what the write schema holds, numbers as strings. */
export function toForm(s, value, doc) {
  s = resolve(s, doc);
  if (value === undefined || value === null) return value;
  const t = typeOf(s);
  if (t === 'object' && s.properties) {
    const out = {};
    for (const [name, p] of Object.entries(s.properties)) {
      const v = toForm(p, value[name], doc);
      if (v !== undefined) out[name] = v;
    }
    return out;
  }
  if (t === 'object' && s.additionalProperties)
    return Object.entries(value).map(([k, v]) => [k, toForm(s.additionalProperties, v, doc)]);
  if (t === 'array') return value.map((v) => toForm(s.items, v, doc));
  if (isNumeric(s)) return String(value);
  return value;
}

/**
 * The body for the API: empty strings, empty objects and fields whose condition does not hold
 * left out, numbers as numbers, maps from their [key, value] rows. `undefined` means "absent".
 */
export function toBody(s, value, doc) {
  s = resolve(s, doc);
  if (value === undefined || value === '') return undefined;
  if (value === null) return nullable(s) ? null : undefined;
  const t = typeOf(s);
  if (t === 'object' && s.properties) {
    const out = {};
    for (const [name, p] of Object.entries(s.properties)) {
      if (!applies(p, value)) continue;
      const v = toBody(p, value[name], doc);
      if (v !== undefined) out[name] = v;
    }
    return Object.keys(out).length ? out : undefined;
  }
  if (t === 'object' && s.additionalProperties) {
    const out = {};
    for (const [k, v] of value) {
      const b = toBody(s.additionalProperties, v, doc);
      if (k.trim() && b !== undefined) out[k.trim()] = b;
    }
    return Object.keys(out).length ? out : undefined;
  }
  if (t === 'array') {
    const items = value.map((v) => toBody(s.items, v, doc)).filter((v) => v !== undefined);
    return items;
  }
  if (isNumeric(s)) {
    const n = Number(value);
    return Number.isFinite(n) && String(value).trim() !== '' ? n : value;
  }
  if (typeOf(s) === 'string' && typeof value === 'string' && !s.writeOnly) return value.trim() || undefined;
  return value;
}

/** Every field path of a form, as the API names them in errors ("targets[0].provider"). */
export function paths(s, value, doc, at = '') {
  s = resolve(s, doc);
  const out = at ? [at] : [];
  const t = typeOf(s);
  if (t === 'object' && s.properties)
    for (const [name, p] of Object.entries(s.properties)) out.push(...paths(p, value?.[name], doc, at ? `${at}.${name}` : name));
  else if (t === 'object' && s.additionalProperties)
    for (const [k, v] of value ?? []) out.push(...paths(s.additionalProperties, v, doc, `${at}.${k}`));
  else if (t === 'array') (value ?? []).forEach((v, i) => out.push(...paths(s.items, v, doc, `${at}[${i}]`)));
  return out;
}

/** The empty form value of a list item or map value. */
export function blank(s, doc) {
  s = resolve(s, doc);
  const t = typeOf(s);
  if (t === 'object' && s.properties) return {};
  if (t === 'object') return [];
  if (t === 'array') return [];
  return '';
}
