// Form fields made from a kind's schema (GET /admin/v1/schema): one input per scalar field of
// the write schema (text, number, checkbox, or a select for an enum), with the API's field
// errors under each. Kinds with richer fields (targets, limits) keep their own widgets.
import { Field } from './ui.jsx';

/** The scalar fields of a write schema, in order: [name, property schema]. */
export function scalarFields(schema) {
  return Object.entries(schema?.properties ?? {}).filter(([, p]) => {
    const t = Array.isArray(p.type) ? p.type.find((x) => x !== 'null') : p.type;
    return ['string', 'integer', 'number', 'boolean'].includes(t) && !p.writeOnly;
  });
}

/** Starting values: each field's default, or empty. */
export function formDefaults(schema) {
  return Object.fromEntries(scalarFields(schema).map(([name, p]) => [name, p.default ?? (p.type === 'boolean' ? false : '')]));
}

/** The body to send: empty fields left out, numbers as numbers. */
export function formBody(schema, values) {
  const body = {};
  for (const [name, p] of scalarFields(schema)) {
    const v = values[name];
    if (v === '' || v === undefined) continue;
    body[name] = p.type === 'integer' || p.type === 'number' ? Number(v) : v;
  }
  return body;
}

export function SchemaFields({ schema, values, onChange, errors }) {
  const required = new Set(schema?.required ?? []);
  return scalarFields(schema).map(([name, p]) => {
    const set = (v) => onChange({ ...values, [name]: v });
    const label = `${name.replace(/_/g, ' ')}${required.has(name) ? '' : ' (optional)'}`;
    let input;
    if (p.enum) {
      input = (
        <select name={name} value={values[name] ?? ''} onChange={(e) => set(e.target.value)}>
          {p.enum.filter((x) => x !== null).map((x) => (
            <option key={x} value={x}>
              {x}
            </option>
          ))}
        </select>
      );
    } else if (p.type === 'boolean') {
      input = <input type="checkbox" name={name} checked={Boolean(values[name])} onChange={(e) => set(e.target.checked)} />;
    } else {
      const numeric = p.type === 'integer' || p.type === 'number';
      input = (
        <input
          name={name}
          type={numeric ? 'number' : 'text'}
          min={p.minimum}
          max={p.maximum}
          value={values[name] ?? ''}
          onChange={(e) => set(e.target.value)}
        />
      );
    }
    return (
      <Field key={name} label={label} name={name} errors={errors} hint={p.description}>
        {input}
      </Field>
    );
  });
}
