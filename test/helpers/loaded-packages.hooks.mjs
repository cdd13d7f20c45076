// Module hooks of loaded-packages.mjs: every resolved module URL goes to the main thread.
let port;
export function initialize(data) {
  port = data.port;
}
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  if (r.url.includes('/node_modules/')) port.postMessage(r.url);
  return r;
}
