// Hash routes: #/<page>[/<arg>].
export function navigate(page, arg) {
  window.location.hash = `#/${page}${arg ? `/${encodeURIComponent(arg)}` : ''}`;
}
