// Module resolution hooks for shim.mjs: inside the conformance bundle only, `fs` gains
// globSync and `undici` adds the gateway key to each request.
const bundle = (parent) => parent && parent.includes('/@modelcontextprotocol/conformance/');

export async function resolve(specifier, context, next) {
  if (bundle(context.parentURL)) {
    if (specifier === 'fs' || specifier === 'node:fs')
      return { url: new URL('./fs.mjs', import.meta.url).href, shortCircuit: true };
    if (specifier === 'undici') return { url: new URL('./undici.mjs', import.meta.url).href, shortCircuit: true };
  }
  return next(specifier, context);
}
