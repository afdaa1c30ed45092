// A toll gate: two posts and a barrier (inline SVG, so no font or file is needed).
export function Logo() {
  return (
    <svg className="logo" width="20" height="20" viewBox="0 0 20 20" aria-hidden="true">
      <rect x="2" y="4" width="3" height="14" rx="1" fill="currentColor" />
      <rect x="15" y="4" width="3" height="14" rx="1" fill="currentColor" />
      <rect x="1" y="6" width="18" height="3" rx="1.5" fill="currentColor" />
    </svg>
  );
}
