/**
 * Hash routes (`#/errors?adapter=webhooks&kind=rejected`): the filters live in the URL, so a
 * filtered view can be bookmarked and shared, and the server needs only one page.
 */
export interface Route {
  /** Path segments: `#/errors/abc` → ['errors', 'abc']. */
  readonly path: readonly string[];
  readonly query: URLSearchParams;
}

export function currentRoute(): Route {
  const hash = location.hash.replace(/^#\/?/, '');
  const index = hash.indexOf('?');
  const pathPart = index < 0 ? hash : hash.slice(0, index);
  return {
    path: pathPart.split('/').filter(Boolean).map(decodeURIComponent),
    query: new URLSearchParams(index < 0 ? '' : hash.slice(index + 1)),
  };
}

export function href(
  path: readonly string[],
  query?: Record<string, string | undefined> | URLSearchParams,
): string {
  const params = query instanceof URLSearchParams ? new URLSearchParams(query) : new URLSearchParams();
  if (query && !(query instanceof URLSearchParams)) {
    for (const [key, value] of Object.entries(query))
      if (value !== undefined && value !== '') params.set(key, value);
  }
  const search = params.toString();
  return `#/${path.map(encodeURIComponent).join('/')}${search ? `?${search}` : ''}`;
}

export function navigate(target: string): void {
  if (location.hash === target) window.dispatchEvent(new HashChangeEvent('hashchange'));
  else location.hash = target;
}
